/**
 * The cluster executor: the shared executor contract against a cluster on this machine (3 runner processes on one
 * SQLite file), then what only a cluster can show: a runner killed mid-run loses no task, a client with no runner
 * fails after its submit deadline, values survive JSON storage, and the worker pool's errors cross as themselves.
 *
 * With `EFFECT_FUTURES_POSTGRES_URL` set (`npm run test:postgres` does it), the same runs against that Postgres.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Metric, Option, Redacted, Schema, Scope, Stream, Tracer } from "effect"
import { execFile, spawn } from "node:child_process"
import { createHmac } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { DatabaseSync } from "node:sqlite"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Executor, ExecutorError, Future, Task } from "../src/index.ts"
import * as Cluster from "../src/Cluster.ts"
import * as Allowlist from "../src/internal/cluster/allowlist.ts"
import * as Auth from "../src/internal/cluster/auth.ts"
import { remoteTask } from "../src/internal/cluster/remoteTask.ts"
import * as ClusterStorage from "../src/internal/cluster/storage.ts"
import { contractSuite, failureOf } from "./contract.ts"
import {
  countRows,
  execStorage,
  fastTimings,
  type TestCluster,
  poll,
  queryStorage,
  freePort,
  sqliteStorage,
  startCluster,
  startRunner,
  fixtureModules,
  tables,
  testSecret,
  tlsFiles
} from "./fixtures/clusterHarness.ts"
import { writeMarker } from "./fixtures/clusterMarker.ts"
import { gatedJob, richEcho, starts } from "./fixtures/clusterTasks.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { memoryTracer } from "./fixtures/memoryTracer.ts"
import { traced } from "./fixtures/observabilityTasks.ts"
import { Boom, double, gated } from "./fixtures/tasks.ts"
import { exitWith } from "./fixtures/workerTasks.ts"
import { outsideMarker } from "./outside/markerTasks.ts"
import { eventually } from "./workerContract.ts"

const postgres = process.env.EFFECT_FUTURES_POSTGRES_URL
const label = postgres === undefined ? "Cluster.layer (SQLite)" : "Cluster.layer (Postgres)"

/**
 * Storage for one cluster: a fresh SQLite file, or on Postgres the next of the databases `test:postgres` created
 * (`effect_futures_1` to `_6`), so clusters never see each other's runners.
 */
let databases = 0
const storageFor =
  postgres === undefined ? sqliteStorage : Effect.sync(() => `${postgres}/effect_futures_${++databases}`)

/** Where the security tests' tasks write their markers; a runner that imported `test/outside/` would write `imported`. */
const markers = fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-markers-"))
const importMarker = path.join(markers, "imported")

/** One cluster for the contract suite and the tests that do not kill runners. */
let shared: TestCluster | undefined
const sharedScope = Scope.makeUnsafe()
beforeAll(async () => {
  shared = await Effect.runPromise(
    Effect.flatMap(storageFor, (storage) =>
      startCluster(storage, 3, { env: { EFFECT_FUTURES_TEST_IMPORT_MARKER: importMarker } })
    ).pipe(Scope.provide(sharedScope))
  )
}, 60_000)
afterAll(async () => {
  await Effect.runPromise(Scope.close(sharedScope, Exit.void))
  fs.rmSync(markers, { recursive: true, force: true })
}, 60_000)

const clientOf = (options: Cluster.Options = {}) =>
  Cluster.layer({
    storage: shared!.storage,
    secret: testSecret,
    timings: fastTimings,
    submitDeadline: "20 seconds",
    ...options
  })

contractSuite(
  label,
  (options) =>
    clientOf({
      maxInFlight: options.workers,
      ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
      ...(options.onFull !== undefined ? { onFull: options.onFull } : {})
    }).pipe(Layer.catchTag("ClusterStorageError", (error) => Layer.effectDiscard(Effect.die(error)))) as Layer.Layer<
      Executor.Executor,
      ExecutorError.InvalidOptions
    >
)

/** The option an `InvalidOptions` names, or the tag of another error. */
const optionOf = (
  error: ExecutorError.InvalidOptions | ExecutorError.ClusterStorageError | ExecutorError.BootstrapError
) => (error._tag === "InvalidOptions" ? error.option : error._tag)

