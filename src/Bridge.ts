/**
 * The bridge between executors, Effect code and Promise code: what `loop.run_in_executor` and
 * `asyncio.wrap_future` are to Python.
 *
 * - From Effect: {@link runInExecutor} submits and awaits in one step; interrupting the caller cancels the task.
 * - From Promises into futures: {@link fromPromise} (cancelling the future aborts the Promise's signal).
 * - From futures into Promises: {@link toPromise} (aborting the signal cancels the future).
 * - For applications not written with Effect: {@link makeRunner} owns an executor and runs tasks as Promises.
 *
 * Cancellation flows both ways, and rejections are the typed error instances themselves (`CancelledError` when
 * cancelled), so `catch (e) { if (e instanceof FibError) ... }` works.
 *
 * @since 0.1.0
 */
import "./internal/transport/nodeVersion.ts"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { dual } from "effect/Function"
import * as Executor from "./Executor.ts"
import { type ExecutorError, ExecutorShutdown, type SubmitError } from "./ExecutorError.ts"
import type { Future } from "./Future.ts"
import { fromFiber, interrupt, isFuture } from "./Future.ts"
import { awaitOwned } from "./internal/executor/awaitOwned.ts"
import { cancelledError, isCancelledExit } from "./internal/job/future.ts"
import type * as Task from "./Task.ts"
import { isTask } from "./Task.ts"

/**
 * Which executor `runInExecutor` uses: by default the `Executor` service in the context; or another service with
 * the executor's shape (an application with a CPU pool and an isolated process pool gives each its own key, see
 * `Executor.layerAs`); or an executor value itself.
 *
 * @since 0.1.0
 * @category models
 */
export type ExecutorRef<R> = Context.Key<R, Executor.Executor["Service"]> | Executor.Executor["Service"]

const resolveExecutor = <R>(ref: ExecutorRef<R> | undefined): Effect.Effect<Executor.Executor["Service"], never, R> => {
  if (ref === undefined) return Executor.Executor as unknown as Effect.Effect<Executor.Executor["Service"], never, R>
  if (Context.isKey(ref)) return Effect.service(ref as Context.Key<R, Executor.Executor["Service"]>)
  return Effect.succeed(ref as Executor.Executor["Service"])
}

/**
 * Runs a task on an executor and awaits its result, like `await loop.run_in_executor(pool, fn, arg)`. Interrupting
 * the calling fiber cancels the task: a pending one is dropped, a running one is stopped by the executor's
 * interrupt policy. Uses the `Executor` in the context unless `options.executor` names another.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Bridge, Executor, Task } from "effect-futures"
 *
 * export const hash = Task.make("hash", {
 *   module: import.meta.url,
 *   payload: Schema.String,
 *   success: Schema.Number,
 *   run: (text) => Effect.sync(() => [...text].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0))
 * })
 *
 * const program = Bridge.runInExecutor(hash, "hello").pipe(
 *   Effect.timeout("1 second"), // a timeout interrupts the caller, which cancels the task
 *   Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2 }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const runInExecutor: {
  <T extends Task.Any, R = Executor.Executor>(
    input: Task.Payload<T>,
    options?: { readonly executor?: ExecutorRef<R> | undefined }
  ): (task: T) => Effect.Effect<Task.Success<T>, Task.Error<T> | ExecutorError | SubmitError, R>
  <T extends Task.Any, R = Executor.Executor>(
    task: T,
    input: Task.Payload<T>,
    options?: { readonly executor?: ExecutorRef<R> | undefined }
  ): Effect.Effect<Task.Success<T>, Task.Error<T> | ExecutorError | SubmitError, R>
} = dual(
  (args) => isTask(args[0]),
  <T extends Task.Any, R>(
    task: T,
    input: Task.Payload<T>,
    options?: { readonly executor?: ExecutorRef<R> | undefined }
  ) => runOn(task, input, options?.executor)
)

const runOn = <T extends Task.Any, R>(
  task: T,
  input: Task.Payload<T>,
  executorRef: ExecutorRef<R> | undefined
): Effect.Effect<Task.Success<T>, Task.Error<T> | ExecutorError | SubmitError, R> =>
  Effect.flatMap(resolveExecutor(executorRef), (executor) => awaitOwned(executor.submit(task, input)))

/**
 * Wraps Promise-returning code as a future, like `asyncio.wrap_future`: `evaluate` receives an `AbortSignal` that
 * aborts when the future is cancelled or interrupted. A rejection becomes the future's failure: `catch` maps it to a
 * typed error (default: Effect's `Cause.UnknownError` holding the reason).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bridge, Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Bridge.fromPromise((signal) => fetch("http://localhost:8080/health", { signal }))
 *   yield* Future.interrupt(future) // aborts the request
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPromise: {
  <A>(evaluate: (signal: AbortSignal) => PromiseLike<A>): Effect.Effect<Future<A, Cause.UnknownError>>
  <A, E>(
    evaluate: (signal: AbortSignal) => PromiseLike<A>,
    options: { readonly catch: (reason: unknown) => E }
  ): Effect.Effect<Future<A, E>>
} = <A, E>(
  evaluate: (signal: AbortSignal) => PromiseLike<A>,
  options?: { readonly catch: (reason: unknown) => E }
): Effect.Effect<Future<A, any>> =>
  Effect.map(
    Effect.forkDetach(
      options === undefined
        ? Effect.tryPromise((signal) => evaluate(signal))
        : Effect.tryPromise({ try: (signal) => evaluate(signal), catch: options.catch })
    ),
    (fiber) => fromFiber(fiber as Fiber.Fiber<A, any>)
  )

/**
 * Awaits a future from Promise code. The Promise resolves with the value, or rejects with the typed error instance
 * itself (`CancelledError` when the future was cancelled; the defect for a defect). Aborting `signal` interrupts
 * the future wherever it is, and the Promise then rejects with `CancelledError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bridge, Future } from "effect-futures"
 *
 * const future = Future.fromFiber(Effect.runFork(Effect.succeed(42)))
 * const controller = new AbortController()
 * const value = await Bridge.toPromise(future, { signal: controller.signal }) // 42
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const toPromise: {
  (options?: { readonly signal?: AbortSignal | undefined }): <A, E>(future: Future<A, E>) => Promise<A>
  <A, E>(future: Future<A, E>, options?: { readonly signal?: AbortSignal | undefined }): Promise<A>
} = dual(
  (args) => isFuture(args[0]),
  <A, E>(future: Future<A, E>, options?: { readonly signal?: AbortSignal | undefined }): Promise<A> =>
    new Promise<A>((resolve, reject) => {
      const signal = options?.signal
      const onAbort = () => {
        Effect.runFork(Fiber.interrupt(future.fiber))
      }
      const settle = (exit: Exit.Exit<A, E>) => {
        signal?.removeEventListener("abort", onAbort)
        if (Exit.isSuccess(exit)) return resolve(exit.value)
        reject(isCancelledExit(exit) ? cancelledError() : Cause.squash(exit.cause))
      }
      const done = future.fiber.pollUnsafe()
      if (done !== undefined) return settle(done)
      future.fiber.addObserver(settle)
      if (signal !== undefined) {
        if (signal.aborted) onAbort()
        else signal.addEventListener("abort", onAbort, { once: true })
      }
    })
)

/**
 * A handle on a task submitted through a {@link Runner}: `done` settles as `run` would; `cancel()` interrupts the
 * task wherever it is (and `done` rejects with `CancelledError`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunnerHandle<A> {
  readonly done: Promise<A>
  /** Interrupts the task wherever it is; resolves once it has stopped (at once if it had already settled). */
  readonly cancel: () => Promise<void>
}

