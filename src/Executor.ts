/**
 * Executors: where tasks run.
 *
 * `Executor` is an Effect service, like Python's `Executor` base class; its layers choose where work runs:
 *
 * | layer | runs tasks on | Python analogue | choose it for |
 * | --- | --- | --- | --- |
 * | `layerWorkerThreads` | a pool of `worker_threads` | `ProcessPoolExecutor` | CPU-bound work: real parallelism |
 * | `layerProcesses` | a pool of child processes | `ProcessPoolExecutor` | isolation: native addons, `process.exit`, leaks |
 * | `layerFibers` | fibers in this process | `ThreadPoolExecutor` | I/O-bound work, and tests under `TestClock` |
 *
 * All run the same tasks with the same semantics: every submitted future settles (success, typed failure, defect,
 * crash, cancellation or shutdown), the queue is FIFO, and a future's fiber belongs to the executor, not to the code
 * that submitted it. Closing the layer's scope shuts the executor down, waiting for submitted work.
 *
 * The same `Executor` across machines is `Cluster.layer`, in its own entry (`effect-futures/Cluster`), so that a
 * local pool never loads Effect Cluster or a SQL client.
 *
 * @since 0.1.0
 */
import "./internal/transport/nodeVersion.ts"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { dual } from "effect/Function"
import type { BootstrapError, ExecutorError, InvalidOptions, SubmitError } from "./ExecutorError.ts"
import type { Future } from "./Future.ts"
import type * as Core from "./internal/executor/core.ts"
import * as Layers from "./internal/executor/layers.ts"
import * as MapStream from "./internal/executor/map.ts"
import type * as Transport from "./internal/transport/transport.ts"
import type * as Task from "./Task.ts"
import * as TaskModule from "./Task.ts"

/**
 * Counters and latencies of an executor. `workers` counts the workers in service and `spares` the booted spares
 * (see `spareWorkers`); `completed` counts successes; `failed` typed failures, defects and other
 * executor errors; `crashed` tasks whose worker died; `cancelled` futures cancelled or interrupted;
 * `unhandledRejections` promise rejections a task left unhandled after it had settled (each is logged as a warning
 * annotated with the task; its worker carries on, and the task running there is unaffected). `waitTime` is
 * the time from submit to start, `runTime` from start to end, over the most recent 1,024 tasks.
 *
 * The counts are the sums over tasks of the very numbers the executor exports as Effect `Metric`s
 * (`effect_futures_tasks_{completed,failed,crashed,cancelled}_total`, attributes `executor` and `task`), and
 * `workers`, `busy`, `queued` are what the gauges `effect_futures_workers`, `effect_futures_workers_busy` and
 * `effect_futures_queue_length` read: the two never disagree. (Two live executors with the same `name` share their
 * metric series, which then add up; each one's `stats` stays its own.)
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats extends Core.Stats {}

/**
 * Options of `shutdown`, with Python's meaning. `wait` (default `true`): return only once every submitted task has
 * ended and the workers are released (false: return at once; that happens in the background). `cancelFutures`
 * (default `false`): cancel every task still waiting for a worker; running tasks are left to finish.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShutdownOptions extends Core.ShutdownOptions {}

/**
 * The executor service. Most code uses the module functions (`submit`, `map`, `shutdown`, `stats`), which find the
 * service in the context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const executor = yield* Executor.Executor
 *   return yield* executor.stats
 * }).pipe(Effect.provide(Executor.layerFibers({ concurrency: 4 })))
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class Executor extends Context.Service<
  Executor,
  {
    /** The executor's name, for logs and stats. */
    readonly name: string
    /** Which layer built it. */
    readonly kind: "fibers" | "workerThreads" | "processes" | "cluster"
    /** How many tasks can run at once (`maxWorkers`, or `concurrency` for fibers). */
    readonly concurrency: number
    /** Submits one task; the future is PENDING until a worker picks it up. */
    readonly submit: <T extends Task.Any>(
      task: T,
      input: Task.Payload<T>
    ) => Effect.Effect<Future<Task.Success<T>, Task.Error<T> | ExecutorError, Task.Progress<T>>, SubmitError>
    /**
     * Submits a batch that runs on one worker, in order, stopping at the first item that does not succeed: the
     * primitive behind `map`'s `chunksize`. The future holds the values of the items that succeeded, in order, and
     * the cause of the first that did not.
     */
    readonly submitBatch: <T extends Task.Any>(
      task: T,
      inputs: ReadonlyArray<Task.Payload<T>>
    ) => Effect.Effect<Future<Batch<Task.Success<T>, Task.Error<T> | ExecutorError>, ExecutorError>, SubmitError>
    /** Stops accepting tasks, then releases the workers; see {@link ShutdownOptions}. */
    readonly shutdown: (options?: ShutdownOptions) => Effect.Effect<void>
    /** The executor's counters now. */
    readonly stats: Effect.Effect<Stats>
  }
