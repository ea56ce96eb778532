/**
 * Shutdown while tasks are queued, running, crashing and being cancelled, for every combination of `wait` and
 * `cancelFutures`: it returns, and every future settles with the outcome its situation calls for.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import { Executor, ExecutorError, Future } from "../../src/index.ts"
import { failureOf } from "../contract.ts"
import { makeBoard } from "../fixtures/latch.ts"
import { double, gated } from "../fixtures/tasks.ts"
import { exitWith } from "../fixtures/workerTasks.ts"

const layers = {
  threads: () => Executor.layerWorkerThreads({ maxWorkers: 2, interruptGracePeriod: 50 }),
  processes: () => Executor.layerProcesses({ maxWorkers: 2, interruptGracePeriod: 50 })
}

const combinations = [
  { wait: true, cancelFutures: false },
  { wait: true, cancelFutures: true },
  { wait: false, cancelFutures: false },
  { wait: false, cancelFutures: true }
]

describe.each(Object.keys(layers) as Array<keyof typeof layers>)("shutdown under fire on %s", (kind) => {
  it.live.each(combinations)("shutdown(%o) settles every future", (options) =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      // Worker 1 runs a latched task that will be interrupted mid-shutdown; worker 2 one that finishes normally.
      const interrupted = yield* Executor.submit(gated, { board: board.address, index: 0 })
      const running = yield* Executor.submit(gated, { board: board.address, index: 1 })
      yield* Effect.forEach([0, 1], board.started, { discard: true })
      const crashing = yield* Executor.submit(exitWith, 3)
      const queued = yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(double, n))

      const shutting = yield* Effect.forkChild(Executor.shutdown(options))
      // Let shutdown begin (and cancel what is pending) before anything frees a worker.
      if (options.cancelFutures) {
        yield* Future.state(crashing).pipe(
          Effect.repeat({ until: (state) => state === "CANCELLED", schedule: Schedule.spaced(5) })
        )
      }
      yield* Future.interrupt(interrupted)
      yield* board.release(1)
      // A hang guard, not a timing assertion: shutdown must return.
      yield* Fiber.join(shutting).pipe(Effect.timeout("60 seconds"))
      const all = [interrupted, running, crashing, ...queued]
      yield* Effect.forEach(all, (f) => Future.await(f), { discard: true }).pipe(Effect.timeout("60 seconds"))

      assert.strictEqual(yield* Future.state(interrupted), "CANCELLED")
      assert.strictEqual(yield* running, 1)
      const queuedStates = yield* Effect.forEach(queued, Future.state)
      if (options.cancelFutures) {
        // The crashing task and the queued ones were pending when shutdown began: cancelled, never run.
        assert.deepStrictEqual(queuedStates, ["CANCELLED", "CANCELLED", "CANCELLED"])
        assert.strictEqual(yield* Future.state(crashing), "CANCELLED")
      } else {
        assert.deepStrictEqual(yield* Effect.forEach(queued, (f) => Future.result(f)), [2, 4, 6])
        assert.instanceOf(failureOf(yield* Future.await(crashing)), ExecutorError.WorkerCrashed)
      }
      const refused = yield* Effect.flip(Executor.submit(double, 9))
      assert.instanceOf(refused, ExecutorError.ExecutorShutdown)
    }).pipe(Effect.provide(layers[kind]()))
  )
})
