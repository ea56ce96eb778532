/**
 * The typed outcomes of running work on an executor.
 *
 * Every way a submitted future can end other than with its task's own success or typed failure is one tagged,
 * Schema-encodable error class here, with the fields a caller needs to act on it. They cross worker and process
 * boundaries unchanged, can be matched with `Effect.catchTag`, and are never built from strings.
 *
 * @since 0.1.0
 */
import "./internal/transport/nodeVersion.ts"
import * as Schema from "effect/Schema"

/**
 * The task threw (or died) instead of succeeding or failing with its typed error.
 *
 * `workerStack` is the stack as it was inside the worker (or fiber) that ran the task, so the place it threw is not
 * lost when the error crosses a thread or process boundary.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ExecutorError } from "effect-futures"
 *
 * const handled = (effect: Effect.Effect<number, ExecutorError.TaskDefect>) =>
 *   effect.pipe(Effect.catchTag("TaskDefect", (e) => Effect.succeed(e.errorName.length)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class TaskDefect extends Schema.TaggedError<TaskDefect>()("TaskDefect", {
  errorName: Schema.String,
  message: Schema.String,
  workerStack: Schema.String
}) {}

/**
 * The worker running the task died (it exited, was killed, aborted, threw outside a task or ran out of memory).
 * `exitCode` and `signal` say how (a child process that calls `process.abort()` has `signal: "SIGABRT"`); `oom` is
 * true only when it ran out of memory (V8 said so), not for every abort.
 *
 * Only the task that was on that worker fails with this; queued tasks run on a replacement worker.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const crashed = new ExecutorError.WorkerCrashed({
 *   workerId: 3, exitCode: 1, signal: null, oom: false, message: "worker 3 exited with code 1"
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkerCrashed extends Schema.TaggedError<WorkerCrashed>()("WorkerCrashed", {
  workerId: Schema.Number,
  exitCode: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String),
  oom: Schema.Boolean,
  message: Schema.String
}) {}

/**
 * The executor cannot run tasks: its initializer failed, or its workers kept dying while starting.
 *
 * Once broken, every pending future fails with this error and every later `submit` does too.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const broken = new ExecutorError.BrokenExecutor({ message: "initializer failed: no database" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BrokenExecutor extends Schema.TaggedError<BrokenExecutor>()("BrokenExecutor", {
  message: Schema.String
}) {}

/**
 * The executor was shut down: `submit` after `shutdown`, or a pending future cancelled by
 * `shutdown({ cancelFutures: true })` is reported as `CancelledError`, not this.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const shut = new ExecutorError.ExecutorShutdown({ message: "cannot submit after shutdown" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ExecutorShutdown extends Schema.TaggedError<ExecutorShutdown>()("ExecutorShutdown", {
  message: Schema.String
}) {}

/**
 * `submit` found the queue full with `onFull: "fail"`. `maxQueue` is the limit that was reached.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const full = new ExecutorError.QueueFull({ maxQueue: 1000 })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class QueueFull extends Schema.TaggedError<QueueFull>()("QueueFull", {
  maxQueue: Schema.Number
}) {
  override get message(): string {
    return `The executor's queue is full (maxQueue: ${this.maxQueue})`
  }
}

/**
 * The future was cancelled (with `Future.cancel`, `Future.interrupt`, interrupting its fiber, or a shutdown with
 * `cancelFutures`). `Future.result` and `yield* future` fail with it; `Future.await` keeps Effect's interrupt `Exit`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ExecutorError } from "effect-futures"
 *
 * const orZero = (effect: Effect.Effect<number, ExecutorError.CancelledError>) =>
 *   effect.pipe(Effect.catchTag("CancelledError", () => Effect.succeed(0)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CancelledError extends Schema.TaggedError<CancelledError>()("CancelledError", {
  message: Schema.String
}) {}

/**
 * A value did not encode with its Schema: the caller's payload (before it left), or the task's result or typed error
 * inside the worker (before it came back). `which` says which one.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const bad = new ExecutorError.EncodeError({ task: "fib", which: "payload", message: "Expected number, got \"x\"" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class EncodeError extends Schema.TaggedError<EncodeError>()("EncodeError", {
  task: Schema.String,
  which: Schema.Literals(["payload", "success", "error"]),
  message: Schema.String
}) {}

/**
 * A value did not decode with its Schema: the payload inside the worker, or the result or typed error back in the
 * caller. `which` says which one.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const bad = new ExecutorError.DecodeError({ task: "fib", which: "success", message: "Expected number" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  task: Schema.String,
  which: Schema.Literals(["payload", "success", "error"]),
  message: Schema.String
}) {}

/**
 * The task's module failed to import in the worker, or does not export a task of that name. Only that future fails;
 * the worker and the pool stay healthy.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const missing = new ExecutorError.TaskLoadError({
 *   module: "file:///app/tasks.js", task: "fib", message: "the module has no task named \"fib\""
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class TaskLoadError extends Schema.TaggedError<TaskLoadError>()("TaskLoadError", {
  module: Schema.String,
  task: Schema.String,
  message: Schema.String
}) {}

/**
 * The cluster could not take the task (`Cluster.layer` only): no runner answered for `submitDeadline`
 * after the task was submitted (none is up, or every one is unreachable), or the cluster's storage failed. The
 * task may still run later on a runner that comes up (tasks on a cluster run at least once), so a task whose
 * future failed with this must be safe to run again. `waited` is how long the task waited, in milliseconds.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const unavailable = new ExecutorError.ClusterUnavailable({
 *   task: "fib", waited: 30000, message: "No runner answered within the submit deadline (30000 ms)"
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ClusterUnavailable extends Schema.TaggedError<ClusterUnavailable>()("ClusterUnavailable", {
  task: Schema.String,
  waited: Schema.Number,
  message: Schema.String
}) {}

/**
 * A cluster runner refused the task because its module is not among the runner's allowed `modules`
 * (`Cluster.layerRunner({ modules })`), or is a URL a runner never imports (`data:`, `http:`, `https:`, `blob:`,
 * `node:`, anything but a `file:` URL). Nothing was imported and nothing ran; the runner stays healthy. Deploy the
 * module under an allowed URL, or add it to the runners' `modules`.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const refused = new ExecutorError.TaskNotAllowed({
 *   module: "data:text/javascript,export const evil = 1", task: "evil",
 *   message: "the runner imports only file: URLs among its modules"
 * })
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class TaskNotAllowed extends Schema.TaggedError<TaskNotAllowed>()("TaskNotAllowed", {
  module: Schema.String,
  task: Schema.String,
  message: Schema.String
}) {}

/**
 * A cluster message failed authentication (`Cluster.layer` and `Cluster.layerRunner` with a `secret`): the runner
 * refused the task because its request carried no valid tag for the runner's secret, or was a replay or out of date;
 * or the client refused a reply whose tag did not verify with its own secret. Nothing ran, or nothing of the reply
 * was used. `peer` says who was refused (a runner's or the storage's address). Give clients and runners the same
 * `secret`, and keep their clocks within a minute of each other.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const refused = new ExecutorError.Unauthenticated({
 *   task: "fib", peer: "runner 10.0.0.7:34431", message: "the reply's tag does not verify with this client's secret"
 * })
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()("Unauthenticated", {
  task: Schema.String,
  peer: Schema.String,
  message: Schema.String
}) {}

/**
 * The cluster's storage failed (`Cluster.layer` and `Cluster.layerRunner`): it is unreachable, refuses the
 * credentials, is locked, corrupt, has tables of another shape, or its client package is not installed.
 * `storage` names it with any password replaced by `***`; `operation` is what failed (`"load client"`, `"open"`,
 * `"connect"`, `"migrate"`, `"check schema"`). The layer fails to build with it.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const failed = new ExecutorError.ClusterStorageError({
 *   storage: "postgres://cluster:***@db:5432/tasks", operation: "connect", message: "connection refused"
 * })
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class ClusterStorageError extends Schema.TaggedError<ClusterStorageError>()("ClusterStorageError", {
  storage: Schema.String,
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * An option given to a layer (or a call) is not acceptable. The layer fails to build with it.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const invalid = new ExecutorError.InvalidOptions({
 *   option: "maxWorkers", expected: "a positive integer", received: "0"
 * })
 * invalid.message // "Expected `maxWorkers` to be a positive integer, got 0"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  option: Schema.String,
  expected: Schema.String,
  received: Schema.String
}) {
  override get message(): string {
    return `Expected \`${this.option}\` to be ${this.expected}, got ${this.received}`
  }
}

/**
 * A worker-backed executor (`layerWorkerThreads`, `layerProcesses`) was built inside a worker while that worker was
 * still importing a task module: the module runs the program at import time (a task defined in the same file as
 * `Effect.runPromise(program)`), so every worker would start a pool of its own, without end. The layer fails with
 * this at once, and the caller's tasks from that module fail with a `TaskLoadError` saying the same. Fix: keep
 * tasks in a module of their own, or run the program only when its file is the entry point
 * (`if (import.meta.main) { ... }`). Python's `ProcessPoolExecutor` refuses the same thing ("before the current
 * process has finished its bootstrapping phase"). A pool started from inside a running task is not affected.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const error = new ExecutorError.BootstrapError({
 *   modules: ["file:///app/main.js"],
 *   message: "layerWorkerThreads was built while a worker was importing file:///app/main.js to find a task"
 * })
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class BootstrapError extends Schema.TaggedError<BootstrapError>()("BootstrapError", {
  modules: Schema.Array(Schema.String),
  message: Schema.String
}) {}

/**
 * A task definition given to `Task.make` is malformed (no `module`, a field that is not a Schema, a name already
 * taken in that module). Thrown synchronously by `Task.make`, since a task is defined at module load.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const bad = new ExecutorError.InvalidTask({ task: "fib", message: "`payload` must be a Schema" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTask extends Schema.TaggedError<InvalidTask>()("InvalidTask", {
  task: Schema.String,
  message: Schema.String
}) {}

/**
 * Every error the executor itself can add to a future's error channel, on top of the task's own typed error.
 *
 * @since 0.1.0
 * @category models
 */
