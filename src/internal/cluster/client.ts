/**
 * The client side of `Cluster.layer`: a `Backend` for the executor core that sends each job to the cluster.
 *
 * The core keeps the FIFO queue, the futures, shutdown and the statistics, exactly as for a local pool; this
 * backend only moves jobs. A job leaves the queue when one of `maxInFlight` slots is free, becomes one `Run` call to
 * an entity (ids are dealt round robin over `entityIds`, so consecutive tasks land on different entities and the
 * shards spread them over the runners), and its reply settles the job through the host. Interrupting the job's
 * future interrupts its call, which the cluster forwards to the handler on the runner.
 *
 * Effect Cluster waits for a runner for as long as it takes. So that nothing waits forever, a watcher pings the
 * runners registered in storage every `probeInterval`; a job that has waited `submitDeadline` without any runner
 * answering since it was submitted fails with `ClusterUnavailable`.
 *
 * Times here are wall-clock (`Date.now`), not Effect's `Clock`: a cluster lives in real time (its runners, sockets
 * and storage never follow a `TestClock`), like the worker pools' timers.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as EntityAddress from "effect/cluster/EntityAddress"
import * as Envelope from "effect/cluster/Envelope"
import type * as Runners from "effect/cluster/Runners"
import type * as RunnerStorage from "effect/cluster/RunnerStorage"
import type * as Sharding from "effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as SqlClient from "effect/sql/SqlClient"
import { randomUUID } from "node:crypto"
import {
  ClusterUnavailable,
  DecodeError,
  EncodeError,
  type ExecutorError,
  TaskDefect,
  taskDefectFrom,
  Unauthenticated
} from "../../ExecutorError.ts"
import type * as Task from "../../Task.ts"
import type { Backend, Host, Job } from "../executor/backend.ts"
import { executorErrorToWire } from "../wire/codec.ts"
import type { ChunkResult, WireExit } from "../wire/protocol.ts"
import * as Auth from "./auth.ts"
import type { HandshakeError } from "./handshake.ts"
import { type ItemOutcome, jsonCodecs, type Outcome, outcomeFromText, safely } from "./json.ts"
import * as Pruner from "./pruner.ts"
import { PersistedEntity, type Reply, VolatileEntity } from "./protocol.ts"

export interface ClientOptions {
  readonly durability: "persisted" | "volatile"
  readonly entityIds: number
  readonly maxInFlight: number
  /** Milliseconds. */
  readonly submitDeadline: number
  /** Milliseconds between two probes of the runners. */
  readonly probeInterval: number
  /** The shared secret's key: requests are signed and replies verified with it. Undefined: no authentication. */
  readonly key: Auth.Key
  /** The storage as logs and errors name it (no password). */
  readonly storage: string
  /** Replaces the storage's password, wherever it appears in a text, with `***`. */
  readonly scrub: (text: string) => string
}

export interface ClusterServices {
  readonly sharding: Sharding.Sharding["Service"]
  readonly runners: Runners.Runners["Service"]
  readonly runnerStorage: RunnerStorage.RunnerStorage["Service"]
  /** The storage's SQL client and table prefix, for pruning settled persisted tasks. */
  readonly sql: SqlClient.SqlClient
  readonly storagePrefix: string
  /** The last time a runner refused this client's connection (its secret), written by the socket layer. */
  readonly refusals: { readonly last: { readonly at: number; readonly error: HandshakeError } | undefined }
}

interface InFlight {
  readonly job: Job
  readonly sentAt: number
  fiber: Fiber.Fiber<unknown> | undefined
}

const describe = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/** Where the replies of a persisted task come from, as logs and errors name it. */
const peerOf = (persisted: boolean, storage: string, entityId: string) =>
  persisted ? `storage ${storage}` : `the runner of entity ${VolatileEntity.type}/${entityId}`

