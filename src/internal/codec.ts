/**
 * Encoding and decoding a task's payload and outcome, shared by every executor and by the worker entry.
 *
 * The parsers are derived once per task and cached, so the hot path never re-derives a Schema.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as ExecutorError from "../ExecutorError.ts"
import type * as Task from "../Task.ts"
import type { WireExecutorError, WireExit } from "./protocol.ts"

type Parser = (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>

interface Codecs {
  readonly encodePayload: Parser
  readonly decodePayload: Parser
  readonly encodeSuccess: Parser
  readonly decodeSuccess: Parser
  readonly encodeError: Parser
  readonly decodeError: Parser
}

const cache = new WeakMap<Task.Any, Codecs>()

const codecsOf = (task: Task.Any): Codecs => {
  let codecs = cache.get(task)
  if (codecs === undefined) {
    codecs = {
      encodePayload: Schema.encodeUnknownExit(task.payload),
      decodePayload: Schema.decodeUnknownExit(task.payload),
      encodeSuccess: Schema.encodeUnknownExit(task.success),
      decodeSuccess: Schema.decodeUnknownExit(task.success),
      encodeError: Schema.encodeUnknownExit(task.error),
      decodeError: Schema.decodeUnknownExit(task.error)
    }
    cache.set(task, codecs)
  }
  return codecs
}

const describe = (cause: Cause.Cause<Schema.SchemaError>): string => {
  const error = Cause.findError(cause)
  if (Result.isSuccess(error)) return error.success.message
  const defect = Cause.findDefect(cause)
  return Result.isSuccess(defect) ? String(defect.success) : Cause.pretty(cause)
}

/** Encodes the caller's payload before it leaves; a payload that fails its Schema never reaches a worker. */
export const encodePayload = (task: Task.Any, input: unknown): Result.Result<unknown, ExecutorError.EncodeError> => {
  const exit = safely(codecsOf(task).encodePayload, input)
  return Exit.isSuccess(exit)
    ? Result.succeed(exit.value)
    : Result.fail(new ExecutorError.EncodeError({ task: task.name, which: "payload", message: describe(exit.cause) }))
}

const safely = (parser: Parser, input: unknown): Exit.Exit<unknown, Schema.SchemaError> => {
  try {
    return parser(input)
  } catch (defect) {
    // A Schema transformation that throws is a defect of the Schema, reported like a failed check.
    return Exit.die(defect)
  }
}

const wireError = (error: WireExecutorError): WireExit => ({ _tag: "ExecutorError", error })

const schemaFailure = (
  tag: "EncodeError" | "DecodeError",
  task: Task.Any,
  which: "payload" | "success" | "error",
  cause: Cause.Cause<Schema.SchemaError>
): WireExit => wireError({ _tag: tag, task: task.name, which, message: describe(cause) })

/** Renders a defect as the fields of `TaskDefect`. */
export const defectToWire = (defect: unknown): WireExit => {
  const { errorName, message, workerStack } = ExecutorError.taskDefectFrom(defect)
  return wireError({ _tag: "TaskDefect", errorName, message, workerStack })
}

/** Encodes how a task ended, inside the worker, for the trip back. */
export const encodeExit = (task: Task.Any, exit: Exit.Exit<unknown, unknown>): WireExit => {
  const codecs = codecsOf(task)
  if (Exit.isSuccess(exit)) {
    const encoded = safely(codecs.encodeSuccess, exit.value)
    return Exit.isSuccess(encoded)
      ? { _tag: "Success", value: encoded.value }
      : schemaFailure("EncodeError", task, "success", encoded.cause)
  }
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) {
    const encoded = safely(codecs.encodeError, error.success)
    return Exit.isSuccess(encoded)
      ? { _tag: "Failure", error: encoded.value }
      : schemaFailure("EncodeError", task, "error", encoded.cause)
  }
  const defect = Cause.findDefect(exit.cause)
  if (Result.isSuccess(defect)) return defectToWire(defect.success)
  return { _tag: "Interrupted" }
}

