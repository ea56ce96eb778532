/**
 * The pool of workers behind `layerWorkerThreads` and `layerProcesses`: one implementation over a `Transport`.
 *
 * A worker's life:
 *
 * ```text
 *   starting ──Ready──▶ active ──idleTimeout / maxTasksPerWorker──▶ retiring ──▶ exit
 *      │                  │
 *      │                  └─ its running job is interrupted: "cooperative" ──▶ draining ──Done──▶ active or retired
 *      │                                                                           └─ grace period ──▶ terminated
 *      │                     "terminate" ──▶ terminated
 *      └─ exit while starting: a failed start; `maxStartFailures` in a row break the executor
 * ```
 *
 * A worker runs its jobs one at a time, in order. When every worker is busy, a worker thread may hold a few more jobs
 * so it starts the next without waiting for a round trip (CPython's process pool pre-queues one extra call the same
 * way). Measured here on 2 cores with 64 no-op tasks in flight: ~14k tasks/s with one job per worker, ~28k/s with
 * one pre-queued (before later hot-path work), then ~50k/s with one and ~60-90k/s with three; `map` over 1M items in
 * chunks of 1,000, ~3.0M against ~3.6M items/s. A worker that always has its next message waiting is never woken
 * from sleep per message, and that wake-up was most of a `postMessage`'s cost on the caller's thread. A pre-queued
 * job stays PENDING until the worker claims its cell (`claims.ts`), so `Future.cancel` keeps Python's meaning
 * exactly, and an idle worker takes over a job pre-queued behind a long task elsewhere.
 * Child processes share no memory for claims, so they run one job at a time.
 *
 * A worker retired while idle (idle timeout, `maxTasksPerWorker`, closing) is stopped gracefully (`retire`: a child
 * exits on its own with its output flushed); one whose task is stuck or cancelled is killed (`terminate`).
 *
 * Only starting and active workers count toward `maxWorkers`: a draining worker's slot is free at once, so the next
 * task never waits for an interrupted one. A worker that dies fails only the job it had started, with
 * `WorkerCrashed`; its pre-queued jobs go back to the head of the queue.
 *
 * Timers here are Node timers, not Effect's Clock: worker layers never run under `TestClock` (their workers live in
 * real time), and every timer is cleared when the pool closes.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { BrokenExecutor, EncodeError, TaskLoadError, WorkerCrashed } from "../../ExecutorError.ts"
import * as Claims from "./claims.ts"
import { encodePayload, packPayloads } from "../wire/codec.ts"
import { payloadNotCloneable } from "../wire/transfer.ts"
import type { Backend, Host } from "../executor/backend.ts"
import * as Tracing from "../observability/tracing.ts"
import * as Job from "../job/job.ts"
import * as Lifecycle from "../executor/lifecycle.ts"
import * as Logs from "../observability/logs.ts"
import * as Progress from "../observability/progress.ts"
import * as Policy from "./policy.ts"
import * as Priority from "../transport/priority.ts"
import type { Initializer } from "../executor/options.ts"
import type { ChunkResult, FromWorker, WireExit, WorkerInit } from "../wire/protocol.ts"
import type { Transport, WorkerExit, WorkerHandle } from "../transport/transport.ts"

export interface PoolOptions {
  readonly maxWorkers: number
  readonly minWorkers: number
  /** Milliseconds; `Infinity` keeps idle workers. */
  readonly idleTimeout: number
  readonly maxTasksPerWorker: number
  readonly interrupt: "cooperative" | "terminate"
  /** Milliseconds. */
  readonly interruptGracePeriod: number
  readonly initializer: Initializer | undefined
  /** Booted workers kept in reserve (not counted in `maxWorkers`) to replace a lost worker without a boot. */
  readonly spareWorkers: number
}

/** Consecutive workers dying before they are ready, after which the executor is broken (no crash loop). */
export const maxStartFailures = 3

type WorkerState = Policy.WorkerState

/**
 * Milliseconds a draining worker has to answer its `Interrupt` before it counts as stuck in synchronous code and goes
 * to the background for the rest of its grace period (see `transport/priority.ts`).
 */