describe(`${label}: across runners`, () => {
  it.live("interrupting a running future interrupts its task on the runner", () =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      const future = yield* Executor.submit(gated, { board: board.address, index: 0 })
      yield* board.started(0)
      yield* Future.interrupt(future)
      yield* board.interrupted(0)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    }).pipe(Effect.provide(clientOf()))
  )

  it.live("settled persisted tasks leave no rows in storage: successes, a typed failure, an interrupted one", () =>
    Effect.gen(function* () {
      const storage = shared!.storage
      const board = yield* makeBoard
      // No more than one runner's workers (4): the shards may all sit on one runner, and every task must start.
      const count = 4
      const futures = yield* Effect.forEach(
        Array.from({ length: count }, (_, index) => index),
        (index) => Executor.submit(gated, { board: board.address, index })
      )
      yield* Effect.forEach(futures, (_, index) => board.started(index), { discard: true })
      // While they run, each task is one request row (its payload names this test's board).
      assert.match(board.address, /^[\w./-]+$/)
      const rows = yield* queryStorage(
        storage,
        `SELECT CAST(id AS TEXT) AS id FROM ${tables.messages} WHERE kind = 0 AND payload LIKE '%${board.address}%'`
      )
      const ids = rows.map((row) => String(row.id))
      assert.strictEqual(ids.length, count)
      for (const id of ids) assert.match(id, /^\d+$/)
      const rowsLeft = Effect.gen(function* () {
        const list = ids.join(", ")
        const messages = yield* countRows(
          storage,
          `SELECT COUNT(*) AS n FROM ${tables.messages} WHERE request_id IN (${list})`
        )
        const replies = yield* countRows(
          storage,
          `SELECT COUNT(*) AS n FROM ${tables.replies} WHERE request_id IN (${list})`
        )
        return messages + replies
      })
      assert.isAtLeast(yield* rowsLeft, count)

      yield* Effect.forEach([0, 1], board.release, { discard: true })
      yield* board.reject(2)
      yield* Future.interrupt(futures[3])
      yield* board.interrupted(3)
      const exits = yield* Effect.forEach(futures, Future.await)
      for (const index of [0, 1]) assert.deepStrictEqual(exits[index], Exit.succeed(index))
      assert.instanceOf(failureOf(exits[2]), Boom)
      assert.strictEqual(yield* Future.state(futures[3]), "CANCELLED")
      // The interrupted one goes once its runner has stored the interruption as its final reply.
      yield* poll(
        "the settled tasks' rows are deleted",
        Effect.map(rowsLeft, (left) => left === 0)
      )
    }).pipe(Effect.provide(clientOf()))
  )

  it.live("a worker crash on a runner arrives as WorkerCrashed; the runner keeps serving", () =>
    Effect.gen(function* () {
      const crash = failureOf(yield* Future.await(yield* Executor.submit(exitWith, 3)))
      assert.instanceOf(crash, ExecutorError.WorkerCrashed)
      assert.strictEqual((crash as ExecutorError.WorkerCrashed).exitCode, 3)
      assert.strictEqual((yield* Executor.stats).crashed, 1)
      assert.deepStrictEqual(
        yield* Effect.forEach([1, 2, 3], (n) => Effect.flatMap(Executor.submit(double, n), Future.result)),
        [2, 4, 6]
      )
    }).pipe(Effect.provide(clientOf()))
  )

  it.live("the metrics count the cluster's tasks per task, and Executor.stats reads the same numbers", () =>
    Effect.gen(function* () {
      const futures = [
        yield* Executor.submit(double, 1),
        yield* Executor.submit(double, 2),
        yield* Executor.submit(exitWith, 3)
      ]
      for (const future of futures) yield* Future.await(future)
      const snapshots = yield* Metric.snapshot
      const count = (metric: string, task: string) =>
        (
          snapshots.find(
            (snapshot) =>
              snapshot.id === `effect_futures_tasks_${metric}_total` &&
              snapshot.attributes?.executor === "metrics-cluster" &&
              snapshot.attributes?.task === task
          )?.state as Metric.CounterState<number> | undefined
        )?.count
      assert.strictEqual(count("submitted", "double"), 2)
      assert.strictEqual(count("completed", "double"), 2)
      assert.strictEqual(count("crashed", "exitWith"), 1)
      const stats = yield* Executor.stats
      assert.strictEqual(stats.completed, 2)
      assert.strictEqual(stats.crashed, 1)
    }).pipe(
      Effect.provide(clientOf({ name: "metrics-cluster" })),
      Effect.provideService(Metric.MetricRegistry, new Map())
    )
  )

  it.live("dates, bigints and bytes survive the JSON storage both ways", () =>
    Effect.gen(function* () {
      const at = new Date("2024-05-06T07:08:09.010Z")
      const result = yield* yield* Executor.submit(richEcho, { at, big: 2n ** 70n, bytes: new Uint8Array([1, 2, 255]) })
      assert.instanceOf(result.at, Date)
      assert.strictEqual(result.at.getTime(), at.getTime() + 1)
      assert.strictEqual(result.big, 2n ** 70n + 1n)
      assert.instanceOf(result.bytes, Uint8Array)
      assert.deepStrictEqual(Array.from(result.bytes), [2, 3, 0])
    }).pipe(Effect.provide(clientOf()))
  )

  it.live("volatile durability runs the same tasks with the same typed errors", () =>
    Effect.gen(function* () {
      const values = yield* Stream.runCollect(Executor.map(double, [1, 2, 3, 4, 5], { chunksize: 2 }))
      assert.deepStrictEqual(Array.from(values), [2, 4, 6, 8, 10])
      const board = yield* makeBoard
      const failing = yield* Executor.submit(gated, { board: board.address, index: 0 })
      yield* board.reject(0)
      const error = failureOf(yield* Future.await(failing))
      assert.instanceOf(error, Boom)
    }).pipe(Effect.provide(clientOf({ durability: "volatile" })))
  )

  it.live("bad cluster options fail the layer with InvalidOptions", () =>
    Effect.gen(function* () {
      const build = (options: Cluster.Options) => Effect.flip(Layer.build(Cluster.layer(options)).pipe(Effect.scoped))
      assert.strictEqual(optionOf(yield* build({ durability: "forever" as never })), "durability")
      assert.strictEqual(optionOf(yield* build({ entityIds: 0 })), "entityIds")
      assert.strictEqual(optionOf(yield* build({ storage: "" })), "storage")
      assert.strictEqual(
        optionOf(yield* build({ timings: { lockExpiration: 1000, lockRefreshInterval: 2000 } })),
        "timings.lockRefreshInterval"
      )
      const runner = yield* Effect.flip(
        Layer.build(Cluster.layerRunner({ modules: [fixtureModules], port: 70000 })).pipe(Effect.scoped)
      )
      assert.strictEqual(optionOf(runner), "port")
    })
  )
})

