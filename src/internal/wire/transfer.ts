/**
 * What may cross to a worker and back: structured clone's refusals (checked by `layerFibers` so that it refuses what
 * workers refuse), and the buffers that can be moved rather than copied.
 *
 * @internal
 */
import { types } from "node:util"
import type { ChunkResult, WireExit } from "./protocol.ts"

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
  // A typed array (a batch of numbers crosses as one) is bytes: structured clone always takes it.
  if (ArrayBuffer.isView(value)) return true
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
