/**
 * A small `SqlClient` over Node's built-in `node:sqlite`, for cluster storage on one shared SQLite file.
 *
 * The published v4 `@effect/sql-sqlite-node` imports `effect/unstable/*` and does not load on effect 4.1, so this
 * client stands in for it: one synchronous connection per process, shared through a semaphore (as Effect's own
 * SQLite clients do, with `SqlClient.makeSqliteAcquirers`), WAL journaling so readers never block the writer, and a
 * busy timeout so that several processes writing the same file wait for the lock instead of failing with
 * "database is locked". Transactions begin `IMMEDIATE`: a deferred transaction that later upgrades to a write can
 * fail at once with SQLITE_BUSY whatever the timeout.
 *
 * @internal
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import { classifySqliteError, SqlError } from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"

export interface SqliteOptions {
  /** The database file, shared by every process of the cluster. */
  readonly filename: string
  /** How long a statement waits for another process's write lock, in milliseconds. */
  readonly busyTimeout: number
}

const toParam = (value: unknown): SQLInputValue => {
  if (value === undefined || value === null) return null
  if (typeof value === "boolean") return value ? 1 : 0
  if (value instanceof Date) return value.toISOString()
  return value as SQLInputValue
}

const make = (options: SqliteOptions) =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new DatabaseSync(options.filename, { timeout: options.busyTimeout }),
        catch: (cause) =>
          new SqlError({
            reason: classifySqliteError(cause, { message: "Failed to open database", operation: "open" })
          })
      }),
      (db) => Effect.sync(() => db.close())
    )
    const statements = new Map<string, StatementSync>()
    const prepare = (sql: string): StatementSync => {
      let statement = statements.get(sql)
      if (statement === undefined) {
        statement = db.prepare(sql)
        statements.set(sql, statement)
        // A bounded cache: the cluster's statements are few, but ad-hoc ones must not accumulate.
        if (statements.size > 256) statements.delete(statements.keys().next().value!)
      }
      return statement
    }
    const run = (sql: string, params: ReadonlyArray<unknown>, arrays: boolean) =>
      Effect.try({
        try: () => {
          const statement = prepare(sql)
          statement.setReturnArrays(arrays)
          const bound = params.map(toParam)
          return statement.columns().length > 0 ? statement.all(...bound) : (statement.run(...bound), [])
        },
        catch: (cause) =>
          new SqlError({ reason: classifySqliteError(cause, { message: "Failed to execute statement" }) })
      })

    const connection: SqlConnection.Connection = {
      execute: (sql, params, transformRows) =>
        transformRows === undefined ? run(sql, params, false) : Effect.map(run(sql, params, false), transformRows),
      executeRaw: (sql, params) => run(sql, params, false),
      executeValues: (sql, params) =>
        run(sql, params, true) as unknown as Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError>,
      executeValuesUnprepared: (sql, params) =>
        run(sql, params, true) as unknown as Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError>,
      executeUnprepared: (sql, params, transformRows) =>
        transformRows === undefined ? run(sql, params, false) : Effect.map(run(sql, params, false), transformRows),
      executeStream: (sql, params, transformRows) =>
        Stream.fromIterableEffect(
          transformRows === undefined ? run(sql, params, false) : Effect.map(run(sql, params, false), transformRows)
        )
    }

    yield* connection.executeUnprepared("PRAGMA journal_mode = WAL", [], undefined)
    yield* connection.executeUnprepared("PRAGMA synchronous = NORMAL", [], undefined)

    const { acquirer, borrower, transactionAcquirer, onCommitFailure, isTransaction } = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore: yield* Semaphore.make(1),
      isTransaction: () => db.isTransaction
    })
    return yield* SqlClient.make({
      acquirer,
      borrower,
      compiler: Statement.makeCompilerSqlite(),
      transactionAcquirer,
      onCommitFailure,
      isTransaction,
      driver: "sqlite-node",
      beginTransaction: "BEGIN IMMEDIATE",
      releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`,
      spanAttributes: [["db.system.name", "sqlite"]]
    })
  })

/** A `SqlClient` on a shared SQLite file. */
export const layer = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(options)).pipe(Layer.provide(Reactivity.layer))
