/**
 * `Future.map` and `Future.flatMap`: chaining futures, cancellation and failure flowing through. Time is `TestClock` (`it.effect`): nothing sleeps for real and nothing
 * asserts on the wall clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { ExecutorError, Future } from "../../src/index.ts"
import { runningFuture, pending, running, successful, failed, cancelledPending, Bug, letOthersRun } from "./helpers.ts"

describe("Future.map", () => {
  it.effect("transforms the value; a failure passes through untouched", () =>
    Effect.gen(function* () {
      const doubled = yield* Future.map(yield* successful(21), (n) => n * 2)
      assert.strictEqual(yield* doubled, 42)
      let called = false
      const failure = yield* Future.map(yield* failed("boom"), (n) => {
        called = true
        return n * 2
      })
      assert.strictEqual(yield* Effect.flip(Future.result(failure)), "boom")
      assert.isFalse(called)
    })
  )

  it.effect("chains", () =>
    Effect.gen(function* () {
      const source = yield* pending
      const a = yield* Future.map(source, (n) => n + 1)
      const b = yield* Future.map(a, (n) => n * 10)
      const c = yield* b.pipe(Future.map((n) => `${n}!`))
      yield* Future.complete(source, 1)
      assert.strictEqual(yield* c, "20!")
      assert.strictEqual(yield* Future.state(c), "FINISHED")
    })
  )

  it.effect("mirrors its source: PENDING while the source is pending, RUNNING once it runs", () =>
    Effect.gen(function* () {
      const derivedFromPending = yield* Future.map(yield* pending, (n) => n + 1)
      yield* letOthersRun
      assert.strictEqual(yield* Future.state(derivedFromPending), "PENDING")
      const { future, gate } = yield* runningFuture<number>()
      const derivedFromRunning = yield* Future.map(future, (n) => n + 1)
      yield* letOthersRun
      assert.strictEqual(yield* Future.state(derivedFromRunning), "RUNNING")
      assert.isTrue(yield* Future.running(derivedFromRunning))
      yield* Deferred.succeed(gate, 1)
      assert.strictEqual(yield* derivedFromRunning, 2)
    })
  )

  it.effect("cancelling it while the source is pending: true, its function never runs, the source is spared", () =>
    Effect.gen(function* () {
      let called = false
      const source = yield* pending
      const derived = yield* Future.map(source, (n) => {
        called = true
        return n + 1
      })
      yield* letOthersRun
      assert.isTrue(yield* Future.cancel(derived))
      assert.strictEqual(yield* Future.state(derived), "CANCELLED")
      assert.strictEqual(yield* Future.state(source), "PENDING")
      assert.isTrue(yield* Future.complete(source, 1))
      yield* letOthersRun
      assert.isFalse(called)
      assert.strictEqual(yield* Future.state(derived), "CANCELLED")
      assert.strictEqual(yield* source, 1)
    })
  )

  it.effect("cancelling it at once, before its fiber has had a turn, is the same", () =>
    Effect.gen(function* () {
      let called = false
      const source = yield* pending
      const derived = yield* Future.map(source, (n) => {
        called = true
        return n + 1
      })
      assert.strictEqual(yield* Future.state(derived), "PENDING")
      assert.isTrue(yield* Future.cancel(derived))
      assert.strictEqual(yield* Future.state(derived), "CANCELLED")
      yield* Future.complete(source, 1)
      yield* letOthersRun
      assert.isFalse(called)
    })
  )

  it.effect("cancelling it while the source runs: false; interrupting it spares the source", () =>
    Effect.gen(function* () {
      const { future: source, gate } = yield* runningFuture<number>()
      const derived = yield* Future.map(source, (n) => n + 1)
      yield* letOthersRun
      assert.isFalse(yield* Future.cancel(derived))
      assert.strictEqual(yield* Future.state(derived), "RUNNING")
      yield* Future.interrupt(derived)
      assert.strictEqual(yield* Future.state(derived), "CANCELLED")
      assert.strictEqual(yield* Future.state(source), "RUNNING")
      yield* Deferred.succeed(gate, 1)
      assert.strictEqual(yield* source, 1)
    })
  )

  it.effect("is cancelled when its source is, whether cancelled, interrupted or already cancelled", () =>
    Effect.gen(function* () {
      const p = yield* pending
      const fromPending = yield* Future.map(p, (n) => n + 1)
      yield* letOthersRun
      yield* Future.cancel(p)
      yield* Future.await(fromPending)
      assert.strictEqual(yield* Future.state(fromPending), "CANCELLED")
      assert.instanceOf(yield* Effect.flip(fromPending), ExecutorError.CancelledError)

      const r = yield* running
      const fromRunning = yield* Future.map(r, (n) => n + 1)
      yield* letOthersRun
      yield* Future.interrupt(r)
      yield* Future.await(fromRunning)
      assert.strictEqual(yield* Future.state(fromRunning), "CANCELLED")

      const fromCancelled = yield* Future.map(yield* cancelledPending, (n) => n + 1)
      yield* Future.await(fromCancelled)
      assert.strictEqual(yield* Future.state(fromCancelled), "CANCELLED")
    })
  )

  it.effect("cancelling the root of a chain cancels every link", () =>
    Effect.gen(function* () {
      const root = yield* pending
      const a = yield* Future.map(root, (n) => n + 1)
      const b = yield* Future.map(a, (n) => n + 1)
      const c = yield* Future.map(b, (n) => n + 1)
      yield* letOthersRun
      assert.strictEqual(yield* Future.state(c), "PENDING")
      yield* Future.cancel(root)
      yield* Future.await(c)
      for (const link of [a, b, c]) assert.strictEqual(yield* Future.state(link), "CANCELLED")
    })
  )

  it.effect("a function that throws finishes it with a defect, not a cancellation", () =>
    Effect.gen(function* () {
      const derived = yield* Future.map(yield* successful(1), (): number => {
        throw new Bug("in map")
      })
      const exit = yield* Future.await(derived)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.strictEqual(yield* Future.state(derived), "FINISHED")
    })
  )
})

describe("Future.flatMap", () => {
  it.effect("chains to the next future, returned as a Future or as an Effect of one", () =>
    Effect.gen(function* () {
      const first = yield* successful(2)
      const viaEffect = yield* Future.flatMap(first, (n) =>
        Future.map(Future.fromFiber(Effect.runFork(Effect.succeed(n))), (x) => x + 1)
      )
      assert.strictEqual(yield* viaEffect, 3)
      const direct = yield* Future.flatMap(first, (n) => Future.fromFiber(Effect.runFork(Effect.succeed(n * 10))))
      assert.strictEqual(yield* direct, 20)
      const settable = yield* first.pipe(
        Future.flatMap((n) =>
          Effect.gen(function* () {
            const next = yield* Future.make<string, string>()
            yield* Future.complete(next, `got ${n}`)
            return next
          })
        )
      )
      assert.strictEqual(yield* settable, "got 2")
    })
  )

  it.effect("a failing source passes through and the function is not called", () =>
    Effect.gen(function* () {
      let called = false
      const chained = yield* Future.flatMap(yield* failed("early"), () => {
        called = true
        return Future.make<number>()
      })
      assert.strictEqual(yield* Effect.flip(Future.result(chained)), "early")
      assert.isFalse(called)
    })
  )

  it.effect("fails with the next future's error, or with the error of the Effect that makes it", () =>
    Effect.gen(function* () {
      const source = yield* successful(1)
      const nextFails = yield* Future.flatMap(source, () => failed("next"))
      assert.strictEqual(yield* Effect.flip(Future.result(nextFails)), "next")
      const makingFails = yield* Future.flatMap(source, () => Effect.fail("cannot submit" as const))
      assert.strictEqual(yield* Effect.flip(Future.result(makingFails)), "cannot submit")
    })
  )

  it.effect("is cancelled when its source is cancelled (the function never runs) or the next future is", () =>
    Effect.gen(function* () {
      let called = false
      const source = yield* pending
      const chained = yield* Future.flatMap(source, () => {
        called = true
        return successful(1)
      })
      yield* letOthersRun
      assert.strictEqual(yield* Future.state(chained), "PENDING")
      yield* Future.cancel(source)
      yield* Future.await(chained)
      assert.strictEqual(yield* Future.state(chained), "CANCELLED")
      assert.isFalse(called)

      const next = yield* running
      const toCancelled = yield* Future.flatMap(yield* successful(1), () => next)
      yield* letOthersRun
      assert.strictEqual(yield* Future.state(toCancelled), "RUNNING")
      yield* Future.interrupt(next)
      yield* Future.await(toCancelled)
      assert.strictEqual(yield* Future.state(toCancelled), "CANCELLED")
      assert.instanceOf(yield* Effect.flip(toCancelled), ExecutorError.CancelledError)
    })
  )

  it.effect("cancelling it while the source is pending: true, and the function never runs", () =>
    Effect.gen(function* () {
      let called = false
      const source = yield* pending
      const chained = yield* Future.flatMap(source, () => {
        called = true
        return successful(1)
      })
      yield* letOthersRun
      assert.isTrue(yield* Future.cancel(chained))
      yield* Future.complete(source, 1)
      yield* letOthersRun
      assert.isFalse(called)
      assert.strictEqual(yield* Future.state(chained), "CANCELLED")
      assert.strictEqual(yield* Future.state(source), "FINISHED")
    })
  )
})
