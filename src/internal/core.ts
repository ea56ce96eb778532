/**
 * The executor core shared by every layer: the FIFO queue, the futures, shutdown and statistics.
 *
 * A submitted task becomes a `Job` and a future whose fiber waits (in `Effect.callback`) for the job's outcome. The
 * core hands jobs to a `Backend` in FIFO order whenever it has capacity; the backend runs them (on a fiber, a worker
 * thread or a child process) and reports back through the `Host`. The core never knows how a job runs.
 *
 * A job's life:
 *
 * ```text
 *   queued ──(backend.start)──▶ running ──(host.finish)──▶ done
 *     │                           │
 *     └──(future cancelled)──▶ cancelled ◀──(future interrupted: backend.stop)
 * ```
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { type BrokenExecutor, ExecutorShutdown, type SubmitError } from "../ExecutorError.ts"
import type * as Task from "../Task.ts"
import * as Admission from "./admission.ts"
import { type Batch, decodeChunk, decodeExit, encodePayload, encodePayloads } from "./codec.ts"
import { FutureImpl } from "./future.ts"
import * as Job from "./job.ts"
import * as Lifecycle from "./lifecycle.ts"
import type { ChunkResult, WireExit } from "./protocol.ts"
import { Samples } from "./samples.ts"

export type { Job } from "./job.ts"

/** How the core sees a backend: it starts jobs when told there is room, and stops the ones it is asked to. */
export interface Backend {
  /** Starts `job` now if there is room (the job is then running), else returns false and the job stays queued. */
  readonly start: (job: Job.Job) => boolean
  /** The running `job` was cancelled: stop it by the interrupt policy, and free its slot at once. */
  readonly stop: (job: Job.Job) => void
  /** Whether a running job has actually started (false while it waits on a worker behind another one). */
  readonly started: (job: Job.Job) => boolean
  /**
   * Takes back a running job that has not started (it waits on a worker behind another one), atomically: true if it
   * will never run, false if it has started.
   */
  readonly cancelPending: (job: Job.Job) => boolean
  /** How many more jobs could start now, or as soon as a worker being started is ready, without waiting. */
  readonly freeSlots: () => number
  /** How many running jobs wait on a worker without having started: they count as queued. */
  readonly waiting: () => number
  /** Releases every worker. Called once, when no job is queued or running, or when shutting down by force. */
  readonly close: Effect.Effect<void>
  readonly workers: () => number
  /** Booted spare workers ready to take a lost worker's place. */
  readonly spares: () => number
  /** Workers (or fiber slots) running a task now. */
  readonly busy: () => number
}