describe(`${label}: no runner`, () => {
  it.live("a task submitted while no runner is up fails with ClusterUnavailable after the submit deadline", () =>
    Effect.gen(function* () {
      const storage = yield* storageFor
      const context = yield* Layer.build(
        Cluster.layer({ storage, secret: testSecret, timings: fastTimings, submitDeadline: "1 second" })
      )
      const future = yield* Executor.submit(double, 1).pipe(Effect.provideContext(context))
      const error = failureOf(yield* Future.await(future))
      assert.instanceOf(error, ExecutorError.ClusterUnavailable)
      assert.strictEqual((error as ExecutorError.ClusterUnavailable).task, "double")
      assert.isAtLeast((error as ExecutorError.ClusterUnavailable).waited, 1000)
    })
  )
})

describe(`${label}: failover`, () => {
  it.live.each(["persisted", "volatile"] as const)(
    "%s: a runner SIGKILLed mid-run loses no task: every future settles, typed errors stay typed, survivors re-run its work",
    (durability) =>
      Effect.gen(function* () {
        const storage = yield* storageFor
        const cluster = yield* startCluster(storage, 3)
        const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-failover-")), "starts.log")
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => fs.rmSync(path.dirname(log), { recursive: true, force: true }))
        )
        const context = yield* Layer.build(
          Cluster.layer({ storage, durability, secret: testSecret, timings: fastTimings, submitDeadline: "60 seconds" })
        )
        const pids = new Set(cluster.runners.map((runner) => runner.pid))
        // Runners that have just joined take their shards over a few assignment rounds: wait until every runner
        // answers, so that the kill below hits one busy runner of three.
        const answered = new Set<number>()
        yield* eventually(
          Effect.gen(function* () {
            const batch = yield* Effect.forEach(Array.from({ length: 12 }), () =>
              Effect.flatMap(Executor.submit(gatedJob, { index: 0, log: os.devNull }), (f) => Future.result(f))
            )
            for (const { pid } of batch) answered.add(pid)
            return answered.size === pids.size
          }).pipe(Effect.orDie, Effect.provideContext(context))
        )
        const before = yield* Executor.stats.pipe(Effect.provideContext(context))
        // No task may finish before the kill: each waits for this gate, which opens only once a runner is dead.
        const gate = path.join(path.dirname(log), "gate")
        const futures = yield* Effect.forEach(
          Array.from({ length: 30 }, (_, index) => index),
          (index) => Executor.submit(gatedJob, { index, log, gate })
        ).pipe(Effect.provideContext(context))

        // Kill a runner while it is running a task: mid-way, by construction (the gate is closed).
        let victim: number | undefined
        yield* eventually(
          Effect.sync(() => {
            victim = starts(log).find((start) => pids.has(start.pid))?.pid
            return victim !== undefined
          })
        )
        const runner = cluster.runners.find((r) => r.pid === victim)!
        yield* runner.kill
        const startsAtKill = starts(log).length
        const startedOnVictim = new Set(
          starts(log)
            .filter((s) => s.pid === victim)
            .map((s) => s.index)
        )
        fs.writeFileSync(gate, "")

        const exits = yield* Effect.forEach(futures, Future.await)
        const ranOn = new Set<number>()
        let rerun = 0
        for (const [index, exit] of exits.entries()) {
          if (index % 5 === 4) {
            const error = failureOf(exit)
            assert.instanceOf(error, Boom, `task ${index} failed with its own class`)
            assert.strictEqual((error as Boom).code, index)
            continue
          }
          assert.isTrue(
            Exit.isSuccess(exit),
            `task ${index} succeeded: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`
          )
          const { index: echoed, pid } = (exit as Exit.Success<{ index: number; pid: number }>).value
          assert.strictEqual(echoed, index)
          ranOn.add(pid)
        }
        // Tasks the killed runner had started and a survivor started again: at least once, not at most once.
        for (const start of starts(log).slice(startsAtKill)) {
          if (start.pid !== victim && startedOnVictim.has(start.index)) rerun++
        }
        assert.isAtLeast(ranOn.size, 2, "results come from at least 2 runners")
        assert.isAtLeast(rerun, 1, "a task the killed runner had started was run again by a survivor")
        const stats = yield* Executor.stats.pipe(Effect.provideContext(context))
        assert.strictEqual(stats.completed + stats.failed - before.completed - before.failed, 30)
        assert.strictEqual(stats.queued + stats.busy, 0)
        assert.isTrue(
          Option.isNone(
            Option.fromNullishOr(exits.find((exit) => Exit.isFailure(exit) && Cause.hasInterrupts(exit.cause)))
          )
        )
        // Settled, re-run or not, every task's rows are pruned: this storage is this test's alone.
        yield* poll(
          "the storage holds no task rows",
          Effect.gen(function* () {
            const messages = yield* countRows(storage, `SELECT COUNT(*) AS n FROM ${tables.messages}`)
            const replies = yield* countRows(storage, `SELECT COUNT(*) AS n FROM ${tables.replies}`)
            return messages + replies === 0
          })
        )
      }),
    90_000
  )
})

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

