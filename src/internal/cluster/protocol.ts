/**
 * The cluster's wire: one Effect Cluster entity with one generic `Run` RPC.
 *
 * A request is `{ id, body, tag }`: `body` is one JSON text holding the task's module URL and name, its payload in
 * canonical JSON (see `json.ts`), the request's id, the entity address it was sent to and when it was issued; `tag`
 * authenticates that exact text with the cluster's secret (see `auth.ts`), or is empty when authentication is off.
 * The reply is `{ body, tag }`: `body` is the JSON text of an `Outcome` (the success or typed failure in the same JSON
 * form, or one of the executor's own errors, which are Schema classes and cross as themselves), its tag bound to the
 * request's id. The request's primary key is its id, so a persisted request is stored once and its reply survives
 * the runner that produced it.
 *
 * Two entity types share the protocol, one persisted (the request is in storage until a runner has answered it, so a
 * runner's death re-runs it elsewhere) and one volatile (sent straight to a runner's socket); runners serve both,
 * and the client's `durability` picks one.
 *
 * @internal
 */
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"

export const Reply = Schema.Struct({ body: Schema.String, tag: Schema.String })
export type Reply = typeof Reply.Type

export const Run = Rpc.make("Run", {
  payload: {
    /** Unique across clients and restarts: a persisted request with the same id is the same request. */
    id: Schema.String,
    /** The JSON text of a {@link RequestBody}. */
    body: Schema.String,
    /** The body's authentication tag ("" without a secret). */
    tag: Schema.String
  },
  success: Reply,
  primaryKey: ({ id }) => id
})

/** What a request's body holds. */
export interface RequestBody {
  readonly id: string
  /** The entity type and id the client addressed: a body moved to another entity is refused. */
  readonly entityType: string
  readonly entityId: string
  /** When the client issued it (milliseconds since the epoch, the client's clock). */
  readonly issuedAt: number
  readonly module: string
  readonly task: string
  readonly chunk: boolean
  /** The payload in JSON; for a chunk, the array of payloads. */
  readonly payload: unknown
}

/** Parses a request's body, or says why it is not one. */
export const parseRequestBody = (text: string): RequestBody | string => {
  let body: Partial<Record<keyof RequestBody, unknown>>
  try {
    body = JSON.parse(text)
  } catch {
    return "its body is not JSON"
  }
  if (typeof body !== "object" || body === null) return "its body is not an object"
  const { id, entityType, entityId, issuedAt, module, task, chunk } = body
  if (
    typeof id !== "string" ||
    typeof entityType !== "string" ||
    typeof entityId !== "string" ||
    typeof issuedAt !== "number" ||
    typeof module !== "string" ||
    typeof task !== "string" ||
    typeof chunk !== "boolean" ||
    (chunk && !Array.isArray(body.payload))
  ) {
    return "its body lacks a field"
  }
  return body as RequestBody
}

const makeEntity = (type: string) => Entity.make(type, [Run])
export type TaskEntity = ReturnType<typeof makeEntity>

export const PersistedEntity: TaskEntity = makeEntity("effect-futures/Task").annotateRpcs(ClusterSchema.Persisted, true)
export const VolatileEntity: TaskEntity = makeEntity("effect-futures/VolatileTask")
