/**
 * The bad-input matrix: each case gets a typed error naming what was wrong, and the executor stays healthy.
 * (Cases also covered by the contract suites are listed there: payload and result Schemas, load errors, queue full,
 * submit after shutdown, invalid options.)
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Executor, ExecutorError, Future, Task } from "../../src/index.ts"
import { failureOf } from "../contract.ts"
import { double } from "../fixtures/tasks.ts"
import { anything } from "../fixtures/faultTasks.ts"

const healthy = Effect.gen(function* () {
  assert.strictEqual(yield* Effect.flatMap(Executor.submit(double, 4), (f) => Future.result(f)), 8)
})

describe.each([
  ["layerWorkerThreads", () => Executor.layerWorkerThreads({ maxWorkers: 1 })],
  ["layerProcesses", () => Executor.layerProcesses({ maxWorkers: 1 })]
] as const)("bad input on %s", (_, makeLayer) => {
  it.live("a payload that cannot cross to a worker (a function) fails that future with EncodeError", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* Future.await(yield* Executor.submit(anything, { callback: () => 1 })))
      assert.instanceOf(error, ExecutorError.EncodeError)
      assert.strictEqual((error as ExecutorError.EncodeError).which, "payload")
      assert.include(error.message, "cannot be sent to a worker")
      yield* healthy
    }).pipe(Effect.provide(makeLayer()))
  )

  it.live("a result that cannot cross back (a function) fails that future with EncodeError", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* Future.await(yield* Executor.submit(anything, "return a function")))
      assert.instanceOf(error, ExecutorError.EncodeError)
      assert.strictEqual((error as ExecutorError.EncodeError).which, "success")
      yield* healthy
    }).pipe(Effect.provide(makeLayer()))
  )
})

describe("bad options", () => {
  it.live.each([
    [{ maxWorkers: 0 }, "maxWorkers", "a positive integer"],
    [{ maxWorkers: 1.5 }, "maxWorkers", "a positive integer"],
    [{ minWorkers: 3, maxWorkers: 2 }, "minWorkers", "at most `maxWorkers` (2)"],
    [{ idleTimeout: -1 }, "idleTimeout", "a non-negative duration"],
    [{ interruptGracePeriod: "soon" }, "interruptGracePeriod", "a duration"],
    [{ shutdownTimeout: -10 }, "shutdownTimeout", "a non-negative duration"],
    [{ maxQueue: -1 }, "maxQueue", "a non-negative integer"],
    [{ onFull: "drop" }, "onFull", 'one of "suspend", "fail"'],
    [{ interrupt: "kill" }, "interrupt", 'one of "cooperative", "terminate"'],
    [{ resourceLimits: { heapMb: 10 } }, "resourceLimits", "an object with any of"],
    [{ initializer: { task: "setup", input: 1 } }, "initializer", "{ task, input }"],
    [{ name: "" }, "name", "a non-empty string"]
  ] as const)("%o fails the layer with InvalidOptions naming %s", ([options, option, expected]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(Executor.layerWorkerThreads(options as Executor.WorkerOptions)))
      )
      assert.instanceOf(error, ExecutorError.InvalidOptions)
      assert.strictEqual(error.option, option)
      assert.include(error.expected, expected)
      assert.include(error.message, `Expected \`${option}\``)
    })
  )

  it.live("options that are not an object fail with InvalidOptions", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Executor.layerFibers(42 as never))))
      assert.strictEqual(error.option, "options")
    })
  )
})

describe("bad task definitions", () => {
  it("a duplicate task name in one module is refused when the module loads", () => {
    assert.throws(
      () =>
        Task.make("double", {
          module: double.module,
          payload: Schema.Number,
          success: Schema.Number,
          run: Effect.succeed
        }),
      /already defined/
    )
  })
})