const STUCK_AFTER = 30

interface PoolWorker extends Policy.WorkerView {
  readonly id: number
  readonly handle: WorkerHandle
  state: WorkerState
  readonly prequeues: boolean
  /** Jobs sent and neither done nor taken back, in the order the worker runs them. */
  readonly jobs: Array<Job.Job>
  /** Claim cells shared with the worker (threads only), and which are free. */
  readonly cells: Int32Array | undefined
  readonly freeCells: Array<number>
  /** The cell of each job sent with one, until the worker reports on it. */
  readonly cellOf: Map<number, number>
  /** Jobs sent (done or not): how `maxTasksPerWorker` is enforced. */
  assigned: number
  timer: ReturnType<typeof setTimeout> | undefined
  /** Its OS thread (see `transport/priority.ts`), and whether it was put in the background while draining. */
  thread: number | undefined
  background: boolean
  /** Whether it answered the last `Interrupt` (its event loop is free). */
  heard: boolean
}

/** Everything the pool knows, in one record: the functions below read and move it, `policy.ts` decides. */
interface PoolState {
  readonly transport: Transport
  readonly options: PoolOptions
  readonly host: Host
  readonly workers: Map<number, PoolWorker>
  /** Active workers with no job, most recently used last (reused first: its caches are warm). */
  readonly idle: Array<PoolWorker>
  nextWorkerId: number
  starting: number
  active: number
  startFailures: number
  /** Open, Draining (closing: waiting for every worker to exit), Broken or Closed: see `lifecycle.ts`. */
  lifecycle: Lifecycle.Lifecycle<() => void>
  /** Task modules seen lately: new workers import them while booting. */
  readonly recentModules: Set<string>
  /** Task modules that started an executor while a worker imported them (see `ImportRefused`), with the message. */
  readonly refusedModules: Map<string, string>
  readonly initializer: WorkerInit["initializer"]
  /** Spares booting or booted (not counted in `maxWorkers`), and those ready to take a place in the pool at once. */
  readonly spares: Set<PoolWorker>
  readonly readySpares: Set<PoolWorker>
  /** Replays a worker's log lines through the executor's loggers (`logs.ts`). */
  readonly emitLog: Logs.Emitter
}

const refusal = (self: PoolState, job: Job.Job): TaskLoadError | undefined => {
  const message = self.refusedModules.get(job.task.module)
  return message === undefined
    ? undefined
    : new TaskLoadError({ module: job.task.module, task: job.task.name, message })
}

const clearTimer = (worker: PoolWorker) => {
  if (worker.timer !== undefined) {
    clearTimeout(worker.timer)
    worker.timer = undefined
  }
}

const setState = (self: PoolState, worker: PoolWorker, state: WorkerState) => {
  if (Policy.counts(worker.state) && !Policy.counts(state)) self.active--
  if (!Policy.counts(worker.state) && Policy.counts(state)) self.active++
  if (worker.state === "starting" && state !== "starting") self.starting--
  worker.state = state
}

const removeIdle = (self: PoolState, worker: PoolWorker) => {
  const at = self.idle.indexOf(worker)
  if (at >= 0) self.idle.splice(at, 1)
}

const removeJob = (worker: PoolWorker, job: Job.Job) => {
  const at = worker.jobs.indexOf(job)
  if (at >= 0) worker.jobs.splice(at, 1)
}

/** Whether `job` has started on `worker`: the first job of a worker without cells, or a claimed cell. */
const startedOn = (worker: PoolWorker, job: Job.Job): boolean => {
  const cell = worker.cellOf.get(job.id)
  if (worker.cells === undefined || cell === undefined) return worker.jobs[0] === job
  return Claims.hasStarted(worker.cells, cell)
}

/** Takes back a job that has not started on `worker`; false if the worker already started it. */
const takeBack = (worker: PoolWorker, job: Job.Job, as: typeof Claims.CANCELLED | typeof Claims.WITHDRAWN) => {
  const cell = worker.cellOf.get(job.id)
  if (worker.cells === undefined || cell === undefined) return false
  if (!Claims.takeBack(worker.cells, cell, as)) return false
  // The cell stays reserved until the worker reports it skipped the job.
  removeJob(worker, job)
  job.slot = undefined
  return true
}

