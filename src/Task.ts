/**
 * Named, Schema-typed units of work that any executor can run.
 *
 * A task is referenced the way Python pickles a function: by the URL of the module that defines it plus its name. The
 * application and every worker import the same module; a worker finds the task among the module's exports by name.
 * Its payload, success and error are Schemas, so inputs and outcomes cross thread and process boundaries typed:
 * a typed failure raised in a worker arrives in the caller as an instance of the same class.
 *
 * @since 0.1.0
 */
import "./internal/transport/nodeVersion.ts"
import type * as Effect from "effect/Effect"
import * as EffectRuntime from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import { InvalidTask } from "./ExecutorError.ts"
import * as ProgressInternal from "./internal/observability/progress.ts"

/**
 * The brand every task carries, so `isTask` recognises tasks from any copy of this library.
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-futures/Task") as never

/**
 * The type of {@link TypeId}.
 *
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A Schema a task can use: one that needs no services to encode or decode, so it runs the same in any worker.
 *
 * @since 0.1.0
 * @category models
 */
export type AnySchema = Schema.Codec<any, any, never, never>

/**
 * A named unit of work with Schema-typed payload, success and error.
 *
 * @since 0.1.0
 * @category models
 */
export interface Task<
  Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema
> extends Pipeable {
  readonly [TypeId]: TypeId
  /** The name a worker looks the task up by, unique within its module. */
  readonly name: Name
  /** The URL of the module that defines (and exports) the task; workers import it. */
  readonly module: string
  readonly payload: Payload
  readonly success: Success
  readonly error: Error
  readonly run: (payload: Payload["Type"]) => Effect.Effect<Success["Type"], Error["Type"]>
}

/**
 * Any task, whatever its name and Schemas.
 *
 * @since 0.1.0
 * @category models
 */
export interface Any extends Task<string, any, any, any> {}

/**
 * The type a task takes as input.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Payload<T> = T extends Task<any, infer P, any, any> ? P["Type"] : never

/**
 * The type a task succeeds with.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Success<T> = T extends Task<any, any, infer S, any> ? S["Type"] : never

/**
 * The typed error a task fails with.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Error<T> = T extends Task<any, any, any, infer E> ? E["Type"] : never

const registry = new Map<string, Set<string>>()

const TaskProto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toString(this: Any) {
    return `Task(${this.name} @ ${this.module})`
  },
  toJSON(this: Any) {
    return { _id: "Task", name: this.name, module: this.module }
  }
}

/**
 * Defines a task. Call it at the top level of a module and export the result, so that workers importing the module
 * find it.
 *
 * Throws {@link InvalidTask} at definition time for a missing `module`, an empty name, a name already used by another
 * task of the same module, a field that is not a Schema, or a `run` that is not a function: a malformed task is a
 * programming error that must surface when the module loads, not when the first worker runs it.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task } from "effect-futures"
 *
 * export class FibError extends Schema.TaggedError<FibError>()("FibError", { n: Schema.Number }) {}
 *
 * const fibSync = (n: number): number => (n < 2 ? n : fibSync(n - 1) + fibSync(n - 2))
 *
 * export const fib = Task.make("fib", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   error: FibError,
 *   run: (n) => (n < 0 ? Effect.fail(new FibError({ n })) : Effect.sync(() => fibSync(n)))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema = typeof Schema.Never,
  Progress extends AnySchema | undefined = undefined
>(
  name: Name,
  options: {
    /** Where workers find this task: pass `import.meta.url` of the defining module. */
    readonly module: string
    /** The input's Schema. The caller encodes with it; the worker decodes with it. */
    readonly payload: Payload
    /** The success value's Schema. */
    readonly success: Success
    /** The typed error's Schema (default `Schema.Never`: the task cannot fail with a typed error). */
    readonly error?: Error | undefined
    /** The work itself. It runs inside a worker (or a fiber), with no services from the caller. */
    readonly run: (payload: Payload["Type"]) => Effect.Effect<Success["Type"], Error["Type"]>
    /** The Schema of the values `run` reports with {@link progress} (none by default: the task reports none). */
    readonly progress?: Progress | undefined
  }
): WithProgress<Task<Name, Payload, Success, Error>, Progress> => {
  const label = typeof name === "string" ? name : String(name)
  const invalid = (message: string) => new InvalidTask({ task: label, message })
  if (typeof name !== "string" || name.length === 0) {
    throw invalid(`Expected the task name to be a non-empty string, got ${JSON.stringify(name)}`)
  }
  if (options === null || typeof options !== "object") throw invalid("Expected an options object")
  if (typeof options.module !== "string" || options.module.length === 0) {
    throw invalid(
      "Expected `module` to be the defining module's URL (pass `import.meta.url`), got " + String(options.module)
    )
  }
  for (const field of ["payload", "success"] as const) {
    if (!Schema.isSchema(options[field])) throw invalid(`Expected \`${field}\` to be a Schema`)
  }
  if (options.error !== undefined && !Schema.isSchema(options.error)) throw invalid("Expected `error` to be a Schema")
  if (options.progress !== undefined && !Schema.isSchema(options.progress)) {
    throw invalid("Expected `progress` to be a Schema")
  }
  if (typeof options.run !== "function") throw invalid("Expected `run` to be a function returning an Effect")
  let names = registry.get(options.module)
  if (names === undefined) {
    names = new Set()
    registry.set(options.module, names)
  }
  if (names.has(name)) {
    throw invalid(`A task named "${name}" is already defined in ${options.module}; names must be unique per module`)
  }
  names.add(name)
  const task = Object.create(TaskProto)
  task.name = name
  task.module = options.module
  task.payload = options.payload
  task.success = options.success
  task.error = options.error ?? Schema.Never
  task.run = options.run
  if (options.progress !== undefined) task.progress = options.progress
  return Object.freeze(task)
}

