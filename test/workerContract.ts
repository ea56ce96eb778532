/**
 * What every worker-backed executor (threads, processes) must keep on top of the executor contract: crash isolation,
 * bounded restarts, load errors that fail one future, real cancellation of CPU-bound work, recycling, limits and a
 * shutdown that never hangs. Time-dependent waits poll a condition; nothing asserts on wall-clock durations.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule } from "effect"
import { Executor, ExecutorError, Future } from "../src/index.ts"
import { failureOf } from "./contract.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { Boom, double, failWith, gated } from "./fixtures/tasks.ts"
import {
  bytes,
  exhaustMemory,
  exitWith,
  heapLimit,
  initFails,
  initOk,
  missingModule,
  notExported,
  readInit,
  spin,
  throwOutside,
  whichWorker
} from "./fixtures/workerTasks.ts"

export type MakeWorkerLayer = (
  options: Executor.WorkerOptions
) => Layer.Layer<Executor.Executor, ExecutorError.InvalidOptions>

/** Polls `condition` every few milliseconds until it holds: waiting for a real-time event, not asserting its timing. */
export const eventually = <R>(condition: Effect.Effect<boolean, never, R>) =>
  condition.pipe(Effect.repeat({ until: (held) => held, schedule: Schedule.spaced(5) }), Effect.asVoid)

let heartbeats = 0
/** A fresh file for a `spin` task's heartbeat. */
export const heartbeatFile = () => {
  const file = path.join(
    os.tmpdir(),
    `effect-futures-beat-${process.pid}-${heartbeats++}-${Math.random().toString(36).slice(2)}`
  )
  fs.rmSync(file, { force: true })
  return file
}
const readBeat = (file: string): [number, number] => {
  try {
    const content = fs.readFileSync(file, "utf8")
    // A write may be caught halfway: only a complete line counts.
    if (!content.endsWith("\n")) return [0, 0]
    const [beat, pid] = content.trim().split(" ").map(Number)
    return [beat || 0, pid || 0]
  } catch {
    return [0, 0]
  }
}
/** How many heartbeats a `spin` task wrote so far. */
export const beats = (file: string): number => readBeat(file)[0]
/** The pid of the process running a `spin` task. */
export const spinnerPid = (file: string): number => readBeat(file)[1]

