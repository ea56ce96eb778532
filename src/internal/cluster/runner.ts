/**
 * The runner side of the cluster: the entity handlers that check each received request and run its task on this
 * machine's executor.
 *
 * Before anything runs, a request must pass, in order:
 * 1. **authentication** (with a `secret`): its tag verifies over its exact body, the body names the entity it was
 *    delivered to (a body moved to another entity is refused), it was issued within the replay window, and its id
 *    was not accepted before (`auth.ts`). A refusal is logged with what is known of the sender and answered with
 *    `Unauthenticated`.
 * 2. **the allowlist**: its module URL resolves to a `file:` URL under one of the runner's `modules`
 *    (`allowlist.ts`); otherwise the answer is `TaskNotAllowed`, and nothing is imported.
 *
 * A runner's main thread only routes: the cluster's health checks, shard locks and sockets live on its event loop,
 * and a task that held the loop would get a busy runner declared dead. So every task runs on a local executor
 * (`layerWorkerThreads`) through `remoteTask`, which imports the task's module inside a worker. Crashes fail only
 * their task (`WorkerCrashed`), and interrupting the handler interrupts the task on its worker. Every reply is
 * signed with the runner's secret, bound to the request's id.
 *
 * @internal
 */
import * as Entity from "effect/cluster/Entity"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as ExecutorErrors from "../../ExecutorError.ts"
import type { Executor } from "../../Executor.ts"
import * as AwaitOwned from "../executor/awaitOwned.ts"
import type { Allowlist } from "./allowlist.ts"
import * as Auth from "./auth.ts"
import { type Outcome, outcomeToText } from "./json.ts"
import {
  parseRequestBody,
  PersistedEntity,
  type Reply,
  type RequestBody,
  type Run,
  type TaskEntity,
  VolatileEntity
} from "./protocol.ts"
import { causeToOutcome, executorError, remoteTask } from "./remoteTask.ts"

export interface RunnerHandlerOptions {
  /** How many requests one entity handles at once. */
  readonly entityConcurrency: number | "unbounded"
  readonly allowlist: Allowlist
  /** The shared secret's key; undefined: requests are not authenticated (loopback, or `insecure`). */
  readonly key: Auth.Key
  /** Milliseconds a request stays acceptable after it was issued. */
  readonly replayWindow: number
  /** How this runner names its storage in logs (redacted). */
  readonly storage: string
}

/** Tolerance for a client's clock running ahead of the runner's. */
const clockSkew = 60_000

type Request = Entity.Request<typeof Run>

/** What the runner makes of a request before running anything. */
export type Verdict =
  /** Not authenticated (or not a request at all): answered `Unauthenticated`. `task` is the task it claims. */
  | { readonly _tag: "Refused"; readonly task: string; readonly reason: string }
  /** Authenticated, but its module is not in the runner's `modules`: answered `TaskNotAllowed`. */
  | { readonly _tag: "NotAllowed"; readonly body: RequestBody; readonly reason: string }
  | { readonly _tag: "Admitted"; readonly body: RequestBody }

/**
 * Checks a request, in order: its tag (with a secret), its body, the request and entity its body names, replay (with
 * a secret; an admitted id is remembered), then the allowlist. Nothing is imported or run here.
 */
export const checkRequest = (
  options: Pick<RunnerHandlerOptions, "key" | "allowlist">,
  replays: Auth.ReplayStore,
  request: Pick<Request, "payload" | "address">,
  now: number
): Verdict => {
  const { id, body: text, tag } = request.payload
  // Parsed before it is verified only to name the task it claims in the refusal.
  const body = parseRequestBody(text)
  const task = typeof body === "string" ? "(unknown)" : body.task
  if (options.key !== undefined && !Auth.verifyRequest(options.key, text, tag)) {
    return { _tag: "Refused", task, reason: "its tag does not verify with the runner's secret" }
  }
  if (typeof body === "string") return { _tag: "Refused", task, reason: body }
  const { address } = request
  if (body.id !== id || body.entityType !== address.entityType || body.entityId !== address.entityId) {
    return { _tag: "Refused", task, reason: "its body was addressed to another request or entity" }
  }
  if (options.key !== undefined) {
    const replayed = replays.admit(id, body.issuedAt, now)
    if (replayed !== undefined) return { _tag: "Refused", task, reason: replayed }
  }
  const allowed = options.allowlist.check(body.module)
  return allowed === undefined ? { _tag: "Admitted", body } : { _tag: "NotAllowed", body, reason: allowed }
}

