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
import * as Tracer from "effect/Tracer"
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

/** Everything one client knows, in one record: the functions below read and move it. */
interface ClientState {
  readonly options: ClientOptions
  readonly services: ClusterServices
  readonly host: Host
  readonly persisted: boolean
  readonly entityType: string
  readonly call: (entityId: string, request: Run) => Effect.Effect<Reply, unknown>
  /** Deletes settled persisted tasks' rows; undefined for volatile tasks, which leave none. */
  readonly pruner: Pruner.Pruner | undefined
  readonly runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  readonly clientId: string
  readonly inFlight: Map<Job, InFlight>
  /** The number of the last request sent: request ids and entity ids are dealt from it. */
  sequence: number
  /** When a runner last answered a probe (0: never). */
  lastAlive: number
}

type Run = { readonly id: string; readonly body: string; readonly tag: string }

/** Takes the job out of flight; true if it was still there (so this caller settles it). */
const land = (self: ClientState, job: Job): boolean => {
  if (!self.inFlight.delete(job)) return false
  self.host.pump()
  return true
}

const fail = (self: ClientState, job: Job, error: ExecutorError) => {
  if (land(self, job)) self.host.fail(job, error)
}

const finish = (self: ClientState, job: Job, outcome: Outcome) => {
  if (!land(self, job)) return
  const settled = settle(job.task, job.chunk, outcome)
  if (settled._tag === "Fail") self.host.fail(job, settled.error)
  else self.host.finish(job, settled.wire)
}

/** Reads a reply: nothing of it is used unless its tag verifies with this client's secret. */
const receive = (self: ClientState, job: Job, id: string, entityId: string, reply: Reply) => {
  const { options } = self
  if (options.key !== undefined && !Auth.verifyReply(options.key, id, reply.body, reply.tag)) {
    const peer = peerOf(self.persisted, options.storage, entityId)
    self.runFork(
      Effect.logWarning(`effect-futures client refused a reply that does not verify`).pipe(
        Effect.annotateLogs({ peer, request: id, task: job.task.name })
      )
    )
    return fail(
      self,
      job,
      new Unauthenticated({
        task: job.task.name,
        peer,
        message: "The reply's tag does not verify with this client's secret (a runner with another secret, or none)"
      })
    )
  }
  const outcome = outcomeFromText(reply.body)
  if ("invalid" in outcome) return fail(self, job, protocolError(job.task, `a reply that is ${outcome.invalid}`).error)
  finish(self, job, outcome)
}

/** The signed request for a job whose payload is already in JSON. */
const request = (self: ClientState, job: Job, json: unknown): { readonly entityId: string; readonly run: Run } => {
  const id = `${self.clientId}-${++self.sequence}`
  const entityId = String(self.sequence % self.options.entityIds)
  const body = JSON.stringify({
    id,
    entityType: self.entityType,
    entityId,
    issuedAt: Date.now(),
    module: job.task.module,
    task: job.task.name,
    chunk: job.chunk,
    payload: json
  })
  return { entityId, run: { id, body, tag: Auth.signRequest(self.options.key, body) } }
}

/** Sends a job as one call and settles it with the reply (or with `ClusterUnavailable` if the call fails). */
const send = (self: ClientState, job: Job, entry: InFlight) =>
  Effect.gen(function* () {
    // Start after `start` has returned: the core counts the job as running only then.
    yield* Effect.yieldNow
    const payload = toJson(job)
    if (payload._tag === "Fail") return fail(self, job, payload.error)
    const { entityId, run } = request(self, job, payload.json)
    // Under the task's span (when tracing is on): Effect Cluster carries the current span to the runner, so the
    // runner's own task span, and the spans the task opens there, join the caller's trace.
    const call =
      job.trace === undefined
        ? self.call(entityId, run)
        : Effect.provideService(self.call(entityId, run), Tracer.ParentSpan, job.trace.span)
    const exit = yield* Effect.exit(self.pruner === undefined ? call : pruned(self.pruner, call, entityId, run.id))
    if (Exit.isSuccess(exit)) return receive(self, job, run.id, entityId, exit.value)
    if (Cause.hasInterruptsOnly(exit.cause)) return
    fail(
      self,
      job,
      new ClusterUnavailable({
        task: job.task.name,
        waited: Date.now() - entry.sentAt,
        message: self.options.scrub(`The cluster failed to run the task: ${describe(exit.cause)}`)
      })
    )
  })