>()("effect-futures/Executor") {}

/**
 * What a batch (`submitBatch`, `map` with a `chunksize`) produced: the values of the items that succeeded, in input
 * order, and the cause of the first item that did not (`undefined` when all succeeded). Items after it never ran.
 *
 * @since 0.1.0
 * @category models
 */
export interface Batch<A, E> {
  readonly values: ReadonlyArray<A>
  readonly failure: Cause.Cause<E> | undefined
}

/**
 * Options every executor layer accepts. A layer checks its options when it is built and fails with
 * `InvalidOptions` naming the first bad one — a key it does not know included (a misspelling such as `maxWorker`,
 * or another layer's option), so nothing is ignored in silence.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /**
   * How many tasks may wait for a worker (running ones do not count). Default `Infinity`. Bound it to bound memory:
   * each queued task holds its encoded payload.
   */
  readonly maxQueue?: number | undefined
  /**
   * What `submit` does when the queue is full: `"suspend"` (default) waits for room, applying backpressure to the
   * producer; `"fail"` fails at once with `QueueFull`.
   */
  readonly onFull?: "suspend" | "fail" | undefined
  /**
   * How long closing the layer's scope (or `shutdown({ wait: true })`) waits for queued and running tasks before it
   * cancels them (running CPU-bound ones are terminated after `interruptGracePeriod`). Default `"30 seconds"`, so a
   * task stuck in a loop cannot make shutdown hang; `Infinity` waits as long as it takes, as Python's
   * `shutdown(wait=True)` does. Like every duration option, at most 2^31 - 1 ms (~24.8 days, the longest a timer
   * waits): a longer one is refused, not shortened.
   */
  readonly shutdownTimeout?: Duration.Input | undefined
  /**
   * A task run once before any other (once per worker; once per layer for `layerFibers`). If it fails, the executor
   * is broken: pending futures and later submits fail with `BrokenExecutor`.
   */
  readonly initializer?: { readonly task: Task.Any; readonly input: unknown } | undefined
  /**
   * A name for logs and stats, and the `executor` attribute of the executor's metrics and task spans (see the
   * README's Observability section). Default: the layer's kind.
   */
  readonly name?: string | undefined
}

/**
 * Options of {@link layerFibers}.
 *
 * @since 0.1.0
 * @category models
 */
export interface FiberOptions extends CommonOptions {
  /** How many tasks run at once. Default `os.availableParallelism()`. */
  readonly concurrency?: number | undefined
}

/**
 * Options of the worker-backed layers ({@link layerWorkerThreads}, {@link layerProcesses}).
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerOptions extends CommonOptions {
  /** The most workers alive at once. Default `os.availableParallelism()`: one per core for CPU-bound work. */
  readonly maxWorkers?: number | undefined
  /**
   * Workers started with the layer and kept alive when idle. Default `0`: workers start on demand, so an executor
   * nobody uses costs nothing.
   */
  readonly minWorkers?: number | undefined
  /**
   * How long a worker above `minWorkers` may sit idle before it is stopped. Default `"30 seconds"`; `Infinity` keeps
   * workers forever (at most 2^31 - 1 ms, ~24.8 days, otherwise). Booting a worker costs ~100 ms of importing, so
   * short timeouts trade memory for latency.
   */
  readonly idleTimeout?: Duration.Input | undefined
  /**
   * Replace a worker after it has run this many tasks. Default `Infinity`. Use it to contain slow leaks in task code.
   */
  readonly maxTasksPerWorker?: number | undefined
  /** Per-worker memory limits (default: Node's). See {@link ResourceLimits}. */
  readonly resourceLimits?: ResourceLimits | undefined
  /**
   * How a running task is stopped when its future is interrupted. `"cooperative"` (default) interrupts the task's
   * fiber inside the worker and terminates the worker if it has not stopped within `interruptGracePeriod` (a worker
   * that does not even answer within 30 ms is stuck in synchronous code: it runs at the lowest priority meanwhile,
   * where the OS allows); `"terminate"` terminates the worker at once. Either way the slot is freed at once, and a
   * terminated worker is replaced at once, so the next task never waits for the grace period.
   */
  readonly interrupt?: "cooperative" | "terminate" | undefined
  /** How long a cooperatively interrupted task may take to stop. Default `"1 second"`. */
  readonly interruptGracePeriod?: Duration.Input | undefined
  /**
   * Booted workers kept in reserve, not counted in `maxWorkers`, to take the place of a worker lost to an
   * interrupted CPU-bound task or a crash at once instead of after a boot (~80–150 ms here, mostly importing
   * `effect`). Default `0`. Set it to `1` when cancelling running tasks is routine and the next task must start
   * promptly; each spare costs one idle worker's memory. At most `maxWorkers`.
   */
  readonly spareWorkers?: number | undefined
}

