/**
 * The cluster executor: the shared executor contract against a cluster on this machine (3 runner processes on one
 * SQLite file), then what only a cluster can show: a runner killed mid-run loses no task, a client with no runner
 * fails after its submit deadline, values survive JSON storage, and the worker pool's errors cross as themselves.
 *
 * With `EFFECT_FUTURES_POSTGRES_URL` set (`npm run test:postgres` does it), the same runs against that Postgres.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Schema, Scope, Stream } from "effect"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Executor, ExecutorError, Future, Task } from "../src/index.ts"
import * as Cluster from "../src/Cluster.ts"
import { contractSuite, failureOf } from "./contract.ts"
import {
  countRows,
  execStorage,
  fastTimings,
  type TestCluster,
  poll,
  queryStorage,
  sqliteStorage,
  startCluster,
  fixtureModules,
  tables,
  testSecret
} from "./fixtures/clusterHarness.ts"
import { writeMarker } from "./fixtures/clusterMarker.ts"
import { richEcho, slowJob, starts } from "./fixtures/clusterTasks.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { Boom, double, gated } from "./fixtures/tasks.ts"
import { exitWith } from "./fixtures/workerTasks.ts"
import { outsideMarker } from "./outside/markerTasks.ts"
import { eventually } from "./workerContract.ts"

const postgres = process.env.EFFECT_FUTURES_POSTGRES_URL
const label = postgres === undefined ? "Cluster.layer (SQLite)" : "Cluster.layer (Postgres)"

/**
 * Storage for one cluster: a fresh SQLite file, or on Postgres the next of the databases `test:postgres` created
 * (`effect_futures_1` to `_4`), so clusters never see each other's runners.
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

contractSuite(label, (options) =>
  clientOf({
    maxInFlight: options.workers,
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.onFull !== undefined ? { onFull: options.onFull } : {})
  }).pipe(
    Layer.catchTag("ClusterStorageError", (error) => Layer.effectDiscard(Effect.die(error)))
  ) as Layer.Layer<Executor.Executor, ExecutorError.InvalidOptions>
)

/** The option an `InvalidOptions` names, or the tag of another error. */
const optionOf = (error: ExecutorError.InvalidOptions | ExecutorError.ClusterStorageError) =>
  error._tag === "InvalidOptions" ? error.option : error._tag

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
              Effect.flatMap(Executor.submit(slowJob, { index: 0, millis: 0, log: os.devNull }), (f) =>
                Future.result(f)
              )
            )
            for (const { pid } of batch) answered.add(pid)
            return answered.size === pids.size
          }).pipe(Effect.orDie, Effect.provideContext(context))
        )
        const before = yield* Executor.stats.pipe(Effect.provideContext(context))
        const futures = yield* Effect.forEach(
          Array.from({ length: 30 }, (_, index) => index),
          (index) => Executor.submit(slowJob, { index, millis: 1_000, log })
        ).pipe(Effect.provideContext(context))

        // Kill a runner while it is running a task that has not finished: mid-way, by construction.
        let victim: number | undefined
        yield* eventually(
          Effect.gen(function* () {
            const done = new Set<number>()
            for (const [index, future] of futures.entries()) if (yield* Future.done(future)) done.add(index)
            if (done.size === 0) return false
            // The most recent start: the task furthest from finishing when the kill lands.
            const running = [...starts(log)].reverse().find((start) => pids.has(start.pid) && !done.has(start.index))
            victim = running?.pid
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
const stillServes = Effect.suspend(() => Effect.gen(function* () {
  const file = markerFile()
  assert.strictEqual(yield* yield* Executor.submit(writeMarker, { file }), "ran")
  assert.isTrue(fs.existsSync(file))
  assert.deepStrictEqual(
    yield* Effect.forEach([1, 2, 3], (n) => Effect.flatMap(Executor.submit(double, n), Future.result)),
    [2, 4, 6]
  )
}).pipe(Effect.provide(clientOf())))

/**
 * Waits until every runner of the shared cluster answers, so that its shards have settled: a runner refuses a replay
 * of a request it ran itself, and a shard that moved would bring the replay to another runner.
 */
const everyRunnerAnswers = Effect.suspend(() => {
  const answered = new Set<number>()
  return eventually(
    Effect.gen(function* () {
      const batch = yield* Effect.forEach(Array.from({ length: 12 }), () =>
        Effect.flatMap(Executor.submit(slowJob, { index: 0, millis: 0, log: os.devNull }), (f) => Future.result(f))
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
              Cluster.layer({ storage: shared!.storage, durability, timings: fastTimings, secret, submitDeadline: "20 seconds" })
            )
          )
          const error = failureOf(exit)
          assert.instanceOf(error, ExecutorError.Unauthenticated, `secret: ${secret}`)
          assert.strictEqual((error as ExecutorError.Unauthenticated).task, "writeMarker")
          assert.isFalse(fs.existsSync(file), "the task did not run")
        }
        assert.match(shared!.runners.map((runner) => runner.stderr()).join(""), /refused a request: its tag does not verify/)
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
      yield* poll("the task runs", Effect.sync(() => fs.existsSync(file)))
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
        insert({ id: "id + 7", messageId: "message_id || '-forged'", payload: `REPLACE(payload, '${file}', '${forged}')` })
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

      const logs = shared!.runners.map((runner) => runner.stderr()).join("")
      // Each refusal is logged with where it came from and the envelope (the row's id).
      assert.match(
        logs,
        new RegExp(`refused a request: its tag does not verify[^}]*peer: 'storage [^}]*envelope: '${forgedRow.id}'`)
      )
      assert.match(logs, new RegExp(`refused a request: it is a replay[^}]*peer: 'storage [^}]*envelope: '${id}'`))
      yield* execStorage(storage, [
        `DELETE FROM ${tables.replies} WHERE request_id IN (${id}, ${forgedRow.id})`,
        `DELETE FROM ${tables.messages} WHERE id IN (${id}, ${forgedRow.id})`,
        `DROP TABLE ${copy}`
      ])
      yield* stillServes
    }).pipe(Effect.provide(clientOf()))
  )
})
