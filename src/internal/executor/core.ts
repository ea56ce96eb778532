/**
 * The executor core shared by every layer: the FIFO queue, the futures, shutdown and statistics.
 *
 * A submitted task becomes a `Job` and a future whose fiber waits (in `Effect.callback`) for the job's outcome. The
 * core hands jobs to a `Backend` in FIFO order whenever it has capacity; the backend runs them (on a fiber, a worker
 * thread or a child process) and reports back through the `Host`. The core never knows how a job runs.
 *
 * The route of a task, each step a function of this module over one `CoreState` record:
 *
 * ```text
 *   submit ─▶ admission (maxQueue) ─▶ enqueue ─▶ pump ─▶ dispatchNext ─▶ backend.start
 *                                                  ▲                          │
 *                 host: finish / fail / requeue ◀── the backend reports ◀─────┘
 * ```
 *
 * A job's states and transitions are in `job/job.ts`, the queue's order in `job/queue.ts`, the executor's lifecycle in
 * `lifecycle.ts`; this module moves jobs between them and keeps the statistics.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { type BrokenExecutor, ExecutorShutdown, type SubmitError } from "../../ExecutorError.ts"
import type * as Task from "../../Task.ts"
import * as Admission from "./admission.ts"
import { type Batch, decodeChunk, decodeExit, encodePayload, encodePayloads } from "../wire/codec.ts"
import { FutureImpl } from "../job/future.ts"
import * as Progress from "../observability/progress.ts"
import * as Job from "../job/job.ts"
import * as JobQueue from "../job/queue.ts"
import * as Lifecycle from "./lifecycle.ts"
import type { ChunkResult, WireExit } from "../wire/protocol.ts"
import type { Backend, Host } from "./backend.ts"
import { Samples } from "./samples.ts"
import * as Metrics from "../observability/metrics.ts"
import * as Tracing from "../observability/tracing.ts"

export type { Job } from "../job/job.ts"

export type { Backend, Host } from "./backend.ts"

export interface Stats {
  readonly workers: number
  readonly spares: number
  readonly busy: number
  readonly queued: number
  readonly completed: number
  readonly failed: number
  readonly crashed: number
  readonly cancelled: number
  readonly unhandledRejections: number
  readonly waitTime: { readonly p50: Duration.Duration; readonly p99: Duration.Duration }
  readonly runTime: { readonly p50: Duration.Duration; readonly p99: Duration.Duration }
}

export interface CoreOptions {
  /** The executor's `name`: the `executor` attribute of its metrics and spans. */
  readonly name: string
  readonly maxQueue: number
  readonly onFull: "suspend" | "fail"
  readonly shutdownTimeout: number | undefined
}

export interface ShutdownOptions {
  readonly wait?: boolean | undefined
  readonly cancelFutures?: boolean | undefined
}

export interface Core {
  readonly submit: (task: Task.Any, input: unknown) => Effect.Effect<FutureImpl<unknown, unknown>, SubmitError>
  readonly submitChunk: (
    task: Task.Any,
    inputs: ReadonlyArray<unknown>
  ) => Effect.Effect<FutureImpl<Batch, unknown>, SubmitError>
  readonly shutdown: (options?: ShutdownOptions) => Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
}

/** Everything the core knows, in one record: the functions below read and move it. */
interface CoreState {
  readonly options: CoreOptions
  readonly clock: Clock.Clock
  readonly runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  readonly queue: JobQueue.JobQueue
  /** Jobs handed to the backend (`Dispatched` or `Running`). */
  readonly running: Set<Job.Job>
  nextId: number
  /** Open, Draining (shut down), Broken or Closed (the backend released): see `lifecycle.ts`. */
  lifecycle: Lifecycle.Lifecycle
  /** Set once, while the core is made (the admission is made before it: see `make`). */
  backend: Backend
  admission: Admission.Admission
  /** Done once the core is shut down and no job is queued or running. */
  readonly idle: Deferred.Deferred<void>
  /** Per task: the counts and histograms both `stats` and the exported metrics read (`observability/metrics.ts`). */
  metrics: Metrics.ExecutorMetrics
  unhandledRejections: number
  readonly waitTimes: Samples
  readonly runTimes: Samples
}

// ---------------------------------------------------------------------------------------------------------------
// The route: submit → enqueue → pump → dispatchNext
// ---------------------------------------------------------------------------------------------------------------

const submit = (self: CoreState, task: Task.Any, input: unknown) =>
  self.admission.admitThen(() => {
    const encoded = encodePayload(task, input)
    if (encoded._tag === "Failure") return failedFuture(self, task, encoded.failure)
    return enqueue(self, task, encoded.success, false)
  })

