/**
 * Awaiting a future one owns (`Executor.map`, `Bridge.run`, the cluster runner): interrupting the waiter cancels
 * the future, and `awaitOwnedExit` hands every outcome back as an `Exit`, failing only when the submit does.
 * `layerFibers` under `TestClock`: the sleeping task never ends unless the test moves the clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Executor from "../../../src/Executor.ts"
import { ExecutorShutdown } from "../../../src/ExecutorError.ts"
import * as Future from "../../../src/Future.ts"
import { awaitOwned, awaitOwnedExit } from "../../../src/internal/executor/awaitOwned.ts"
import { double, failWith, sleepFor } from "../../fixtures/tasks.ts"

const fibers = Executor.layerFibers({ concurrency: 2 })

describe("awaitOwned", () => {
  it.effect("awaitOwnedExit gives a failed task's outcome as an Exit, and a success as one", () =>
    Effect.gen(function* () {
      const failed = yield* awaitOwnedExit(Executor.submit(failWith, 7))
      assert.isTrue(Exit.isFailure(failed))
      assert.strictEqual(Exit.isFailure(failed) && failed.cause.reasons[0]?._tag, "Fail")
      assert.deepStrictEqual(yield* awaitOwnedExit(Executor.submit(double, 21)), Exit.succeed(42))
    }).pipe(Effect.provide(fibers))
  )

  it.effect("awaitOwnedExit fails only when the submit does", () =>
    Effect.gen(function* () {
      yield* Executor.shutdown()
      const error = yield* Effect.flip(awaitOwnedExit(Executor.submit(double, 1)))
      assert.instanceOf(error, ExecutorShutdown)
    }).pipe(Effect.provide(fibers))
  )

  for (const [name, wait] of [
    ["awaitOwned", awaitOwned],
    ["awaitOwnedExit", awaitOwnedExit]
  ] as const) {
    it.effect(`${name}: interrupting the waiter cancels the future it owns`, () =>
      Effect.gen(function* () {
        let owned: Future.Future<number, unknown> | undefined
        const submitting = Effect.map(Executor.submit(sleepFor, 60_000), (future) => (owned = future))
        const waiter = yield* Effect.forkChild(wait(submitting))
        while (owned === undefined || (yield* Future.state(owned)) !== "RUNNING") yield* Effect.yieldNow
        yield* Fiber.interrupt(waiter)
        assert.strictEqual(yield* Future.state(owned), "CANCELLED")
      }).pipe(Effect.provide(fibers))
    )
  }
})
