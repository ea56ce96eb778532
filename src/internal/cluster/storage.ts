/**
 * The cluster's shared SQL storage: which it is, how logs and errors name it without its password, and a
 * `SqlClient` on it that is checked before the cluster uses it.
 *
 * Storage is Postgres for a `postgres://` URL, otherwise a SQLite file. Each client is imported only when a cluster
 * uses it: `@effect/sql-pg` is an optional peer a SQLite user never installs, and `node:sqlite` is never loaded by a
 * Postgres user.
 *
 * Every way the storage can fail while the layer is built is a `ClusterStorageError` naming the storage (password
 * replaced by `***`) and the operation: loading its client package, opening the file or connecting, running the
 * cluster's migrations, and checking that the tables have the columns the cluster uses (a database that holds
 * tables of another shape under the same names is refused here rather than failing later, one query at a time).
 * The messages of errors from the SQL clients are scrubbed of the password before they are used, and their causes
 * (which may hold the URL) are not kept.
 *
 * A new SQLite file is created with mode 0600 (SQLite gives its `-wal` and `-shm` files the same mode), in a directory
 * created 0700 when it does not exist.
 *
 * @internal
 */
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ClusterStorageError } from "../../ExecutorError.ts"
import * as Options from "../executor/options.ts"

/** Where a cluster keeps its state when no `storage` is given: a SQLite file in the user's home directory. */
export const defaultStorage = (): string => path.join(os.homedir(), ".effect-futures", "cluster.db")

/**
 * The table prefix of the cluster's storage (`<prefix>_messages`, `<prefix>_replies`, ...): Effect Cluster's
 * default, named here because the client's pruner deletes from those tables too.
 */
export const storagePrefix = "cluster"

export interface Storage {
  readonly kind: "postgres" | "sqlite"
  /** The URL or the absolute file path. */
  readonly value: Redacted.Redacted<string>
  /** How logs and errors name it: the URL with its password replaced by `***`, or the file path. */
  readonly display: string
  /** Replaces the password (and the whole URL), wherever it appears in a text, with `***` (and the display). */
  readonly scrub: (text: string) => string
}

const isPostgres = (value: string) => /^postgres(ql)?:\/\//i.test(value)

const replaceAll = (text: string, needle: string, by: string) =>
  needle.length === 0 ? text : text.split(needle).join(by)

/** The `storage` option: a SQLite file path or a `postgres://` URL, as a string or a `Redacted` string. */
export const parseStorage = (input: unknown): Storage => {
  const value = Redacted.isRedacted(input) ? Redacted.value(input) : input
  if (value === undefined) return sqlite(defaultStorage())
  if (typeof value !== "string" || value.length === 0) {
    throw Options.invalid(
      "storage",
      "a SQLite file path or a postgres:// URL (a string or a Redacted string)",
      Redacted.isRedacted(input) ? "a Redacted holding no string" : value
    )
  }
  if (!isPostgres(value)) return sqlite(path.resolve(value))
  let url: URL
  try {
    url = new URL(value)
  } catch {
    // Where a password would be cannot be told: name nothing after the scheme.
    const display = `${value.slice(0, value.indexOf("//") + 2)}***`
    throw Options.invalid("storage", "a valid postgres:// URL", display)
  }
  const secrets = [value]
  const passwords: Array<string> = []
  if (url.password !== "") {
    passwords.push(url.password)
    try {
      passwords.push(decodeURIComponent(url.password))
    } catch {}
    url.password = "***"
  }
  const display = url.href
  return {
    kind: "postgres",
    value: Redacted.make(value),
    display,
    scrub: (text) => {
      let out = text
      for (const secret of secrets) out = replaceAll(out, secret, display)
      for (const password of passwords) out = replaceAll(out, password, "***")
      return out
    }
  }
}

const sqlite = (file: string): Storage => ({
  kind: "sqlite",
  value: Redacted.make(file),
  display: file,
  scrub: (text) => text
})

const describe = (storage: Storage, error: unknown): string => {
  const seen = new Set<unknown>()
  const parts: Array<string> = []
  // The error's message and its causes' (a driver error wrapped in SqlError), without their other fields.
  let current: unknown = error
  while (current !== undefined && current !== null && !seen.has(current) && parts.length < 4) {
    seen.add(current)
    const text =
      current instanceof Error
        ? current.message
        : typeof current === "object" && "message" in current
          ? String(current.message)
          : String(current)
    if (text.length > 0 && !parts.some((part) => part.includes(text))) parts.push(text)
    current = (current as { cause?: unknown }).cause
  }
  return storage.scrub(parts.join(": ") || "unknown error")
}

const storageError = (storage: Storage, operation: string, detail: string) =>
  new ClusterStorageError({
    storage: storage.display,
    operation,
    message: `Cluster storage ${storage.display}: ${operation} failed: ${detail}`
  })

const failWith = (storage: Storage, operation: string) => (error: unknown) =>
  storageError(storage, operation, describe(storage, error))

const fromCause = (storage: Storage, operation: string) => (cause: Cause.Cause<unknown>) =>
  Cause.hasInterruptsOnly(cause)
    ? Effect.failCause(cause as Cause.Cause<never>)
    : Effect.fail(failWith(storage, operation)(Cause.squash(cause)))