/**
 * Per-worker memory limits, in megabytes (default: Node's). A worker that exceeds `maxOldGenerationSizeMb` dies
 * with `WorkerCrashed` (`oom: true`), failing only its task; a recursion deeper than `stackSizeMb` allows throws
 * `RangeError` inside the task, as it would anywhere.
 *
 * Worker threads take all four, as worker_threads' `resourceLimits`. Child processes take three, as the V8 flags
 * that give the same limits (appended after `execArgv`, so they win over a flag given there):
 * - `maxOldGenerationSizeMb` → `--max-old-space-size`, rounded up to whole megabytes;
 * - `maxYoungGenerationSizeMb` → `--max-semi-space-size` of a third of it, rounded up (V8's young generation is
 *   three semi-spaces; V8 then rounds a semi-space up to a power of two, for threads too);
 * - `stackSizeMb` → `--stack-size` in kilobytes, less the 192 KB Node keeps for itself on a thread's stack, so
 *   a child recurses as deep as a thread given the same value. It must be at least 0.25 and, where the OS tells
 *   (Linux), at most the main thread's stack limit (`ulimit -s`, usually 8 MB): beyond it a deep recursion would
 *   crash the child instead of throwing `RangeError`.
 * - `codeRangeSizeMb` has no flag: `layerProcesses` fails with `InvalidOptions` rather than ignore it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResourceLimits extends Transport.ResourceLimits {}

/**
 * Options of {@link layerProcesses}: those of worker threads plus how the children are started.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProcessOptions extends WorkerOptions {
  /**
   * Node flags for each child, appended to this process's `process.execArgv`, which children always inherit (as
   * `child_process.fork` does by default): loaders such as `--import tsx` or `--conditions` may be what lets a
   * child import the task modules at all. Default: none beyond the inherited ones. A flag given twice takes its
   * last value, so a flag here wins over the inherited one (and `resourceLimits` win over both).
   */
  readonly execArgv?: ReadonlyArray<string> | undefined
  /**
   * Each child's environment, in place of this process's (spread `process.env` into it to extend it). Default:
   * this process's. Values must be strings; an `undefined` value leaves the variable out.
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * Each child's working directory. Default: this process's. It must exist when the layer is built: a missing one
   * fails the layer with `InvalidOptions` rather than every child's start.
   */
  readonly cwd?: string | undefined
}