/** How a backend talks to the core. */
export interface Host {
  /** A running job ended with this outcome (ignored if it was cancelled meanwhile). */
  readonly finish: (job: Job.Job, exit: WireExit | ChunkResult) => void
  /** A running job's worker died or the job could not be run: fail it with an executor error. */
  readonly fail: (job: Job.Job, error: unknown) => void
  /** There may be room for queued jobs now. */
  readonly pump: () => void
  /** Jobs waiting for a worker (the backend uses it to decide whether to spawn). */
  readonly queued: () => number
  /** The id of the job that runs next from the queue (the oldest waiting), if any. */
  readonly nextQueuedId: () => number | undefined
  /** The executor cannot run tasks any more: fail everything pending with `error`. */
  readonly breakWith: (error: BrokenExecutor) => void
  /**
   * A task that had settled left a promise rejection unhandled, on worker `workerId`; the worker carried on. Logged
   * (annotated with the task and the worker) and counted.
   */
  readonly unhandledRejection: (task: string, workerId: number, reason: string) => void
  /**
   * A job handed to a worker never started there (it was queued behind a task whose worker is being stopped): put it
   * back at the head of the queue, PENDING again, to run elsewhere.
   */
  readonly requeue: (job: Job.Job) => void
}

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
  const clock = yield* Clock.Clock
  const runFork = Effect.runForkWith(context)

  // The queue is an array with a moving head: O(1) push and shift; cancelled jobs are skipped when reached.
  let queue: Array<Job.Job> = []
  let head = 0
  let queuedCount = 0
  let running = 0
  const runningJobs = new Set<Job.Job>()
  let nextId = 1
  /** Open, Draining (shut down), Broken or Closed (the backend released): see `lifecycle.ts`. */
  let lifecycle: Lifecycle.Lifecycle = Lifecycle.open
  const idle = Deferred.makeUnsafe<void>()
  const counts = { completed: 0, failed: 0, crashed: 0, cancelled: 0, unhandledRejections: 0 }
  const waitTimes = new Samples()
  const runTimes = new Samples()

  const leaveRunning = (job: Job.Job) => {
    running--
    runningJobs.delete(job)
    runTimes.add(clock.currentTimeMillisUnsafe() - job.dispatchedAt)
    checkIdle()
  }

  const checkIdle = () => {
    if (!Lifecycle.isOpen(lifecycle) && running === 0 && queuedCount === 0) Deferred.doneUnsafe(idle, Exit.void)
  }

  const takeNext = (): Job.Job | undefined => {
    while (head < queue.length) {
      const job = queue[head]
      queue[head++] = undefined as never
      if (Job.isQueued(job)) return job
    }
    return undefined
  }

  const pump = () => {
    while (queuedCount > 0 && Lifecycle.brokenBy(lifecycle) === undefined) {
      const job = takeNext()
      if (job === undefined) break
      Job.dispatch(job, clock.currentTimeMillisUnsafe())
      if (!backend.start(job)) {
        // No room after all: put it back at the head, where it came from.
        Job.requeue(job)
        queue[--head] = job
        break
      }
      queuedCount--
      running++
      runningJobs.add(job)
      waitTimes.add(job.dispatchedAt - job.submittedAt)
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head)
      head = 0
    }
    admission.wake()
    checkIdle()
  }

  const host: Host = {
    finish: (job, wire) => {
      if (!Job.finish(job)) return
      let exit: Exit.Exit<unknown, unknown>
      if (job.chunk) {
        const batch = decodeChunk(job.task, wire as ChunkResult)
        exit = Exit.succeed(batch)
        if (batch.failure === undefined) counts.completed++
        else counts.failed++
      } else {
        exit = decodeExit(job.task, wire as WireExit)
        if (Exit.isSuccess(exit)) counts.completed++
        else counts.failed++
      }
      // The future settles before the job leaves the running set: a shutdown waiting for the executor to drain
      // resumes after every future it waited for is done.
      Job.settle(job, exit)
      leaveRunning(job)
    },
    fail: (job, error) => {
      if (!Job.finish(job)) return
      if ((error as { _tag?: string })._tag === "WorkerCrashed") counts.crashed++
      else counts.failed++
      Job.settle(job, Exit.fail(error))
      leaveRunning(job)
    },
    pump: () => pump(),
    queued: () => queuedCount,
    nextQueuedId: () => {
      if (queuedCount === 0) return undefined
      for (let i = head; i < queue.length; i++) if (Job.isQueued(queue[i])) return queue[i].id
      return undefined
    },
    requeue: (job) => {
      if (!Job.requeue(job)) return
      running--
      runningJobs.delete(job)
      queuedCount++
      if (head > 0) queue[--head] = job
      else queue.unshift(job)
    },
    unhandledRejection: (task, workerId, reason) => {
      counts.unhandledRejections++
      runFork(
        Effect.logWarning(
          `Task "${task}" left a promise rejection unhandled after it had settled; worker ${workerId} carried on`,
          reason
        ).pipe(Effect.annotateLogs({ task, worker: workerId }))
      )
    },
    breakWith: (error) => {
      const next = Lifecycle.breakWith(lifecycle, error)
      if (next === undefined) return
      lifecycle = next
      let job: Job.Job | undefined
      while ((job = takeNext()) !== undefined) {
        Job.failQueued(job)
        queuedCount--
        counts.failed++
        Job.settle(job, Exit.fail(error))
      }
      admission.wake()
      checkIdle()
    }
  }

  // `maxQueue` bounds the tasks waiting for a busy worker: slots that are free (an idle worker, a worker booting or
  // one the pool may still start) take tasks without any waiting.
  // (Made before the backend, which may break the executor while it is made; it asks the backend for room only
  // once a submit comes.)
  const admission = Admission.make({
    maxQueue: options.maxQueue,
    onFull: options.onFull,
    hasRoom: (reserved) => queuedCount + reserved + backend.waiting() < options.maxQueue + backend.freeSlots(),
    refusal: () => admissionError()
  })

  const backend = yield* makeBackend(host)

  /** The future's fiber was interrupted (cancel, interrupt, shutdown): withdraw or stop its job. */
  const cancelJob = (job: Job.Job) => {
    switch (Job.cancel(job)) {
      case "Queued":
        queuedCount--
        counts.cancelled++
        admission.wake()
        checkIdle()
        return
      case "Dispatched":
      case "Running":
        counts.cancelled++
        backend.stop(job)
        leaveRunning(job)
        pump()
        return
    }
  }

  /** Cancels a job that has not started (queued, or waiting on a worker); false once it has started. */
  const cancelIfPending = (job: Job.Job): boolean => {
    if (Job.isQueued(job)) {
      cancelJob(job)
      return true
    }
    if (job.state !== "Dispatched" || !backend.cancelPending(job)) return false
    Job.cancel(job)
    counts.cancelled++
    leaveRunning(job)
    pump()
    return true
  }

  const awaitJob = (job: Job.Job) =>
    Effect.callback<unknown, unknown>((resume) => {
      if (job.exit !== undefined) return resume(job.exit)
      job.resume = resume
      return Effect.sync(() => cancelJob(job))
    })

  const makeFuture = (job: Job.Job): FutureImpl<any, any> => {
    // Forking registers the callback (and its finalizer) synchronously, so no interruption can slip in between.
    return new FutureImpl(() => runFork(awaitJob(job)), {
      phase: () => (Job.observeStart(job, backend.started) ? "RUNNING" : "PENDING"),
      cancelPending: () => cancelIfPending(job)
    })
  }

  const failedFuture = (error: unknown): FutureImpl<any, any> => {
    counts.failed++
    return new FutureImpl(runFork(Effect.fail(error)), { phase: () => "RUNNING", cancelPending: () => false })
  }

  const admissionError = (): SubmitError | undefined => {
    const broken = Lifecycle.brokenBy(lifecycle)
    if (broken !== undefined) return broken
    if (!Lifecycle.isOpen(lifecycle))
      return new ExecutorShutdown({ message: "The executor is shut down and accepts no new tasks" })
    return undefined
  }

  const enqueue = (task: Task.Any, payload: unknown, chunk: boolean) => {
    const job = Job.make(nextId++, task, payload, chunk, clock.currentTimeMillisUnsafe())
    queue.push(job)
    queuedCount++
    const future = makeFuture(job)
    pump()
    return future
  }

  const submit = (task: Task.Any, input: unknown) =>
    admission.admitThen(() => {
      const encoded = encodePayload(task, input)
      if (encoded._tag === "Failure") return failedFuture(encoded.failure)
      return enqueue(task, encoded.success, false)
    })

  const submitChunk = (task: Task.Any, inputs: ReadonlyArray<unknown>) =>
    admission.admitThen(() => {
      const encoded = encodePayloads(task, inputs)
      if (encoded._tag === "Failure") return failedFuture(encoded.failure)
      return enqueue(task, encoded.success, true)
    })

  const closeBackend = Effect.suspend(() => {
    if (lifecycle._tag === "Closed") return Effect.void
    lifecycle = Lifecycle.close(lifecycle)
    return backend.close
  })

  const cancelQueued = () => {
    // Only pending jobs are cancelled here; running ones are left to finish (or to be interrupted by the caller).
    // Jobs handed to a worker that has not started them are still pending, as far as the caller can tell.
    // Queued jobs go first, so that no slot freed by the others can start one of them.
    const candidates: Array<Job.Job> = []
    for (let i = head; i < queue.length; i++) {
      const job = queue[i]
      if (job !== undefined && Job.isQueued(job)) candidates.push(job)
    }
    candidates.push(...runningJobs)
    const cancelled = candidates.filter(cancelIfPending)
    for (const job of cancelled) Job.settle(job, Exit.interrupt())
  }

  /**
   * Cancels every queued and running job by settling its future as interrupted. Interrupting the futures' fibers
   * instead would race with outcomes already delivered to them and could cancel a future whose task had finished.
   */
  const cancelEverything = () => {
    cancelQueued()
    for (const job of Array.from(runningJobs)) {
      cancelJob(job)
      Job.settle(job, Exit.interrupt())
    }
  }

  /** Waits for queued and running jobs (at most `shutdownTimeout`, then interrupts them), then releases workers. */
  const drainThenClose = Effect.gen(function* () {
    const drained =
      options.shutdownTimeout === undefined
        ? yield* Effect.as(Deferred.await(idle), true)
        : Option.isSome(yield* Effect.timeoutOption(Deferred.await(idle), options.shutdownTimeout))
    if (!drained) cancelEverything()
    yield* closeBackend
  })

  const shutdown = (shutdownOptions?: ShutdownOptions): Effect.Effect<void> =>
    Effect.suspend(() => {
      const wasClosed = !Lifecycle.isOpen(lifecycle)
      lifecycle = Lifecycle.drain(lifecycle)
      admission.wake()
      if (shutdownOptions?.cancelFutures === true) cancelQueued()
      checkIdle()
      if (shutdownOptions?.wait === false) {
        if (!wasClosed) runFork(drainThenClose)
        return Effect.void
      }
      return drainThenClose
    })

  yield* Effect.addFinalizer((exit) =>
    Effect.gen(function* () {
      if (Exit.isSuccess(exit)) {
        yield* shutdown({ wait: true })
      } else {
        // The scope failed or was interrupted (Ctrl-C): cancel everything, stopping running tasks by the policy.
        lifecycle = Lifecycle.drain(lifecycle)
        cancelEverything()
      }
      yield* closeBackend
    }).pipe(Effect.uninterruptible)
  )

  const stats = Effect.sync((): Stats => ({
    workers: backend.workers(),
    spares: backend.spares(),
    busy: backend.busy(),
    queued: queuedCount + backend.waiting(),
    completed: counts.completed,
    failed: counts.failed,
    crashed: counts.crashed,
    cancelled: counts.cancelled,
    unhandledRejections: counts.unhandledRejections,
    waitTime: waitTimes.percentiles(),
    runTime: runTimes.percentiles()
  }))

  const core: Core = { submit, submitChunk, shutdown, stats }
  return core
})
