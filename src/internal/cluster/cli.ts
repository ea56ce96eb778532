/**
 * `effect-futures-runner`: a cluster runner from the command line (`Cluster.layerRunner` with flags).
 *
 * ```sh
 * export EFFECT_FUTURES_CLUSTER_SECRET=…  EFFECT_FUTURES_CLUSTER_STORAGE=postgres://cluster:…@db/tasks
 * npx effect-futures-runner --modules file:///srv/app/dist/tasks/ --host 10.0.0.7 --port 34431 --workers 8
 * ```
 *
 * Secrets never come from the command line, where `ps` shows them to every user of the machine: the secret comes
 * from `EFFECT_FUTURES_CLUSTER_SECRET` or `--secret-file`, a storage URL holding a password from
 * `EFFECT_FUTURES_CLUSTER_STORAGE` or `--storage-file` (`--storage` takes a SQLite path or a URL without a
 * password). Both variables are removed from the environment once read, so the runner's workers do not inherit them.
 *
 * It runs until SIGINT or SIGTERM, then hands its shards to the other runners and exits. Started with an IPC
 * channel (`child_process.fork`), it reports `{ _tag: "Ready" }` once it has joined the cluster and exits when its
 * parent goes away, even by SIGKILL: a runner started by a test or a supervisor never outlives it.
 *
 * @internal
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import { layerRunner, type RunnerOptions } from "../../Cluster.ts"

const usage = `Usage: effect-futures-runner --modules <url|path>[,...] [options]

  --modules <url|path>        task modules this runner may run: file: URLs or paths of modules, or of directories
                              ending in / (repeat the flag or separate with commas; required)
  --secret-file <file>        file holding the cluster's shared secret (or set EFFECT_FUTURES_CLUSTER_SECRET);
                              required to listen beyond loopback
  --insecure                  listen beyond loopback without a secret (anyone who reaches the port runs tasks)
  --storage <path|url>        SQLite file, or postgres:// URL without a password, shared by the cluster
                              (default: ~/.effect-futures/cluster.db)
  --storage-file <file>       file holding the storage URL (for a URL with a password; or set
                              EFFECT_FUTURES_CLUSTER_STORAGE). Never put a password on the command line.
  --replay-window <ms>        how long a request stays acceptable after it was issued (default: 3600000)
  --tls-cert <file>           PEM certificate of this runner (naming --host): TLS on its socket
  --tls-key <file>            PEM private key of that certificate
  --tls-ca <file>             PEM CA certificates that sign the runners' certificates
  --host <host>               host other processes reach this runner at (default: localhost)
  --port <port>               port to listen on (default: 34431)
  --listen-host <host>        interface to listen on (default: --host)
  --workers <n>               worker threads running the tasks (default: one per core)
  --entity-concurrency <n>    tasks one entity id runs at once (default: unbounded)
  --shards-per-group <n>      shards (default: 300; the same everywhere)
  --lock-expiration <ms>      failover timings, in milliseconds (see Cluster.Timings)
  --lock-refresh-interval <ms>
  --health-check-interval <ms>
  --refresh-assignments-interval <ms>
  --message-poll-interval <ms>
  --help
`

const usageError = (message: string): never => {
  process.stderr.write(`effect-futures-runner: ${message}\n`)
  process.exit(2)
}

const int = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n)) usageError(`--${flag} expects a number, got ${JSON.stringify(value)}`)
  return n
}

/** The first line of a file (a secret or a URL), without its line ending. */
const readSecretFile = (flag: string, file: string): string => {
  try {
    const text = fs.readFileSync(file, "utf8").replace(/\r?\n$/, "")
    if (text.length === 0) usageError(`--${flag}: ${file} is empty`)
    return text
  } catch (cause) {
    return usageError(`--${flag}: cannot read ${file} (${(cause as { code?: string }).code ?? "error"})`)
  }
}

/** A value from the environment, removed from it so that the runner's workers do not inherit it. */
const takeEnv = (name: string): string | undefined => {
  const value = process.env[name]
  delete process.env[name]
  return value === "" ? undefined : value
}

/** A `--modules` item: a URL as it is, a path as a file URL (a directory keeps its trailing slash). */
const moduleUrl = (item: string): string => {
  if (/^[a-z][a-z0-9+.-]+:/i.test(item)) return item
  const resolved = path.resolve(item)
  return pathToFileURL(item.endsWith("/") ? `${resolved}/` : resolved).href
}

