/**
 * The runner side of the cluster: the entity handlers that run received tasks on this machine's executor.
 *
 * A runner's main thread only routes: the cluster's health checks, shard locks and sockets live on its event loop,
 * and a task that held the loop (a synchronous CPU loop) would get a busy runner declared dead. So every task is
 * handed to a local executor (`layerWorkerThreads` by default) through its public `submit`, which brings that
 * executor's semantics with it: crashes fail only their task (`WorkerCrashed`), interrupting the handler interrupts
 * the task on its worker, and typed errors keep their class until they are encoded for the trip back.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as ExecutorErrors from "../../ExecutorError.ts"
import type { Executor } from "../../Executor.ts"
import type { Future } from "../../Future.ts"
import * as FutureModule from "../../Future.ts"
import * as Task from "../../Task.ts"
import {
  type ItemOutcome,
  jsonCodecs,
  type Outcome,
  PersistedEntity,
  type Run,
  safely,
  type TaskEntity,
  VolatileEntity
} from "./protocol.ts"

const executorErrorClasses: ReadonlyArray<new (...args: Array<any>) => ExecutorErrors.ExecutorError> = [
  ExecutorErrors.TaskDefect,
  ExecutorErrors.WorkerCrashed,
  ExecutorErrors.BrokenExecutor,
  ExecutorErrors.ExecutorShutdown,
  ExecutorErrors.CancelledError,
  ExecutorErrors.EncodeError,
  ExecutorErrors.DecodeError,
  ExecutorErrors.TaskLoadError,
  ExecutorErrors.ClusterUnavailable
]

const isExecutorError = (error: unknown): error is ExecutorErrors.ExecutorError =>
  executorErrorClasses.some((errorClass) => error instanceof errorClass)

const message = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

const executorError = (error: ExecutorErrors.ExecutorError | ExecutorErrors.QueueFull): ItemOutcome => ({
  _tag: "ExecutorError",
  error:
    error._tag === "QueueFull"
      ? new ExecutorErrors.BrokenExecutor({ message: `The runner's executor refused the task: ${error.message}` })
      : error
})

/** How a task ended, in JSON for the trip back. */
export const toOutcome = (task: Task.Any, exit: Exit.Exit<unknown, unknown>): ItemOutcome => {
  const codecs = jsonCodecs(task)
  if (Exit.isSuccess(exit)) {
    const encoded = safely(codecs.encodeSuccess, exit.value)
    return Exit.isSuccess(encoded)
      ? { _tag: "Success", value: encoded.value }
      : executorError(
          new ExecutorErrors.EncodeError({ task: task.name, which: "success", message: message(encoded.cause) })
        )
  }
  return causeToOutcome(task, exit.cause)
}

const causeToOutcome = (task: Task.Any, cause: Cause.Cause<unknown>): ItemOutcome => {
  const error = Cause.findError(cause)
  if (Result.isSuccess(error)) {
    if (isExecutorError(error.success)) return executorError(error.success)
    const encoded = safely(jsonCodecs(task).encodeError, error.success)
    return Exit.isSuccess(encoded)
      ? { _tag: "Failure", error: encoded.value }
      : executorError(
          new ExecutorErrors.EncodeError({ task: task.name, which: "error", message: message(encoded.cause) })
        )
  }
  const defect = Cause.findDefect(cause)
  if (Result.isSuccess(defect)) return executorError(ExecutorErrors.taskDefectFrom(defect.success))
  return { _tag: "Interrupted" }
}

type Loaded = Map<string, Task.Any> | string