export const make = (options: ClientOptions, services: ClusterServices) => (host: Host) =>
  Effect.gen(function* () {
    const persisted = options.durability === "persisted"
    const entity = persisted ? PersistedEntity : VolatileEntity
    const client = yield* services.sharding.makeClient(entity)
    // Persisted tasks leave rows in storage; the pruner deletes them once their call has settled.
    const pruner = persisted
      ? yield* Pruner.make({ ...Pruner.defaults, prefix: services.storagePrefix }).pipe(
          Effect.provideService(SqlClient.SqlClient, services.sql)
        )
      : undefined
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const clientId = randomUUID()
    let sequence = 0
    const inFlight = new Map<Job, InFlight>()
    /** When a runner last answered a probe (0: never). */
    let lastAlive = 0

    /** Takes the job out of flight; true if it was still there (so this caller settles it). */
    const land = (job: Job): boolean => {
      const entry = inFlight.get(job)
      if (entry === undefined) return false
      inFlight.delete(job)
      host.pump()
      return true
    }

    const fail = (job: Job, error: ExecutorError) => {
      if (land(job)) host.fail(job, error)
    }

    const finish = (job: Job, outcome: Outcome) => {
      if (!land(job)) return
      const settled = settle(job.task, job.chunk, outcome)
      if (settled._tag === "Fail") host.fail(job, settled.error)
      else host.finish(job, settled.wire)
    }

    /** Reads a reply: nothing of it is used unless its tag verifies with this client's secret. */
    const receive = (job: Job, id: string, entityId: string, reply: Reply) => {
      if (options.key !== undefined && !Auth.verifyReply(options.key, id, reply.body, reply.tag)) {
        const peer = peerOf(persisted, options.storage, entityId)
        runFork(
          Effect.logWarning(`effect-futures client refused a reply that does not verify`).pipe(
            Effect.annotateLogs({ peer, request: id, task: job.task.name })
          )
        )
        return fail(
          job,
          new Unauthenticated({
            task: job.task.name,
            peer,
            message: "The reply's tag does not verify with this client's secret (a runner with another secret, or none)"
          })
        )
      }
      const outcome = outcomeFromText(reply.body)
      if ("invalid" in outcome) {
        if (land(job)) host.fail(job, protocolError(job.task, `a reply that is ${outcome.invalid}`).error)
        return
      }
      finish(job, outcome)
    }

    const send = (job: Job, entry: InFlight) =>
      Effect.gen(function* () {
        // Start after `start` has returned: the core counts the job as running only then.
        yield* Effect.yieldNow
        const payload = toJson(job)
        if (payload._tag === "Fail") return fail(job, payload.error)
        const id = `${clientId}-${++sequence}`
        const entityId = String(sequence % options.entityIds)
        const body = JSON.stringify({
          id,
          entityType: entity.type,
          entityId,
          issuedAt: Date.now(),
          module: job.task.module,
          task: job.task.name,
          chunk: job.chunk,
          payload: payload.json
        })
        const run = client(entityId).Run({ id, body, tag: Auth.signRequest(options.key, body) })
        const exit = yield* Effect.exit(pruner === undefined ? run : pruned(pruner, run, entityId, id))
        if (Exit.isSuccess(exit)) return receive(job, id, entityId, exit.value)
        if (Cause.hasInterruptsOnly(exit.cause)) return
        fail(
          job,
          new ClusterUnavailable({
            task: job.task.name,
            waited: Date.now() - entry.sentAt,
            message: options.scrub(`The cluster failed to run the task: ${describe(exit.cause)}`)
          })
        )
      })

    /** Whether any runner registered in storage answers a ping now. */
    const probe = Effect.gen(function* () {
      const registered = yield* services.runnerStorage.getRunners
      if (registered.length === 0) return false
      const answers = yield* Effect.forEach(
        registered,
        ([runner]) =>
          services.runners.ping(runner.address).pipe(Effect.timeout(options.probeInterval), Effect.isSuccess),
        { concurrency: "unbounded" }
      )
      return answers.some((answered) => answered)
    }).pipe(Effect.catchCause(() => Effect.succeed(false)))

    const expire = () => {
      const now = Date.now()
      for (const entry of Array.from(inFlight.values())) {
        const waited = now - Math.max(entry.sentAt, lastAlive)
        if (waited < options.submitDeadline) continue
        const fiber = entry.fiber
        fail(
          entry.job,
          new ClusterUnavailable({
            task: entry.job.task.name,
            waited: now - entry.sentAt,
            message: `No runner answered within the submit deadline (${options.submitDeadline} ms)`
          })
        )
        if (fiber !== undefined) fiber.interruptUnsafe()
      }
    }

    /**
     * No runner answers and a runner has just refused this client's connection: its secret is not the cluster's.
     * Waiting for the deadline would change nothing, so the tasks in flight fail now.
     */
    const refused = () => {
      const refusal = services.refusals.last
      if (refusal === undefined || Date.now() - refusal.at > 2 * options.probeInterval + 1_000) return
      for (const entry of Array.from(inFlight.values())) {
        const fiber = entry.fiber
        fail(
          entry.job,
          new Unauthenticated({
            task: entry.job.task.name,
            peer: refusal.error.peer,
            message: `The cluster refused this client's connection: ${refusal.error.reason}`
          })
        )
        if (fiber !== undefined) fiber.interruptUnsafe()
      }
    }

    const watcher = runFork(
      Effect.gen(function* () {
        if (yield* probe) lastAlive = Date.now()
        else refused()
        expire()
      }).pipe(Effect.repeat(Schedule.spaced(options.probeInterval)))
    )

    const backend: Backend = {
      start: (job) => {
        if (inFlight.size >= options.maxInFlight) return false
        const entry: InFlight = { job, sentAt: Date.now(), fiber: undefined }
        inFlight.set(job, entry)
        entry.fiber = runFork(send(job, entry))
        return true
      },
      stop: (job) => {
        const entry = inFlight.get(job)
        if (entry === undefined) return
        inFlight.delete(job)
        entry.fiber?.interruptUnsafe()
      },
      started: () => true,
      cancelPending: () => false,
      freeSlots: () => options.maxInFlight - inFlight.size,
      waiting: () => 0,
      close: Effect.suspend(() =>
        Fiber.interruptAll([watcher, ...Array.from(inFlight.values(), (entry) => entry.fiber!).filter(Boolean)]).pipe(
          Effect.andThen(pruner === undefined ? Effect.void : pruner.close)
        )
      ),
      workers: () => options.maxInFlight,
      spares: () => 0,
      busy: () => inFlight.size
    }
    return backend
  })

