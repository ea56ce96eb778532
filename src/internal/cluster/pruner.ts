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

export const make = (options: PrunerOptions = defaults): Effect.Effect<Pruner, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const messages = sql(`${options.prefix}_messages`)
    const replies = sql(`${options.prefix}_replies`)

    let settled: Array<string> = []
    /** Abandoned calls: message id → when (wall-clock). */
    const abandoned = new Map<string, number>()
    let checkDue = false
    let closed = false
    const wake = Latch.makeUnsafe(false)

    const keep = (ids: ReadonlyArray<string>) => {
      settled = ids.concat(settled)
      if (settled.length > options.maxPending) settled = settled.slice(settled.length - options.maxPending)
    }

    /** Deletes the rows of these requests: replies first, then the request and its envelopes. */
    const deleteRows = (ids: ReadonlyArray<string>) =>
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
    const answered = (ids: ReadonlyArray<string>) =>
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

    const round = Effect.gen(function* () {
      const batch = settled
      settled = []
      const due: Array<string> = []
      if (checkDue && abandoned.size > 0) {
        checkDue = false
        const replied = yield* answered(Array.from(abandoned.keys())).pipe(
          Effect.catchCause((cause) =>
            Effect.as(Effect.logDebug("effect-futures: could not check abandoned cluster tasks", cause), [])
          )
        )
        for (const id of replied) {
          if (abandoned.delete(id)) due.push(id)
        }
        const now = Date.now()
        for (const [id, at] of abandoned) {
          if (now - at < options.abandonGrace) continue
          abandoned.delete(id)
          due.push(id)
        }
      }
      const ids = due.length === 0 ? batch : batch.concat(due)
      if (ids.length === 0) return
      // Whatever stops the deletion (a storage error, an interruption), the ids stay for the next round.
      yield* deleteRows(ids).pipe(
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => keep(ids)))),
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause)
            : Effect.logDebug("effect-futures: could not prune settled cluster tasks", cause)
        )
      )
    })

    const loop = runFork(
      Effect.forever(
        Effect.gen(function* () {
          yield* wake.await
          wake.closeUnsafe()
          yield* round
          yield* Effect.sleep(options.minRoundInterval)
        })
      )
    )
    const ticker = runFork(
      Effect.sync(() => {
        if (abandoned.size > 0) checkDue = true
        if (checkDue || settled.length > 0) wake.openUnsafe()
      }).pipe(Effect.repeat(Schedule.spaced(options.checkInterval)))
    )

    return {
      settled: (id) => {
        if (closed) return
        settled.push(id)
        if (settled.length > options.maxPending) settled.shift()
        wake.openUnsafe()
      },
      abandoned: (id) => {
        if (closed) return
        abandoned.set(id, Date.now())
      },
      close: Effect.gen(function* () {
        if (closed) return
        closed = true
        yield* Fiber.interruptAll([ticker, loop])
        checkDue = true
        yield* round.pipe(Effect.timeout(options.closeTimeout), Effect.ignore)
      })
    }
  })
