/**
 * The one task a cluster runner submits to its local worker pool: it runs, inside a worker, the task a request
 * names. The worker imports the named module (the runner's main thread never does: it only checks the URL against
 * its allowed `modules` first), finds the task, decodes the JSON payload with the task's own Schema, runs it and
 * returns the `Outcome` as the JSON text the reply carries.
 *
 * So the runner keeps its local executor's semantics (a crash fails only its task with `WorkerCrashed`; interrupting
 * the runner's handler interrupts the task on its worker), and its main thread stays free for the cluster's health
 * checks and holds no task code at all.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as ExecutorErrors from "../../ExecutorError.ts"
import * as Task from "../../Task.ts"
import * as TaskModules from "../transport/taskModules.ts"
import { type ItemOutcome, jsonCodecs, type Outcome, outcomeToText, safely } from "./json.ts"

/** Whether a task failed with one of the executor's own errors (a nested executor's, say): by its Schema. */
export const isExecutorError: (error: unknown) => error is ExecutorErrors.ExecutorError = Schema.is(
  ExecutorErrors.ExecutorErrorSchema
)

export const message = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

export const executorError = (error: ExecutorErrors.ExecutorError | ExecutorErrors.QueueFull): ItemOutcome => ({
  _tag: "ExecutorError",
  error:
    error._tag === "QueueFull"
      ? new ExecutorErrors.BrokenExecutor({ message: `The runner's executor refused the task: ${error.message}` })
      : error
})

/** How a task ended, in JSON for the trip back. */
const toOutcome = (task: Task.Any, exit: Exit.Exit<unknown, unknown>): ItemOutcome => {
  if (Exit.isSuccess(exit)) {
    const encoded = safely(jsonCodecs(task).encodeSuccess, exit.value)
    return Exit.isSuccess(encoded)
      ? { _tag: "Success", value: encoded.value }
      : executorError(
          new ExecutorErrors.EncodeError({ task: task.name, which: "success", message: message(encoded.cause) })
        )
  }
  return causeToOutcome(task.name, task, exit.cause)
}

/** A failed run as an outcome: the task's typed error in JSON, or the executor error, defect or interruption. */
export const causeToOutcome = (name: string, task: Task.Any | undefined, cause: Cause.Cause<unknown>): ItemOutcome => {
  const error = Cause.findError(cause)
  if (Result.isSuccess(error)) {
    if (isExecutorError(error.success)) return executorError(error.success)
    if (task === undefined) return executorError(ExecutorErrors.taskDefectFrom(error.success))
    const encoded = safely(jsonCodecs(task).encodeError, error.success)
    return Exit.isSuccess(encoded)
      ? { _tag: "Failure", error: encoded.value }
      : executorError(new ExecutorErrors.EncodeError({ task: name, which: "error", message: message(encoded.cause) }))
  }
  const defect = Cause.findDefect(cause)
  if (Result.isSuccess(defect)) return executorError(ExecutorErrors.taskDefectFrom(defect.success))
  return { _tag: "Interrupted" }
}

/** Task modules by URL, imported once per module in this worker, by the loader local pools use too. */
const modules = new Map<string, Promise<TaskModules.TaskModule>>()

const findTask = (module: string, name: string): Effect.Effect<Task.Any, ExecutorErrors.TaskLoadError> =>
  Effect.flatMap(
    Effect.promise(() => {
      let loaded = modules.get(module)
      if (loaded === undefined) modules.set(module, (loaded = TaskModules.importTaskModule(module)))
      return loaded
    }),
    (loaded) => {
      const found = TaskModules.findTask(loaded, name)
      return typeof found === "string"
        ? Effect.fail(new ExecutorErrors.TaskLoadError({ module, task: name, message: found }))
        : Effect.succeed(found)
    }
  )

/** Runs one request's task (or chunk) and answers with its outcome. */
const run = ({ module, task: name, payload, chunk }: RemoteInput): Effect.Effect<Outcome> =>
  Effect.gen(function* () {
    const found = yield* Effect.result(findTask(module, name))
    if (Result.isFailure(found)) return executorError(found.failure)
    const task = found.success
    const codecs = jsonCodecs(task)
    const decode = (json: unknown) => {
      const exit = safely(codecs.decodePayload, json)
      return Exit.isSuccess(exit)
        ? Result.succeed(exit.value)
        : Result.fail(new ExecutorErrors.DecodeError({ task: name, which: "payload", message: message(exit.cause) }))
    }
    const runOne = (input: unknown) => Effect.exit(Effect.suspend(() => task.run(input)))
    if (!chunk) {
      const input = decode(payload)
      if (Result.isFailure(input)) return executorError(input.failure)
      return toOutcome(task, yield* runOne(input.success))
    }
    // A chunk runs its items in order on this worker and stops at the first that does not succeed.
    const values: Array<unknown> = []
    for (const json of payload as ReadonlyArray<unknown>) {
      const input = decode(json)
      if (Result.isFailure(input)) return { _tag: "Chunk", values, failure: executorError(input.failure) }
      const item = toOutcome(task, yield* runOne(input.success))
      if (item._tag !== "Success") return { _tag: "Chunk", values, failure: item }
      values.push(item.value)
    }
    return { _tag: "Chunk", values }
  })

const RemoteInput = Schema.Struct({
  module: Schema.String,
  task: Schema.String,
  payload: Schema.Unknown,
  chunk: Schema.Boolean
})
type RemoteInput = typeof RemoteInput.Type

/** The runner's task: input the request's task and JSON payload, output the reply's body (the outcome's JSON text). */
export const remoteTask = Task.make("effect-futures/cluster/run", {
  module: import.meta.url,
  payload: RemoteInput,
  success: Schema.String,
  run: (input) => Effect.map(run(input), outcomeToText)
})