/**
 * The `message_id` under which `SqlMessageStorage` stores a persisted `Run`: its composed primary key
 * (`Envelope.primaryKeyByAddress`: entity type / entity id / tag / the request's primary key). It is stored as is
 * up to 255 characters; ours are under 100 (a short entity type, an entity id below `entityIds`, a UUID and a
 * counter).
 */
const messageIdOf = (entityId: string, id: string) =>
  Envelope.primaryKeyByAddress({
    address: { entityType: PersistedEntity.type, entityId } as unknown as EntityAddress.EntityAddress,
    tag: "Run",
    id
  })

/** The call, telling the pruner how it ended: with its final reply, or without one. */
const pruned = <A, E, R>(pruner: Pruner.Pruner, run: Effect.Effect<A, E, R>, entityId: string, id: string) => {
  const messageId = messageIdOf(entityId, id)
  return run.pipe(
    Effect.onExit((exit) =>
      Effect.sync(() => (Exit.isSuccess(exit) ? pruner.settled(messageId) : pruner.abandoned(messageId)))
    )
  )
}

type Encoded =
  { readonly _tag: "Ok"; readonly json: unknown } | { readonly _tag: "Fail"; readonly error: ExecutorError }

/** The job's encoded payload (or payloads) in canonical JSON. */
const toJson = (job: Job): Encoded => {
  const codecs = jsonCodecs(job.task)
  const one = (encoded: unknown): Encoded => {
    const exit = safely(codecs.payloadFromEncoded, encoded)
    return Exit.isSuccess(exit)
      ? { _tag: "Ok", json: exit.value }
      : {
          _tag: "Fail",
          error: new EncodeError({ task: job.task.name, which: "payload", message: describe(exit.cause) })
        }
  }
  if (!job.chunk) return one(job.payload)
  const values: Array<unknown> = []
  for (const payload of job.payload as ReadonlyArray<unknown>) {
    const encoded = one(payload)
    if (encoded._tag === "Fail") return encoded
    values.push(encoded.json)
  }
  return { _tag: "Ok", json: values }
}