describe.runIf(postgres === undefined)("Cluster.layer: the example", () => {
  it.live("examples/cluster.ts kills a runner mid-run, loses no task, and leaves no runner behind", () =>
    Effect.gen(function* () {
      const example = fileURLToPath(new URL("../examples/cluster.ts", import.meta.url))
      const stdout = yield* Effect.callback<string, Error>((resume) => {
        const child = execFile(process.execPath, [example], { timeout: 60_000 }, (error, stdout, stderr) =>
          resume(error ? Effect.fail(new Error(`${error.message}\n${stderr}`)) : Effect.succeed(stdout))
        )
        return Effect.sync(() => child.kill("SIGKILL"))
      })
      assert.match(stdout, /SIGKILLed runner \d+ with tasks in flight/)
      assert.match(stdout, /primes below 9600000: 639851/)
      assert.match(stdout, /24 of 24 tasks finished, none lost/)
      const pids = /3 runners up: (\d+), (\d+), (\d+)/.exec(stdout)!.slice(1).map(Number)
      yield* eventually(Effect.sync(() => pids.every((pid) => !alive(pid))))
    })
  )
})

describe("Cluster.layer: runner processes", () => {
  it.live("a runner started by a process that is SIGKILLed exits too", () =>
    Effect.gen(function* () {
      const storage = yield* sqliteStorage
      const parent = spawn(
        process.execPath,
        [fileURLToPath(new URL("./fixtures/clusterOrphanParent.ts", import.meta.url)), storage],
        { stdio: ["ignore", "pipe", "inherit"] }
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => parent.kill("SIGKILL")))
      const pid = yield* Effect.callback<number>((resume) => {
        let out = ""
        parent.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString()
          const match = /runner (\d+)/.exec(out)
          if (match !== null) resume(Effect.succeed(Number(match[1])))
        })
      })
      assert.isTrue(alive(pid))
      parent.kill("SIGKILL")
      yield* eventually(Effect.sync(() => !alive(pid)))
    })
  )

  it("ClusterUnavailable survives a Schema round trip as an instance of its class", () => {
    const error = new ExecutorError.ClusterUnavailable({ task: "fib", waited: 1500, message: "no runner" })
    const encode = Schema.encodeUnknownSync(ExecutorError.ExecutorErrorSchema)
    const back = Schema.decodeUnknownSync(ExecutorError.ExecutorErrorSchema)(structuredClone(encode(error)))
    assert.instanceOf(back, ExecutorError.ClusterUnavailable)
    assert.deepStrictEqual({ ...back }, { ...error })
  })
})

/** A task whose module is a `data:` URL: importing it would write the marker file. */
const dataMarker = (file: string) =>
  Task.make(`dataMarker${path.basename(file)}`, {
    module: `data:text/javascript,import("node:fs").then((fs) => fs.writeFileSync(${JSON.stringify(file)}, "imported"))`,
    payload: Schema.String,
    success: Schema.String,
    run: () => Effect.succeed("never")
  })

let markerCount = 0
const markerFile = () => path.join(markers, `marker-${++markerCount}`)

/** The shared cluster answers a legitimate task: its runners are healthy after what a test sent them. */
const stillServes = Effect.suspend(() =>
  Effect.gen(function* () {
    const file = markerFile()
    assert.strictEqual(yield* yield* Executor.submit(writeMarker, { file }), "ran")
    assert.isTrue(fs.existsSync(file))
    assert.deepStrictEqual(
      yield* Effect.forEach([1, 2, 3], (n) => Effect.flatMap(Executor.submit(double, n), Future.result)),
      [2, 4, 6]
    )
  }).pipe(Effect.provide(clientOf()))
)

/**
 * Waits until every runner of the shared cluster answers, so that its shards have settled: a runner refuses a replay
 * of a request it ran itself, and a shard that moved would bring the replay to another runner.
 */
const everyRunnerAnswers = Effect.suspend(() => {
  const answered = new Set<number>()
  return eventually(
    Effect.gen(function* () {
      const batch = yield* Effect.forEach(Array.from({ length: 12 }), () =>
        Effect.flatMap(Executor.submit(gatedJob, { index: 0, log: os.devNull }), (f) => Future.result(f))
      )
      for (const { pid } of batch) answered.add(pid)
      return answered.size === shared!.runners.length
    }).pipe(Effect.orDie)
  )
})

