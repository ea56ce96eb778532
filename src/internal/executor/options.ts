/**
 * Validation of executor options: every bad value fails the layer with an `InvalidOptions` that names the option,
 * what was expected and what was received.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { InvalidOptions } from "../../ExecutorError.ts"
import * as Task from "../../Task.ts"

const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value)
  }
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

export const invalid = (option: string, expected: string, received: unknown) =>
  new InvalidOptions({ option, expected, received: show(received) })

/**
 * Whether `value` is a whole number in `[min, max]` that counts exactly: NaN, fractions, infinities and integers
 * beyond 2^53 (where `n + 1 === n`) are not counts.
 */
const isCount = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max

/** A check for one option: returns the value to use, or throws `InvalidOptions` (caught by `parse`). */
export const positiveInt = (option: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback
  if (!isCount(value, 1, Number.MAX_SAFE_INTEGER)) throw invalid(option, "a positive integer", value)
  return value
}

export const nonNegativeInt = (option: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback
  if (!isCount(value, 0, Number.MAX_SAFE_INTEGER)) throw invalid(option, "a non-negative integer", value)
  return value
}

/** A count from 0 to `max`, which `maxName` names in the message (`spareWorkers` is bounded by `maxWorkers`). */
export const intUpTo = (option: string, value: unknown, fallback: number, max: number, maxName: string): number => {
  if (value === undefined) return fallback
  if (!isCount(value, 0, max)) throw invalid(option, `an integer from 0 to \`${maxName}\` (${max})`, value)
  return value
}

/** A count from `min` up that may also be `Infinity` (no limit). */
export const limit = (option: string, value: unknown, fallback: number, min = 0): number => {
  if (value === undefined) return fallback
  if (value === Infinity) return value
  if (!isCount(value, min, Number.MAX_SAFE_INTEGER)) {
    throw invalid(option, `${min === 0 ? "a non-negative" : "a positive"} integer or Infinity (no limit)`, value)
  }
  return value
}

/**
 * The longest delay a Node timer (`setTimeout`) honours: a longer one fires after 1 ms. Durations are bounded by it,
 * so none is silently shortened (Effect's own sleeps could wait longer; one bound for every duration is simpler to
 * state); `Infinity` says "no limit" where an option allows it.
 */
export const MAX_DURATION_MILLIS = 2 ** 31 - 1

/** A duration in milliseconds, from 0 to `MAX_DURATION_MILLIS`; `Infinity` allowed where `allowInfinite`. */
export const duration = (
  option: string,
  value: unknown,
  fallback: number | undefined,
  allowInfinite = false
): number | undefined => {
  if (value === undefined) return fallback
  const range = `a duration from 0 to ${MAX_DURATION_MILLIS} milliseconds${allowInfinite ? ", or Infinity (no limit)" : ""} (about 24.8 days: the longest a timer waits)`
  // A NaN (alone or in a [seconds, nanos] pair) would read as 0 below: refused, not taken for "at once".
  if (Number.isNaN(value) || (Array.isArray(value) && value.some((part) => Number.isNaN(part)))) {
    throw invalid(option, range, value)
  }
  let millis: number
  try {
    millis = Duration.toMillis(Duration.fromInputUnsafe(value as Duration.Input))
  } catch {
    throw invalid(option, 'a duration (a number of milliseconds or a string such as "5 seconds")', value)
  }
  const inRange = millis >= 0 && millis <= MAX_DURATION_MILLIS
  if (!inRange && !(allowInfinite && millis === Infinity)) throw invalid(option, range, value)
  return millis
}

export const oneOf = <const L extends ReadonlyArray<string>>(
  option: string,
  value: unknown,
  literals: L,
  fallback: L[number]
): L[number] => {
  if (value === undefined) return fallback
  if (typeof value !== "string" || !literals.includes(value)) {
    throw invalid(option, `one of ${literals.map((l) => JSON.stringify(l)).join(", ")}`, value)
  }
  return value
}