/** Whether a storage URL holds a password (which must not be on the command line). */
const hasPassword = (storage: string): boolean => {
  if (!/^postgres(ql)?:\/\//i.test(storage)) return false
  try {
    return new URL(storage).password !== ""
  } catch {
    // Malformed: it may hold one; refuse rather than echo it.
    return /^[^/]*\/\/[^/@]*:[^/@]*@/.test(storage)
  }
}

/** The runner's flags, as `parseArgs` takes them. */
const flags = {
  modules: { type: "string", multiple: true },
  "secret-file": { type: "string" },
  insecure: { type: "boolean" },
  storage: { type: "string" },
  "storage-file": { type: "string" },
  "replay-window": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "listen-host": { type: "string" },
  workers: { type: "string" },
  "entity-concurrency": { type: "string" },
  "shards-per-group": { type: "string" },
  "lock-expiration": { type: "string" },
  "lock-refresh-interval": { type: "string" },
  "health-check-interval": { type: "string" },
  "refresh-assignments-interval": { type: "string" },
  "message-poll-interval": { type: "string" },
  help: { type: "boolean" }
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof flags; strict: true }>>["values"]

/** The storage URL: from `--storage-file`, else `--storage` (refused if it holds a password), else the environment. */
const storageOf = (values: Values, fromEnv: string | undefined): string | undefined => {
  if (values.storage !== undefined && hasPassword(values.storage)) {
    usageError(
      "--storage holds a password, which every user of this machine can read with ps: " +
        "give the URL in EFFECT_FUTURES_CLUSTER_STORAGE or a file named by --storage-file instead"
    )
  }
  const storageFile = values["storage-file"]
  return storageFile !== undefined ? readSecretFile("storage-file", storageFile) : (values.storage ?? fromEnv)
}

/** The TLS files, all three or none. */
const tlsOf = (values: Values): RunnerOptions["tls"] => {
  const cert = values["tls-cert"]
  const key = values["tls-key"]
  const ca = values["tls-ca"]
  if (cert === undefined && key === undefined && ca === undefined) return undefined
  if (cert === undefined || key === undefined || ca === undefined) {
    return usageError("TLS needs --tls-cert, --tls-key and --tls-ca together")
  }
  return {
    cert: readSecretFile("tls-cert", cert),
    key: Redacted.make(readSecretFile("tls-key", key)),
    ca: readSecretFile("tls-ca", ca)
  }
}

/** Effect Cluster's timings, in milliseconds. */
const timingsOf = (values: Values): RunnerOptions["timings"] => ({
  lockExpiration: int("lock-expiration", values["lock-expiration"]),
  lockRefreshInterval: int("lock-refresh-interval", values["lock-refresh-interval"]),
  healthCheckInterval: int("health-check-interval", values["health-check-interval"]),
  refreshAssignmentsInterval: int("refresh-assignments-interval", values["refresh-assignments-interval"]),
  messagePollInterval: int("message-poll-interval", values["message-poll-interval"])
})

export const optionsFromArgs = (args: ReadonlyArray<string>): RunnerOptions => {
  const { values } = parseArgs({ args: [...args], options: flags, strict: true })
  if (values.help === true) {
    process.stdout.write(usage)
    process.exit(0)
  }
  const workers = int("workers", values.workers)
  const modules = (values.modules ?? []).flatMap((item) => item.split(",")).filter((item) => item.length > 0)
  const envSecret = takeEnv("EFFECT_FUTURES_CLUSTER_SECRET")
  const envStorage = takeEnv("EFFECT_FUTURES_CLUSTER_STORAGE")
  const secretFile = values["secret-file"]
  const secret = secretFile !== undefined ? readSecretFile("secret-file", secretFile) : envSecret
  const storage = storageOf(values, envStorage)
  const tls = tlsOf(values)
  return {
    modules: modules.length === 0 ? undefined : modules.map(moduleUrl),
    ...(tls !== undefined ? { tls } : {}),
    ...(secret !== undefined ? { secret: Redacted.make(secret) } : {}),
    ...(values.insecure === true ? { insecure: true } : {}),
    replayWindow: int("replay-window", values["replay-window"]),
    storage: storage === undefined ? undefined : Redacted.make(storage),
    host: values.host,
    port: int("port", values.port),
    listenHost: values["listen-host"],
    entityConcurrency: int("entity-concurrency", values["entity-concurrency"]),
    shardsPerGroup: int("shards-per-group", values["shards-per-group"]),
    ...(workers !== undefined ? { workers: { maxWorkers: workers } } : {}),
    timings: timingsOf(values)
  }
}

/** Exits with the parent: at once when the IPC channel closes, and by polling the parent's pid (a stuck loop). */
const exitWithParent = () => {
  if (process.send === undefined) return
  const parent = process.ppid
  process.on("disconnect", () => process.kill(process.pid, "SIGKILL"))
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, "SIGKILL")
  }, 1_000).unref()
}

export const main = (args: ReadonlyArray<string>) => {
  exitWithParent()
  const options = optionsFromArgs(args)
  Effect.gen(function* () {
    yield* Layer.build(layerRunner(options))
    yield* Effect.logInfo(`effect-futures-runner ready on ${options.host ?? "localhost"}:${options.port ?? 34431}`)
    process.send?.({ _tag: "Ready", pid: process.pid })
    return yield* Effect.never
  }).pipe(Effect.scoped, NodeRuntime.runMain)
}