/** What one handler holds: the local executor, its options, and the ids it has admitted. */
interface Handler {
  readonly executor: Executor["Service"]
  readonly options: RunnerHandlerOptions
  readonly replays: Auth.ReplayStore
}

/** A reply signed for request `id`, bound to it. */
const reply = (self: Handler, id: string, outcome: Outcome | string): Reply => {
  const body = typeof outcome === "string" ? outcome : outcomeToText(outcome)
  return { body, tag: Auth.signReply(self.options.key, id, body) }
}

/** Logs a refused request and answers `Unauthenticated` (signed: a client with the right secret can read it). */
const refuse = (self: Handler, request: Request, task: string, reason: string) => {
  const { address, requestId, payload } = request
  const via =
    address.entityType === PersistedEntity.type
      ? `storage ${self.options.storage}`
      : "a client over this runner's socket"
  return Effect.as(
    Effect.logWarning(`effect-futures runner refused a request: ${reason}`).pipe(
      Effect.annotateLogs({
        peer: via,
        claimedClient: payload.id.slice(0, payload.id.lastIndexOf("-")),
        entity: `${address.entityType}/${address.entityId}`,
        envelope: String(requestId),
        task
      })
    ),
    reply(
      self,
      payload.id,
      executorError(
        new ExecutorErrors.Unauthenticated({ task, peer: via, message: `The runner refused the request: ${reason}` })
      )
    )
  )
}

/** Logs a task outside the runner's `modules` and answers `TaskNotAllowed`. */
const notAllowed = (self: Handler, id: string, body: RequestBody, reason: string) =>
  Effect.as(
    Effect.logWarning(`effect-futures runner refused task "${body.task}" of ${body.module}: ${reason}`),
    reply(
      self,
      id,
      executorError(new ExecutorErrors.TaskNotAllowed({ module: body.module, task: body.task, message: reason }))
    )
  )

/** Runs an admitted request's task on the local executor and answers its outcome. */
const run = (self: Handler, id: string, body: RequestBody) =>
  Effect.gen(function* () {
    const { module, task, payload, chunk } = body
    // If the handler is interrupted (the client cancelled, or the shard moved), so is the task, and the request
    // may be delivered again.
    const submitted = yield* AwaitOwned.awaitOwnedExit(
      self.executor.submit(remoteTask, { module, task, payload, chunk })
    ).pipe(
      Effect.onInterrupt(() => Effect.sync(() => self.replays.forget(id))),
      Effect.result
    )
    if (Result.isFailure(submitted)) return reply(self, id, executorError(submitted.failure))
    const exit = submitted.success
    return Exit.isSuccess(exit)
      ? reply(self, id, exit.value)
      : reply(self, id, causeToOutcome(task, undefined, exit.cause))
  })

/** The handler of `Run`: check, hand to the local executor, await, sign the answer. */
const makeHandler = (executor: Executor["Service"], options: RunnerHandlerOptions) => {
  const self: Handler = { executor, options, replays: Auth.makeReplayStore(options.replayWindow, clockSkew) }
  return (request: Request): Effect.Effect<Reply> =>
    Effect.suspend(() => {
      const verdict = checkRequest(options, self.replays, request, Date.now())
      switch (verdict._tag) {
        case "Refused":
          return refuse(self, request, verdict.task, verdict.reason)
        case "NotAllowed":
          return notAllowed(self, request.payload.id, verdict.body, verdict.reason)
        case "Admitted":
          return run(self, request.payload.id, verdict.body)
      }
    })
}

/**
 * Registers both task entities (persisted and volatile) with the runner's sharding, handled on `executor`.
 */
export const layerEntities = (executor: Executor["Service"], options: RunnerHandlerOptions) => {
  const handler = makeHandler(executor, options)
  const register = (entity: TaskEntity) => entity.toLayer({ Run: handler }, { concurrency: options.entityConcurrency })
  return Layer.mergeAll(register(PersistedEntity), register(VolatileEntity))
}