/**
 * An executor that runs tasks on fibers in this process, at most `concurrency` at once, FIFO — the analogue of
 * Python's `ThreadPoolExecutor`. Tasks still pass through their Schemas, so they behave exactly as on a worker. It
 * inherits the layer's services, so under `@effect/vitest`'s `it.effect` tasks that sleep follow `TestClock`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Executor, Task } from "effect-futures"
 *
 * export const double = Task.make("double", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => Effect.succeed(n * 2)
 * })
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Executor.submit(double, 21)
 *   return yield* future // 42
 * }).pipe(Effect.provide(Executor.layerFibers({ concurrency: 4 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFibers = (options: FiberOptions = {}): Layer.Layer<Executor, InvalidOptions> =>
  Layer.effect(Executor, Layers.fibers(options))

/**
 * An executor that runs tasks on a pool of `worker_threads`: real CPU parallelism, the analogue of Python's
 * `ProcessPoolExecutor`. Workers import each task's module by URL, so tasks must be exported from a module (not
 * defined inline in a test or a REPL).
 *
 * A worker that exits, throws outside a task or runs out of memory fails only the task it was running, with
 * `WorkerCrashed`; queued tasks run on its replacement. A worker thread shares this process, though: a task that
 * calls `process.kill(process.pid)` or `process.abort()` ends the whole application (use {@link layerProcesses}
 * for code that may). Interrupting a running task interrupts its fiber inside the
 * worker and, if it does not stop within `interruptGracePeriod` (a synchronous loop cannot), terminates and
 * replaces that worker: nothing keeps burning CPU after its future is cancelled.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Executor, Task } from "effect-futures"
 *
 * const fibSync = (n: number): number => (n < 2 ? n : fibSync(n - 1) + fibSync(n - 2))
 *
 * export const fib = Task.make("fib", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => Effect.sync(() => fibSync(n))
 * })
 *
 * const program = Effect.gen(function*() {
 *   const futures = yield* Effect.forEach([30, 31, 32], (n) => Executor.submit(fib, n))
 *   return yield* Effect.all(futures)
 * }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWorkerThreads = (
  options: WorkerOptions = {}
): Layer.Layer<Executor, InvalidOptions | BootstrapError> => Layer.effect(Executor, Layers.workerThreads(options))

/**
 * An executor that runs tasks on a pool of child processes (`child_process.fork`): the same tasks, options and
 * semantics as {@link layerWorkerThreads}, with the isolation of a separate process — for native addons that are
 * not thread-safe, code that calls `process.exit` or `process.chdir`, memory that must go back to the OS, and
 * crash-prone code. Payloads are copied (Node's advanced serialization), never transferred.
 *
 * It is crash and memory isolation, not a sandbox: a child runs with this application's user and rights, so a task
 * can read and write its files, open sockets and kill it. Run untrusted code in a container or virtual machine.
 *
 * Children never outlive the application: they exit when their IPC channel closes, and a watchdog kills a child
 * stuck in a synchronous loop once its parent is gone. A child the pool stops while it is idle (`idleTimeout`,
 * `maxTasksPerWorker`, closing the layer) exits on its own once what it wrote to stdout and stderr has left it, so
 * its last lines are never lost; it is killed only if it has not exited 2 seconds after being asked. Children inherit this process's Node flags (`execArgv` adds
 * to them), and `resourceLimits` become V8 flags (see {@link ResourceLimits}). Each child is started with
 * `<name>-<workerId>` as its argument, so `ps` shows which pool it belongs to.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Executor, Task } from "effect-futures"
 *
 * export const risky = Task.make("risky", {
 *   module: import.meta.url,
 *   payload: Schema.String,
 *   success: Schema.Number,
 *   run: (path) => Effect.sync(() => path.length)
 * })
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Executor.submit(risky, "/tmp/input")
 *   return yield* future
 * }).pipe(Effect.provide(Executor.layerProcesses({ maxWorkers: 2, env: { NODE_ENV: "production" } })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerProcesses = (options: ProcessOptions = {}): Layer.Layer<Executor, InvalidOptions | BootstrapError> =>
  Layer.effect(Executor, Layers.processes(options))

/**
 * Submits a task to the executor in the context and returns its future at once (PENDING until a worker picks it
 * up), like Python's `executor.submit(fn, arg)`. A payload that does not encode with the task's Schema gives a
 * future failed with `EncodeError`; it never reaches a worker. Fails with `ExecutorShutdown` after shutdown,
 * `BrokenExecutor` once broken, and `QueueFull` when the queue is full with `onFull: "fail"`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Executor, Future, Task } from "effect-futures"
 *
 * export const square = Task.make("square", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => Effect.succeed(n * n)
 * })
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Executor.submit(square, 7)
 *   return yield* Future.result(future) // 49
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const submit: {
  <T extends Task.Any>(
    input: Task.Payload<T>
  ): (
    task: T
  ) => Effect.Effect<Future<Task.Success<T>, Task.Error<T> | ExecutorError, Task.Progress<T>>, SubmitError, Executor>
  <T extends Task.Any>(
    task: T,
    input: Task.Payload<T>
  ): Effect.Effect<Future<Task.Success<T>, Task.Error<T> | ExecutorError, Task.Progress<T>>, SubmitError, Executor>
} = dual(2, <T extends Task.Any>(task: T, input: Task.Payload<T>) =>
  Effect.flatMap(Executor, (executor) => executor.submit(task, input))
)

/**
 * Options of {@link map}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MapOptions {
  /**
   * How many inputs travel to one worker in one message (default `1`). Large values amortise the per-message cost
   * for tiny tasks; results still stream back in input order.
   */
  readonly chunksize?: number | undefined
  /**
   * How long the whole map may take, from the first pull (default: no limit). When it passes, the stream fails with
   * `Cause.TimeoutError` and cancels what it submitted and has not finished.
   */
  readonly timeout?: Duration.Input | undefined
  /**
   * How many inputs may be submitted ahead of the consumer (default `8 × concurrency × chunksize`, enough to keep every
   * worker busy while results are consumed): inputs are pulled lazily, so an endless input never runs ahead
   * unboundedly.
   */
  readonly buffersize?: number | undefined
}