/** Whether any runner registered in storage answers a ping now. */
const probe = (self: ClientState) =>
  Effect.gen(function* () {
    const registered = yield* self.services.runnerStorage.getRunners
    if (registered.length === 0) return false
    const answers = yield* Effect.forEach(
      registered,
      ([runner]) =>
        self.services.runners.ping(runner.address).pipe(Effect.timeout(self.options.probeInterval), Effect.isSuccess),
      { concurrency: "unbounded" }
    )
    return answers.some((answered) => answered)
  }).pipe(Effect.catchCause(() => Effect.succeed(false)))

/** Fails a job in flight with `error` and interrupts its call. */
const abandon = (self: ClientState, entry: InFlight, error: ExecutorError) => {
  const fiber = entry.fiber
  fail(self, entry.job, error)
  if (fiber !== undefined) fiber.interruptUnsafe()
}

/** Fails the jobs that have waited `submitDeadline` without any runner answering since they were sent. */
const expire = (self: ClientState) => {
  const now = Date.now()
  const deadline = self.options.submitDeadline
  for (const entry of Array.from(self.inFlight.values())) {
    if (now - Math.max(entry.sentAt, self.lastAlive) < deadline) continue
    abandon(
      self,
      entry,
      new ClusterUnavailable({
        task: entry.job.task.name,
        waited: now - entry.sentAt,
        message: `No runner answered within the submit deadline (${deadline} ms)`
      })
    )
  }
}

/**
 * No runner answers and a runner has just refused this client's connection: its secret is not the cluster's.
 * Waiting for the deadline would change nothing, so the tasks in flight fail now.
 */
const refused = (self: ClientState) => {
  const refusal = self.services.refusals.last
  if (refusal === undefined || Date.now() - refusal.at > 2 * self.options.probeInterval + 1_000) return
  for (const entry of Array.from(self.inFlight.values())) {
    abandon(
      self,
      entry,
      new Unauthenticated({
        task: entry.job.task.name,
        peer: refusal.error.peer,
        message: `The cluster refused this client's connection: ${refusal.error.reason}`
      })
    )
  }
}

/** Every `probeInterval`: note whether a runner answers, fail on a refusal, and expire what waited too long. */
const watch = (self: ClientState) =>
  Effect.gen(function* () {
    if (yield* probe(self)) self.lastAlive = Date.now()
    else refused(self)
    expire(self)
  }).pipe(Effect.repeat(Schedule.spaced(self.options.probeInterval)))

/** The backend the core sees: a slot per call in flight, up to `maxInFlight`. */
const backendOf = (self: ClientState, watcher: Fiber.Fiber<unknown, unknown>): Backend => ({
  start: (job) => {
    if (self.inFlight.size >= self.options.maxInFlight) return false
    const entry: InFlight = { job, sentAt: Date.now(), fiber: undefined }
    self.inFlight.set(job, entry)
    entry.fiber = self.runFork(send(self, job, entry))
    return true
  },
  stop: (job) => {
    const entry = self.inFlight.get(job)
    if (entry === undefined) return
    self.inFlight.delete(job)
    entry.fiber?.interruptUnsafe()
  },
  started: () => true,
  cancelPending: () => false,
  freeSlots: () => self.options.maxInFlight - self.inFlight.size,
  waiting: () => 0,
  close: Effect.suspend(() =>
    Fiber.interruptAll([watcher, ...Array.from(self.inFlight.values(), (entry) => entry.fiber!).filter(Boolean)]).pipe(
      Effect.andThen(self.pruner === undefined ? Effect.void : self.pruner.close)
    )
  ),
  workers: () => self.options.maxInFlight,
  spares: () => 0,
  busy: () => self.inFlight.size
})

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
    const self: ClientState = {
      options,
      services,
      host,
      persisted,
      entityType: entity.type,
      call: (entityId, run) => client(entityId).Run(run),
      pruner,
      runFork: Effect.runForkWith(yield* Effect.context<never>()),
      clientId: randomUUID(),
      inFlight: new Map(),
      sequence: 0,
      lastAlive: 0
    }
    return backendOf(self, self.runFork(watch(self)))
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