export const name = (value: unknown, fallback: string): string => {
  if (value === undefined) return fallback
  if (typeof value !== "string" || value.length === 0) throw invalid("name", "a non-empty string", value)
  return value
}

export interface Initializer {
  readonly task: Task.Any
  readonly input: unknown
}

export const initializer = (value: unknown): Initializer | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "object" || value === null || !Task.isTask((value as { task?: unknown }).task)) {
    throw invalid("initializer", "{ task, input } with a task made by Task.make", value)
  }
  return value as Initializer
}

const resourceLimitKeys = ["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"]

export const resourceLimits = (value: unknown): Record<string, number> | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "object" || value === null) {
    throw invalid("resourceLimits", `an object with any of ${resourceLimitKeys.join(", ")}`, value)
  }
  const limits: Record<string, number> = {}
  for (const [key, limit] of Object.entries(value)) {
    if (!resourceLimitKeys.includes(key)) {
      throw invalid("resourceLimits", `an object with any of ${resourceLimitKeys.join(", ")}`, key)
    }
    if (limit === undefined) continue
    if (typeof limit !== "number" || !(limit > 0) || !Number.isFinite(limit)) {
      throw invalid(`resourceLimits.${key}`, "a positive number of megabytes", limit)
    }
    limits[key] = limit
  }
  return limits
}

export const object = <A>(options: A): A => {
  if (typeof options !== "object" || options === null) throw invalid("options", "an object", options)
  return options
}

/**
 * Rejects a key the layer does not know — a misspelling (`maxWorker`), or an option of another layer
 * (`concurrency` given to a worker pool) — which would otherwise be ignored in silence. A key whose value is
 * `undefined` is let through: it asks for nothing, and objects built by spreading often carry such keys.
 */
export const knownKeys = (options: object, valid: ReadonlyArray<string>, layer: string): void => {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || valid.includes(key)) continue
    const near = closest(key, valid)
    throw invalid(
      key,
      `an option of ${layer}${near === undefined ? "" : ` (did you mean \`${near}\`?)`}: one of ${valid.join(", ")}`,
      value
    )
  }
}

/** The valid key nearest to a misspelled one (at most 2 edits, or a case difference), if any. */
const closest = (key: string, valid: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of valid) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/** `execArgv` of a child process: an array of strings. */
export const stringArray = (option: string, value: unknown): ReadonlyArray<string> | undefined => {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw invalid(option, "an array of strings", value)
  }
  return value
}

/** A child's environment: an object whose values are strings (or `undefined`, which leaves the variable out). */
export const environment = (option: string, value: unknown): Readonly<Record<string, string>> | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(option, "an object of environment variables", value)
  }
  const env: Record<string, string> = {}
  for (const [name, variable] of Object.entries(value)) {
    if (variable === undefined) continue
    if (typeof variable !== "string") throw invalid(`${option}.${name}`, "a string", variable)
    env[name] = variable
  }
  return env
}

/** A directory that exists now: checked when the layer is built, not when the first child fails to start. */
export const directory = (option: string, value: unknown): string | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "string" || value.length === 0) throw invalid(option, "a directory path", value)
  let isDirectory: boolean
  try {
    isDirectory = fs.statSync(value).isDirectory()
  } catch {
    throw new InvalidOptions({
      option,
      expected: "an existing directory",
      received: `${show(value)}, which does not exist`
    })
  }
  if (!isDirectory) {
    throw new InvalidOptions({
      option,
      expected: "an existing directory",
      received: `${show(value)}, which is not a directory`
    })
  }
  return value
}

export const defaultMaxWorkers = (): number => os.availableParallelism()

/** Runs the checks, turning the first `InvalidOptions` thrown into a typed failure. */
export const parse = <A>(check: () => A): Effect.Effect<A, InvalidOptions> =>
  Effect.try({
    try: check,
    catch: (error) =>
      error instanceof InvalidOptions ? error : invalid("options", "a valid options object", String(error))
  })