/** Puts a job that never started on `worker` back at the head of the queue, to run elsewhere. */
const withdraw = (self: PoolState, worker: PoolWorker, job: Job.Job) => {
  if (Job.isInFlight(job) && takeBack(worker, job, Claims.WITHDRAWN)) self.host.requeue(job)
}

/**
 * An idle worker first takes over a job pre-queued behind a long task on another worker: that job was submitted
 * before anything still in the queue (FIFO), and without this it could wait for a slow task while a worker idles.
 */
const steal = (self: PoolState) => {
  if (self.idle.length === 0) return
  // The oldest pre-queued job anywhere (jobs[0] is the running one), wherever it sits in its worker's line: a job
  // requeued after a crash or an interrupt may have been pre-queued behind newer ones, and must not wait for
  // them (they may be waiting for it).
  // A job still in the queue that is older goes first (see `Policy.stealFrom`).
  const steal = Policy.stealFrom(self.workers.values(), self.host.nextQueuedId())
  if (steal === undefined) return
  withdraw(self, steal.from, steal.job)
  self.host.pump()
}

/** Kills a worker now: its task is stuck or cancelled, or the pool is broken. */
const terminate = (self: PoolState, worker: PoolWorker) => {
  clearTimer(worker)
  removeIdle(self, worker)
  setState(self, worker, "retiring")
  // A worker on its way out keeps the process alive until it has exited, so shutdown can observe the exit.
  worker.handle.setRef(true)
  worker.handle.terminate()
}

/**
 * Stops a worker that has no task (idle timeout, `maxTasksPerWorker`, closing): it exits on its own, so nothing
 * it wrote just before is lost, and is killed only if it has not within the transport's grace period.
 */
const retire = (self: PoolState, worker: PoolWorker) => {
  if (worker.state === "retiring") return
  clearTimer(worker)
  removeIdle(self, worker)
  setState(self, worker, "retiring")
  worker.handle.setRef(true)
  worker.handle.stop()
}

const becomeIdle = (self: PoolState, worker: PoolWorker) => {
  self.idle.push(worker)
  worker.handle.setRef(false)
  steal(self)
  self.host.pump()
  if (Policy.armsIdleTimer(worker, self.active, Lifecycle.isOpen(self.lifecycle), self.options)) {
    worker.timer = setTimeout(() => {
      worker.timer = undefined
      if (Policy.retiresWhenIdle(worker, self.active, self.options)) retire(self, worker)
    }, self.options.idleTimeout)
    worker.timer.unref()
  }
}

/** The last worker exited: a close waiting for it resumes. */
const allExited = (self: PoolState) => {
  const waiter = Lifecycle.waiter(self.lifecycle)
  if (waiter === undefined) return
  self.lifecycle = Lifecycle.close(self.lifecycle)
  waiter()
}

const breakPool = (self: PoolState, message: string) => {
  const error = new BrokenExecutor({ message })
  const next = Lifecycle.breakWith(self.lifecycle, error)
  if (next === undefined) return
  self.lifecycle = next
  self.host.breakWith(error)
  for (const worker of self.workers.values()) terminate(self, worker)
}

const spawn = (self: PoolState, asSpare = false) => {
  const id = self.nextWorkerId++
  const cells = self.transport.sharedMemory ? Claims.makeCells() : undefined
  let handle: WorkerHandle
  try {
    handle = self.transport.spawn(
      { workerId: id, initializer: self.initializer, claims: cells, preload: [...self.recentModules] },
      { onMessage: (message) => onMessage(self, worker, message), onExit: (exit) => onExit(self, worker, exit) }
    )
  } catch (cause) {
    if (++self.startFailures >= maxStartFailures) {
      breakPool(self, `Workers could not be started: ${cause instanceof Error ? cause.message : String(cause)}`)
    }
    return
  }
  const worker: PoolWorker = {
    id,
    handle,
    state: asSpare ? "spare" : "starting",
    prequeues: cells !== undefined,
    jobs: [],
    cells: cells === undefined ? undefined : new Int32Array(cells),
    freeCells: cells === undefined ? [] : Array.from({ length: Claims.CELLS }, (_, i) => i),
    cellOf: new Map(),
    assigned: 0,
    timer: undefined,
    thread: undefined,
    background: false,
    heard: false
  }
  self.workers.set(id, worker)
  if (asSpare) {
    self.spares.add(worker)
    return
  }
  self.starting++
  self.active++
}