/**
 * A task whose body is a plain synchronous function (made by {@link sync}). It is also an ordinary {@link Task}: its
 * `run` wraps the function in an Effect, so it runs anywhere a task runs (every executor, the cluster, `Bridge`).
 * Executors that know the form run a whole chunk of `map` or `submitBatch` in one loop, with no Effect per item.
 *
 * @since 0.2.0
 * @category models
 */
export interface SyncTask<
  Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema
> extends Task<Name, Payload, Success, Error> {
  /** The task's body as given to {@link sync}: returns the success, or throws (the typed error, or a defect). */
  readonly runSync: (payload: Payload["Type"]) => Success["Type"]
}

/**
 * Defines a task whose work is a plain function, as Python's `map` takes one: `run` returns the success value
 * directly. A worker runs a chunk of such items in a single loop, without starting an Effect per item, which is what
 * makes `Executor.map` over many small items cheap.
 *
 * Failures keep their types: a thrown value that the `error` Schema accepts (`Schema.is`; for a `Schema.TaggedError`
 * class, an instance of it) is the task's typed failure, exactly as `Effect.fail` in {@link make}; anything else thrown
 * is a defect (`TaskDefect`). The body runs to completion once started: being synchronous, it cannot see an
 * interrupt (under the `terminate` interrupt policy its worker is stopped instead). Use {@link make} for work that
 * waits or needs to be interruptible.
 *
 * Throws {@link InvalidTask} at definition time for the same mistakes as {@link make}, and for a `run` that is not a
 * function.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "effect-futures"
 *
 * export class Negative extends Schema.TaggedError<Negative>()("Negative", { n: Schema.Number }) {}
 *
 * export const squareRoot = Task.sync("squareRoot", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   error: Negative,
 *   run: (n) => {
 *     if (n < 0) throw new Negative({ n })
 *     return Math.sqrt(n)
 *   }
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const sync = <
  const Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema = typeof Schema.Never
>(
  name: Name,
  options: {
    /** Where workers find this task: pass `import.meta.url` of the defining module. */
    readonly module: string
    /** The input's Schema. The caller encodes with it; the worker decodes with it. */
    readonly payload: Payload
    /** The success value's Schema. */
    readonly success: Success
    /** The typed error's Schema (default `Schema.Never`: whatever `run` throws is a defect). */
    readonly error?: Error | undefined
    /** The work itself, synchronous: return the success, throw the typed error. No services, no Effect. */
    readonly run: (payload: Payload["Type"]) => Success["Type"]
  }
): SyncTask<Name, Payload, Success, Error> => {
  if (options === null || typeof options !== "object") {
    throw new InvalidTask({ task: String(name), message: "Expected an options object" })
  }
  if (typeof options.run !== "function") {
    throw new InvalidTask({
      task: String(name),
      message: "Expected `run` to be a function returning the success value"
    })
  }
  const runSync = options.run
  const task: Task<Name, Payload, Success, Error> = make(name, {
    ...options,
    run: (payload) =>
      EffectRuntime.suspend(() => {
        try {
          return EffectRuntime.succeed(runSync(payload))
        } catch (thrown) {
          return isTypedError(thrown) ? EffectRuntime.fail(thrown) : EffectRuntime.die(thrown)
        }
      })
  })
  // After `make` has checked that `error` is a Schema (`Schema.Never` when absent: every throw is a defect).
  const isTypedError = Schema.is(task.error)
  return Object.freeze(Object.assign(Object.create(TaskProto), task, { runSync }))
}

