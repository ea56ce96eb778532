/**
 * Every local executor layer: the shared contract (`contract.ts`), run through one table of layers, plus what only
 * fibers can show under `TestClock`. Layer-specific behaviour of the worker layers is in `WorkerThreads.test.ts`
 * and `Processes.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Executor, ExecutorError, Future } from "../src/index.ts"
import { type ContractOptions, contractSuite, type MakeLayer } from "./contract.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { double, gated, sleepFor } from "./fixtures/tasks.ts"

const queueOptions = (options: ContractOptions) => ({
  ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
  ...(options.onFull !== undefined ? { onFull: options.onFull } : {})
})

/** Every local layer, made from the contract's options. */
const layers: ReadonlyArray<readonly [string, MakeLayer]> = [
  ["layerFibers", (options) => Executor.layerFibers({ concurrency: options.workers, ...queueOptions(options) })],
  [
    "layerWorkerThreads",
    (options) => Executor.layerWorkerThreads({ maxWorkers: options.workers, ...queueOptions(options) })
  ],
  ["layerProcesses", (options) => Executor.layerProcesses({ maxWorkers: options.workers, ...queueOptions(options) })]
]

for (const [label, makeLayer] of layers) contractSuite(label, makeLayer)

describe("layerFibers under TestClock", () => {
  it.effect("tasks that sleep follow the test clock; result timeouts fail with TimeoutError", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(sleepFor, 1000)
      const early = yield* Effect.forkChild(Effect.flip(Future.result(future, { timeout: 500 })))
      yield* TestClock.adjust(500)
      const timedOut = yield* Fiber.join(early)
      assert.isTrue(Cause.isTimeoutError(timedOut))
      assert.strictEqual(yield* Future.state(future), "RUNNING", "a result timeout does not cancel the future")
      yield* TestClock.adjust(500)
      assert.strictEqual(yield* future, 1000)
    }).pipe(Effect.provide(Executor.layerFibers({ concurrency: 1 })))
  )

  it.effect("shutdownTimeout bounds a graceful shutdown, then interrupts running tasks", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(sleepFor, 60_000)
      yield* Effect.yieldNow
      const shutting = yield* Effect.forkChild(Executor.shutdown({ wait: true }))
      yield* TestClock.adjust(1_000)
      yield* Fiber.join(shutting)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    }).pipe(Effect.provide(Executor.layerFibers({ concurrency: 1, shutdownTimeout: "1 second" })))
  )

  it.effect("an initializer that fails breaks the executor", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Executor.submit(double, 1))
      assert.instanceOf(error, ExecutorError.BrokenExecutor)
      assert.include(error.message, "initializer")
    }).pipe(
      Effect.provide(
        Executor.layerFibers({
          concurrency: 1,
          initializer: { task: double, input: "not a number" }
        })
      )
    )
  )

  it.effect("map with a timeout fails with TimeoutError after what finished in time, and cancels the rest", () =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      const inputs = [0, 1].map((index) => ({ board: board.address, index }))
      const collected: Array<number> = []
      const fiber = yield* Effect.forkChild(
        Effect.flip(
          Stream.runForEach(Executor.map(gated, inputs, { timeout: 1000 }), (n) => Effect.sync(() => collected.push(n)))
        )
      )
      yield* board.started(0)
      yield* board.release(0)
      yield* board.started(1)
      yield* TestClock.adjust(1000)
      const error = yield* Fiber.join(fiber)
      assert.isTrue(Cause.isTimeoutError(error))
      assert.deepStrictEqual(collected, [0])
      const stats = yield* Executor.stats
      assert.strictEqual(stats.completed, 1)
      assert.strictEqual(stats.cancelled, 1)
      assert.strictEqual(stats.busy, 0)
    }).pipe(Effect.provide(Executor.layerFibers({ concurrency: 1 })))
  )
})

describe("layerFibers options", () => {
  it.effect("an unknown or misspelled option fails the layer, naming it and listing the valid ones", () =>
    Effect.gen(function* () {
      const build = (options: object) =>
        Effect.flip(Effect.scoped(Layer.build(Executor.layerFibers(options as Executor.FiberOptions))))
      const misspelled = yield* build({ concurency: 2 })
      assert.instanceOf(misspelled, ExecutorError.InvalidOptions)
      assert.strictEqual(misspelled.option, "concurency")
      assert.strictEqual(
        misspelled.message,
        "Expected `concurency` to be an option of layerFibers (did you mean `concurrency`?): one of maxQueue, " +
          "onFull, shutdownTimeout, initializer, name, concurrency, got 2"
      )
      // Worker pools' options mean nothing here: refused rather than ignored.
      const foreign = yield* build({ concurrency: 1, maxWorkers: 4 })
      assert.strictEqual(foreign.option, "maxWorkers")
      assert.notInclude(foreign.expected, "did you mean")
      const bad = yield* build({ concurrency: 0 })
      assert.strictEqual(bad.option, "concurrency")
    })
  )
})
