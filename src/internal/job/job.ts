/**
 * A job's life: the one place its state is written. The core, the backends and the pool ask this module to move a
 * job; none of them assigns `job.state`, which is read-only outside this file.
 *
 * A job is one submitted task (or one chunk of a batch) on its way to its outcome. Its states, as CPython's
 * `concurrent.futures._base` names a future's (`PENDING`, `RUNNING`, `CANCELLED`, `FINISHED`):
 *
 * ```text
 *   Queued ──dispatch──▶ Dispatched ──markRunning──▶ Running
 *     ▲                     │  │                        │
 *     └──────requeue────────┘  └────finish────▶ Done ◀──┘ finish
 *   Queued ──failQueued (the executor broke)──▶ Done
 *   Queued | Dispatched | Running ──cancel──▶ Cancelled
 * ```
 *
 * - `Queued`: waiting in the core's FIFO queue (the future reads PENDING).
 * - `Dispatched`: handed to a backend, which may not have started it (pre-queued behind another job on a worker
 *   thread, `claims.ts`): PENDING until the backend says it has started, and it may still be taken back (`requeue`
 *   to run elsewhere, `cancel` for good).
 * - `Running`: the backend has started it (the future reads RUNNING): it can only finish or be stopped.
 * - `Done` and `Cancelled` are final: every transition out of them is refused.
 *
 * A worker thread starts a pre-queued job by claiming its cell in shared memory, without a message: the pool learns
 * it when it looks (`observeStart`), so `Dispatched → Running` happens when someone asks, never later than the job's
 * outcome.
 *
 * Each transition checks where it comes from and returns whether it happened (a late outcome of a cancelled job, a
 * second cancel, a requeue of a job that has started are refused), as CPython's `set_running_or_notify_cancel`,
 * `set_result` and `cancel` do.
 *
 * The transitions also keep the job's task statistics (`observability/metrics.ts`: what `Executor.stats` and the
 * exported metrics read) and its span (`observability/tracing.ts`, when the submitter traces): a job is counted
 * submitted when made, then exactly once as completed, failed, crashed or cancelled, by the transition that ends it.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import type * as Task from "../../Task.ts"
import * as Metrics from "../observability/metrics.ts"
import * as Tracing from "../observability/tracing.ts"

export type State = "Queued" | "Dispatched" | "Running" | "Done" | "Cancelled"

/** How a job that finished is counted. */
export type Outcome = "completed" | "failed" | "crashed"

export interface Job {
  readonly id: number
  readonly task: Task.Any
  /** The Schema-encoded payload; for a chunk, the array of encoded payloads. */
  readonly payload: unknown
  readonly chunk: boolean
  readonly submittedAt: number
  /** Written only by this module's transitions. */
  readonly state: State
  /** When it was last dispatched (for the run-time statistics). */
  readonly dispatchedAt: number
  /** Whatever the backend needs to find the job again (its worker, its fiber); set by `dispatch`'s caller. */
  slot: unknown
  /** The future's fiber, waiting for the outcome (set while it waits). */
  resume: ((exit: Exit.Exit<unknown, unknown>) => void) | undefined
  /** The outcome once delivered to the future (`settle`). */
  readonly exit: Exit.Exit<unknown, unknown> | undefined
  /** Its task's numbers on this executor, which the transitions keep. */
  readonly stats: Metrics.TaskStats
  /** Its span, when the submitter traces. */
  readonly trace: Tracing.TaskTrace | undefined
  /** The queue wait `accepted` recorded for its current dispatch (taken back if the dispatch is undone). */
  readonly waited: number | undefined
}

/** The same record, writable: only this module sees it so. */
interface Mutable {
  id: number
  task: Task.Any
  payload: unknown
  chunk: boolean
  submittedAt: number
  state: State
  dispatchedAt: number
  slot: unknown
  resume: ((exit: Exit.Exit<unknown, unknown>) => void) | undefined
  exit: Exit.Exit<unknown, unknown> | undefined
  stats: Metrics.TaskStats
  trace: Tracing.TaskTrace | undefined
  waited: number | undefined
}

const mutable = (job: Job): Mutable => job as Mutable

/** A new job, `Queued`, counted as submitted. */
export const make = (
  id: number,
  task: Task.Any,
  payload: unknown,
  chunk: boolean,
  now: number,
  stats: Metrics.TaskStats = Metrics.makeTaskStats(task.name),
  trace?: Tracing.TaskTrace
): Job => {
  stats.submitted++
  const job: Mutable = {
    id,
    task,
    payload,
    chunk,
    submittedAt: now,
    state: "Queued",
    dispatchedAt: 0,
    slot: undefined,
    resume: undefined,
    exit: undefined,
    stats,
    trace,
    waited: undefined
  }
  return job
}

// ---------------------------------------------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------------------------------------------

export const isQueued = (job: Job): boolean => job.state === "Queued"