const submitChunk = (self: CoreState, task: Task.Any, inputs: ReadonlyArray<unknown>) =>
  self.admission.admitThen(() => {
    const encoded = encodePayloads(task, inputs)
    if (encoded._tag === "Failure") return failedFuture(self, task, encoded.failure)
    return enqueue(self, task, encoded.success, true)
  })

const enqueue = (self: CoreState, task: Task.Any, payload: unknown, chunk: boolean) => {
  const job = Job.make(
    self.nextId++,
    task,
    payload,
    chunk,
    self.clock.currentTimeMillisUnsafe(),
    Metrics.taskStats(self.metrics, task.name),
    Tracing.start(task.name, self.options.name, self.clock, chunk)
  )
  JobQueue.push(self.queue, job)
  const future = makeFuture(self, job)
  pump(self)
  return future
}

/** Hands queued jobs to the backend, oldest first, while it has room. */
const pump = (self: CoreState) => {
  while (self.queue.size > 0 && Lifecycle.brokenBy(self.lifecycle) === undefined) {
    if (!dispatchNext(self)) break
  }
  JobQueue.compact(self.queue)
  self.admission.wake()
  checkIdle(self)
}

/** `Queued → Dispatched` for the oldest queued job, if the backend takes it; false if it has no room. */
const dispatchNext = (self: CoreState): boolean => {
  const job = JobQueue.takeNext(self.queue)
  if (job === undefined) return false
  Job.dispatch(job, self.clock.currentTimeMillisUnsafe())
  // In the running set before `start`: a backend may finish the job before `start` returns.
  self.running.add(job)
  if (!self.backend.start(job)) {
    // No room after all: put it back at the head, where it came from.
    self.running.delete(job)
    Job.requeue(job)
    JobQueue.putBack(self.queue, job)
    return false
  }
  self.queue.size--
  Job.accepted(job, job.dispatchedAt)
  self.waitTimes.add(job.dispatchedAt - job.submittedAt)
  return true
}

// ---------------------------------------------------------------------------------------------------------------
// What the backend reports (the `Host`)
// ---------------------------------------------------------------------------------------------------------------

const finish = (self: CoreState, job: Job.Job, wire: WireExit | ChunkResult) => {
  if (!Job.isInFlight(job)) return
  let exit: Exit.Exit<unknown, unknown>
  let completed: boolean
  if (job.chunk) {
    const batch = decodeChunk(job.task, wire as ChunkResult)
    exit = Exit.succeed(batch)
    completed = batch.failure === undefined
  } else {
    exit = decodeExit(job.task, wire as WireExit)
    completed = Exit.isSuccess(exit)
  }
  const now = self.clock.currentTimeMillisUnsafe()
  Job.finish(job, completed ? "completed" : "failed", now)
  // The task's own spans, from its worker, close before the task span does (in `settle`).
  const spans = job.trace === undefined ? undefined : wire.spans
  if (spans !== undefined) Tracing.reemit(job.trace!, spans)
  // The future settles before the job leaves the running set: a shutdown waiting for the executor to drain
  // resumes after every future it waited for is done.
  Job.settle(job, exit)
  leaveRunning(self, job, now)
}

const fail = (self: CoreState, job: Job.Job, error: unknown) => {
  const outcome = (error as { _tag?: string })._tag === "WorkerCrashed" ? "crashed" : "failed"
  const now = self.clock.currentTimeMillisUnsafe()
  if (!Job.finish(job, outcome, now)) return
  Job.settle(job, Exit.fail(error))
  leaveRunning(self, job, now)
}

const requeue = (self: CoreState, job: Job.Job) => {
  if (!Job.requeue(job)) return
  self.running.delete(job)
  JobQueue.requeue(self.queue, job)
}

const breakWith = (self: CoreState, error: BrokenExecutor) => {
  const next = Lifecycle.breakWith(self.lifecycle, error)
  if (next === undefined) return
  self.lifecycle = next
  let job: Job.Job | undefined
  while ((job = JobQueue.takeNext(self.queue)) !== undefined) {
    Job.failQueued(job)
    self.queue.size--
    Job.settle(job, Exit.fail(error))
  }
  self.admission.wake()
  checkIdle(self)
}

const unhandledRejection = (self: CoreState, task: string, workerId: number, reason: string) => {
  self.unhandledRejections++
  self.runFork(
    Effect.logWarning(
      `Task "${task}" left a promise rejection unhandled after it had settled; worker ${workerId} carried on`,
      reason
    ).pipe(Effect.annotateLogs({ task, worker: workerId }))
  )
}

