/**
 * The pool's decisions, apart from its effects: which worker takes a job, when to start a worker, which pre-queued
 * job an idle worker takes over, what a worker does when a job leaves it, when an idle worker retires. Pure
 * functions over what the pool knows (its workers' states and lines of jobs, its counts, its limits), as Effect's
 * `Pool.ts` keeps its `Strategy` apart from the effects around it; `workerPool.ts` does the I/O they decide on.
 *
 * Whether a job has started on its worker is read from the job (`Job.isInFlight`, `started`): the pool passes in
 * how to tell (a claim cell, or being first in a line without cells).
 *
 * @internal
 */
import * as Job from "../job/job.ts"

/** Jobs a busy worker thread may hold: the running one plus three pre-queued (see `workerPool.ts`). */
export const PREFETCH = 4

export type WorkerState = "starting" | "spare" | "active" | "draining" | "retiring"

/** What the decisions read of a worker. */
export interface WorkerView {
  readonly state: WorkerState
  /** Jobs sent and neither done nor taken back, in the order the worker runs them. */
  readonly jobs: ReadonlyArray<Job.Job>
  /** Whether it shares claim cells with the pool, so it can hold pre-queued jobs (worker threads). */
  readonly prequeues: boolean
  /** Claim cells free for more pre-queued jobs. */
  readonly freeCells: { readonly length: number }
  /** Jobs sent to it, done or not (`maxTasksPerWorker`). */
  readonly assigned: number
}

export interface Limits {
  readonly maxWorkers: number
  readonly minWorkers: number
  readonly maxTasksPerWorker: number
  /** Milliseconds; `Infinity` keeps idle workers. */
  readonly idleTimeout: number
}

/** Starting and active workers count toward `maxWorkers`; a draining worker's slot is free at once. */
export const counts = (state: WorkerState): boolean => state === "starting" || state === "active"

/** Whether the pool should start (or promote) one more worker: demand not met by those booting, or below the floor. */
export const shouldStart = (active: number, starting: number, demand: number, limits: Limits): boolean =>
  active < limits.maxWorkers && (starting < demand || active < limits.minWorkers)

/** A job finds no idle worker: it may be pre-queued on a busy one only when no worker is booting or may still start. */
export const mayPrequeue = (active: number, starting: number, limits: Limits): boolean =>
  starting === 0 && active >= limits.maxWorkers

/**
 * The least-loaded busy worker that can take one more job now: spread evenly, pre-queued work waits behind as few
 * running tasks as possible.
 */
export const withRoom = <W extends WorkerView>(workers: Iterable<W>, limits: Limits): W | undefined => {
  let best: W | undefined
  for (const worker of workers) {
    if (
      worker.state === "active" &&
      worker.prequeues &&
      worker.jobs.length > 0 &&
      worker.jobs.length < PREFETCH &&
      worker.freeCells.length > 0 &&
      worker.assigned < limits.maxTasksPerWorker &&
      Job.isInFlight(worker.jobs[0]) &&
      (best === undefined || worker.jobs.length < best.jobs.length)
    )
      best = worker
  }
  return best
}

/**
 * Which pre-queued job an idle worker takes over, if any: the oldest one anywhere (`jobs[0]` is the running one),
 * wherever it sits in its worker's line — a job requeued after a crash or an interrupt may have been pre-queued
 * behind newer ones, and must not wait for them. None if a job still in the queue (`nextQueuedId`) is older: taking
 * a newer pre-queued job back to the head of the queue would let it overtake that one.
 */
export const stealFrom = <W extends WorkerView>(
  workers: Iterable<W>,
  nextQueuedId: number | undefined
): { readonly from: W; readonly job: Job.Job } | undefined => {
  let from: W | undefined
  let oldest: Job.Job | undefined
  for (const worker of workers) {
    if (worker.state !== "active") continue
    for (let i = 1; i < worker.jobs.length; i++) {
      const job = worker.jobs[i]
      if (oldest === undefined || job.id < oldest.id) {
        oldest = job
        from = worker
      }
    }
  }
  if (from === undefined || oldest === undefined) return undefined
  if (nextQueuedId !== undefined && nextQueuedId < oldest.id) return undefined
  return { from, job: oldest }
}

/**
 * What a worker does once a job left it (done, or taken back):
 * - `"wait"`: nothing (it is still draining other jobs, or it is not active);
 * - `"reuse"`: a draining worker whose interrupted task stopped in time serves again;
 * - `"retire"`: stop it gracefully (and start another if needed, `"retireAndTopUp"`);
 * - `"drain"`: its next job was cancelled after it started: stop it like any running job;
 * - `"idle"`: it has no job;
 * - `"pump"`: it has more jobs: there may be room for queued ones elsewhere.
 */
export type Next = "wait" | "reuse" | "retire" | "retireAndTopUp" | "drain" | "idle" | "pump"

export const afterRemoval = (worker: WorkerView, active: number, open: boolean, limits: Limits): Next => {
  if (worker.state === "draining") {
    if (worker.jobs.length > 0) return "wait"
    return active < limits.maxWorkers && open && worker.assigned < limits.maxTasksPerWorker ? "reuse" : "retire"
  }
  if (worker.state !== "active") return "wait"
  const next = worker.jobs[0]
  if (next !== undefined && Job.isCancelled(next)) return "drain"
  if (worker.jobs.length === 0) return worker.assigned >= limits.maxTasksPerWorker ? "retireAndTopUp" : "idle"
  return "pump"
}

/** Whether an idle worker gets an idle timer: above `minWorkers`, with a finite `idleTimeout`, while open. */
export const armsIdleTimer = (worker: WorkerView, active: number, open: boolean, limits: Limits): boolean =>
  worker.state === "active" &&
  worker.jobs.length === 0 &&
  open &&
  active > limits.minWorkers &&
  limits.idleTimeout !== Infinity

/** Whether an idle worker whose timer fired retires (it may have taken a job, or the pool shrunk meanwhile). */
export const retiresWhenIdle = (worker: WorkerView, active: number, limits: Limits): boolean =>
  worker.state === "active" && worker.jobs.length === 0 && active > limits.minWorkers

/** How many more jobs could start now or as soon as a booting worker is ready, without waiting. */
export const freeSlots = (idle: number, booting: number, active: number, open: boolean, limits: Limits): number =>
  open ? idle + booting + Math.max(0, limits.maxWorkers - active) : 0