type Settled =
  | { readonly _tag: "Wire"; readonly wire: WireExit | ChunkResult }
  | { readonly _tag: "Fail"; readonly error: ExecutorError }

/** Turns a runner's outcome into what the core expects: the encoded form it decodes with the task's Schemas. */
const settle = (task: Task.Any, chunk: boolean, outcome: Outcome): Settled => {
  if (outcome._tag === "Chunk") {
    if (!chunk) return protocolError(task, "a chunk's outcome for a single task")
    const codecs = jsonCodecs(task)
    const values: Array<unknown> = []
    for (const value of outcome.values) {
      const exit = safely(codecs.successToEncoded, value)
      if (Exit.isFailure(exit)) {
        return {
          _tag: "Fail",
          error: new DecodeError({ task: task.name, which: "success", message: describe(exit.cause) })
        }
      }
      values.push(exit.value)
    }
    if (outcome.failure === undefined) return { _tag: "Wire", wire: { values, failure: undefined } }
    const failure = itemWire(task, outcome.failure)
    // An executor error the worker protocol cannot carry per item fails the whole chunk, as on a local pool.
    if (failure._tag === "Fail") return failure
    return { _tag: "Wire", wire: { values, failure: failure.wire as WireExit } }
  }
  if (chunk && outcome._tag !== "ExecutorError") return protocolError(task, "a single task's outcome for a chunk")
  return itemWire(task, outcome)
}

const itemWire = (task: Task.Any, outcome: ItemOutcome): Settled => {
  const codecs = jsonCodecs(task)
  switch (outcome._tag) {
    case "Success": {
      const exit = safely(codecs.successToEncoded, outcome.value)
      return Exit.isSuccess(exit)
        ? { _tag: "Wire", wire: { _tag: "Success", value: exit.value } }
        : { _tag: "Fail", error: new DecodeError({ task: task.name, which: "success", message: describe(exit.cause) }) }
    }
    case "Failure": {
      const exit = safely(codecs.errorToEncoded, outcome.error)
      return Exit.isSuccess(exit)
        ? { _tag: "Wire", wire: { _tag: "Failure", error: exit.value } }
        : { _tag: "Fail", error: new DecodeError({ task: task.name, which: "error", message: describe(exit.cause) }) }
    }
    case "Interrupted":
      return { _tag: "Wire", wire: { _tag: "Interrupted" } }
    case "ExecutorError": {
      const wire = executorErrorToWire(outcome.error)
      return wire === undefined
        ? { _tag: "Fail", error: outcome.error }
        : { _tag: "Wire", wire: { _tag: "ExecutorError", error: wire } }
    }
  }
}

const protocolError = (task: Task.Any, what: string): { readonly _tag: "Fail"; readonly error: ExecutorError } => ({
  _tag: "Fail",
  error: taskDefectFrom(
    new TaskDefect({
      errorName: "ProtocolError",
      message: `A runner sent ${what} (task "${task.name}")`,
      workerStack: ""
    })
  )
})