const keepSpares = (self: PoolState) => {
  while (Lifecycle.isOpen(self.lifecycle) && self.spares.size < self.options.spareWorkers) spawn(self, true)
}

/** Puts a ready spare in the place of a worker that would otherwise have to boot. */
const promoteSpare = (self: PoolState): boolean => {
  const spare = self.readySpares.values().next().value
  if (spare === undefined) return false
  self.readySpares.delete(spare)
  self.spares.delete(spare)
  setState(self, spare, "active")
  becomeIdle(self, spare)
  keepSpares(self)
  return true
}

/** Starts workers while there is queued work (or fewer than `minWorkers`) and room under `maxWorkers`. */
const topUp = (self: PoolState) => {
  if (!Lifecycle.isOpen(self.lifecycle)) return
  // Jobs waiting on a busy worker count as demand too: a new worker takes them over (see `steal`).
  const demand = () => self.host.queued() + waitingJobs(self)
  while (Policy.shouldStart(self.active, self.starting, demand(), self.options)) {
    if (promoteSpare(self)) return
    spawn(self)
  }
}

const onMessage = (self: PoolState, worker: PoolWorker, message: FromWorker) => {
  switch (message._tag) {
    case "Ready":
      worker.thread = message.thread
      if (worker.state === "spare") {
        self.startFailures = 0
        self.readySpares.add(worker)
        worker.handle.setRef(false)
        return
      }
      if (worker.state !== "starting") return
      self.startFailures = 0
      setState(self, worker, "active")
      return becomeIdle(self, worker)
    case "InitFailed":
      return breakPool(
        self,
        `The initializer "${self.options.initializer?.task.name}" failed in worker ${worker.id}: ${message.message}`
      )
    case "Interrupting":
      worker.heard = true
      return
    case "Done":
      return onDone(self, worker, message.id, message.exit)
    case "ChunkDone":
      return onDone(self, worker, message.id, message.result)
    case "Skipped":
      return releaseCell(worker, message.id)
    case "ImportRefused":
      // The worker answers its own jobs for the module; if the program that tripped the guard ends the worker
      // first, `onExit` fails them with this message rather than a crash.
      self.refusedModules.set(message.module, message.message)
      self.recentModules.delete(message.module)
      return
    case "Unhandled":
      return self.host.unhandledRejection(message.task, worker.id, message.reason)
    case "Log":
      return self.emitLog(worker.id, message)
    case "Progress": {
      const job = worker.jobs.find((job) => job.id === message.id)
      return job === undefined ? undefined : Progress.publish(job, message.value)
    }
  }
}

const releaseCell = (worker: PoolWorker, id: number) => {
  const cell = worker.cellOf.get(id)
  if (cell === undefined) return
  worker.cellOf.delete(id)
  worker.freeCells.push(cell)
}

const onDone = (self: PoolState, worker: PoolWorker, id: number, exit: WireExit | ChunkResult) => {
  releaseCell(worker, id)
  const job = worker.jobs.find((job) => job.id === id)
  if (job === undefined) return
  removeJob(worker, job)
  // The worker's next step comes first: whoever awaits this job may resume synchronously inside `finish` and
  // submit again, and should then find the worker free.
  afterRemoval(self, worker)
  self.host.finish(job, exit)
}

