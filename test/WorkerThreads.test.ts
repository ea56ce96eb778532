/**
 * The worker-thread executor (its executor contract runs in `Executor.test.ts`, with every layer): the worker
 * contract, then what only real workers can show — crashes, out-of-memory, load errors, initializers, terminating
 * stuck tasks, recycling and leaks.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import { Executor, Future } from "../src/index.ts"
import { spin, whichWorker } from "./fixtures/workerTasks.ts"
import {
  beats,
  docParagraphs,
  eventually,
  heartbeatFile,
  runKillerParent,
  stuckForTheTest,
  workerSuite
} from "./workerContract.ts"

workerSuite("layerWorkerThreads", (options) => Executor.layerWorkerThreads(options))

describe("layerWorkerThreads: a thread shares its process", () => {
  it.live("process.kill(process.pid) from a task ends the whole application; the docs say so", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* runKillerParent("workerThreads", "self"), { code: null, signal: "SIGTERM" })
      assert.isTrue(
        docParagraphs().some(
          (paragraph) => paragraph.includes("process.kill(process.pid)") && /whole application/.test(paragraph)
        ),
        "the docs warn that a task on a worker thread can end the whole application"
      )
    })
  )
})

describe("layerWorkerThreads: spare workers", () => {
  it.live("a spare takes the place of a worker lost to an interrupted CPU-bound task, and is replenished", () =>
    Effect.gen(function* () {
      const first = yield* Effect.flatMap(Executor.submit(whichWorker, 0), (f) => Future.result(f))
      yield* eventually(Effect.map(Executor.stats, (s) => s.spares === 1))
      const heartbeat = heartbeatFile()
      const spinning = yield* Executor.submit(spin, heartbeat)
      yield* eventually(Effect.sync(() => beats(heartbeat) > 0))
      yield* Future.interrupt(spinning)
      const next = yield* Effect.flatMap(Executor.submit(whichWorker, 0), (f) => Future.result(f))
      assert.notStrictEqual(next, first, "the next task ran on another worker")
      // The spare took the lost worker's place; a new spare boots: back to one worker and one spare.
      yield* eventually(Effect.map(Executor.stats, (s) => s.spares === 1 && s.workers === 1))
    }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 1, spareWorkers: 1, interrupt: "terminate" })))
  )
})

describe("layerWorkerThreads: replacing a condemned worker", () => {
  for (const interrupt of ["terminate", "cooperative"] as const) {
    it.live(`${interrupt}: a worker ended for a cancelled task is replaced at once, with nothing queued`, () =>
      Effect.gen(function* () {
        const heartbeat = heartbeatFile()
        const spinning = yield* Executor.submit(spin, heartbeat)
        yield* eventually(Effect.sync(() => beats(heartbeat) > 0))
        const first = yield* Future.interrupt(spinning).pipe(Effect.andThen(Executor.stats))
        assert.strictEqual(first.busy, 0)
        // Nothing is submitted: the replacement boots anyway (after the grace period, for a task that would not stop).
        yield* eventually(Effect.map(Executor.stats, (s) => s.workers === 1))
        assert.match(yield* Effect.flatMap(Executor.submit(whichWorker, 0), (f) => Future.result(f)), /^\d+:\d+$/)
      }).pipe(
        Effect.provide(
          Executor.layerWorkerThreads({ maxWorkers: 1, interrupt, interruptGracePeriod: 50, idleTimeout: Infinity })
        )
      )
    )
  }

  /** Nice values of this process's threads (Linux). */
  const niceValues = () =>
    fs
      .readdirSync("/proc/self/task")
      .map((tid) => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1].split(" ")[16]))

  it.live.skipIf(!fs.existsSync("/proc/thread-self"))(
    "cooperative: a task stuck in synchronous code goes to the background until its grace period ends",
    () =>
      Effect.gen(function* () {
        const heartbeat = heartbeatFile()
        const spinning = yield* Executor.submit(spin, heartbeat)
        yield* eventually(Effect.sync(() => beats(heartbeat) > 0))
        assert.notInclude(niceValues(), 19)
        yield* Future.interrupt(spinning)
        // It cannot hear the interrupt: its thread is put in the background while the replacement boots.
        yield* eventually(Effect.sync(() => niceValues().includes(19)))
        const beat = beats(heartbeat)
        yield* eventually(Effect.sync(() => beats(heartbeat) > beat))
        assert.strictEqual(yield* Future.state(spinning), "CANCELLED")
        assert.match(yield* Effect.flatMap(Executor.submit(whichWorker, 0), (f) => Future.result(f)), /^\d+:\d+$/)
      }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 1, interruptGracePeriod: stuckForTheTest })))
  )
})
