/**
 * Encoding and decoding a task's payload and outcome through its Schemas, shared by every executor and by the
 * worker entry. Running a task on an encoded payload is in `run.ts`; what may cross to a worker (structured clone,
 * transferables) in `transfer.ts`.
 *
 * The parsers are derived once per task and cached, so the hot path never re-derives a Schema.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as ExecutorError from "../../ExecutorError.ts"
import type * as Task from "../../Task.ts"
import type { ChunkResult, ColumnBatch, WireExecutorError, WireExit } from "./protocol.ts"

export type { ChunkResult }

type Parser = (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>

export interface Codecs {
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
  /**
   * True when the encoded form of the payload (or the success) is a number: a batch of them crosses as one
   * `Float64Array` (lossless for every JS number, `-0` and `NaN` included), which structured clone copies as bytes.
   * Measured here per item of a 1,000-item chunk: ~13 ns to send and ~13 ns to receive a plain array of numbers,
   * against ~1 ns to receive a transferred `Float64Array` (the caller's side of `map` is its bottleneck).
   */
  readonly payloadIsNumber: boolean
  /**
   * For a `Schema.Struct` of bare primitives (no checks, transformations, optional keys or index signatures), its
   * encode is "copy the declared keys, each passing a `typeof` test": ~25 ns per item here against ~150 ns for the
   * parser call and its `Exit`. Returns the copy, or `undefined` when unsure (then the parser decides).
   */
  readonly payloadCopy: Copy | undefined
  readonly successCopy: Copy | undefined
  /** The same Structs' keys, for batches that cross as columns (`ColumnBatch`); undefined for any other Schema. */
  readonly payloadColumns: Layout | undefined
  readonly successColumns: Layout | undefined
  readonly successIsNumber: boolean
  readonly successGuard: Guard | undefined
  readonly encodePayload: Parser
  readonly decodePayload: Parser
  readonly encodeSuccess: Parser
  readonly decodeSuccess: Parser
  readonly encodeError: Parser
  readonly decodeError: Parser
  /** Whether a value thrown by a `Task.sync` body is the task's typed error (`Schema.is` of its error Schema). */
  readonly isError: Guard
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

type Copy = (input: unknown) => Record<string, unknown> | undefined

/** A Struct of bare primitives: its keys in order, and which of them hold numbers. */
interface Layout {
  readonly keys: ReadonlyArray<string>
  readonly numeric: ReadonlyArray<boolean>
}

const layoutOf = (ast: SchemaAST.AST): Layout | undefined =>
  structCopyOf(ast) === undefined || !SchemaAST.isObjects(ast)
    ? undefined
    : {
        keys: ast.propertySignatures.map((property) => property.name as string),
        numeric: ast.propertySignatures.map((property) => property.type._tag === "Number")
      }

const structCopyOf = (ast: SchemaAST.AST): Copy | undefined => {
  if (!SchemaAST.isObjects(ast) || ast.checks !== undefined || ast.encoding !== undefined) return undefined
  if (ast.context !== undefined || ast.encodingChecks !== undefined || ast.indexSignatures.length > 0) return undefined
  const keys: Array<string> = []
  const guards: Array<Guard> = []
  for (const property of ast.propertySignatures) {
    const guard = guardOf(property.type)
    if (typeof property.name !== "string" || property.name === "__proto__" || guard === undefined) return undefined
    keys.push(property.name)
    guards.push(guard)
  }
  return (input) => {
    // Only plain objects: anything else (a class instance, inherited keys...) is left to the parser.
    if (typeof input !== "object" || input === null || Object.getPrototypeOf(input) !== Object.prototype) {
      return undefined
    }
    const copy: Record<string, unknown> = {}
    try {
      for (let i = 0; i < keys.length; i++) {
        const value = (input as Record<string, unknown>)[keys[i]]
        if (!guards[i](value)) return undefined
        copy[keys[i]] = value
      }
    } catch {
      // A getter (or a Proxy) that throws: the parser reads it again, under `safely`, and reports it as its error.
      return undefined
    }
    return copy
  }
}

const cache = new WeakMap<Task.Any, Codecs>()

