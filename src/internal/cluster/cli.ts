/**
 * `effect-futures-runner`: a cluster runner from the command line (`Cluster.layerRunner` with flags).
 *
 * ```sh
 * npx effect-futures-runner --storage postgres://cluster@db/tasks --host 10.0.0.7 --port 34431 --workers 8
 * ```
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
import { parseArgs } from "node:util"
import { layerRunner, type RunnerOptions } from "../../Cluster.ts"

const usage = `Usage: effect-futures-runner [options]

  --storage <path|url>        SQLite file or postgres:// URL shared by the cluster (default: effect-futures-cluster.db)
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

const int = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n)) {
    process.stderr.write(`effect-futures-runner: --${flag} expects a number, got ${JSON.stringify(value)}\n`)
    process.exit(2)
  }
  return n
}

export const optionsFromArgs = (args: ReadonlyArray<string>): RunnerOptions => {
  const { values } = parseArgs({
    args: [...args],
    options: {
      storage: { type: "string" },
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
    },
    strict: true
  })
  if (values.help === true) {
    process.stdout.write(usage)
    process.exit(0)
  }
  const workers = int("workers", values.workers)
  return {
    storage: values.storage,
    host: values.host,
    port: int("port", values.port),
    listenHost: values["listen-host"],
    entityConcurrency: int("entity-concurrency", values["entity-concurrency"]),
    shardsPerGroup: int("shards-per-group", values["shards-per-group"]),
    ...(workers !== undefined ? { workers: { maxWorkers: workers } } : {}),
    timings: {
      lockExpiration: int("lock-expiration", values["lock-expiration"]),
      lockRefreshInterval: int("lock-refresh-interval", values["lock-refresh-interval"]),
      healthCheckInterval: int("health-check-interval", values["health-check-interval"]),
      refreshAssignmentsInterval: int("refresh-assignments-interval", values["refresh-assignments-interval"]),
      messagePollInterval: int("message-poll-interval", values["message-poll-interval"])
    }
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