/** A job left the worker: decide what the worker does next. */
const afterRemoval = (self: PoolState, worker: PoolWorker) => {
  switch (Policy.afterRemoval(worker, self.active, Lifecycle.isOpen(self.lifecycle), self.options)) {
    case "wait":
      return
    case "reuse":
      // The interrupted task stopped within the grace period: the worker is healthy and may serve again, at its
      // priority (one left in the background whose priority cannot be restored is retired instead).
      clearTimer(worker)
      if (worker.background && !Priority.restore(worker.thread)) return retire(self, worker)
      worker.background = false
      setState(self, worker, "active")
      return becomeIdle(self, worker)
    case "retire":
      return retire(self, worker)
    case "retireAndTopUp":
      retire(self, worker)
      return topUp(self)
    case "drain":
      // A job cancelled after its cell was claimed is running now: stop it like any running job.
      return drain(self, worker)
    case "idle":
      return becomeIdle(self, worker)
    case "pump":
      return self.host.pump()
  }
}

const describeExit = (worker: PoolWorker, exit: WorkerExit) => {
  const how = exit.oom
    ? `ran out of memory${exit.signal === null ? "" : ` (${exit.signal})`}`
    : exit.signal === "SIGABRT"
      ? "aborted (SIGABRT)"
      : exit.signal !== null
        ? `was killed by ${exit.signal}`
        : `exited with code ${exit.exitCode}`
  const error = exit.error instanceof Error ? `: ${exit.error.name}: ${exit.error.message}` : ""
  return `Worker ${worker.id} ${how}${error}`
}

const onExit = (self: PoolState, worker: PoolWorker, exit: WorkerExit) => {
  clearTimer(worker)
  removeIdle(self, worker)
  self.workers.delete(worker.id)
  const state = worker.state
  if (state === "spare") {
    self.spares.delete(worker)
    self.readySpares.delete(worker)
    if (Lifecycle.isOpen(self.lifecycle) && ++self.startFailures >= maxStartFailures) {
      breakPool(
        self,
        `Spare self.workers keep dying (${self.startFailures} in a row); last: ${describeExit(worker, exit)}`
      )
    }
    keepSpares(self)
    if (self.workers.size === 0) allExited(self)
    return
  }
  if (state !== "retiring") setState(self, worker, "retiring")
  if (state === "starting" && Lifecycle.isOpen(self.lifecycle) && ++self.startFailures >= maxStartFailures) {
    breakPool(
      self,
      `Workers keep dying while self.starting (${self.startFailures} in a row); last: ${describeExit(worker, exit)}`
    )
  }
  // Only a job that had started can have crashed with the worker; the others never ran and are queued again.
  const crashed = worker.jobs.filter((job) => startedOn(worker, job))
  const jobs = worker.jobs.splice(0)
  for (let i = jobs.length - 1; i >= 0; i--) {
    if (crashed.includes(jobs[i])) continue
    // A job whose module tripped the bootstrapping guard would only trip it again elsewhere.
    const refused = refusal(self, jobs[i])
    if (refused === undefined) self.host.requeue(jobs[i])
    else self.host.fail(jobs[i], refused)
  }
  for (const job of crashed) {
    self.host.fail(
      job,
      refusal(self, job) ??
        new WorkerCrashed({
          workerId: worker.id,
          exitCode: exit.exitCode,
          signal: exit.signal,
          oom: exit.oom,
          message: `${describeExit(worker, exit)} while running task "${job.task.name}"`
        })
    )
  }
  if (self.workers.size === 0) allExited(self)
  topUp(self)
  self.host.pump()
}

/** The worker's running job was cancelled: stop it by the interrupt policy; its pre-queued jobs go elsewhere. */
const drain = (self: PoolState, worker: PoolWorker) => {
  // Last first: each goes back to the head of the queue, so they end up there in their original order.
  for (const job of worker.jobs.slice(1).reverse()) withdraw(self, worker, job)
  const running = worker.jobs[0]
  if (self.options.interrupt === "terminate" || running === undefined) {
    replaceCondemned(self, worker)
  } else {
    setState(self, worker, "draining")
    worker.heard = false
    worker.handle.send({ _tag: "Interrupt", id: running.id })
    armStuckTimer(self, worker)
  }
  topUp(self)
  self.host.pump()
}