describe(`${label}: security`, () => {
  it.live.each(["persisted", "volatile"] as const)(
    "%s: a data: module and a module outside `modules` fail with TaskNotAllowed; nothing is imported or run",
    (durability) =>
      Effect.gen(function* () {
        const file = markerFile()
        const dataExit = yield* Future.await(yield* Executor.submit(dataMarker(file), "x"))
        const dataError = failureOf(dataExit)
        assert.instanceOf(dataError, ExecutorError.TaskNotAllowed)
        assert.match((dataError as ExecutorError.TaskNotAllowed).module, /^data:/)
        assert.match((dataError as ExecutorError.TaskNotAllowed).message, /never imports data: URLs/)
        const outside = failureOf(yield* Future.await(yield* Executor.submit(outsideMarker, file)))
        assert.instanceOf(outside, ExecutorError.TaskNotAllowed)
        assert.strictEqual((outside as ExecutorError.TaskNotAllowed).task, "outsideMarker")
        assert.strictEqual((outside as ExecutorError.TaskNotAllowed).module, outsideMarker.module)
        assert.isFalse(fs.existsSync(file), "the marker was not written")
        assert.isFalse(fs.existsSync(importMarker), "no runner imported the module outside `modules`")
        yield* stillServes
      }).pipe(Effect.provide(clientOf({ durability })))
  )

  it.live.each(["persisted", "volatile"] as const)(
    "%s: a client with a wrong secret, or none, gets Unauthenticated and nothing runs",
    (durability) =>
      Effect.gen(function* () {
        for (const secret of ["a wrong secret, long enough though", undefined]) {
          const file = markerFile()
          const exit = yield* Effect.flatMap(Executor.submit(writeMarker, { file }), Future.await).pipe(
            Effect.provide(
              Cluster.layer({
                storage: shared!.storage,
                durability,
                timings: fastTimings,
                secret,
                submitDeadline: "20 seconds"
              })
            )
          )
          const error = failureOf(exit)
          assert.instanceOf(error, ExecutorError.Unauthenticated, `secret: ${secret}`)
          assert.strictEqual((error as ExecutorError.Unauthenticated).task, "writeMarker")
          assert.isFalse(fs.existsSync(file), "the task did not run")
        }
        // The runners refused the connections of both, and logged each with the peer's address. A runner's log
        // line travels through its stderr pipe, so it may land a little after the client saw the refusal.
        const logs = () => shared!.runners.map((runner) => runner.stderr()).join("")
        const wrong = /refused a connection: its secret is not the cluster's \{ peer: '127\.0\.0\.1:\d+' \}/
        const none = /refused a connection: it has no secret \{ peer: '127\.0\.0\.1:\d+' \}/
        yield* eventually(Effect.sync(() => wrong.test(logs()) && none.test(logs())))
        assert.match(logs(), wrong)
        assert.match(logs(), none)
        yield* stillServes
      })
  )

  it.live("a process that reaches a runner's port without the handshake is refused and logged with its address", () =>
    Effect.gen(function* () {
      const runner = shared!.runners[0]
      const localPort = yield* Effect.callback<number>((resume) => {
        const socket = net.connect(runner.port, "127.0.0.1", () => {
          const port = socket.localPort!
          // An HTTP request where the handshake should be; the runner closes the connection.
          socket.write(`GET / HTTP/1.1\r\nHost: runner\r\n\r\n${" ".repeat(64)}`)
          socket.on("close", () => resume(Effect.succeed(port)))
        })
        socket.on("data", () => {})
        socket.on("error", () => {})
      })
      yield* poll(
        "the runner logs the refusal",
        Effect.sync(() =>
          new RegExp(
            `refused a connection: it does not speak the cluster's handshake \\{ peer: '127\\.0\\.0\\.1:${localPort}' \\}`
          ).test(runner.stderr())
        )
      )
      yield* stillServes
    })
  )

  it.live("a forged storage row and a replayed one never run; the runner logs each refusal, then serves", () =>
    Effect.gen(function* () {
      const storage = shared!.storage
      yield* everyRunnerAnswers
      const file = markerFile()
      const release = `${file}.release`
      const future = yield* Executor.submit(writeMarker, { file, release })
      yield* poll(
        "the task runs",
        Effect.sync(() => fs.existsSync(file))
      )
      // Copy its request row while it runs (rows are deleted once settled).
      const [row] = yield* queryStorage(
        storage,
        `SELECT CAST(id AS TEXT) AS id FROM ${tables.messages} WHERE kind = 0 AND payload LIKE '%${file}%'`
      )
      const id = String(row.id)
      assert.match(id, /^\d+$/)
      const copy = `security_copy_${markerCount}`
      yield* execStorage(storage, [`CREATE TABLE ${copy} AS SELECT * FROM ${tables.messages} WHERE id = ${id}`])
      fs.writeFileSync(release, "")
      assert.strictEqual(yield* Future.result(future), "ran")
      fs.rmSync(file)
      yield* poll(
        "the task's rows are pruned",
        Effect.map(countRows(storage, `SELECT COUNT(*) AS n FROM ${tables.messages} WHERE id = ${id}`), (n) => n === 0)
      )

      const columns = (replace: { id: string; messageId: string; payload: string }) =>
        `${replace.id}, ${replace.messageId}, shard_id, entity_type, entity_id, kind, tag, ${replace.payload}, headers, ` +
        `trace_id, span_id, sampled, FALSE, ${replace.id}, NULL, NULL, NULL, deliver_at`
      const insert = (replace: { id: string; messageId: string; payload: string }) =>
        `INSERT INTO ${tables.messages} (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, ` +
        `trace_id, span_id, sampled, processed, request_id, reply_id, last_reply_id, last_read, deliver_at) ` +
        `SELECT ${columns(replace)} FROM ${copy}`
      const answered = (requestId: string) =>
        poll(
          `the runner answers request ${requestId}`,
          Effect.map(
            countRows(storage, `SELECT COUNT(*) AS n FROM ${tables.replies} WHERE request_id = ${requestId}`),
            (n) => n > 0
          )
        )

      // Forged: the body names another marker file, under the original tag.
      const forged = `${file}-forged`
      yield* execStorage(storage, [
        insert({
          id: "id + 7",
          messageId: "message_id || '-forged'",
          payload: `REPLACE(payload, '${file}', '${forged}')`
        })
      ])
      const [forgedRow] = yield* queryStorage(
        storage,
        `SELECT CAST(id AS TEXT) AS id FROM ${tables.messages} WHERE message_id LIKE '%-forged' AND payload LIKE '%${forged}%'`
      )
      yield* answered(String(forgedRow.id))
      assert.isFalse(fs.existsSync(forged), "the forged request did not run")

      // Replayed: the same row again, byte for byte, once the original is gone.
      yield* execStorage(storage, [insert({ id: "id", messageId: "message_id", payload: "payload" })])
      yield* answered(id)
      assert.isFalse(fs.existsSync(file), "the replayed request did not run again")

      // Each refusal is logged with where it came from and the envelope (the row's id); a runner's log line travels
      // through its stderr pipe, so it may land a little after the refusal's reply.
      const logs = () => shared!.runners.map((runner) => runner.stderr()).join("")
      const tampered = new RegExp(
        `refused a request: its tag does not verify[^}]*peer: 'storage [^}]*envelope: '${forgedRow.id}'`
      )
      const replayed = new RegExp(`refused a request: it is a replay[^}]*peer: 'storage [^}]*envelope: '${id}'`)
      yield* poll(
        "the runners log both refusals",
        Effect.sync(() => tampered.test(logs()) && replayed.test(logs()))
      )
      assert.match(logs(), tampered)
      assert.match(logs(), replayed)
      yield* execStorage(storage, [
        `DELETE FROM ${tables.replies} WHERE request_id IN (${id}, ${forgedRow.id})`,
        `DELETE FROM ${tables.messages} WHERE id IN (${id}, ${forgedRow.id})`,
        `DROP TABLE ${copy}`
      ])
      yield* stillServes
    }).pipe(Effect.provide(clientOf()))
  )
})

