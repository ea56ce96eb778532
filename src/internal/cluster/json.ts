/**
 * The JSON forms the cluster moves: a task's values through its own Schemas (`Schema.toCodecJson`, so dates,
 * bigints and binary data survive storage and sockets), and a runner's answer, the `Outcome`, as one JSON text.
 *
 * This module is light (no Effect Cluster, no SQL): runner workers load it to run tasks, and the client to read
 * answers.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { ExecutorErrorSchema } from "../../ExecutorError.ts"
import type * as Task from "../../Task.ts"

/** A task's outcome in JSON: the value or typed error encoded with the task's Schemas. */
export const ItemOutcome = Schema.Union([
  Schema.TaggedStruct("Success", { value: Schema.Unknown }),
  Schema.TaggedStruct("Failure", { error: Schema.Unknown }),
  Schema.TaggedStruct("ExecutorError", { error: ExecutorErrorSchema }),
  Schema.TaggedStruct("Interrupted", {})
])
export type ItemOutcome = typeof ItemOutcome.Type

/** What a runner answers: one item's outcome, or a chunk's values followed by the first item that did not succeed. */
export const Outcome = Schema.Union([
  ...ItemOutcome.members,
  Schema.TaggedStruct("Chunk", { values: Schema.Array(Schema.Unknown), failure: Schema.optional(ItemOutcome) })
])
export type Outcome = typeof Outcome.Type

const outcomeJson = Schema.toCodecJson(Outcome)
const encodeOutcomeJson = Schema.encodeSync(outcomeJson)
const decodeOutcomeJson = Schema.decodeUnknownExit(outcomeJson)

/** An outcome as the JSON text a reply carries (and signs). */
export const outcomeToText = (outcome: Outcome): string => JSON.stringify(encodeOutcomeJson(outcome))

/** A reply's text back to an outcome, or the reason it is not one. */
export const outcomeFromText = (text: string): Outcome | { readonly invalid: string } => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    return { invalid: `not JSON (${cause instanceof Error ? cause.message : String(cause)})` }
  }
  const exit = decodeOutcomeJson(json)
  return Exit.isSuccess(exit) ? exit.value : { invalid: "not an outcome" }
}

type Parser = (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>

/**
 * The JSON codecs of one task, derived once and cached. `to*` turn a value of the task's type into JSON and back
 * (the runner's side); `encoded*` do the same for the task's encoded form, which is what the executor core holds (the
 * caller's side), so a value is never decoded into its type only to be encoded again.
 */
export interface JsonCodecs {
  readonly encodePayload: Parser
  readonly decodePayload: Parser
  readonly encodeSuccess: Parser
  readonly encodeError: Parser
  readonly payloadFromEncoded: Parser
  readonly successToEncoded: Parser
  readonly errorToEncoded: Parser
}

const cache = new WeakMap<Task.Any, JsonCodecs>()

export const jsonCodecs = (task: Task.Any): JsonCodecs => {
  let codecs = cache.get(task)
  if (codecs === undefined) {
    // Task schemas need no services (`Task.AnySchema`), so neither do their JSON codecs.
    const json = (schema: Task.AnySchema) => Schema.toCodecJson(schema) as unknown as Task.AnySchema
    const payload = json(task.payload)
    const success = json(task.success)
    const error = json(task.error)
    const encodedPayload = json(Schema.toEncoded(task.payload))
    const encodedSuccess = json(Schema.toEncoded(task.success))
    const encodedError = json(Schema.toEncoded(task.error))
    codecs = {
      encodePayload: Schema.encodeUnknownExit(payload),
      decodePayload: Schema.decodeUnknownExit(payload),
      encodeSuccess: Schema.encodeUnknownExit(success),
      encodeError: Schema.encodeUnknownExit(error),
      payloadFromEncoded: Schema.encodeUnknownExit(encodedPayload),
      successToEncoded: Schema.decodeUnknownExit(encodedSuccess),
      errorToEncoded: Schema.decodeUnknownExit(encodedError)
    }
    cache.set(task, codecs)
  }
  return codecs
}

/** Runs a parser; a Schema transformation that throws is a failed parse, not a crash (the same as the workers'). */
export { safely } from "../wire/codec.ts"