/**
 * A draining worker that does not answer its `Interrupt` soon is stuck in synchronous code (it cannot even see the
 * interrupt): it goes to the background for the rest of its grace period, so it does not slow down the work that
 * follows; when the grace period ends it is replaced.
 */
const armStuckTimer = (self: PoolState, worker: PoolWorker) => {
  const stuckAfter = Math.min(STUCK_AFTER, self.options.interruptGracePeriod)
  worker.timer = setTimeout(() => {
    worker.timer = undefined
    if (worker.state !== "draining") return
    if (!worker.heard) worker.background = Priority.background(worker.thread)
    worker.timer = setTimeout(() => {
      worker.timer = undefined
      if (worker.state === "draining") replaceCondemned(self, worker)
    }, self.options.interruptGracePeriod - stuckAfter)
    worker.timer.unref()
  }, stuckAfter)
  worker.timer.unref()
}

/**
 * Terminates a worker whose cancelled task would not stop, and starts its replacement at once rather than when the
 * next task arrives: the replacement boots while the old worker dies. (A draining worker is not replaced before its
 * grace period ends unless work is waiting: a task that stops in time hands its worker back.)
 */
const replaceCondemned = (self: PoolState, worker: PoolWorker) => {
  terminate(self, worker)
  if (Lifecycle.isOpen(self.lifecycle) && self.active < self.options.maxWorkers && !promoteSpare(self)) spawn(self)
}

const dispatch = (self: PoolState, worker: PoolWorker, job: Job.Job) => {
  clearTimer(worker)
  if (worker.jobs.length === 0) {
    removeIdle(self, worker)
    worker.handle.setRef(true)
  }
  // A job sent behind another one gets a claim cell, so it can be taken back until the worker starts it.
  let claim: number | undefined
  if (worker.jobs.length > 0 && worker.cells !== undefined) {
    claim = worker.freeCells.pop()!
    Atomics.store(worker.cells, claim, Claims.WAITING)
    worker.cellOf.set(job.id, claim)
  }
  worker.jobs.push(job)
  worker.assigned++
  job.slot = worker
  try {
    worker.handle.send(
      job.chunk
        ? {
            _tag: "RunChunk",
            id: job.id,
            module: job.task.module,
            task: job.task.name,
            payloads: packPayloads(job.task, job.payload as ArrayLike<unknown>),
            claim,
            trace: job.trace === undefined ? undefined : Tracing.contextOf(job.trace)
          }
        : {
            _tag: "Run",
            id: job.id,
            module: job.task.module,
            task: job.task.name,
            payload: job.payload,
            claim,
            trace: job.trace === undefined ? undefined : Tracing.contextOf(job.trace)
          }
    )
  } catch (cause) {
    // The encoded payload cannot be serialized (a function, a symbol...): fail this task; the worker is fine.
    worker.jobs.pop()
    worker.assigned--
    releaseCell(worker, job.id)
    const message = payloadNotCloneable(cause)
    queueMicrotask(() => {
      self.host.fail(job, new EncodeError({ task: job.task.name, which: "payload", message }))
      if (worker.state === "active" && worker.jobs.length === 0) becomeIdle(self, worker)
    })
  }
}

/** The least-loaded busy worker thread that can take one more job now (see `Policy.withRoom`). */
const withRoom = (self: PoolState) => Policy.withRoom(self.workers.values(), self.options)

/** Jobs sent to a worker behind its first one that it has not started: they wait for it, and count as queued. */
const waitingJobs = (self: PoolState) => {
  let count = 0
  for (const worker of self.workers.values()) {
    // A worker's first job is running, or starts as soon as the worker reads it (the job before it is done):
    // it waits for nothing. Counting it until its cell is claimed would leave a submit suspended on a full
    // queue that nothing wakes when the claim lands, as the claim sends no message.
    for (let i = 1; i < worker.jobs.length; i++) if (!startedOn(worker, worker.jobs[i])) count++
  }
  return count
}

