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
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { types } from "node:util"
import * as ExecutorError from "../../ExecutorError.ts"
import type * as Task from "../../Task.ts"
import type { ChunkResult, WireExecutorError, WireExit } from "./protocol.ts"

export type { ChunkResult }

type Parser = (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>

interface Codecs {
  /**
   * True when the payload's Schema has no transformation (its encoded form is its type): the caller's encode has
   * already validated the value, and decoding it again in the worker would only repeat that check.
   */
  readonly payloadIsEncoded: boolean
  /** Likewise for the success: the worker's encode validated it; the caller need not decode it again. */
  readonly successIsEncoded: boolean
  /**
   * For a bare primitive Schema (`Schema.Number`, `String`, `Boolean`: no checks, no transformation) its whole parse is
   * a `typeof` test. The batch paths use it to skip one parser call and one `Exit` per item (~20 ns each here, a
   * sizeable share of `map`'s per-item cost); a value that fails the test goes through the parser for its message.
   */
  readonly payloadGuard: Guard | undefined
  readonly successGuard: Guard | undefined
  readonly encodePayload: Parser
  readonly decodePayload: Parser
  readonly encodeSuccess: Parser
  readonly decodeSuccess: Parser
  readonly encodeError: Parser
  readonly decodeError: Parser
}

type Guard = (input: unknown) => boolean

const primitiveGuards: Record<string, Guard> = {
  Number: (input) => typeof input === "number",
  String: (input) => typeof input === "string",
  Boolean: (input) => typeof input === "boolean"
}

const guardOf = (ast: SchemaAST.AST): Guard | undefined =>
  ast.checks === undefined && ast.encoding === undefined && ast.context === undefined
    ? primitiveGuards[ast._tag]
    : undefined

const cache = new WeakMap<Task.Any, Codecs>()

const codecsOf = (task: Task.Any): Codecs => {
  let codecs = cache.get(task)
  if (codecs === undefined) {
    codecs = {
      payloadIsEncoded: SchemaAST.toEncoded(task.payload.ast) === task.payload.ast,
      successIsEncoded: SchemaAST.toEncoded(task.success.ast) === task.success.ast,
      payloadGuard: guardOf(task.payload.ast),
      successGuard: guardOf(task.success.ast),
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

/** Like `Array#every`, but a hole reads as `undefined` (and so fails a primitive guard) instead of being skipped. */
const everyIndex = (values: ReadonlyArray<unknown>, guard: Guard): boolean => {
  for (let i = 0; i < values.length; i++) if (!guard(values[i])) return false
  return true
}

/** Encodes a batch of payloads (the Schema's parser found once); the first that fails its Schema fails them all. */
export const encodePayloads = (
  task: Task.Any,
  inputs: ReadonlyArray<unknown>
): Result.Result<Array<unknown>, ExecutorError.EncodeError> => {
  const codecs = codecsOf(task)
  const guard = codecs.payloadGuard
  if (guard !== undefined && everyIndex(inputs, guard)) return Result.succeed(inputs.slice())
  const encode = codecs.encodePayload
  // Filled with push, not preallocated: a holey array makes structured clone take its sparse path, measured here at
  // ~90 µs per postMessage of 1,000 numbers against ~23 µs for a packed one (on the caller's thread, per chunk).
  const encoded: Array<unknown> = []
  for (let i = 0; i < inputs.length; i++) {
    const exit = safely(encode, inputs[i])
    if (Exit.isFailure(exit)) {
      return Result.fail(
        new ExecutorError.EncodeError({ task: task.name, which: "payload", message: describe(exit.cause) })
      )
    }
    encoded.push(exit.value)
  }
  return Result.succeed(encoded)
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
 * Decodes the payload and calls `run`: the task's Effect, or the outcome if it could not even start. For a Schema
 * without transformations the caller's encode already checked the payload, so it is not decoded again.
 */
const prepare = (
  task: Task.Any,
  payload: unknown,
  codecs: Codecs = codecsOf(task)
): Effect.Effect<unknown, unknown> | WireExit => {
  let input = payload
  if (!codecs.payloadIsEncoded) {
    const decoded = safely(codecs.decodePayload, payload)
    if (Exit.isFailure(decoded)) return schemaFailure("DecodeError", task, "payload", decoded.cause)
    input = decoded.value
  }
  let effect: Effect.Effect<unknown, unknown>
  try {
    effect = task.run(input)
  } catch (defect) {
    return defectToWire(defect)
  }
  if (!Effect.isEffect(effect)) {
    return defectToWire(new TypeError(`Task "${task.name}" must return an Effect from \`run\`, got ${typeof effect}`))
  }
  return effect
}

const isWire = (value: Effect.Effect<unknown, unknown> | WireExit): value is WireExit => !Effect.isEffect(value)

/**
 * Runs a task on an encoded payload and encodes the outcome: what a worker does for one task, and what the
 * in-process executor does so that both keep exactly the same semantics.
 */
export const runEncoded = (task: Task.Any, payload: unknown): Effect.Effect<WireExit> => {
  const prepared = prepare(task, payload)
  if (isWire(prepared)) return Effect.succeed(prepared)
  return Effect.map(Effect.exit(prepared), (exit) => encodeExit(task, exit))
}

/**
 * Runs a chunk of payloads one after the other, stopping at the first that does not succeed. Each item whose Effect
 * completes synchronously runs on a fiber that finishes before `runFork` returns (or on none, for an Effect that is
 * already an Exit): measured here, ~0.2 µs per item against ~0.75 µs when every item is `yield*`-ed in one fiber,
 * which is what lets `map` with a chunksize approach a raw worker loop. An item that goes async is awaited, and
 * interrupting the chunk interrupts it.
 */
export const runChunkEncoded = (task: Task.Any, payloads: ReadonlyArray<unknown>): Effect.Effect<ChunkResult> =>
  Effect.gen(function* () {
    const codecs = codecsOf(task)
    // Items run with the chunk's services, not the default ones: under `layerFibers` that is what keeps a test's
    // TestClock (and any logger) in force for every item of a chunk, as it is for a single task.
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const guard = codecs.successGuard
    const values: Array<unknown> = []
    for (let i = 0; i < payloads.length; i++) {
      const prepared = prepare(task, payloads[i], codecs)
      let exit: Exit.Exit<unknown, unknown>
      // Most items are already an Exit (`Effect.succeed`, `Effect.fail`): test that first.
      if (Exit.isExit(prepared)) {
        exit = prepared
      } else if (isWire(prepared)) {
        return { values, failure: prepared }
      } else {
        const fiber = runFork(prepared)
        exit = fiber.pollUnsafe() ?? (yield* Effect.onInterrupt(Fiber.await(fiber), () => Fiber.interrupt(fiber)))
      }
      // The common case, a success, is encoded straight into `values` without an intermediate outcome object.
      if (Exit.isSuccess(exit)) {
        if (guard !== undefined && guard(exit.value)) {
          values.push(exit.value)
          continue
        }
        const encoded = safely(codecs.encodeSuccess, exit.value)
        if (Exit.isSuccess(encoded)) {
          values.push(encoded.value)
          continue
        }
      }
      return { values, failure: encodeExit(task, exit) }
    }
    return { values, failure: undefined }
  })

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
      const decoded = codecs.successIsEncoded ? Exit.succeed(wire.value) : safely(codecs.decodeSuccess, wire.value)
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

/** A chunk's outcome in the caller: the decoded values, then the cause of the first item that did not succeed. */
export interface Batch {
  readonly values: ReadonlyArray<unknown>
  readonly failure: Cause.Cause<unknown> | undefined
}

export const decodeChunk = (task: Task.Any, chunk: ChunkResult): Batch => {
  const codecs = codecsOf(task)
  let values = chunk.values
  if (!codecs.successIsEncoded) {
    const decodedValues: Array<unknown> = []
    for (const value of chunk.values) {
      const decoded = safely(codecs.decodeSuccess, value)
      if (Exit.isFailure(decoded)) {
        const error = new ExecutorError.DecodeError({
          task: task.name,
          which: "success",
          message: describe(decoded.cause)
        })
        return { values: decodedValues, failure: Cause.fail(error) }
      }
      decodedValues.push(decoded.value)
    }
    values = decodedValues
  }
  if (chunk.failure === undefined) return { values, failure: undefined }
  const exit = decodeExit(task, chunk.failure)
  return { values, failure: Exit.isFailure(exit) ? exit.cause : undefined }
}

/** The message of the `EncodeError` of a payload that structured clone refuses (a function, a symbol...). */
export const payloadNotCloneable = (cause: unknown): string =>
  `the payload cannot be sent to a worker: ${cause instanceof Error ? cause.message : String(cause)}`

/** The encoded result cannot cross the boundary (a function, a symbol...): reported instead of dying. */
export const resultNotCloneable = (task: string, cause: unknown): WireExit => ({
  _tag: "ExecutorError",
  error: {
    _tag: "EncodeError",
    task,
    which: "success",
    message: `the encoded result cannot be sent back from the worker: ${cause instanceof Error ? cause.message : String(cause)}`
  }
})

/**
 * Whether `value` is plain data that structured clone surely takes: a primitive other than a symbol, or a plain object
 * or array (not a proxy) made of such, checked without cloning. False when unsure: a class instance, a Map, a Date, a
 * structure deeper than a few levels (perhaps cyclic)... may still be cloneable, and is then checked by cloning.
 */
const isPlainData = (value: unknown, depth: number): boolean => {
  if (typeof value !== "object") return typeof value !== "function" && typeof value !== "symbol"
  if (value === null) return true
  if (depth > 16 || types.isProxy(value)) return false
  const proto = Object.getPrototypeOf(value)
  if (proto === Array.prototype) {
    const array = value as ReadonlyArray<unknown>
    for (let i = 0; i < array.length; i++) {
      const item = array[i]
      if (
        typeof item === "object"
          ? !isPlainData(item, depth + 1)
          : typeof item === "function" || typeof item === "symbol"
      ) {
        return false
      }
    }
    return true
  }
  if (proto !== Object.prototype && proto !== null) return false
  for (const key in value) if (!isPlainData((value as Record<string, unknown>)[key], depth + 1)) return false
  return true
}

/**
 * Why an encoded value could not cross to a worker (or back): structured clone's error, or `undefined` if it can.
 * `layerFibers` checks every payload and outcome with it, so that it refuses exactly what workers refuse (a function,
 * a symbol, a promise...) with the same `EncodeError`. Plain data (the common case) is checked by walking it, without
 * a copy; anything else by cloning it. Values are not replaced by copies: tasks on fibers share them with the caller.
 * (One gap: a function stored as an extra, non-index property of a plain array is not seen. Only a payload whose
 * Schema passes the caller's array through as it is, such as `Schema.Any`, can carry one.)
 * Cost per task on `layerFibers`: bench/fibersCrossing.ts, reported in bench/RESULTS.md.
 */
export const cloneRefusal = (value: unknown): unknown => {
  if (isPlainData(value, 0)) return undefined
  try {
    structuredClone(value)
    return undefined
  } catch (cause) {
    return cause
  }
}

/** An outcome as it would reach the caller from a worker: itself, or `EncodeError` if it could not cross. */
export const crossExit = (task: string, wire: WireExit): WireExit => {
  if (wire._tag !== "Success" && wire._tag !== "Failure") return wire
  const refusal = cloneRefusal(wire._tag === "Success" ? wire.value : wire.error)
  return refusal === undefined ? wire : resultNotCloneable(task, refusal)
}

/** As `crossExit`, for a chunk's outcome. */
export const crossChunk = (task: string, chunk: ChunkResult): ChunkResult => {
  const refusal = cloneRefusal(chunk.values)
  if (refusal !== undefined) return { values: [], failure: resultNotCloneable(task, refusal) }
  return chunk.failure === undefined ? chunk : { values: chunk.values, failure: crossExit(task, chunk.failure) }
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