/**
 * Runs tasks on an executor from Promise code. Safe to share between concurrent requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface Runner extends AsyncDisposable {
  /** Runs a task and resolves with its value; rejects with its typed error. Aborting `signal` cancels the task. */
  readonly run: <T extends Task.Any>(
    task: T,
    input: Task.Payload<T>,
    options?: { readonly signal?: AbortSignal | undefined }
  ) => Promise<Task.Success<T>>
  /** Submits a task and returns a handle at once. */
  readonly submit: <T extends Task.Any>(task: T, input: Task.Payload<T>) => RunnerHandle<Task.Success<T>>
  /** The executor's counters (`Executor.stats`), e.g. for a health endpoint. Rejects after `dispose()`. */
  readonly stats: () => Promise<Executor.Stats>
  /**
   * Shuts the executor down (waiting for submitted tasks) and releases its workers; a runner that never ran a task
   * has no executor to shut down. Later calls to `run`, `submit` and `stats` reject with `ExecutorShutdown`.
   */
  readonly dispose: () => Promise<void>
}

/**
 * Builds a {@link Runner} over an executor layer, for applications not written with Effect (an HTTP handler, a
 * CLI). The layer is built on first use (once, however many requests arrive together); `dispose()` (or
 * `await using`) shuts it down, waiting for submitted tasks, and leaves nothing that keeps the process alive.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Bridge, Executor, Task } from "effect-futures"
 *
 * export const upper = Task.make("upper", {
 *   module: import.meta.url,
 *   payload: Schema.String,
 *   success: Schema.String,
 *   run: (s) => Effect.succeed(s.toUpperCase())
 * })
 *
 * await using runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 2 }))
 * const shout = await runner.run(upper, "hello") // "HELLO"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRunner = <E>(layer: Layer.Layer<Executor.Executor, E>): Runner => {
  const runtime = ManagedRuntime.make(layer)
  const built = builtOnce(runtime)
  // The runner's life: Idle (layer not built) -> Used (built or building) -> Disposed. Only a used runner has an
  // executor to shut down; disposing an idle one must not build the layer just to close it.
  let used = false
  let disposed: Promise<void> | undefined
  const rejectDisposed = () =>
    Promise.reject(new ExecutorShutdown({ message: "The runner was disposed; it runs no more tasks" }))
  const runExit = <A, E2>(effect: Effect.Effect<A, E2, Executor.Executor>, signal?: AbortSignal) => {
    used = true
    built.start()
    return runtime.runPromiseExit(effect, signal === undefined ? undefined : { signal })
  }

  const submit = <T extends Task.Any>(task: T, input: Task.Payload<T>): RunnerHandle<Task.Success<T>> => {
    if (disposed !== undefined) {
      const done = rejectDisposed()
      return { done, cancel: () => done.then(noop, noop) }
    }
    const submitted = runExit(Executor.submit(task, input)).then((exit) => {
      if (Exit.isFailure(exit)) throw rejection(exit)
      return exit.value
    })
    const done = submitted.then((future) => toPromise(future))
    const cancel = async () => {
      // Cancelling before the submission has landed waits for the future, then interrupts it.
      const future = await submitted.catch(() => undefined)
      if (future !== undefined) await Effect.runPromise(interrupt(future))
    }
    return { done, cancel }
  }

  const run = <T extends Task.Any>(
    task: T,
    input: Task.Payload<T>,
    options?: { readonly signal?: AbortSignal | undefined }
  ): Promise<Task.Success<T>> => {
    if (disposed !== undefined) return rejectDisposed()
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(cancelledError())
    const ready = built.now()
    // Once the layer is built, a task needs no runtime program: see `runBuilt`. Until then (the first calls, which
    // build the layer) it runs as a program, so that aborting it also stops waiting for the layer.
    if (ready !== undefined) return runBuilt(ready, task, input, signal)
    return runExit(runOn(task, input, undefined), signal).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw rejection(exit)
    })
  }

  const stats = (): Promise<Executor.Stats> => {
    if (disposed !== undefined) return rejectDisposed()
    return runExit(Executor.stats).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw rejection(exit)
    })
  }

  const dispose = () => {
    // Shut down first so tasks in flight finish and their callers get their results; then close the layer.
    if (disposed === undefined) {
      const close = () => runtime.dispose()
      disposed = used ? runtime.runPromise(Executor.shutdown({ wait: true })).then(close, close) : close()
    }
    return disposed
  }

  return { run, submit, stats, dispose, [Symbol.asyncDispose]: dispose }
}

const noop = () => {}

const rejection = (exit: Exit.Failure<unknown, unknown>) =>
  isCancelledExit(exit) ? cancelledError() : Cause.squash(exit.cause)

/** A built runner's executor, and how to fork an Effect with the services its layer provides. */
interface Built {
  readonly executor: Executor.Executor["Service"]
  readonly fork: <A, E>(effect: Effect.Effect<A, E, Executor.Executor>) => Fiber.Fiber<A, E>
}