/** `mkdir -p`, each new directory 0700 (Node's own recursive `mkdirSync` loops forever under /proc). */
const makeDirectories = (dir: string): void => {
  if (fs.existsSync(dir)) return
  const parent = path.dirname(dir)
  if (parent !== dir) makeDirectories(parent)
  fs.mkdirSync(dir, { mode: 0o700 })
}

/** Creates the SQLite file 0600 (and its directory 0700) unless it exists; warns when an existing one is readable by others. */
const prepareSqliteFile = (storage: Storage) =>
  Effect.gen(function* () {
    const file = Redacted.value(storage.value)
    const existing = yield* Effect.try({
      try: () => {
        makeDirectories(path.dirname(file))
        try {
          // O_EXCL: create it here with our mode, or find that it exists and leave it as it is.
          fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_RDWR, 0o600))
          return undefined
        } catch (cause) {
          if ((cause as { code?: string }).code !== "EEXIST") throw cause
          return fs.statSync(file)
        }
      },
      catch: failWith(storage, "open")
    })
    if (existing !== undefined && (existing.mode & 0o077) !== 0) {
      yield* Effect.logWarning(
        `effect-futures cluster storage ${file} is readable or writable by other users (mode ${(existing.mode & 0o777).toString(8)}): ` +
          "anyone who can write it can submit tasks to the runners; chmod 600 it"
      )
    }
  })

/** Imports an optional peer, or fails naming the package to install. */
const importPeer = <M>(storage: Storage, load: () => Promise<M>, name: string) =>
  Effect.tryPromise({
    try: load,
    catch: (cause) =>
      storageError(
        storage,
        "load client",
        `Postgres storage needs the optional peer dependency \`${name}\`, which could not be loaded ` +
          `(${(cause as { code?: string }).code ?? "import failed"}). Install it: npm install ${name}`
      )
  })

/** The SQL client on the storage, not yet checked. */
const client = (storage: Storage): Layer.Layer<SqlClient.SqlClient, ClusterStorageError> =>
  Layer.unwrap(
    storage.kind === "postgres"
      ? Effect.map(
          importPeer(storage, () => import("@effect/sql-pg/PgClient"), "@effect/sql-pg"),
          (PgClient) =>
            PgClient.layer({ url: storage.value, connectTimeout: "5 seconds" }).pipe(
              Layer.catchCause((cause) => Layer.effectDiscard(fromCause(storage, "connect")(cause)))
            ) as Layer.Layer<SqlClient.SqlClient, ClusterStorageError>
        )
      : Effect.andThen(prepareSqliteFile(storage), () =>
          Effect.map(
            Effect.promise(() => import("./sqlite.ts")),
            (Sqlite) =>
              Sqlite.layer({ filename: Redacted.value(storage.value), busyTimeout: 10_000 }).pipe(
                Layer.catchCause((cause) => Layer.effectDiscard(fromCause(storage, "open")(cause)))
              ) as Layer.Layer<SqlClient.SqlClient, ClusterStorageError>
          )
        )
  )

/** The columns the cluster reads and writes, by table: a table without one of them is of another shape. */
const expectedColumns: ReadonlyArray<readonly [string, string]> = [
  [
    "messages",
    "id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, processed, request_id, reply_id, last_reply_id, last_read, deliver_at"
  ],
  ["replies", "id, kind, request_id, payload, sequence, acked"],
  ["runners", "machine_id, address, runner, healthy, last_heartbeat"],
  ["locks", "shard_id, address, acquired_at"]
]

/**
 * A `SqlClient` on the storage once it answers, its migrations have run and its tables have the cluster's shape; or
 * the layer fails with `ClusterStorageError`.
 */
export const layer = (storage: Storage): Layer.Layer<SqlClient.SqlClient, ClusterStorageError> =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.gen(function* () {
      const context = yield* Layer.build(client(storage))
      const sql = Context.get(context, SqlClient.SqlClient)
      yield* sql`SELECT 1`.pipe(Effect.catchCause(fromCause(storage, storage.kind === "postgres" ? "connect" : "open")))
      yield* Layer.build(
        Layer.mergeAll(
          SqlMessageStorage.layerMigrations({ prefix: storagePrefix }),
          SqlRunnerStorage.layerMigrations({ prefix: storagePrefix })
        )
      ).pipe(Effect.provideContext(context), Effect.catchCause(fromCause(storage, "migrate")))
      for (const [table, columns] of expectedColumns) {
        yield* sql
          .unsafe(`SELECT ${columns} FROM ${storagePrefix}_${table} WHERE 1 = 0`)
          .pipe(
            Effect.catchCause((cause) =>
              Cause.hasInterruptsOnly(cause)
                ? Effect.failCause(cause as Cause.Cause<never>)
                : Effect.fail(
                    storageError(
                      storage,
                      "check schema",
                      `table ${storagePrefix}_${table} is not the cluster's (expected columns ${columns}): ${describe(storage, Cause.squash(cause))}`
                    )
                  )
            )
          )
      }
      return sql
    })
  )
