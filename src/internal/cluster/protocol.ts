/**
 * The cluster's wire: one Effect Cluster entity with one generic `Run` RPC, and the JSON form of tasks' values.
 *
 * A task travels as its module URL, its name and its payload in canonical JSON (the task's own Schema through
 * `Schema.toCodecJson`, so dates, bigints and binary data survive storage and sockets). The reply is an `Outcome`:
 * the success or typed failure in the same JSON form, or one of the executor's own errors (which are Schema classes
 * and cross as themselves). The request's primary key is the task's id, so a persisted request is stored once and
 * its reply survives the runner that produced it.
 *
 * Two entity types share the protocol, one persisted (the request is in storage until a runner has answered it, so a
 * runner's death re-runs it elsewhere) and one volatile (sent straight to a runner's socket); runners serve both,
 * and the client's `durability` picks one.
 *
 * @internal
 */
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import * as Exit from "effect/Exit"
import * as Rpc from "effect/rpc/Rpc"
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

export const Run = Rpc.make("Run", {
  payload: {
    /** Unique across clients and restarts: a persisted request with the same id is the same request. */
    id: Schema.String,
    module: Schema.String,
    task: Schema.String,
    /** The payload in JSON; for a chunk, the array of payloads. */
    payload: Schema.Unknown,
    chunk: Schema.Boolean
  },
  success: Outcome,
  primaryKey: ({ id }) => id
})

const makeEntity = (type: string) => Entity.make(type, [Run])
export type TaskEntity = ReturnType<typeof makeEntity>

export const PersistedEntity: TaskEntity = makeEntity("effect-futures/Task").annotateRpcs(ClusterSchema.Persisted, true)
export const VolatileEntity: TaskEntity = makeEntity("effect-futures/VolatileTask")

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

/** Runs a parser; a Schema transformation that throws is a failed parse, not a crash. */
export const safely = (parser: Parser, input: unknown): Exit.Exit<unknown, unknown> => {
  try {
    return parser(input)
  } catch (defect) {
    return Exit.die(defect)
  }
}