export const codecsOf = (task: Task.Any): Codecs => {
  let codecs = cache.get(task)
  if (codecs === undefined) {
    codecs = {
      payloadIsEncoded: SchemaAST.toEncoded(task.payload.ast) === task.payload.ast,
      successIsEncoded: SchemaAST.toEncoded(task.success.ast) === task.success.ast,
      payloadGuard: guardOf(task.payload.ast),
      payloadIsNumber: SchemaAST.toEncoded(task.payload.ast)._tag === "Number",
      successIsNumber: SchemaAST.toEncoded(task.success.ast)._tag === "Number",
      payloadCopy: structCopyOf(task.payload.ast),
      successCopy: structCopyOf(task.success.ast),
      payloadColumns: layoutOf(task.payload.ast),
      successColumns: layoutOf(task.success.ast),
      successGuard: guardOf(task.success.ast),
      encodePayload: Schema.encodeUnknownExit(task.payload),
      decodePayload: Schema.decodeUnknownExit(task.payload),
      encodeSuccess: Schema.encodeUnknownExit(task.success),
      decodeSuccess: Schema.decodeUnknownExit(task.success),
      encodeError: Schema.encodeUnknownExit(task.error),
      decodeError: Schema.decodeUnknownExit(task.error),
      isError: Schema.is(task.error)
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
): Result.Result<ArrayLike<unknown>, ExecutorError.EncodeError> => {
  const codecs = codecsOf(task)
  const guard = codecs.payloadGuard
  if (guard !== undefined && everyIndex(inputs, guard)) {
    return Result.succeed(codecs.payloadIsNumber ? new Float64Array(inputs as ReadonlyArray<number>) : inputs.slice())
  }
  const encode = codecs.encodePayload
  const copy = codecs.payloadCopy
  // Filled with push, not preallocated: a holey array makes structured clone take its sparse path, measured here at
  // ~90 µs per postMessage of 1,000 numbers against ~23 µs for a packed one (on the caller's thread, per chunk).
  const encoded: Array<unknown> = []
  for (let i = 0; i < inputs.length; i++) {
    const copied = copy?.(inputs[i])
    if (copied !== undefined) {
      encoded.push(copied)
      continue
    }
    const exit = safely(encode, inputs[i])
    if (Exit.isFailure(exit)) {
      return Result.fail(
        new ExecutorError.EncodeError({ task: task.name, which: "payload", message: describe(exit.cause) })
      )
    }
    encoded.push(exit.value)
  }
  return Result.succeed(codecs.payloadIsNumber ? new Float64Array(encoded as Array<number>) : encoded)
}

/** Encodes the caller's payload before it leaves; a payload that fails its Schema never reaches a worker. */
export const encodePayload = (task: Task.Any, input: unknown): Result.Result<unknown, ExecutorError.EncodeError> => {
  const exit = safely(codecsOf(task).encodePayload, input)
  return Exit.isSuccess(exit)
    ? Result.succeed(exit.value)
    : Result.fail(new ExecutorError.EncodeError({ task: task.name, which: "payload", message: describe(exit.cause) }))
}

export const safely = (parser: Parser, input: unknown): Exit.Exit<unknown, Schema.SchemaError> => {
  try {
    return parser(input)
  } catch (defect) {
    // A Schema transformation that throws is a defect of the Schema, reported like a failed check.
    return Exit.die(defect)
  }
}

const wireError = (error: WireExecutorError): WireExit => ({ _tag: "ExecutorError", error })

export const schemaFailure = (
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
 * The executor errors a worker itself reports for a task (a defect, a payload or outcome that fails its Schema, a
 * task that cannot be loaded). Their wire form (`WireExecutorError`) is this Schema's encoded form, and the caller
 * decodes it back into instances of their classes, as `effect/workers/WorkerError` does.
 */
export const WorkerReportedError = Schema.Union([
  ExecutorError.TaskDefect,
  ExecutorError.EncodeError,
  ExecutorError.DecodeError,
  ExecutorError.TaskLoadError
])

const executorErrorFromWire: (error: WireExecutorError) => ExecutorError.ExecutorError =
  Schema.decodeUnknownSync(WorkerReportedError)

const isWorkerReported = Schema.is(WorkerReportedError)
const workerReportedToWire: (error: typeof WorkerReportedError.Type) => WireExecutorError =
  Schema.encodeSync(WorkerReportedError)

/**
 * An executor error in its wire form, by its Schema (the inverse of what `decodeExit` does with it); `undefined` for
 * the errors a worker never reports per task (a crash, a shutdown, a cluster's own errors), which a backend reports
 * through its host instead. The cluster client turns a runner's answer into the core's wire form with it.
 */
export const executorErrorToWire = (error: ExecutorError.ExecutorError): WireExecutorError | undefined =>
  isWorkerReported(error) ? workerReportedToWire(error) : undefined

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
  const values: ReadonlyArray<unknown> = unpackValues(chunk.values)
  if (!codecs.successIsEncoded) {
    const decodedValues: Array<unknown> = []
    for (const value of values) {
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
    return withFailure(task, decodedValues, chunk.failure)
  }
  return withFailure(task, values, chunk.failure)
}

const withFailure = (task: Task.Any, values: ReadonlyArray<unknown>, failure: WireExit | undefined): Batch => {
  if (failure === undefined) return { values, failure: undefined }
  const exit = decodeExit(task, failure)
  return { values, failure: Exit.isFailure(exit) ? exit.cause : undefined }
}

/**
 * A batch's numbers as the plain array `Batch.values` is. Preallocated, then filled: ~1.5 ns per item here against
 * ~4 for `push` and ~23 for `Array.from`. (Holey, but full; it is not sent on: numbers cross as `Float64Array`.)
 */
const unpack = (numbers: Float64Array): Array<number> => {
  const values = new Array<number>(numbers.length)
  for (let i = 0; i < numbers.length; i++) values[i] = numbers[i]
  return values
}

/**
 * A batch's encoded values for the trip back: one `Float64Array` when the success's encoded form is a number
 * (see `Codecs.successIsNumber`; the worker transfers its buffer), else the array itself.
 */
export const packValues = (codecs: Codecs, values: Array<unknown>): ChunkResult["values"] =>
  codecs.successIsNumber
    ? new Float64Array(values as Array<number>)
    : codecs.successColumns !== undefined
      ? toColumns(codecs.successColumns, values as ReadonlyArray<Record<string, unknown>>)
      : values

/** A chunk's values as the caller's `Batch` holds them: a plain array, whichever form they crossed in. */
export const unpackValues = (values: ChunkResult["values"]): ReadonlyArray<unknown> =>
  ArrayBuffer.isView(values) ? unpack(values) : isColumnBatch(values) ? fromColumns(values) : values

const isColumnBatch = (values: unknown): values is ColumnBatch =>
  (values as { readonly _tag?: unknown })._tag === "Columns"

/**
 * A batch of encoded records (each with the layout's keys, as `structCopyOf` or the parser made them) as columns;
 * the worker pool sends payloads so (`packPayloads`), and workers answer so.
 */
const toColumns = (layout: Layout, records: ReadonlyArray<Record<string, unknown>>): ColumnBatch => {
  const length = records.length
  const columns = layout.keys.map((key, k) => {
    const column = layout.numeric[k] ? new Float64Array(length) : new Array<unknown>(length)
    for (let i = 0; i < length; i++) column[i] = records[i][key] as never
    return column
  })
  return { _tag: "Columns", length, keys: layout.keys, columns }
}

const fromColumns = (batch: ColumnBatch): Array<Record<string, unknown>> => {
  const keys = batch.keys
  const records = new Array<Record<string, unknown>>(batch.length)
  for (let i = 0; i < batch.length; i++) {
    const record: Record<string, unknown> = {}
    for (let k = 0; k < keys.length; k++) record[keys[k]] = batch.columns[k][i]
    records[i] = record
  }
  return records
}

/** A chunk's encoded payloads as they are sent to a worker: records of primitives as columns, else as they are. */
export const packPayloads = (task: Task.Any, payloads: ArrayLike<unknown>): ArrayLike<unknown> | ColumnBatch => {
  const layout = codecsOf(task).payloadColumns
  return layout === undefined || ArrayBuffer.isView(payloads)
    ? payloads
    : toColumns(layout, payloads as ReadonlyArray<Record<string, unknown>>)
}

/** A chunk's payloads as a worker runs them: records again if they crossed as columns. */
export const unpackPayloads = (payloads: ArrayLike<unknown> | ColumnBatch): ArrayLike<unknown> =>
  isColumnBatch(payloads) ? fromColumns(payloads) : payloads