const makeHost = (self: CoreState): Host => ({
  finish: (job, wire) => finish(self, job, wire),
  fail: (job, error) => fail(self, job, error),
  pump: () => pump(self),
  queued: () => self.queue.size,
  nextQueuedId: () => JobQueue.nextId(self.queue),
  requeue: (job) => requeue(self, job),
  unhandledRejection: (task, workerId, reason) => unhandledRejection(self, task, workerId, reason),
  breakWith: (error) => breakWith(self, error)
})

const leaveRunning = (self: CoreState, job: Job.Job, now: number) => {
  self.running.delete(job)
  self.runTimes.add(now - job.dispatchedAt)
  checkIdle(self)
}

const checkIdle = (self: CoreState) => {
  if (!Lifecycle.isOpen(self.lifecycle) && self.running.size === 0 && self.queue.size === 0) {
    Deferred.doneUnsafe(self.idle, Exit.void)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Futures and cancellation
// ---------------------------------------------------------------------------------------------------------------

const makeFuture = (self: CoreState, job: Job.Job): FutureImpl<any, any> =>
  // Forking registers the callback (and its finalizer) synchronously, so no interruption can slip in between.
  new FutureImpl(() => self.runFork(awaitJob(self, job)), {
    phase: () => (Job.observeStart(job, self.backend.started) ? "RUNNING" : "PENDING"),
    cancelPending: () => cancelIfPending(self, job),
    progress: job.chunk ? undefined : Progress.open(job, job.task)
  })

/** A task refused before it became a job (its payload did not encode): submitted, and failed at once. */
const failedFuture = (self: CoreState, task: Task.Any, error: unknown): FutureImpl<any, any> => {
  const stats = Metrics.taskStats(self.metrics, task.name)
  stats.submitted++
  stats.failed++
  return new FutureImpl(self.runFork(Effect.fail(error)), { phase: () => "RUNNING", cancelPending: () => false })
}

const awaitJob = (self: CoreState, job: Job.Job) =>
  Effect.callback<unknown, unknown>((resume) => {
    if (job.exit !== undefined) return resume(job.exit)
    job.resume = resume
    return Effect.sync(() => cancelJob(self, job))
  })

/** The future's fiber was interrupted (cancel, interrupt, shutdown): withdraw or stop its job. */
const cancelJob = (self: CoreState, job: Job.Job) => {
  const now = self.clock.currentTimeMillisUnsafe()
  switch (Job.cancel(job, now)) {
    case "Queued":
      self.queue.size--
      self.admission.wake()
      checkIdle(self)
      return
    case "Dispatched":
    case "Running":
      self.backend.stop(job)
      leaveRunning(self, job, now)
      pump(self)
      return
  }
}

/** Cancels a job that has not started (queued, or waiting on a worker); false once it has started. */
const cancelIfPending = (self: CoreState, job: Job.Job): boolean => {
  if (Job.isQueued(job)) {
    cancelJob(self, job)
    return true
  }
  if (job.state !== "Dispatched" || !self.backend.cancelPending(job)) return false
  const now = self.clock.currentTimeMillisUnsafe()
  Job.cancel(job, now, false)
  leaveRunning(self, job, now)
  pump(self)
  return true
}

const admissionError = (self: CoreState): SubmitError | undefined => {
  const broken = Lifecycle.brokenBy(self.lifecycle)
  if (broken !== undefined) return broken
  if (!Lifecycle.isOpen(self.lifecycle)) {
    return new ExecutorShutdown({ message: "The executor is shut down and accepts no new tasks" })
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------------------------

const closeBackend = (self: CoreState) =>
  Effect.suspend(() => {
    if (self.lifecycle._tag === "Closed") return Effect.void
    self.lifecycle = Lifecycle.close(self.lifecycle)
    return self.backend.close
  })

const cancelQueued = (self: CoreState) => {
  // Only pending jobs are cancelled here; running ones are left to finish (or to be interrupted by the caller).
  // Jobs handed to a worker that has not started them are still pending, as far as the caller can tell.
  // Queued jobs go first, so that no slot freed by the others can start one of them.
  const candidates = JobQueue.queued(self.queue)
  candidates.push(...self.running)
  const cancelled = candidates.filter((job) => cancelIfPending(self, job))
  for (const job of cancelled) Job.settle(job, Exit.interrupt())
}

/**
 * Cancels every queued and running job by settling its future as interrupted. Interrupting the futures' fibers
 * instead would race with outcomes already delivered to them and could cancel a future whose task had finished.
 */
const cancelEverything = (self: CoreState) => {
  cancelQueued(self)
  for (const job of Array.from(self.running)) {
    cancelJob(self, job)
    Job.settle(job, Exit.interrupt())
  }
}

/** Waits for queued and running jobs (at most `shutdownTimeout`, then interrupts them), then releases workers. */
const drainThenClose = (self: CoreState) =>
  Effect.gen(function* () {
    const timeout = self.options.shutdownTimeout
    const drained =
      timeout === undefined
        ? yield* Effect.as(Deferred.await(self.idle), true)
        : Option.isSome(yield* Effect.timeoutOption(Deferred.await(self.idle), timeout))
    if (!drained) cancelEverything(self)
    yield* closeBackend(self)
  })

const shutdown = (self: CoreState, shutdownOptions?: ShutdownOptions): Effect.Effect<void> =>
  Effect.suspend(() => {
    const wasClosed = !Lifecycle.isOpen(self.lifecycle)
    self.lifecycle = Lifecycle.drain(self.lifecycle)
    self.admission.wake()
    if (shutdownOptions?.cancelFutures === true) cancelQueued(self)
    checkIdle(self)
    if (shutdownOptions?.wait === false) {
      if (!wasClosed) self.runFork(drainThenClose(self))
      return Effect.void
    }
    return drainThenClose(self)
  })

/** When the scope closes: a graceful shutdown, or (failure, interruption) cancelling everything by the policy. */
const finalize = (self: CoreState, exit: Exit.Exit<unknown, unknown>) =>
  Effect.gen(function* () {
    if (Exit.isSuccess(exit)) {
      yield* shutdown(self, { wait: true })
    } else {
      self.lifecycle = Lifecycle.drain(self.lifecycle)
      cancelEverything(self)
    }
    yield* closeBackend(self)
  }).pipe(Effect.uninterruptible)

/** What the gauges read: the same functions `stats` reads. */
const gaugeSource = (self: CoreState): Metrics.GaugeSource => ({
  workers: () => self.backend.workers(),
  busy: () => self.backend.busy(),
  queued: () => self.queue.size + self.backend.waiting()
})

const stats = (self: CoreState, gauges: Metrics.GaugeSource): Stats => {
  const totals = Metrics.totals(self.metrics)
  return {
    workers: gauges.workers(),
    spares: self.backend.spares(),
    busy: gauges.busy(),
    queued: gauges.queued(),
    completed: totals.completed,
    failed: totals.failed,
    crashed: totals.crashed,
    cancelled: totals.cancelled,
    unhandledRejections: self.unhandledRejections,
    waitTime: self.waitTimes.percentiles(),
    runTime: self.runTimes.percentiles()
  }
}

/**
 * Builds the core in the current scope. `makeBackend` receives the host; the core closes the backend when the
 * scope closes: gracefully (waiting for queued and running tasks, bounded by `shutdownTimeout`) if the scope closes
 * normally, by cancelling everything if it closes with a failure or an interruption.
 */
export const make = Effect.fnUntraced(function* (
  options: CoreOptions,
  makeBackend: (host: Host) => Effect.Effect<Backend, never, Scope.Scope>
) {
  const context = yield* Effect.context<never>()
  const self: CoreState = {
    options,
    clock: yield* Clock.Clock,
    runFork: Effect.runForkWith(context),
    queue: JobQueue.make(),
    running: new Set(),
    nextId: 1,
    lifecycle: Lifecycle.open,
    backend: undefined as never,
    admission: undefined as never,
    idle: Deferred.makeUnsafe<void>(),
    metrics: undefined as never,
    unhandledRejections: 0,
    waitTimes: new Samples(),
    runTimes: new Samples()
  }
  // `maxQueue` bounds the tasks waiting for a busy worker: slots that are free (an idle worker, a worker booting or
  // one the pool may still start) take tasks without any waiting.
  // (Made before the backend, which may break the executor while it is made; it asks the backend for room only
  // once a submit comes.)
  self.admission = Admission.make({
    maxQueue: options.maxQueue,
    onFull: options.onFull,
    hasRoom: (reserved) =>
      self.queue.size + reserved + self.backend.waiting() < options.maxQueue + self.backend.freeSlots(),
    refusal: () => admissionError(self)
  })
  self.backend = yield* makeBackend(makeHost(self))
  // The metrics are registered once the backend is there to read; they leave the registry after the core has closed
  // (finalizers run last-added first).
  const gauges = gaugeSource(self)
  self.metrics = Metrics.make(context, options.name, gauges)
  yield* Effect.addFinalizer(() => Effect.sync(() => Metrics.retire(self.metrics, gauges)))
  yield* Effect.addFinalizer((exit) => finalize(self, exit))

  const core: Core = {
    submit: (task, input) => submit(self, task, input),
    submitChunk: (task, inputs) => submitChunk(self, task, inputs),
    shutdown: (shutdownOptions) => shutdown(self, shutdownOptions),
    stats: Effect.sync(() => stats(self, gauges))
  }
  return core
})