const passwordUrl = process.env.EFFECT_FUTURES_POSTGRES_PASSWORD_URL

/** Builds a layer and returns the error it fails with. */
const buildError = <A, E>(layer: Layer.Layer<A, E>) => Effect.flip(Layer.build(layer).pipe(Effect.scoped))

/** Asserts that no rendering of an error (message, JSON, string) holds the text. */
const assertHidden = (error: unknown, secret: string) => {
  for (const rendering of [String(error), JSON.stringify(error), (error as Error).message, (error as Error).stack]) {
    assert.notInclude(rendering ?? "", secret)
  }
}

describe(`${label}: secrets and storage`, () => {
  it.live("storage failures are ClusterStorageError naming the storage and the operation, never the password", () =>
    Effect.gen(function* () {
      const password = "hunter2-not-to-be-seen"
      const refused = `postgres://alice:${password}@127.0.0.1:1/tasks`
      for (const storage of [refused, Redacted.make(refused)]) {
        const error = yield* buildError(Cluster.layer({ storage }))
        assert.instanceOf(error, ExecutorError.ClusterStorageError)
        const storageError = error as ExecutorError.ClusterStorageError
        assert.strictEqual(storageError.operation, "connect")
        assert.strictEqual(storageError.storage, "postgres://alice:***@127.0.0.1:1/tasks")
        assert.include(storageError.message, "postgres://alice:***@127.0.0.1:1/tasks")
        assertHidden(error, password)
      }
      const malformed = yield* buildError(Cluster.layer({ storage: `postgres://alice:${password}@db:port/tasks` }))
      assert.strictEqual(optionOf(malformed), "storage")
      assertHidden(malformed, password)

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-storage-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const corrupt = path.join(dir, "corrupt.db")
      fs.writeFileSync(corrupt, Buffer.alloc(8192, "not a database "))
      const wrongShape = path.join(dir, "other.db")
      const other = new DatabaseSync(wrongShape)
      other.exec("CREATE TABLE cluster_messages (id INTEGER PRIMARY KEY, note TEXT)")
      other.close()
      const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
        [corrupt, ["open"]],
        [wrongShape, ["migrate", "check schema"]],
        ["/dev/null/effect-futures/cluster.db", ["open"]]
      ]
      for (const [storage, operations] of cases) {
        const error = yield* buildError(Cluster.layer({ storage }))
        assert.instanceOf(error, ExecutorError.ClusterStorageError, storage)
        assert.include(operations, (error as ExecutorError.ClusterStorageError).operation)
        assert.strictEqual((error as ExecutorError.ClusterStorageError).storage, storage)
      }
      if (passwordUrl !== undefined) {
        // Postgres: a wrong password for a role that needs one.
        const right = new URL(passwordUrl).password
        const wrong = new URL(passwordUrl)
        wrong.password = password
        const error = yield* buildError(Cluster.layer({ storage: Redacted.make(wrong.href) }))
        assert.instanceOf(error, ExecutorError.ClusterStorageError)
        assert.strictEqual((error as ExecutorError.ClusterStorageError).operation, "connect")
        assert.match((error as ExecutorError.ClusterStorageError).message, /password|auth/i)
        assertHidden(error, password)
        assertHidden(error, right)
      }
    })
  )

  it.live("new SQLite files, and their -wal and -shm, are created 0600; the default storage is an absolute path", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-modes-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const storage = path.join(dir, "nested", "cluster.db")
      yield* Layer.build(Cluster.layer({ storage })).pipe(Effect.orDie)
      for (const file of [storage, `${storage}-wal`, `${storage}-shm`]) {
        assert.strictEqual((fs.statSync(file).mode & 0o777).toString(8), "600", file)
      }
      assert.strictEqual((fs.statSync(path.dirname(storage)).mode & 0o777).toString(8), "700")
      assert.isTrue(path.isAbsolute(ClusterStorage.defaultStorage()))
      assert.match(ClusterStorage.defaultStorage(), /\.effect-futures\/cluster\.db$/)
    })
  )

  it.live("a runner that listens beyond loopback refuses to start without a secret, unless insecure", () =>
    Effect.gen(function* () {
      const unreachable = "/dev/null/effect-futures/cluster.db"
      const modules = [fixtureModules]
      for (const address of [{ listenHost: "0.0.0.0" }, { host: "10.1.2.3" }, { listenHost: "::" }]) {
        const error = yield* buildError(Cluster.layerRunner({ modules, storage: unreachable, ...address }))
        assert.strictEqual(optionOf(error), "secret", JSON.stringify(address))
        assert.match((error as ExecutorError.InvalidOptions).expected, /insecure: true/)
      }
      // Past the check, each of these fails only on its storage.
      for (const options of [
        { listenHost: "0.0.0.0", insecure: true },
        { listenHost: "0.0.0.0", secret: Redacted.make(testSecret) },
        { host: "127.0.0.1" }
      ]) {
        const error = yield* buildError(Cluster.layerRunner({ modules, storage: unreachable, ...options }))
        assert.instanceOf(error, ExecutorError.ClusterStorageError, JSON.stringify(options))
      }
      assert.strictEqual(optionOf(yield* buildError(Cluster.layerRunner({ storage: unreachable }))), "modules")
      const dataModule = yield* buildError(Cluster.layerRunner({ modules: ["data:text/javascript,1"] }))
      assert.strictEqual(optionOf(dataModule), "modules[0]")
      const short = yield* buildError(Cluster.layerRunner({ modules, secret: "short-secret" }))
      assert.strictEqual(optionOf(short), "secret")
      assertHidden(short, "short-secret")
      const misspelt = yield* buildError(Cluster.layer({ secert: testSecret } as Cluster.Options))
      assert.strictEqual(optionOf(misspelt), "secert")
      assertHidden(misspelt, testSecret)

      // The CLI too: it exits at once, saying why.
      const storage = yield* sqliteStorage
      const failed = yield* Effect.flip(startRunner(storage, { secret: null, extraArgs: ["--listen-host", "0.0.0.0"] }))
      assert.match(failed.message, /runner exited before it was ready \(code 1[\s\S]*`secret`[\s\S]*insecure/)
    })
  )

  it.live("a storage password never shows in ps: the CLI refuses it in argv and reads it from the environment", () =>
    Effect.gen(function* () {
      const password = "hunter2-on-the-command-line"
      const exit = yield* Effect.callback<{ code: number | null; output: string }>((resume) => {
        const child = spawn(
          process.execPath,
          [
            fileURLToPath(new URL("./fixtures/clusterRunner.ts", import.meta.url)),
            ...["--modules", fixtureModules, "--storage", `postgres://alice:${password}@127.0.0.1:1/tasks`]
          ],
          { stdio: ["ignore", "pipe", "pipe"] }
        )
        let output = ""
        child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
        child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
        child.once("exit", (code) => resume(Effect.succeed({ code, output })))
        return Effect.sync(() => child.kill("SIGKILL"))
      })
      assert.strictEqual(exit.code, 2)
      assert.match(exit.output, /--storage holds a password[\s\S]*EFFECT_FUTURES_CLUSTER_STORAGE/)
      assert.notInclude(exit.output, password)
      if (passwordUrl === undefined) return
      // Postgres: a runner reads the URL from its environment; its command line and its logs never hold the password.
      const right = new URL(passwordUrl).password
      const runner = yield* startRunner(passwordUrl, { storageInEnv: true })
      const cmdline = fs.readFileSync(`/proc/${runner.pid}/cmdline`, "utf8")
      assert.notInclude(cmdline, right)
      const result = yield* Effect.flatMap(Executor.submit(double, 21), Future.result).pipe(
        Effect.provide(Cluster.layer({ storage: Redacted.make(passwordUrl), secret: testSecret, timings: fastTimings }))
      )
      assert.strictEqual(result, 42)
      assert.notInclude(runner.stderr(), right)
    })
  )
})