/**
 * The runner's layer services, read once the runtime has built them (`start` is called on first use, so an unused
 * runner builds nothing); `now()` is undefined until then.
 */
const builtOnce = <E>(runtime: ManagedRuntime.ManagedRuntime<Executor.Executor, E>) => {
  let built: Built | undefined
  let building: Promise<void> | undefined
  return {
    now: () => built,
    start: () => {
      building ??= runtime.context().then((context) => {
        built = { executor: Context.get(context, Executor.Executor), fork: Effect.runForkWith(context) }
      }, noop)
    }
  }
}

/** Calls `onExit` with the fiber's exit: at once if it has one. */
const observe = <A, E>(fiber: Fiber.Fiber<A, E>, onExit: (exit: Exit.Exit<A, E>) => void) => {
  const exit = fiber.pollUnsafe()
  if (exit !== undefined) onExit(exit)
  else fiber.addObserver(onExit)
}

/**
 * `run` on a built runner, the path a Promise caller takes per task: the submit runs as its own small fiber (it
 * completes at once unless the queue is full) and the Promise settles from the future's own completion, with none
 * of a runtime program's steps in between (the program `runInExecutor` builds costs a fiber, an uninterruptible
 * region and a finalizer per task). The semantics are `runInExecutor`'s: aborting `signal` interrupts the submit
 * or, once submitted, the future, and the Promise rejects with `CancelledError` once the task has stopped.
 */
const runBuilt = <T extends Task.Any>(
  built: Built,
  task: T,
  input: Task.Payload<T>,
  signal: AbortSignal | undefined
): Promise<Task.Success<T>> =>
  new Promise((resolve, reject) => {
    const submitting = built.fork(built.executor.submit(task, input))
    // What an abort interrupts: the submit while it waits for room, then the future.
    let current: Fiber.Fiber<unknown, unknown> = submitting
    const onAbort = () => {
      current.interruptUnsafe()
    }
    const settle = (exit: Exit.Exit<unknown, unknown>) => {
      signal?.removeEventListener("abort", onAbort)
      if (Exit.isSuccess(exit)) resolve(exit.value as Task.Success<T>)
      else reject(rejection(exit))
    }
    // Listening before observing: `settle` may run at once (a payload that fails to encode, a task done during its
    // submit), and must find the listener to take back, or a long-lived signal keeps one per call.
    signal?.addEventListener("abort", onAbort, { once: true })
    observe(submitting, (submitted) => {
      if (Exit.isFailure(submitted)) return settle(submitted)
      current = submitted.value.fiber
      if (signal?.aborted) current.interruptUnsafe()
      observe(current, settle)
    })
  })