/** Imports task modules by URL, once per module, and finds tasks by name, as a worker does. */
const makeLoader = () => {
  const modules = new Map<string, Promise<Loaded>>()
  const load = (module: string): Promise<Loaded> => {
    let loaded = modules.get(module)
    if (loaded === undefined) {
      loaded = import(module).then(
        (exports: Record<string, unknown>) => {
          const tasks = new Map<string, Task.Any>()
          for (const value of Object.values(exports)) {
            if (Task.isTask(value) && value.module === module) tasks.set(value.name, value)
          }
          return tasks
        },
        (cause) => `the module failed to import: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : cause}`
      )
      modules.set(module, loaded)
    }
    return loaded
  }
  return (module: string, name: string): Effect.Effect<Task.Any, ExecutorErrors.TaskLoadError> =>
    Effect.flatMap(
      Effect.promise(() => load(module)),
      (loaded) => {
        if (typeof loaded === "string")
          return Effect.fail(new ExecutorErrors.TaskLoadError({ module, task: name, message: loaded }))
        const task = loaded.get(name)
        return task !== undefined
          ? Effect.succeed(task)
          : Effect.fail(
              new ExecutorErrors.TaskLoadError({
                module,
                task: name,
                message: `the module exports no task named "${name}" (tasks found: ${[...loaded.keys()].join(", ") || "none"})`
              })
            )
      }
    )
}

/** Awaits a future; if the handler is interrupted (the client cancelled), the task is interrupted too. */
const awaitOwned = <A, E>(future: Future<A, E>) =>
  FutureModule.await(future).pipe(Effect.onInterrupt(() => FutureModule.interrupt(future)))

export interface RunnerHandlerOptions {
  /** How many requests one entity handles at once. */
  readonly entityConcurrency: number | "unbounded"
}

/** The handler of `Run`: decode, submit to the local executor, await, encode. */
const makeHandler = (executor: Executor["Service"]) => {
  const loadTask = makeLoader()
  return (request: { readonly payload: typeof Run.payloadSchema.Type }): Effect.Effect<Outcome> =>
    Effect.gen(function* () {
      const { module, task: name, payload, chunk } = request.payload
      const loaded = yield* Effect.result(loadTask(module, name))
      if (Result.isFailure(loaded)) return executorError(loaded.failure)
      const task = loaded.success
      const codecs = jsonCodecs(task)
      const decode = (json: unknown) => {
        const exit = safely(codecs.decodePayload, json)
        return Exit.isSuccess(exit)
          ? Result.succeed(exit.value)
          : Result.fail(
              new ExecutorErrors.DecodeError({ task: task.name, which: "payload", message: message(exit.cause) })
            )
      }
      if (!chunk) {
        const input = decode(payload)
        if (Result.isFailure(input)) return executorError(input.failure)
        const submitted = yield* Effect.result(executor.submit(task, input.success))
        if (Result.isFailure(submitted)) return executorError(submitted.failure)
        return toOutcome(task, yield* awaitOwned(submitted.success))
      }
      const inputs: Array<unknown> = []
      for (const json of payload as ReadonlyArray<unknown>) {
        const input = decode(json)
        if (Result.isFailure(input)) return executorError(input.failure)
        inputs.push(input.success)
      }
      const submitted = yield* Effect.result(executor.submitBatch(task, inputs))
      if (Result.isFailure(submitted)) return executorError(submitted.failure)
      const exit = yield* awaitOwned(submitted.success)
      if (Exit.isFailure(exit)) return causeToOutcome(task, exit.cause)
      const batch = exit.value
      const values: Array<unknown> = []
      for (const value of batch.values) {
        const encoded = safely(codecs.encodeSuccess, value)
        if (Exit.isFailure(encoded)) {
          return {
            _tag: "Chunk",
            values,
            failure: executorError(
              new ExecutorErrors.EncodeError({ task: task.name, which: "success", message: message(encoded.cause) })
            )
          }
        }
        values.push(encoded.value)
      }
      return batch.failure === undefined
        ? { _tag: "Chunk", values }
        : { _tag: "Chunk", values, failure: causeToOutcome(task, batch.failure) }
    })
}

/**
 * Registers both task entities (persisted and volatile) with the runner's sharding, handled on `executor`.
 */
export const layerEntities = (executor: Executor["Service"], options: RunnerHandlerOptions) => {
  const handler = makeHandler(executor)
  const register = (entity: TaskEntity) => entity.toLayer({ Run: handler }, { concurrency: options.entityConcurrency })
  return Layer.mergeAll(register(PersistedEntity), register(VolatileEntity))
}
