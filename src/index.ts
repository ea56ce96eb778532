/**
 * effect-futures: Python's `concurrent.futures` and its asyncio bridge, for Effect.
 *
 * @since 0.1.0
 */
import "./internal/transport/nodeVersion.ts"

/**
 * The bridge to Promise code: runInExecutor, fromPromise, toPromise and a Promise-facing runner.
 *
 * @since 0.1.0
 */
export * as Bridge from "./Bridge.ts"

/**
 * Executors: services backed by pools of workers, fibers or processes, with `submit`, `map`, `shutdown`, `stats`.
 *
 * @since 0.1.0
 */
export * as Executor from "./Executor.ts"

/**
 * Typed errors for every outcome of running work on an executor.
 *
 * @since 0.1.0
 */
export * as ExecutorError from "./ExecutorError.ts"

/**
 * Futures: states, queries, cancellation, callbacks, chaining, `asCompleted` and `wait`.
 *
 * @since 0.1.0
 */
export * as Future from "./Future.ts"

/**
 * Tasks: named, Schema-typed units of work that workers find by module and name.
 *
 * @since 0.1.0
 */
export * as Task from "./Task.ts"