describe(`${label}: TLS`, () => {
  it.live("runners with a certificate serve clients that trust its CA; a client without TLS gets no connection", () =>
    Effect.gen(function* () {
      const files = yield* tlsFiles
      if (files === undefined) return // no openssl to make a certificate with
      const storage = yield* storageFor
      yield* startRunner(storage, {
        extraArgs: ["--tls-cert", files.cert, "--tls-key", files.key, "--tls-ca", files.ca]
      })
      const ca = fs.readFileSync(files.ca, "utf8")
      const base = { storage, secret: testSecret, timings: fastTimings, durability: "volatile" } as const
      const answer = yield* Effect.flatMap(Executor.submit(double, 21), Future.result).pipe(
        Effect.provide(Cluster.layer({ ...base, tls: { ca } }))
      )
      assert.strictEqual(answer, 42)
      // Without TLS the runner's socket never completes a connection: nothing reaches it, the deadline passes.
      const plain = yield* Effect.flatMap(Executor.submit(double, 1), Future.await).pipe(
        Effect.provide(Cluster.layer({ ...base, submitDeadline: "2 seconds" }))
      )
      assert.instanceOf(failureOf(plain), ExecutorError.ClusterUnavailable)
      const badTls = yield* buildError(Cluster.layerRunner({ modules: [fixtureModules], tls: { ca } }))
      assert.strictEqual(optionOf(badTls), "tls")
    })
  )
})