/**
 * Runs a task on an encoded payload and encodes the outcome: what a worker does for one task, and what the
 * in-process executor does so that both keep exactly the same semantics.
 */
export const runEncoded = (task: Task.Any, payload: unknown): Effect.Effect<WireExit> => {
  const decoded = safely(codecsOf(task).decodePayload, payload)
  if (Exit.isFailure(decoded)) return Effect.succeed(schemaFailure("DecodeError", task, "payload", decoded.cause))
  let effect: Effect.Effect<unknown, unknown>
  try {
    effect = task.run(decoded.value)
  } catch (defect) {
    return Effect.succeed(defectToWire(defect))
  }
  if (!Effect.isEffect(effect)) {
    return Effect.succeed(
      defectToWire(new TypeError(`Task "${task.name}" must return an Effect from \`run\`, got ${typeof effect}`))
    )
  }
  return Effect.map(Effect.exit(effect), (exit) => encodeExit(task, exit))
}

const executorErrorFromWire = (error: WireExecutorError): ExecutorError.ExecutorError => {
  switch (error._tag) {
    case "TaskDefect":
      return new ExecutorError.TaskDefect(error)
    case "EncodeError":
      return new ExecutorError.EncodeError({ task: error.task, which: error.which, message: error.message })
    case "DecodeError":
      return new ExecutorError.DecodeError({ task: error.task, which: error.which, message: error.message })
    case "TaskLoadError":
      return new ExecutorError.TaskLoadError(error)
  }
}

/** Decodes a task's outcome back in the caller, restoring typed errors as instances of their classes. */
export const decodeExit = (task: Task.Any, wire: WireExit): Exit.Exit<unknown, unknown> => {
  const codecs = codecsOf(task)
  switch (wire._tag) {
    case "Success": {
      const decoded = safely(codecs.decodeSuccess, wire.value)
      return Exit.isSuccess(decoded)
        ? decoded
        : Exit.fail(
            new ExecutorError.DecodeError({ task: task.name, which: "success", message: describe(decoded.cause) })
          )
    }
    case "Failure": {
      const decoded = safely(codecs.decodeError, wire.error)
      return Exit.fail(
        Exit.isSuccess(decoded)
          ? decoded.value
          : new ExecutorError.DecodeError({ task: task.name, which: "error", message: describe(decoded.cause) })
      )
    }
    case "ExecutorError":
      return Exit.fail(executorErrorFromWire(wire.error))
    case "Interrupted":
      return Exit.interrupt()
  }
}

/** Says how a task did not succeed, for messages such as a failed initializer's. */
export const describeWireFailure = (wire: WireExit): string => {
  switch (wire._tag) {
    case "Success":
      return "it succeeded"
    case "Interrupted":
      return "it was interrupted"
    case "Failure":
      return `it failed with ${safeJson(wire.error)}`
    case "ExecutorError":
      return `${wire.error._tag}: ${wire.error.message}`
  }
}

const safeJson = (value: unknown) => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Collects the ArrayBuffers of an encoded value that can be moved rather than copied: whole (not sliced), non-shared
 * buffers of typed arrays and plain ArrayBuffers, a few levels deep. Primitives, the common case, cost one check.
 */
export const transferablesOf = (value: unknown): Array<ArrayBuffer> | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const found: Array<ArrayBuffer> = []
  collect(value, found, 0)
  return found.length === 0 ? undefined : found
}

const collect = (value: unknown, found: Array<ArrayBuffer>, depth: number): void => {
  if (typeof value !== "object" || value === null || depth > 4) return
  if (value instanceof ArrayBuffer) {
    if (!found.includes(value)) found.push(value)
    return
  }
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) {
      if (!found.includes(buffer)) found.push(buffer)
    }
    return
  }
  if (Array.isArray(value)) {
    const length = Math.min(value.length, 64)
    for (let i = 0; i < length; i++) collect(value[i], found, depth + 1)
    return
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return
  for (const key in value) collect((value as Record<string, unknown>)[key], found, depth + 1)
}