/** The pool as the core sees it. */
const makeBackend = (self: PoolState): Backend => ({
  started: (job) => {
    const worker = job.slot as PoolWorker | undefined
    return worker === undefined || startedOn(worker, job)
  },
  cancelPending: (job) => {
    const worker = job.slot as PoolWorker | undefined
    if (worker === undefined || !takeBack(worker, job, Claims.CANCELLED)) return false
    afterRemoval(self, worker)
    return true
  },
  waiting: () => waitingJobs(self),
  freeSlots: () => {
    if (!Lifecycle.isOpen(self.lifecycle)) return 0
    let booting = 0
    for (const worker of self.workers.values()) if (worker.state === "starting") booting++
    // Starting workers are counted in `active` already; idle ones have no job; the rest can still be started.
    return Policy.freeSlots(self.idle.length, booting, self.active, true, self.options)
  },
  start: (job) => {
    const refused = refusal(self, job)
    if (refused !== undefined) {
      // Its module would only trip the guard again on another worker: fail it (after `start` returns, as the
      // core expects of a job it has just started).
      queueMicrotask(() => self.host.fail(job, refused))
      return true
    }
    if (!self.recentModules.has(job.task.module) && self.recentModules.size < 16)
      self.recentModules.add(job.task.module)
    const free = self.idle.pop()
    if (free !== undefined) {
      dispatch(self, free, job)
      return true
    }
    topUp(self)
    if (!Policy.mayPrequeue(self.active, self.starting, self.options)) return false
    const busy = withRoom(self)
    if (busy === undefined) return false
    dispatch(self, busy, job)
    return true
  },
  stop: (job) => {
    const worker = job.slot as PoolWorker | undefined
    job.slot = undefined
    if (worker === undefined || worker.state !== "active") return
    // Not started yet: take it back; it never runs.
    if (takeBack(worker, job, Claims.CANCELLED)) return afterRemoval(self, worker)
    // Started: it runs first on that worker, or will once the job before it reports done.
    if (worker.jobs[0] === job) drain(self, worker)
  },
  close: Effect.callback<void>((resume) => {
    if (self.workers.size === 0) {
      self.lifecycle = Lifecycle.close(self.lifecycle)
      return resume(Effect.void)
    }
    self.lifecycle = Lifecycle.drain(self.lifecycle, () => resume(Effect.void))
    // Idle workers exit on their own; one still busy with a cancelled task (closing past shutdownTimeout, or on
    // interruption) is killed, as the interrupt policy would have.
    for (const worker of self.workers.values()) {
      if (worker.state === "draining" || worker.jobs.length > 0) terminate(self, worker)
      else retire(self, worker)
    }
  }),
  workers: () => self.active,
  spares: () => self.readySpares.size,
  busy: () => {
    // A worker counts once even in the instant between starting its next job and reporting the last one done.
    let count = 0
    for (const worker of self.workers.values()) {
      if (worker.state === "active" && worker.jobs.some((job) => startedOn(worker, job))) count++
    }
    return count
  }
})

export const make = (transport: Transport, options: PoolOptions) => (host: Host) =>
  Effect.gen(function* () {
    const self: PoolState = {
      transport,
      options,
      host,
      workers: new Map(),
      idle: [],
      nextWorkerId: 1,
      starting: 0,
      active: 0,
      startFailures: 0,
      lifecycle: Lifecycle.open,
      recentModules: new Set(),
      refusedModules: new Map(),
      initializer: encodeInitializer(options.initializer, host),
      spares: new Set(),
      readySpares: new Set(),
      emitLog: Logs.makeEmitter(yield* Effect.context<never>())
    }
    yield* Effect.sync(() => {
      topUp(self)
      keepSpares(self)
    })
    return makeBackend(self)
  })

/** The initializer's payload, encoded once for every worker; an initializer that cannot encode breaks the pool. */
const encodeInitializer = (init: Initializer | undefined, host: Host): WorkerInit["initializer"] => {
  if (init === undefined) return undefined
  const encoded = encodePayload(init.task, init.input)
  if (encoded._tag === "Failure") {
    host.breakWith(
      new BrokenExecutor({ message: `The initializer "${init.task.name}" failed: ${encoded.failure.message}` })
    )
    return undefined
  }
  return { module: init.task.module, task: init.task.name, payload: encoded.success }
}