/**
 * Runs a task over every input and streams the results in input order, like Python's `executor.map`. Inputs (an
 * `Iterable` or a `Stream`) are pulled lazily, at most `buffersize` ahead. A failure comes at its input's position,
 * as Python's `map` raises there: the results before it come first (later inputs still run ahead meanwhile), and a
 * consumer that stops before it never sees it. Closing the stream early, or a failure, cancels whatever it
 * submitted that has not finished.
 *
 * @example
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { Executor, Task } from "effect-futures"
 *
 * export const square = Task.make("square", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => Effect.succeed(n * n)
 * })
 *
 * const program = Executor.map(square, [1, 2, 3], { chunksize: 2 }).pipe(Stream.runCollect) // [1, 4, 9]
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const map: {
  <T extends Task.Any, EI = never, RI = never>(
    inputs: Iterable<Task.Payload<T>> | Stream.Stream<Task.Payload<T>, EI, RI>,
    options?: MapOptions
  ): (
    task: T
  ) => Stream.Stream<
    Task.Success<T>,
    Task.Error<T> | ExecutorError | SubmitError | Cause.TimeoutError | InvalidOptions | EI,
    Executor | RI
  >
  <T extends Task.Any, EI = never, RI = never>(
    task: T,
    inputs: Iterable<Task.Payload<T>> | Stream.Stream<Task.Payload<T>, EI, RI>,
    options?: MapOptions
  ): Stream.Stream<
    Task.Success<T>,
    Task.Error<T> | ExecutorError | SubmitError | Cause.TimeoutError | InvalidOptions | EI,
    Executor | RI
  >
} = dual(
  (args) => TaskModule.isTask(args[0]),
  <T extends Task.Any, EI, RI>(
    task: T,
    inputs: Iterable<Task.Payload<T>> | Stream.Stream<Task.Payload<T>, EI, RI>,
    options?: MapOptions
  ) => Stream.unwrap(Effect.map(Executor, (executor) => MapStream.make(executor, task, inputs, options)))
)

/**
 * Shuts the executor in the context down, as Python's `executor.shutdown(wait, cancel_futures)`: it stops accepting
 * tasks (`submit` then fails with `ExecutorShutdown`); with `cancelFutures` it cancels every task still waiting for
 * a worker; with `wait` (the default) it returns once every task has ended and the workers are released. Calling it
 * again is harmless. Closing the layer's scope does the same with `wait: true`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "effect-futures"
 *
 * const program = Executor.shutdown({ wait: true, cancelFutures: true })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const shutdown = (options?: ShutdownOptions): Effect.Effect<void, never, Executor> =>
  Effect.flatMap(Executor, (executor) => executor.shutdown(options))

/**
 * The counters of the executor in the context: workers, busy, queued, completed, failed, crashed, cancelled, and
 * p50/p99 of wait and run time. They read the same numbers as the executor's exported metrics (see `Stats`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const { completed, queued } = yield* Executor.stats
 *   yield* Effect.log(`${completed} done, ${queued} waiting`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const stats: Effect.Effect<Stats, never, Executor> = Effect.flatMap(Executor, (executor) => executor.stats)

/**
 * Provides an executor layer under another key, so one application can run several executors side by side (a CPU
 * pool and an isolated process pool, say). Pass the key to `Bridge.runInExecutor`'s `executor` option, or
 * `yield*` it for the executor's methods.
 *
 * @example
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Executor } from "effect-futures"
 *
 * class IsolatedPool extends Context.Service<IsolatedPool, Executor.Executor["Service"]>()("app/IsolatedPool") {}
 *
 * const layer = Executor.layerAs(IsolatedPool, Executor.layerProcesses({ maxWorkers: 1 }))
 * const program = Effect.gen(function* () {
 *   const pool = yield* IsolatedPool
 *   return yield* pool.stats
 * }).pipe(Effect.provide(layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAs = <I, E, R>(
  key: Context.Key<I, Executor["Service"]>,
  layer: Layer.Layer<Executor, E, R>
): Layer.Layer<I, E, R> =>
  Layer.effect(key, Effect.service(Executor)).pipe(Layer.provide(layer)) as Layer.Layer<I, E, R>