/** Handed to a backend and not over: `Dispatched` or `Running`. */
export const isInFlight = (job: Job): boolean => job.state === "Dispatched" || job.state === "Running"

export const isCancelled = (job: Job): boolean => job.state === "Cancelled"

/** `Done` or `Cancelled`: nothing more can happen to it. */
export const isOver = (job: Job): boolean => job.state === "Done" || job.state === "Cancelled"

// ---------------------------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------------------------

/** `Queued → Dispatched`: the core hands it to a backend. False (nothing changes) from any other state. */
export const dispatch = (job: Job, now: number): boolean => {
  if (job.state !== "Queued") return false
  const self = mutable(job)
  self.state = "Dispatched"
  self.dispatchedAt = now
  if (job.trace !== undefined) Tracing.dispatched(job.trace)
  return true
}

/**
 * The backend took the job it was dispatched to (`dispatch` stands): its queue wait, up to `now`, is recorded. A job
 * given back (`requeue`) waits on: that record is taken back, and the dispatch that stands records the whole wait.
 */
export const accepted = (job: Job, now: number): void => {
  const waited = now - job.submittedAt
  Metrics.observe(job.stats.queueWait, waited)
  mutable(job).waited = waited
}

/**
 * `Dispatched → Queued`: the backend had no room after all, or gives back a job it never started (its worker died
 * or is being stopped, or an idle worker takes it over). The job keeps its id, so it keeps its place among older and
 * newer jobs. False from any other state: a job that has started is never run twice.
 */
export const requeue = (job: Job): boolean => {
  if (job.state !== "Dispatched") return false
  const self = mutable(job)
  self.state = "Queued"
  self.slot = undefined
  if (self.waited !== undefined) {
    Metrics.unobserve(job.stats.queueWait, self.waited)
    self.waited = undefined
  }
  if (job.trace !== undefined) Tracing.requeued(job.trace)
  return true
}

/** `Dispatched → Running`: the backend has started it. True if it is `Running` now (idempotent). */
export const markRunning = (job: Job): boolean => {
  if (job.state === "Running") return true
  if (job.state !== "Dispatched") return false
  mutable(job).state = "Running"
  return true
}

/**
 * Whether the job has started, asking the backend (`started`) while it is `Dispatched`, and recording a start it
 * observes (`Dispatched → Running`).
 */
export const observeStart = (job: Job, started: (job: Job) => boolean): boolean => {
  switch (job.state) {
    case "Queued":
      return false
    case "Dispatched":
      return started(job) && markRunning(job)
    default:
      return true
  }
}

/**
 * `Dispatched | Running → Done`: its outcome arrived (or its worker died), counted as `outcome` with its run time.
 * False if it is not in flight.
 */
export const finish = (job: Job, outcome: Outcome, now: number): boolean => {
  if (!isInFlight(job)) return false
  mutable(job).state = "Done"
  job.stats[outcome]++
  Metrics.observe(job.stats.run, now - job.dispatchedAt)
  return true
}

/** `Queued → Done`: the executor broke before the job was dispatched (counted failed). False from any other state. */
export const failQueued = (job: Job): boolean => {
  if (job.state !== "Queued") return false
  mutable(job).state = "Done"
  job.stats.failed++
  return true
}

/**
 * `Queued | Dispatched | Running → Cancelled`. Returns the state it left (so the caller knows whether a backend
 * must let go of it), or `undefined` if it was already over. `started` is false when the backend took back a
 * dispatched job that never started (it waited on a worker behind another one): like a queued one, it then has no
 * run time, and the queue wait its dispatch recorded (and its span's dispatched event) is taken back.
 */
export const cancel = (job: Job, now: number, started = true): "Queued" | "Dispatched" | "Running" | undefined => {
  const from = job.state
  if (from === "Done" || from === "Cancelled") return undefined
  const self = mutable(job)
  self.state = "Cancelled"
  job.stats.cancelled++
  if (from !== "Queued" && started) Metrics.observe(job.stats.run, now - job.dispatchedAt)
  if (!started) {
    if (self.waited !== undefined) Metrics.unobserve(job.stats.queueWait, self.waited)
    self.waited = undefined
    if (job.trace !== undefined) Tracing.requeued(job.trace)
  }
  if (job.trace !== undefined) Tracing.end(job.trace, Exit.interrupt())
  return from
}

// ---------------------------------------------------------------------------------------------------------------
// The outcome
// ---------------------------------------------------------------------------------------------------------------

/** Delivers `exit` to the future waiting for the job (or keeps it for the future to find). */
export const settle = (job: Job, exit: Exit.Exit<unknown, unknown>): void => {
  const self = mutable(job)
  self.exit = exit
  if (job.trace !== undefined) Tracing.end(job.trace, exit)
  const resume = self.resume
  self.resume = undefined
  if (resume !== undefined) resume(exit)
}
