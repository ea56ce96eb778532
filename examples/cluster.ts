/**
 * A cluster on this machine: 3 runner processes (the `effect-futures-runner` CLI) sharing one SQLite file, and this
 * process as the client. The client counts primes in 24 ranges through `Cluster.layer`, and SIGKILLs one
 * runner while it is running tasks: its unfinished tasks run again on the other two, and no task is lost.
 *
 * The runners may run only this example's task module (`--modules`), and they share a secret with the client, so
 * every request and reply is authenticated. On several machines, the runners get the Postgres URL and the secret in
 * `EFFECT_FUTURES_CLUSTER_STORAGE` and `EFFECT_FUTURES_CLUSTER_SECRET` and their own `--host`; the client code is
 * the same as for `layerWorkerThreads`: only the layer changes.
 */
import { type ChildProcess, fork } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { randomBytes } from "node:crypto"
import { Effect, Redacted, Stream } from "effect"
import { Executor, Future } from "../src/index.ts"
import * as Cluster from "../src/Cluster.ts"
import { countPrimes } from "./clusterTasks.ts"

// A fresh secret for this run; a real cluster reads one from a secret store.
const secret = Redacted.make(randomBytes(32).toString("base64url"))

const cli = fileURLToPath(new URL("../bin/effect-futures-runner.mjs", import.meta.url))
// Failover in a few seconds: the same timings for the runners and the client.
const timings = { lockExpiration: 3_000, lockRefreshInterval: 1_000, healthCheckInterval: 1_000 }

const freePort = Effect.callback<number>((resume) => {
  const server = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Starts a runner and waits until it has joined; it is killed when the scope closes (and dies with us anyway). */
const startRunner = (storage: string) =>
  Effect.gen(function* () {
    const port = yield* freePort
    const args = ["--storage", storage, "--host", "127.0.0.1", "--port", String(port), "--workers", "2"]
    args.push("--modules", countPrimes.module)
    args.push("--lock-expiration", "3000", "--lock-refresh-interval", "1000", "--health-check-interval", "1000")
    const env = { ...process.env, EFFECT_FUTURES_CLUSTER_SECRET: Redacted.value(secret) }
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => fork(cli, args, { stdio: ["ignore", "ignore", "inherit", "ipc"], env })),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )
    yield* Effect.callback<void>((resume) => {
      child.on("message", (message: { _tag?: string }) => message._tag === "Ready" && resume(Effect.void))
    })
    return child
  })

const program = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-cluster-example-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const storage = path.join(dir, "cluster.db")
  const runners: ReadonlyArray<ChildProcess> = yield* Effect.all(
    [1, 2, 3].map(() => startRunner(storage)),
    {
      concurrency: "unbounded"
    }
  )
  console.log(`3 runners up: ${runners.map((r) => r.pid).join(", ")}`)

  yield* Effect.gen(function* () {
    // Runners that have just joined take their shards over a few rounds: wait until all three answer.
    const answered = new Set<number>()
    while (answered.size < runners.length) {
      const results = yield* Stream.runCollect(Executor.map(countPrimes, Array(12).fill({ from: 0, to: 10 })))
      for (const { runner } of results) answered.add(runner)
    }

    const ranges = Array.from({ length: 24 }, (_, i) => ({ from: i * 400_000, to: (i + 1) * 400_000 }))
    const futures = yield* Effect.forEach(ranges, (range) => Executor.submit(countPrimes, range))
    let finished = 0
    let killed: number | undefined
    const byRunner = new Map<number, number>()
    yield* Future.asCompleted(futures).pipe(
      Stream.runForEach((future) =>
        Effect.gen(function* () {
          const { runner } = yield* Future.result(future)
          byRunner.set(runner, (byRunner.get(runner) ?? 0) + 1)
          console.log(
            `task ${futures.indexOf(future)} done on runner ${runner}${runner === killed ? " (before it died)" : ""}`
          )
          // Mid-run: the runner that just answered still has tasks running and queued. Kill it without warning.
          if (++finished === 4) {
            killed = runner
            runners.find((r) => r.pid === runner)!.kill("SIGKILL")
            console.log(`SIGKILLed runner ${runner} with tasks in flight`)
          }
        })
      )
    )
    const total = (yield* Effect.forEach(futures, (f) => Future.result(f))).reduce((sum, r) => sum + r.primes, 0)
    console.log(`primes below ${ranges.length * 400_000}: ${total}`)
    console.log(
      `${finished} of ${futures.length} tasks finished, none lost; tasks per runner:`,
      Object.fromEntries(byRunner)
    )
  }).pipe(Effect.provide(Cluster.layer({ storage, secret, timings })))
})

await Effect.runPromise(Effect.scoped(program))
