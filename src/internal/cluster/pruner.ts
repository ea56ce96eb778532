/**
 * Prunes the persisted tasks a client has settled from the cluster's SQL storage, so that storage does not grow per
 * task.
 *
 * Effect Cluster keeps every persisted request and its reply in `SqlMessageStorage`'s tables for good, and its
 * `MessageStorage` has no call that removes one request: `clearReplies` deletes the reply but marks the request
 * unprocessed again (a runner would run it again), and `clearAddress` deletes every request of an entity address,
 * which other tasks in flight share. So the pruner deletes by request, with SQL against the storage's own tables
 * (`<prefix>_messages`, `<prefix>_replies`, the prefix the storage layer is built with), in plain SQL that SQLite
 * and Postgres both run.
 *
 * A task's rows are found by the request's `message_id`, which `SqlMessageStorage` stores as the request's composed
 * primary key (`Envelope.primaryKeyByAddress`) when it fits in 255 characters, as ours always do. Deleting them
 * removes the request, the interrupt and ack envelopes that refer to it (same `request_id`) and its replies.
 *
 * When:
 * - **settled** (the client received the task's final reply): at once, in batches (one transaction per round, at
 *   most one round every `minRoundInterval`). The reply was read from storage, so the runner has committed it and
 *   marked the request processed: nothing reads or runs these rows again, and no other caller waits for them (a
 *   task's id is unique to its call).
 * - **abandoned** (the call ended without a reply: interrupted, cancelled, past its submit deadline, or failed in
 *   the cluster): once a runner has stored the request's final reply (for an interrupt, the runner's
 *   acknowledgement), checked every `checkInterval`; or, should none come, after `abandonGrace`. Until then the
 *   rows stay, so that the runner still finds the interrupt and stops the task. After the grace the request is
 *   deleted unanswered: a cancelled task no longer runs once its rows are gone.
 *
 * A runner that crashed mid-task writes nothing more; the survivor that re-runs the task stores the reply the
 * client then reads, so a re-run task is pruned like any other. A runner that lost its shard is fenced by Effect
 * Cluster and does not store a reply either.
 *
 * Bounds: what waits for deletion is at most the settlements of one round plus the abandoned calls of the last
 * `abandonGrace`; a round that fails (storage unreachable) keeps its ids for the next one, up to `maxPending`.
 * Closing runs one last round, bounded by `closeTimeout`: rows of calls abandoned just before the close whose
 * runner has not answered yet stay in storage.
 *
 * Times are wall-clock, as in the client.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import * as Schedule from "effect/Schedule"
import * as SqlClient from "effect/sql/SqlClient"

export interface PrunerOptions {
  /** The table prefix of the storage (`SqlMessageStorage.layerWith({ prefix })`). */
  readonly prefix: string
  /** Milliseconds between two rounds of deletions. */
  readonly minRoundInterval: number
  /** Milliseconds between two checks of the abandoned calls. */
  readonly checkInterval: number
  /** Milliseconds an abandoned call's rows wait for a runner's final reply before they are deleted anyway. */
  readonly abandonGrace: number
  /** Ids kept for deletion at most (beyond, while storage fails, the oldest are dropped and stay in storage). */
  readonly maxPending: number
  /** Milliseconds the last round may take when the pruner closes. */
  readonly closeTimeout: number
}

export const defaults: PrunerOptions = {
  prefix: "cluster",
  minRoundInterval: 100,
  checkInterval: 1_000,
  abandonGrace: 60_000,
  maxPending: 100_000,
  closeTimeout: 5_000
}

export interface Pruner {
  /** The call of request `messageId` received its final reply: delete the request's rows. */
  readonly settled: (messageId: string) => void
  /** The call of request `messageId` ended without a reply: delete its rows once a runner has answered. */
  readonly abandoned: (messageId: string) => void
  /** Stops the pruner after one last round. Never fails. */
  readonly close: Effect.Effect<void>
}

/** Ids per statement: far below SQLite's and Postgres's bound-parameter limits. */
const chunkSize = 500

const chunks = (ids: ReadonlyArray<string>): Array<ReadonlyArray<string>> => {
  const result: Array<ReadonlyArray<string>> = []
  for (let i = 0; i < ids.length; i += chunkSize) result.push(ids.slice(i, i + chunkSize))
  return result
}

/** Everything one pruner knows, in one record: the functions below read and move it. */
interface PrunerState {
  readonly options: PrunerOptions
  readonly sql: SqlClient.SqlClient
  readonly messages: ReturnType<SqlClient.SqlClient>
  readonly replies: ReturnType<SqlClient.SqlClient>
  /** Settled calls' message ids, waiting for the next round. */
  settled: Array<string>
  /** Abandoned calls: message id → when (wall-clock). */
  readonly abandoned: Map<string, number>
  /** The next round checks the abandoned calls (set every `checkInterval`, and by `close`). */
  checkDue: boolean
  closed: boolean
  /** Opened when there is work for a round. */
  readonly wake: Latch.Latch
}