export const workerSuite = (label: string, makeLayer: MakeWorkerLayer) => {
  const withExecutor =
    (options: Executor.WorkerOptions) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.provide(effect, makeLayer(options))

  describe(`${label}: crash isolation`, () => {
    it.live("a worker that exits fails only its task with WorkerCrashed; queued tasks run on a replacement", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const other = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        const crashing = yield* Executor.submit(exitWith, 3)
        const queued = yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(double, n))
        const crash = failureOf(yield* Future.await(crashing))
        assert.instanceOf(crash, ExecutorError.WorkerCrashed)
        const crashed = crash as ExecutorError.WorkerCrashed
        assert.strictEqual(crashed.exitCode, 3)
        assert.isFalse(crashed.oom)
        assert.include(crashed.message, "exitWith")
        assert.deepStrictEqual(yield* Effect.forEach(queued, (f) => Future.result(f)), [2, 4, 6])
        assert.strictEqual(yield* Future.state(other), "RUNNING", "the task on the other worker is untouched")
        yield* board.release(0)
        assert.strictEqual(yield* other, 0)
        const stats = yield* Executor.stats
        assert.strictEqual(stats.crashed, 1)
      }).pipe(withExecutor({ maxWorkers: 2 }))
    )

    it.live("an exception thrown outside any task kills only that worker's task", () =>
      Effect.gen(function* () {
        const error = failureOf(yield* Future.await(yield* Executor.submit(throwOutside, "stray timer")))
        assert.instanceOf(error, ExecutorError.WorkerCrashed)
        assert.include(error.message, "stray timer")
        assert.strictEqual(yield* yield* Executor.submit(double, 4), 8)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )

    it.live("running out of memory is WorkerCrashed with oom: true, and the pool recovers", () =>
      Effect.gen(function* () {
        const error = failureOf(yield* Future.await(yield* Executor.submit(exhaustMemory, 0)))
        assert.instanceOf(error, ExecutorError.WorkerCrashed)
        assert.isTrue((error as ExecutorError.WorkerCrashed).oom, error.message)
        assert.strictEqual(yield* yield* Executor.submit(double, 5), 10)
      }).pipe(withExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } }))
    )

    it.live("typed failures and defects do not harm the worker", () =>
      Effect.gen(function* () {
        const first = yield* yield* Executor.submit(whichWorker, 0)
        const failure = failureOf(yield* Future.await(yield* Executor.submit(failWith, 9)))
        assert.instanceOf(failure, Boom)
        assert.strictEqual(yield* yield* Executor.submit(whichWorker, 0), first)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )
  })

  describe(`${label}: broken executor and load errors`, () => {
    it.live("an initializer that fails breaks the executor: pending futures and later submits fail", () =>
      Effect.gen(function* () {
        const pending = yield* Executor.submit(double, 1)
        const error = failureOf(yield* Future.await(pending))
        assert.instanceOf(error, ExecutorError.BrokenExecutor)
        assert.include(error.message, "initFails")
        const refused = yield* Effect.flip(Executor.submit(double, 2))
        assert.instanceOf(refused, ExecutorError.BrokenExecutor)
      }).pipe(withExecutor({ maxWorkers: 2, initializer: { task: initFails, input: "no database" } }))
    )

    it.live("workers that keep dying while starting break the executor after a bounded number of tries", () =>
      Effect.gen(function* () {
        const error = failureOf(yield* Future.await(yield* Executor.submit(double, 1)))
        assert.instanceOf(error, ExecutorError.BrokenExecutor)
        assert.include(error.message, "in a row")
      }).pipe(withExecutor({ maxWorkers: 1, initializer: { task: exitWith, input: 1 } }))
    )

    it.live("an initializer runs once per worker before its tasks", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* yield* Executor.submit(readInit, 0), "ready")
      }).pipe(withExecutor({ maxWorkers: 1, initializer: { task: initOk, input: "ready" } }))
    )

    it.live("a task whose module lacks it, or does not exist, fails with TaskLoadError; the pool stays healthy", () =>
      Effect.gen(function* () {
        const absent = failureOf(yield* Future.await(yield* Executor.submit(notExported, 1)))
        assert.instanceOf(absent, ExecutorError.TaskLoadError)
        assert.strictEqual((absent as ExecutorError.TaskLoadError).task, "notExported")
        assert.include(absent.message, "no task named")
        const missing = failureOf(yield* Future.await(yield* Executor.submit(missingModule, 1)))
        assert.instanceOf(missing, ExecutorError.TaskLoadError)
        assert.include(missing.message, "failed to import")
        assert.strictEqual(yield* yield* Executor.submit(double, 6), 12)
        assert.strictEqual((yield* Executor.stats).crashed, 0)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )
  })

  describe(`${label}: cancellation of CPU-bound work`, () => {
    const stopsSpinning = (options: Executor.WorkerOptions) =>
      Effect.gen(function* () {
        const heartbeat = heartbeatFile()
        const spinning = yield* Executor.submit(spin, heartbeat)
        yield* eventually(Effect.sync(() => beats(heartbeat) > 0))
        yield* Future.interrupt(spinning)
        assert.strictEqual(yield* Future.state(spinning), "CANCELLED")
        // The slot is free at once: the next task runs on a fresh worker while the old one is stopped.
        assert.strictEqual(yield* yield* Executor.submit(double, 21), 42)
        // The spinning worker is terminated: its heartbeat stops.
        let last = -1
        yield* eventually(
          Effect.sync(() => {
            const now = beats(heartbeat)
            const still = now === last
            last = now
            return still
          }).pipe(Effect.delay(20))
        )
        const stats = yield* Executor.stats
        assert.isAtMost(stats.workers, 1)
        assert.strictEqual(stats.cancelled, 1)
      }).pipe(withExecutor(options))

    it.live("cooperative interrupt terminates a stuck synchronous task after the grace period", () =>
      stopsSpinning({ maxWorkers: 1, interrupt: "cooperative", interruptGracePeriod: 50 })
    )

    it.live("terminate interrupt stops it at once", () => stopsSpinning({ maxWorkers: 1, interrupt: "terminate" }))

    it.live("cooperative interrupt interrupts the task's fiber inside the worker: its finalizers run", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const waiting = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        yield* Future.interrupt(waiting)
        yield* eventually(Effect.sync(() => board.wasInterrupted(0)))
        assert.strictEqual(yield* yield* Executor.submit(double, 1), 2)
        assert.strictEqual((yield* Executor.stats).crashed, 0)
      }).pipe(withExecutor({ maxWorkers: 1, interruptGracePeriod: "1 minute" }))
    )
  })

  describe(`${label}: pre-queued work`, () => {
    it.live("a task pre-queued behind a long one moves to a worker that becomes free", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const long = yield* Executor.submit(gated, { board: board.address, index: 0 })
        const short = yield* Executor.submit(gated, { board: board.address, index: 1 })
        yield* Effect.forEach([0, 1], board.started)
        // Both workers are busy: these wait on them, one behind each gated task.
        const queued = yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(double, n))
        yield* board.release(1)
        assert.strictEqual(yield* short, 1)
        // The long task still runs; everything pre-queued behind it was taken over by the free worker.
        const results = yield* Effect.forEach(queued, (f) => Future.result(f, { timeout: "20 seconds" }))
        assert.deepStrictEqual(results, [2, 4, 6])
        assert.strictEqual(yield* Future.state(long), "RUNNING")
        yield* board.release(0)
        assert.strictEqual(yield* long, 0)
      }).pipe(withExecutor({ maxWorkers: 2 }))
    )
  })

  describe(`${label}: recycling and limits`, () => {
    it.live("maxTasksPerWorker replaces a worker after that many tasks", () =>
      Effect.gen(function* () {
        const ids = yield* Effect.forEach([0, 1, 2, 3], () =>
          Effect.flatMap(Executor.submit(whichWorker, 0), Future.result)
        )
        assert.strictEqual(ids[0], ids[1])
        assert.notStrictEqual(ids[1], ids[2])
        assert.strictEqual(ids[2], ids[3])
      }).pipe(withExecutor({ maxWorkers: 1, maxTasksPerWorker: 2 }))
    )

    it.live("idleTimeout stops idle workers above minWorkers", () =>
      Effect.gen(function* () {
        yield* Effect.forEach([1, 2], (n) => Effect.flatMap(Executor.submit(double, n), Future.result), {
          concurrency: 2
        })
        yield* eventually(Effect.map(Executor.stats, (s) => s.workers === 1))
        assert.strictEqual(yield* yield* Executor.submit(double, 3), 6)
      }).pipe(withExecutor({ maxWorkers: 2, minWorkers: 1, idleTimeout: 20 }))
    )

    it.live("resourceLimits apply to each worker", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* yield* Executor.submit(heapLimit, 0), 48)
      }).pipe(withExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 48 } }))
    )

    it.live("binary results arrive intact", () =>
      Effect.gen(function* () {
        const result = yield* yield* Executor.submit(bytes, 1024)
        assert.instanceOf(result, Uint8Array)
        assert.strictEqual(result.length, 1024)
        assert.strictEqual(result[1023], 7)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )

    it.live("invalid worker options fail the layer with InvalidOptions", () =>
      Effect.gen(function* () {
        const build = (options: Executor.WorkerOptions) => Effect.flip(Effect.scoped(Layer.build(makeLayer(options))))
        const min = yield* build({ maxWorkers: 1, minWorkers: 2 })
        assert.strictEqual(min.option, "minWorkers")
        const grace = yield* build({ interruptGracePeriod: -5 })
        assert.strictEqual(grace.option, "interruptGracePeriod")
        const policy = yield* build({ interrupt: "politely" as never })
        assert.strictEqual(policy.option, "interrupt")
        const limits = yield* build({ resourceLimits: { maxOldGenerationSizeMb: 0 } })
        assert.strictEqual(limits.option, "resourceLimits.maxOldGenerationSizeMb")
      })
    )
  })

  describe(`${label}: shutdown never hangs`, () => {
    it.live("closing the scope with a worker stuck in a synchronous loop returns after shutdownTimeout", () =>
      Effect.gen(function* () {
        const heartbeat = heartbeatFile()
        const future = yield* Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(
              makeLayer({ maxWorkers: 1, shutdownTimeout: 50, interruptGracePeriod: 50 })
            )
            const future = yield* Executor.submit(spin, heartbeat).pipe(Effect.provideContext(context))
            yield* eventually(Effect.sync(() => beats(heartbeat) > 0))
            return future
          })
        )
        assert.strictEqual(yield* Future.state(future), "CANCELLED")
      })
    )

    it.live("shutdown while tasks are queued, running and crashing settles every future", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const futures: Array<Future.Future<unknown, unknown>> = [
          yield* Executor.submit(gated, { board: board.address, index: 0 }),
          yield* Executor.submit(exitWith, 1),
          yield* Executor.submit(gated, { board: board.address, index: 1 }),
          yield* Executor.submit(double, 1)
        ]
        yield* board.started(0)
        const shutting = yield* Effect.forkChild(Executor.shutdown({ wait: true, cancelFutures: true }))
        yield* board.release(0)
        yield* board.release(1)
        yield* Fiber.join(shutting)
        const states = yield* Effect.forEach(futures, Future.state)
        assert.isTrue(
          states.every((s) => s === "FINISHED" || s === "CANCELLED"),
          states.join()
        )
        assert.strictEqual(yield* futures[0] as Future.Future<number, unknown>, 0)
      }).pipe(withExecutor({ maxWorkers: 2 }))
    )
  })
}
