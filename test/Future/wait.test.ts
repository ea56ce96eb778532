/**
 * `Future.wait`, ported from CPython's test_wait.py. Time is `TestClock` (`it.effect`): nothing sleeps for real and nothing
 * asserts on the wall clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import { Future } from "../../src/index.ts"
import {
  runningFuture,
  pending,
  running,
  successful,
  failed,
  cancelledPending,
  interruptedRunning,
  defected,
  letOthersRun
} from "./helpers.ts"

describe("Future.wait", () => {
  // CPython: test_20369.
  it.effect("counts each distinct future once, from any iterable; no futures is done at once", () =>
    Effect.gen(function* () {
      const a = yield* successful(1)
      const { done, notDone } = yield* Future.wait([a, a], { returnWhen: "ALL_COMPLETED" })
      assert.sameMembers(done, [a])
      assert.sameMembers(notDone, [])
      const b = yield* pending
      const repeated = function* () {
        yield b
        yield a
        yield b
      }
      const fiber = yield* Effect.forkChild(Future.wait(repeated()))
      yield* letOthersRun
      yield* Future.complete(b, 2)
      assert.sameMembers((yield* Fiber.join(fiber)).done, [a, b])
      assert.sameMembers((yield* Future.wait(new Set([a, b]))).done, [a, b])
      assert.deepStrictEqual(yield* Future.wait([]), { done: [], notDone: [] })
      assert.deepStrictEqual(yield* Future.wait([], { returnWhen: "FIRST_COMPLETED" }), { done: [], notDone: [] })
      assert.deepStrictEqual(yield* Future.wait([], { returnWhen: "FIRST_EXCEPTION" }), { done: [], notDone: [] })
    })
  )

  // CPython: test_first_completed.
  it.effect("FIRST_COMPLETED returns when the first future ends", () =>
    Effect.gen(function* () {
      const future1 = yield* pending
      const future2 = yield* running
      const fiber = yield* Effect.forkChild(Future.wait([future1, future2], { returnWhen: "FIRST_COMPLETED" }))
      yield* letOthersRun
      assert.isUndefined(fiber.pollUnsafe())
      yield* Future.complete(future1, 42)
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.sameMembers(done, [future1])
      assert.sameMembers(notDone, [future2])
      assert.strictEqual(yield* Future.state(future2), "RUNNING", "wait cancels nothing")
    })
  )

  it.effect("FIRST_COMPLETED counts a cancellation or a failure as completion", () =>
    Effect.gen(function* () {
      const a = yield* pending
      const b = yield* pending
      const fiber = yield* Effect.forkChild(Future.wait([a, b], { returnWhen: "FIRST_COMPLETED" }))
      yield* letOthersRun
      yield* Future.cancel(b)
      const first = yield* Fiber.join(fiber)
      assert.sameMembers(first.done, [b])
      assert.sameMembers(first.notDone, [a])
      const c = yield* running
      const again = yield* Effect.forkChild(Future.wait([a, c], { returnWhen: "FIRST_COMPLETED" }))
      yield* letOthersRun
      yield* Future.fail(a, "x")
      assert.sameMembers((yield* Fiber.join(again)).done, [a])
    })
  )

  // CPython: test_first_completed_some_already_completed.
  it.effect("FIRST_COMPLETED with some already done returns them at once", () =>
    Effect.gen(function* () {
      const cancelled = yield* cancelledPending
      const success = yield* successful()
      const future1 = yield* running
      const { done, notDone } = yield* Future.wait([cancelled, success, future1], { returnWhen: "FIRST_COMPLETED" })
      assert.sameMembers(done, [cancelled, success])
      assert.sameMembers(notDone, [future1])
    })
  )

  // CPython: test_first_exception.
  it.effect("FIRST_EXCEPTION returns at the first failure, with whatever else has ended", () =>
    Effect.gen(function* () {
      const future1 = yield* pending
      const { future: future2, gate } = yield* runningFuture<number, string>()
      const future3 = yield* running
      const fiber = yield* Effect.forkChild(Future.wait([future1, future2, future3], { returnWhen: "FIRST_EXCEPTION" }))
      yield* letOthersRun
      yield* Future.complete(future1, 42)
      yield* letOthersRun
      assert.isUndefined(fiber.pollUnsafe(), "a success is not an exception")
      yield* Deferred.fail(gate, "this is an exception")
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.sameMembers(done, [future1, future2])
      assert.sameMembers(notDone, [future3])
    })
  )

  // CPython: test_first_exception_some_already_complete.
  it.effect("FIRST_EXCEPTION: a cancelled future is done but is not an exception", () =>
    Effect.gen(function* () {
      const success = yield* successful()
      const cancelled = yield* cancelledPending
      const interrupted = yield* interruptedRunning
      const future1 = yield* pending
      const future2 = yield* running
      const fiber = yield* Effect.forkChild(
        Future.wait([success, cancelled, interrupted, future1, future2], { returnWhen: "FIRST_EXCEPTION" })
      )
      yield* letOthersRun
      assert.isUndefined(fiber.pollUnsafe(), "neither a success nor a cancellation is an exception")
      yield* Future.fail(future1, "ZeroDivisionError")
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.sameMembers(done, [success, cancelled, interrupted, future1])
      assert.sameMembers(notDone, [future2])
    })
  )

  // CPython: test_first_exception_one_already_failed.
  it.effect("FIRST_EXCEPTION with one already failed returns at once", () =>
    Effect.gen(function* () {
      const exception = yield* failed()
      const future1 = yield* running
      const { done, notDone } = yield* Future.wait([exception, future1], { returnWhen: "FIRST_EXCEPTION" })
      assert.sameMembers(done, [exception])
      assert.sameMembers(notDone, [future1])
    })
  )

  it.effect("FIRST_EXCEPTION counts a defect as an exception", () =>
    Effect.gen(function* () {
      const died = yield* defected
      const other = yield* pending
      const { done, notDone } = yield* Future.wait([other, died], { returnWhen: "FIRST_EXCEPTION" })
      assert.sameMembers(done, [died])
      assert.sameMembers(notDone, [other])
    })
  )

  it.effect("FIRST_EXCEPTION with no failure waits for all, as ALL_COMPLETED", () =>
    Effect.gen(function* () {
      const a = yield* successful(1)
      const b = yield* cancelledPending
      const immediate = yield* Future.wait([a, b], { returnWhen: "FIRST_EXCEPTION" })
      assert.sameMembers(immediate.done, [a, b])
      assert.sameMembers(immediate.notDone, [])
      const c = yield* pending
      const d = yield* running
      const fiber = yield* Effect.forkChild(Future.wait([a, b, c, d], { returnWhen: "FIRST_EXCEPTION" }))
      yield* letOthersRun
      yield* Future.complete(c, 3)
      yield* letOthersRun
      assert.isUndefined(fiber.pollUnsafe())
      yield* Future.interrupt(d)
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.sameMembers(done, [a, b, c, d])
      assert.sameMembers(notDone, [])
    })
  )

  // CPython: test_all_completed.
  it.effect("ALL_COMPLETED (the default) waits for every future", () =>
    Effect.gen(function* () {
      const success = yield* successful()
      const cancelled = yield* cancelledPending
      const exception = yield* failed()
      const future1 = yield* pending
      const { future: future2, gate } = yield* runningFuture<number, string>()
      const all = [success, cancelled, exception, future1, future2]
      const explicit = yield* Effect.forkChild(Future.wait(all, { returnWhen: "ALL_COMPLETED" }))
      const byDefault = yield* Effect.forkChild(Future.wait(all))
      yield* letOthersRun
      yield* Future.fail(future1, "ZeroDivisionError")
      yield* letOthersRun
      assert.isUndefined(explicit.pollUnsafe(), "not before the last one")
      assert.isUndefined(byDefault.pollUnsafe(), "not before the last one")
      yield* Deferred.succeed(gate, 42)
      for (const fiber of [explicit, byDefault]) {
        const { done, notDone } = yield* Fiber.join(fiber)
        assert.sameMembers(done, all)
        assert.sameMembers(notDone, [])
      }
    })
  )

  // CPython: test_timeout.
  it.effect("a timeout returns what is done so far, without error and not before, and cancels nothing", () =>
    Effect.gen(function* () {
      const cancelled = yield* cancelledPending
      const exception = yield* failed()
      const success = yield* successful()
      const { future, gate } = yield* runningFuture<number, string>()
      const fiber = yield* Effect.forkChild(
        Future.wait([cancelled, exception, success, future], { timeout: 50, returnWhen: "ALL_COMPLETED" })
      )
      yield* TestClock.adjust(49)
      yield* letOthersRun
      assert.isUndefined(fiber.pollUnsafe(), "not before the timeout")
      yield* TestClock.adjust(1)
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.sameMembers(done, [cancelled, exception, success])
      assert.sameMembers(notDone, [future])
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.succeed(gate, 1)
      assert.strictEqual(yield* future, 1)
    })
  )

  it.effect("a timeout applies to every returnWhen, FIRST_EXCEPTION included when only cancellations ended", () =>
    Effect.gen(function* () {
      const cancelled = yield* cancelledPending
      const p = yield* pending
      const r = yield* running
      const firstException = yield* Effect.forkChild(
        Future.wait([cancelled, p, r], { returnWhen: "FIRST_EXCEPTION", timeout: "1 second" })
      )
      const firstCompleted = yield* Effect.forkChild(
        Future.wait([p, r], { returnWhen: "FIRST_COMPLETED", timeout: Duration.seconds(1) })
      )
      yield* TestClock.adjust("1 second")
      const exceptionResult = yield* Fiber.join(firstException)
      assert.sameMembers(exceptionResult.done, [cancelled])
      assert.sameMembers(exceptionResult.notDone, [p, r])
      const completedResult = yield* Fiber.join(firstCompleted)
      assert.sameMembers(completedResult.done, [])
      assert.sameMembers(completedResult.notDone, [p, r])
      assert.strictEqual(yield* Future.state(p), "PENDING")
      assert.strictEqual(yield* Future.state(r), "RUNNING")
    })
  )

  it.effect("a zero timeout returns at once, with what is done, for every returnWhen", () =>
    Effect.gen(function* () {
      const success = yield* successful()
      const cancelled = yield* cancelledPending
      const p = yield* pending
      const r = yield* running
      for (const returnWhen of ["ALL_COMPLETED", "FIRST_EXCEPTION", "FIRST_COMPLETED"] as const) {
        const { done, notDone } = yield* Future.wait([success, cancelled, p, r], { returnWhen, timeout: 0 })
        assert.sameMembers(done, [success, cancelled], returnWhen)
        assert.sameMembers(notDone, [p, r], returnWhen)
      }
      const none = yield* Future.wait([p, r], { returnWhen: "FIRST_COMPLETED", timeout: 0 })
      assert.sameMembers(none.done, [])
      assert.sameMembers(none.notDone, [p, r])
    })
  )

  it.effect("returns as soon as the condition holds, before the timeout", () =>
    Effect.gen(function* () {
      const a = yield* pending
      const fiber = yield* Effect.forkChild(Future.wait([a], { timeout: "1 hour" }))
      yield* TestClock.adjust("1 minute")
      yield* Future.complete(a, 1)
      const { done } = yield* Fiber.join(fiber)
      assert.sameMembers(done, [a])
    })
  )

  it.effect("interrupting the waiter cancels nothing", () =>
    Effect.gen(function* () {
      const p = yield* pending
      const r = yield* running
      const fiber = yield* Effect.forkChild(Future.wait([p, r]))
      yield* letOthersRun
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* Future.state(p), "PENDING")
      assert.strictEqual(yield* Future.state(r), "RUNNING")
      assert.isTrue(yield* Future.complete(p, 1))
    })
  )

  // CPython: ThreadPoolWaitTests.test_pending_calls_race.
  it.effect("ALL_COMPLETED over many futures that end at the same moment", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<number, string>()
      const fibers = yield* Effect.forEach(Array.from({ length: 100 }), () => Effect.forkChild(Deferred.await(gate)))
      const futures = fibers.map((fiber) => Future.fromFiber(fiber))
      const waiter = yield* Effect.forkChild(Future.wait(futures, { returnWhen: "ALL_COMPLETED" }))
      yield* letOthersRun
      yield* Deferred.succeed(gate, 1)
      const { done, notDone } = yield* Fiber.join(waiter)
      assert.strictEqual(done.length, 100)
      assert.sameMembers(done, futures)
      assert.sameMembers(notDone, [])
    })
  )
})