/** Puts back the ids of a round that failed, ahead of newer ones, keeping at most `maxPending`. */
const keep = (self: PrunerState, ids: ReadonlyArray<string>) => {
  self.settled = ids.concat(self.settled)
  const { maxPending } = self.options
  if (self.settled.length > maxPending) self.settled = self.settled.slice(self.settled.length - maxPending)
}

/** Deletes the rows of these requests: replies first, then the request and its envelopes. */
const deleteRows = ({ messages, replies, sql }: PrunerState, ids: ReadonlyArray<string>) =>
  Effect.forEach(
    chunks(ids),
    (chunk) =>
      sql`DELETE FROM ${replies} WHERE request_id IN (SELECT id FROM ${messages} WHERE ${sql.in("message_id", chunk)})`.pipe(
        Effect.andThen(
          sql`DELETE FROM ${messages} WHERE request_id IN (SELECT id FROM ${messages} WHERE ${sql.in("message_id", chunk)})`
        ),
        sql.withTransaction
      ),
    { discard: true }
  )

/** The abandoned requests a runner has stored a final reply for. */
const answered = ({ messages, replies, sql }: PrunerState, ids: ReadonlyArray<string>) =>
  Effect.map(
    Effect.forEach(
      chunks(ids),
      (chunk) =>
        sql<{
          readonly message_id: string
        }>`SELECT m.message_id FROM ${messages} m WHERE ${sql.in("m.message_id", chunk)} AND EXISTS (SELECT 1 FROM ${replies} r WHERE r.request_id = m.id AND r.kind = 0)`
    ),
    (rows) => rows.flat().map((row) => row.message_id)
  )

/** The abandoned calls whose rows may go now (a runner answered them, or their grace is over), taken off the list. */
const dueAbandoned = (self: PrunerState) =>
  Effect.gen(function* () {
    const due: Array<string> = []
    if (!self.checkDue || self.abandoned.size === 0) return due
    self.checkDue = false
    const replied = yield* answered(self, Array.from(self.abandoned.keys())).pipe(
      Effect.catchCause((cause) =>
        Effect.as(Effect.logDebug("effect-futures: could not check abandoned cluster tasks", cause), [])
      )
    )
    for (const id of replied) {
      if (self.abandoned.delete(id)) due.push(id)
    }
    const now = Date.now()
    for (const [id, at] of self.abandoned) {
      if (now - at < self.options.abandonGrace) continue
      self.abandoned.delete(id)
      due.push(id)
    }
    return due
  })

/** One round: delete the settled calls' rows and those of the abandoned calls that are due. */
const round = (self: PrunerState) =>
  Effect.gen(function* () {
    const batch = self.settled
    self.settled = []
    const due = yield* dueAbandoned(self)
    const ids = due.length === 0 ? batch : batch.concat(due)
    if (ids.length === 0) return
    // Whatever stops the deletion (a storage error, an interruption), the ids stay for the next round.
    yield* deleteRows(self, ids).pipe(
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => keep(self, ids)))),
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause)
          : Effect.logDebug("effect-futures: could not prune settled cluster tasks", cause)
      )
    )
  })

/** Rounds, each when woken and at most one every `minRoundInterval`. */
const loop = (self: PrunerState) =>
  Effect.forever(
    Effect.gen(function* () {
      yield* self.wake.await
      self.wake.closeUnsafe()
      yield* round(self)
      yield* Effect.sleep(self.options.minRoundInterval)
    })
  )

/** Every `checkInterval`: wake a round if abandoned calls need checking or settled ones wait. */
const tick = (self: PrunerState) =>
  Effect.sync(() => {
    if (self.abandoned.size > 0) self.checkDue = true
    if (self.checkDue || self.settled.length > 0) self.wake.openUnsafe()
  }).pipe(Effect.repeat(Schedule.spaced(self.options.checkInterval)))

export const make = (options: PrunerOptions = defaults): Effect.Effect<Pruner, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const self: PrunerState = {
      options,
      sql,
      messages: sql(`${options.prefix}_messages`),
      replies: sql(`${options.prefix}_replies`),
      settled: [],
      abandoned: new Map(),
      checkDue: false,
      closed: false,
      wake: Latch.makeUnsafe(false)
    }
    const fibers = [runFork(loop(self)), runFork(tick(self))]
    return {
      settled: (id) => {
        if (self.closed) return
        self.settled.push(id)
        if (self.settled.length > options.maxPending) self.settled.shift()
        self.wake.openUnsafe()
      },
      abandoned: (id) => {
        if (self.closed) return
        self.abandoned.set(id, Date.now())
      },
      close: Effect.gen(function* () {
        if (self.closed) return
        self.closed = true
        yield* Fiber.interruptAll(fibers)
        self.checkDue = true
        yield* round(self).pipe(Effect.timeout(options.closeTimeout), Effect.ignore)
      })
    }
  })