describe("Cluster security: the allowlist and the replay store", () => {
  it("modules are matched on their resolved path: no .., query, fragment, other scheme or link out of a directory", () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-allow-")))
    try {
      fs.mkdirSync(path.join(dir, "tasks"))
      fs.writeFileSync(path.join(dir, "tasks", "ok.js"), "")
      fs.writeFileSync(path.join(dir, "secret.js"), "")
      fs.writeFileSync(path.join(dir, "single.js"), "")
      fs.symlinkSync(path.join(dir, "secret.js"), path.join(dir, "tasks", "link.js"))
      const url = (p: string) => pathToFileURL(path.join(dir, p)).href
      const allow = Allowlist.parse([`${url("tasks")}/`, path.join(dir, "single.js")], remoteTask.module)
      assert.isUndefined(allow.check(url("tasks/ok.js")))
      assert.isUndefined(allow.check(url("single.js")))
      // Allowed by name but missing: the worker's import fails (TaskLoadError).
      assert.isUndefined(allow.check(url("tasks/missing.js")))
      const refusals: ReadonlyArray<readonly [string, RegExp]> = [
        [url("secret.js"), /not among/],
        [`${url("tasks")}/../secret.js`, /not among/],
        [`${url("tasks")}/%2e%2e/secret.js`, /not among/],
        [`${url("tasks/ok.js")}?v=2`, /query or fragment/],
        [`${url("tasks/ok.js")}#x`, /query or fragment/],
        [url("tasks/link.js"), /real path/],
        [url("tasks"), /not among/],
        ["data:text/javascript,export default 1", /never imports data:/],
        ["https://example.com/tasks.js", /never imports https:/],
        ["node:child_process", /never imports node:/],
        ["blob:nodedata:1234", /never imports blob:/],
        ["ftp://host/tasks.js", /only file:/],
        ["tasks/ok.js", /not a URL/],
        [remoteTask.module, /not among|own module/]
      ]
      for (const [module, reason] of refusals) assert.match(allow.check(module) ?? "allowed", reason, module)
      const invalid = (modules: unknown) => {
        try {
          Allowlist.parse(modules, remoteTask.module)
          return "parsed"
        } catch (error) {
          return (error as ExecutorError.InvalidOptions).option
        }
      }
      assert.strictEqual(invalid([]), "modules")
      assert.strictEqual(invalid(["relative/tasks.js"]), "modules[0]")
      assert.strictEqual(invalid([url("tasks")]), "modules[0]") // a directory must end in `/`
      assert.strictEqual(invalid([url("tasks/ok.js"), url("nowhere.js")]), "modules[1]")
      assert.strictEqual(invalid([`${url("tasks/ok.js")}?x`]), "modules[0]")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a request id is accepted once within the window; stale, future and replayed requests are refused", () => {
    const store = Auth.makeReplayStore(60_000, 1_000)
    const now = 1_000_000
    assert.isUndefined(store.admit("a-1", now - 10, now))
    assert.match(store.admit("a-1", now - 10, now + 5) ?? "", /replay/)
    assert.match(store.admit("a-2", now - 61_000, now) ?? "", /beyond the replay window/)
    assert.match(store.admit("a-3", now + 5_000, now) ?? "", /in the future/)
    store.forget("a-1")
    assert.isUndefined(store.admit("a-1", now - 10, now + 10), "an interrupted run may be delivered again")
    // Entries leave once their request is too old to be accepted anyway.
    assert.isUndefined(store.admit("a-4", now + 70_000, now + 70_000))
    assert.strictEqual(store.size(), 1)
    const key = Auth.keyOf(testSecret)
    assert.notStrictEqual(typeof key, "string")
    // The tags are HMAC-SHA256 (RFC 2104), byte for byte, for short and long (hashed) keys.
    for (const secret of [testSecret, "k".repeat(100)]) {
      const body = `{"id":"x","payload":"${"é".repeat(100)}"}`
      assert.strictEqual(
        Auth.hmac(Auth.keyOf(secret) as Auth.SecretKey, "domain\n", body).toString("hex"),
        createHmac("sha256", secret).update("domain\n").update(body).digest("hex")
      )
    }
    const tag = Auth.signRequest(key as Auth.Key, "body")
    assert.isTrue(Auth.verifyRequest(key as never, "body", tag))
    assert.isFalse(Auth.verifyRequest(key as never, "body!", tag))
    assert.isFalse(Auth.verifyReply(key as never, "id", "body", tag), "a request's tag never passes as a reply's")
    assert.isFalse(Auth.verifyRequest(key as never, "body", ""))
  })
})

describe("Cluster tracing", () => {
  it.live(
    "the caller's task span crosses to the runner: the runner's task span and the spans the task opens there join its trace",
    () => {
      const { spans, tracer } = memoryTracer()
      return Effect.gen(function* () {
        const storage = yield* sqliteStorage
        const port = yield* freePort
        // A runner in this process, so that its spans reach the same in-memory tracer (in production each process
        // exports its own spans; the trace id ties them together).
        yield* Layer.build(
          Cluster.layerRunner({
            modules: [fixtureModules],
            storage,
            secret: testSecret,
            timings: fastTimings,
            host: "127.0.0.1",
            port,
            workers: { maxWorkers: 1 }
          })
        )
        const client = yield* Layer.build(
          Cluster.layer({ storage, secret: testSecret, timings: fastTimings, submitDeadline: "20 seconds" })
        )
        const result = yield* Effect.flatMap(Executor.submit(traced, 5), (future) => Future.result(future)).pipe(
          Effect.withSpan("caller"),
          Effect.provideContext(client)
        )
        assert.strictEqual(result, 5)
        const named = (name: string) => spans.filter((span) => span.name === name)
        const caller = named("caller")[0]
        const taskSpans = named("effect_futures.task")
        // The client's task span, and the runner's (its local pool's), in the caller's trace.
        assert.strictEqual(taskSpans.length, 2, spans.map((span) => span.name).join(", "))
        for (const span of [...taskSpans, ...named("outer"), ...named("inner")]) {
          assert.strictEqual(span.traceId, caller.traceId, span.name)
        }
        assert.strictEqual(named("inner").length, 1)
      }).pipe(Effect.scoped, Effect.provideService(Tracer.Tracer, tracer))
    },
    60_000
  )
})