/**
 * Tells whether a task was made by {@link sync}, that is whether it has a plain synchronous body.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "effect-futures"
 *
 * const double = Task.sync("double", {
 *   module: "file:///tasks.js",
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => n * 2
 * })
 *
 * Task.isSync(double) // true
 * ```
 *
 * @since 0.2.0
 * @category guards
 */
export const isSync = (task: Any): task is SyncTask<string, any, any, any> =>
  typeof (task as { readonly runSync?: unknown }).runSync === "function"

/**
 * Tells whether a value is a task made by {@link make} (from any copy of this library).
 *
 * @example
 * ```ts
 * import { Task } from "effect-futures"
 *
 * Task.isTask({ name: "fib" }) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isTask = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u

// ---------------------------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------------------------

/**
 * A task that reports progress: what {@link make} returns when given a `progress` Schema.
 *
 * @since 0.2.0
 * @category models
 */
export interface Progressing<Progress extends AnySchema> {
  /** The Schema of the values the task reports with {@link progress}. */
  readonly progress: Progress
}

/**
 * A task type, with {@link Progressing} when `Progress` is a Schema.
 *
 * @since 0.2.0
 * @category type-level
 */
export type WithProgress<T, Progress extends AnySchema | undefined> = [Progress] extends [AnySchema]
  ? T & Progressing<Progress>
  : T

/**
 * The type of the progress values a task reports (`never` for a task that declares no `progress`).
 *
 * @since 0.2.0
 * @category type-level
 */
export type Progress<T> = T extends Progressing<infer P> ? P["Type"] : never

/**
 * Reports one progress value from inside a task's `run`; the caller reads them with `Future.progress`.
 *
 * The value is encoded with the task's `progress` Schema and sent on at once (on a worker, as a message to the
 * caller), without waiting for any reader. Called in a task that declares no `progress`, or with a value its Schema
 * refuses, the task dies with an `InvalidProgress` defect (the caller sees a `TaskDefect` naming it): a programming
 * error, surfaced where it is made.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task } from "effect-futures"
 *
 * export const countTo = Task.make("countTo", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   progress: Schema.Struct({ done: Schema.Number, total: Schema.Number }),
 *   run: (total) =>
 *     Effect.gen(function* () {
 *       for (let done = 1; done <= total; done++) yield* Task.progress({ done, total })
 *       return total
 *     })
 * })
 * ```
 *
 * @since 0.2.0
 * @category progress
 */
export const progress = (value: unknown): Effect.Effect<void> => ProgressInternal.report(value)