export type ExecutorError =
  | TaskDefect
  | WorkerCrashed
  | BrokenExecutor
  | ExecutorShutdown
  | CancelledError
  | EncodeError
  | DecodeError
  | TaskLoadError
  | ClusterUnavailable
  | TaskNotAllowed
  | Unauthenticated

/**
 * The errors `Executor.submit` itself can fail with (before any future exists).
 *
 * @since 0.1.0
 * @category models
 */
export type SubmitError = ExecutorShutdown | QueueFull | BrokenExecutor

/**
 * A Schema for every error in {@link ExecutorError}, used to carry them across worker boundaries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExecutorErrorSchema = Schema.Union([
  TaskDefect,
  WorkerCrashed,
  BrokenExecutor,
  ExecutorShutdown,
  CancelledError,
  EncodeError,
  DecodeError,
  TaskLoadError,
  ClusterUnavailable,
  TaskNotAllowed,
  Unauthenticated
])

/**
 * Renders an unknown thrown value as `{ errorName, message, workerStack }`, the fields of {@link TaskDefect}.
 *
 * @example
 * ```ts
 * import { ExecutorError } from "effect-futures"
 *
 * const defect = ExecutorError.taskDefectFrom(new RangeError("too far"))
 * defect.errorName // "RangeError"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const taskDefectFrom = (defect: unknown): TaskDefect => {
  if (defect instanceof TaskDefect) return defect
  if (defect instanceof Error) {
    return new TaskDefect({
      errorName: defect.name,
      message: defect.message,
      workerStack: defect.stack ?? `${defect.name}: ${defect.message}`
    })
  }
  const rendered = typeof defect === "string" ? defect : safeString(defect)
  return new TaskDefect({ errorName: typeof defect, message: rendered, workerStack: rendered })
}

const safeString = (value: unknown): string => {
  try {
    return typeof value === "object" && value !== null ? (JSON.stringify(value) ?? String(value)) : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}
