/**
 * Future states and queries on their own (no executor), ported from CPython's test_future.py: states, lifetime,
 * cancel, interrupt, complete/fail (setting a result twice), result/exception/await with timeouts, `yield* future`. Time is `TestClock` (`it.effect`): nothing sleeps for real and nothing
 * asserts on the wall clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { TestClock } from "effect/testing"
import { ExecutorError, Future } from "../../src/index.ts"
import {
  type F,
  runningFuture,
  pending,
  running,
  successful,
  failed,
  cancelledPending,
  interruptedRunning,
  interruptedPending,
  Bug,
  defected,
  letOthersRun,
  isCancelledExit,
  isTimeout,
  errorOf
} from "./helpers.ts"

describe("Future states", () => {
  it.effect("a settable future is PENDING until settled, then FINISHED", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number>()
      assert.strictEqual(yield* Future.state(future), "PENDING")
      assert.strictEqual(Future.stateUnsafe(future), "PENDING")
      assert.isUndefined(Future.pollUnsafe(future))
      assert.isTrue(yield* Future.complete(future, 1))
      assert.strictEqual(yield* Future.state(future), "FINISHED")
      assert.strictEqual(Future.stateUnsafe(future), "FINISHED")
      assert.deepStrictEqual(Future.pollUnsafe(future), Exit.succeed(1))
    })
  )

  it.effect("a future over a live fiber is RUNNING until the fiber ends, then FINISHED", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      assert.isUndefined(Future.pollUnsafe(future))
      yield* Deferred.succeed(gate, 5)
      assert.strictEqual(yield* future, 5)
      assert.strictEqual(yield* Future.state(future), "FINISHED")
    })
  )

  it.effect("PENDING -> CANCELLED by cancel; RUNNING -> CANCELLED by interrupt", () =>
    Effect.gen(function* () {
      const p = yield* pending
      yield* Future.cancel(p)
      assert.strictEqual(yield* Future.state(p), "CANCELLED")
      const r = yield* running
      assert.strictEqual(yield* Future.state(r), "RUNNING")
      yield* Future.interrupt(r)
      assert.strictEqual(yield* Future.state(r), "CANCELLED")
    })
  )

  it.effect("a future over a fiber that has already ended reads its outcome at once", () =>
    Effect.gen(function* () {
      const ok = yield* Effect.forkChild(Effect.succeed(1))
      const ko = yield* Effect.forkChild(Effect.fail("x"))
      const gone = yield* Effect.forkChild(Effect.never)
      yield* Fiber.await(ok)
      yield* Fiber.await(ko)
      yield* Fiber.interrupt(gone)
      assert.strictEqual(Future.stateUnsafe(Future.fromFiber(ok)), "FINISHED")
      assert.strictEqual(Future.stateUnsafe(Future.fromFiber(ko)), "FINISHED")
      assert.strictEqual(Future.stateUnsafe(Future.fromFiber(gone)), "CANCELLED")
      assert.strictEqual(Future.stateUnsafe(yield* defected), "FINISHED")
    })
  )

  // CPython: test_done, test_running, test_cancelled.
  it.effect("done, running and cancelled agree with the state, for every state", () =>
    Effect.gen(function* () {
      const table: Array<[string, F, Future.State, boolean, boolean, boolean]> = [
        // name, future, state, done, running, cancelled
        ["pending", yield* pending, "PENDING", false, false, false],
        ["running", yield* running, "RUNNING", false, true, false],
        ["cancelled while pending", yield* cancelledPending, "CANCELLED", true, false, true],
        ["interrupted while running", yield* interruptedRunning, "CANCELLED", true, false, true],
        ["failed", yield* failed(), "FINISHED", true, false, false],
        ["died", yield* defected, "FINISHED", true, false, false],
        ["successful", yield* successful(), "FINISHED", true, false, false]
      ]
      for (const [name, future, state, isDone, isRunning, isCancelled] of table) {
        assert.strictEqual(yield* Future.state(future), state, `state of ${name}`)
        assert.strictEqual(yield* Future.done(future), isDone, `done of ${name}`)
        assert.strictEqual(yield* Future.running(future), isRunning, `running of ${name}`)
        assert.strictEqual(yield* Future.cancelled(future), isCancelled, `cancelled of ${name}`)
      }
    })
  )

  it.effect("isFuture recognises futures only", () =>
    Effect.gen(function* () {
      assert.isTrue(Future.isFuture(yield* successful()))
      assert.isTrue(Future.isFuture(yield* running))
      assert.isFalse(Future.isFuture(Effect.succeed(1)))
      assert.isFalse(Future.isFuture(yield* Effect.forkChild(Effect.succeed(1))))
      assert.isFalse(Future.isFuture(null))
      assert.isFalse(Future.isFuture({}))
    })
  )

  // CPython: test_repr.
  it.effect("a future renders with its state", () =>
    Effect.gen(function* () {
      assert.match(String(yield* pending), /PENDING/)
      assert.match(String(yield* running), /RUNNING/)
      assert.match(String(yield* cancelledPending), /CANCELLED/)
      assert.match(String(yield* successful()), /FINISHED/)
    })
  )
})

describe("Future lifetime", () => {
  it.effect("futures made by make, map and flatMap outlive the fiber that made them", () =>
    Effect.gen(function* () {
      const source = yield* pending
      const maker = yield* Effect.forkChild(
        Effect.gen(function* () {
          const made = yield* Future.make<number, string>()
          const mapped = yield* Future.map(source, (n) => n + 1)
          const chained = yield* Future.flatMap(source, (n) => successful(n * 10))
          return { made, mapped, chained }
        })
      )
      const { made, mapped, chained } = yield* Fiber.join(maker)
      yield* letOthersRun
      assert.strictEqual(yield* Future.state(made), "PENDING")
      assert.strictEqual(yield* Future.state(mapped), "PENDING")
      assert.strictEqual(yield* Future.state(chained), "PENDING")
      yield* Future.complete(made, 1)
      yield* Future.complete(source, 2)
      assert.strictEqual(yield* made, 1)
      assert.strictEqual(yield* mapped, 3)
      assert.strictEqual(yield* chained, 20)
    })
  )

  it.effect("a future from fromFiber lives as long as its fiber: a child fiber ends with its parent", () =>
    Effect.gen(function* () {
      const parent = yield* Effect.forkChild(
        Effect.map(Effect.forkChild(Effect.never), (child) => Future.fromFiber(child))
      )
      const future = yield* Fiber.join(parent)
      yield* Future.await(future)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    })
  )
})

// CPython: test_cancel.
describe("Future.cancel", () => {
  it.effect("a PENDING future: true, and it is CANCELLED and done", () =>
    Effect.gen(function* () {
      const future = yield* pending
      assert.isTrue(yield* Future.cancel(future))
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.isTrue(yield* Future.cancelled(future))
      assert.isTrue(yield* Future.done(future))
    })
  )

  it.effect("an already cancelled future: true again, whether it was cancelled or interrupted", () =>
    Effect.gen(function* () {
      const cancelled = yield* cancelledPending
      assert.isTrue(yield* Future.cancel(cancelled))
      assert.isTrue(yield* Future.cancel(cancelled))
      assert.strictEqual(yield* Future.state(cancelled), "CANCELLED")
      const interrupted = yield* interruptedRunning
      assert.isTrue(yield* Future.cancel(interrupted))
      assert.strictEqual(yield* Future.state(interrupted), "CANCELLED")
    })
  )

  it.effect("a RUNNING future: false, and it keeps running to its own end", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      assert.isFalse(yield* Future.cancel(future))
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* letOthersRun
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.succeed(gate, 1)
      assert.strictEqual(yield* future, 1)
      assert.strictEqual(yield* Future.state(future), "FINISHED")
    })
  )

  it.effect("a FINISHED future, successful, failed or died: false, and its outcome stays", () =>
    Effect.gen(function* () {
      const ok = yield* successful(6)
      assert.isFalse(yield* Future.cancel(ok))
      assert.strictEqual(yield* Future.state(ok), "FINISHED")
      assert.strictEqual(yield* ok, 6)
      const ko = yield* failed("x")
      assert.isFalse(yield* Future.cancel(ko))
      assert.strictEqual(yield* Future.state(ko), "FINISHED")
      assert.deepStrictEqual(yield* Future.exception(ko), Option.some("x"))
      const died = yield* defected
      assert.isFalse(yield* Future.cancel(died))
      assert.strictEqual(yield* Future.state(died), "FINISHED")
    })
  )

  it.effect("a cancelled PENDING future never runs: settling it later is refused", () =>
    Effect.gen(function* () {
      const future = yield* cancelledPending
      assert.isFalse(yield* Future.complete(future, 1))
      assert.isFalse(yield* Future.fail(future, "late"))
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.instanceOf(yield* Effect.flip(Future.result(future)), ExecutorError.CancelledError)
    })
  )

  // CPython: test_result_with_cancel.
  it.effect("wakes a waiter with CancelledError", () =>
    Effect.gen(function* () {
      const future = yield* pending
      const waiter = yield* Effect.forkChild(Effect.exit(Future.result(future, { timeout: "5 seconds" })))
      yield* letOthersRun
      assert.isUndefined(waiter.pollUnsafe())
      assert.isTrue(yield* Future.cancel(future))
      const exit = yield* Fiber.join(waiter)
      assert.isTrue(Option.exists(errorOf(exit), (e) => e instanceof ExecutorError.CancelledError))
    })
  )

  it.effect("concurrent cancels of a PENDING future all return true", () =>
    Effect.gen(function* () {
      const future = yield* pending
      const results = yield* Effect.all([Future.cancel(future), Future.cancel(future), Future.cancel(future)], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(results, [true, true, true])
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    })
  )

  it.effect("cancel racing complete: exactly one of them wins, and the state says which", () =>
    Effect.gen(function* () {
      for (const order of ["cancel first", "complete first"] as const) {
        const future = yield* pending
        const racers = [Future.cancel(future), Future.complete(future, 1)]
        if (order === "complete first") racers.reverse()
        const results = yield* Effect.all(racers, { concurrency: "unbounded" })
        const [cancelled, completed] = order === "cancel first" ? results : [results[1], results[0]]
        assert.notStrictEqual(cancelled, completed, order)
        assert.strictEqual(yield* Future.state(future), cancelled ? "CANCELLED" : "FINISHED", order)
      }
    })
  )
})

describe("Future.interrupt", () => {
  it.effect("cancels a RUNNING future; cancel then reports it cancelled", () =>
    Effect.gen(function* () {
      const { future } = yield* runningFuture<number>()
      yield* Future.interrupt(future)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.isTrue(yield* Future.cancel(future))
    })
  )

  it.effect("cancels a PENDING future; settling it afterwards is refused", () =>
    Effect.gen(function* () {
      const future = yield* pending
      yield* Future.interrupt(future)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.isFalse(yield* Future.complete(future, 1))
      assert.isTrue(yield* Future.cancel(future))
    })
  )

  it.effect("leaves a FINISHED future as it is", () =>
    Effect.gen(function* () {
      const ok = yield* successful(3)
      yield* Future.interrupt(ok)
      assert.strictEqual(yield* Future.state(ok), "FINISHED")
      assert.strictEqual(yield* ok, 3)
      const ko = yield* failed("x")
      yield* Future.interrupt(ko)
      assert.strictEqual(yield* Future.state(ko), "FINISHED")
      assert.deepStrictEqual(yield* Future.exception(ko), Option.some("x"))
    })
  )

  it.effect("is idempotent", () =>
    Effect.gen(function* () {
      const future = yield* running
      yield* Future.interrupt(future)
      yield* Future.interrupt(future)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    })
  )

  it.effect("runs the work's finalizers and returns only once the future has ended", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<number>()
      const finalizerGate = yield* Deferred.make<void>()
      const finalized: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Deferred.await(gate).pipe(
          Effect.onInterrupt(() =>
            Effect.andThen(
              Deferred.await(finalizerGate),
              Effect.sync(() => finalized.push("cleaned up"))
            )
          )
        )
      )
      yield* Effect.yieldNow
      const future = Future.fromFiber(fiber)
      const interrupter = yield* Effect.forkChild(Future.interrupt(future))
      yield* letOthersRun
      assert.isUndefined(interrupter.pollUnsafe(), "interrupt waits for the finalizer")
      assert.isFalse(yield* Future.done(future))
      yield* Deferred.succeed(finalizerGate, undefined)
      yield* Fiber.join(interrupter)
      assert.deepStrictEqual(finalized, ["cleaned up"])
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    })
  )

  it.effect("Fiber.interrupt on future.fiber means the same", () =>
    Effect.gen(function* () {
      const future = yield* running
      yield* Fiber.interrupt(future.fiber)
      assert.isTrue(yield* Future.cancelled(future))
      assert.instanceOf(yield* Effect.flip(Future.result(future)), ExecutorError.CancelledError)
    })
  )
})

// CPython: test_multiple_set_result, test_multiple_set_exception.
describe("Future.complete and Future.fail", () => {
  it.effect("the first outcome wins; later calls return false and change nothing", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number, string>()
      assert.isTrue(yield* Future.complete(future, 1))
      assert.isFalse(yield* Future.complete(future, 2))
      assert.isFalse(yield* Future.fail(future, "late"))
      assert.isTrue(yield* Future.done(future))
      assert.strictEqual(yield* Future.result(future), 1)
      const other = yield* Future.make<number, string>()
      assert.isTrue(yield* Future.fail(other, "first"))
      assert.isFalse(yield* Future.fail(other, "second"))
      assert.isFalse(yield* Future.complete(other, 3))
      assert.deepStrictEqual(yield* Future.exception(other), Option.some("first"))
    })
  )

  it.effect("a cancelled or interrupted future refuses both", () =>
    Effect.gen(function* () {
      for (const future of [yield* cancelledPending, yield* interruptedPending]) {
        assert.isFalse(yield* Future.complete(future, 1))
        assert.isFalse(yield* Future.fail(future, "late"))
        assert.strictEqual(yield* Future.state(future), "CANCELLED")
      }
    })
  )

  it.effect("the new state is visible as soon as the call returns", () =>
    Effect.gen(function* () {
      const ok = yield* Future.make<number, string>()
      yield* Future.complete(ok, 1)
      assert.strictEqual(Future.stateUnsafe(ok), "FINISHED")
      assert.deepStrictEqual(Future.pollUnsafe(ok), Exit.succeed(1))
      const ko = yield* Future.make<number, string>()
      yield* Future.fail(ko, "x")
      assert.strictEqual(Future.stateUnsafe(ko), "FINISHED")
      assert.deepStrictEqual(Option.flatMap(Option.fromUndefinedOr(Future.pollUnsafe(ko)), errorOf), Option.some("x"))
    })
  )

  it.effect("settling wakes every waiter", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number, string>()
      const waiters = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(Future.result(future)))
      yield* letOthersRun
      yield* Future.complete(future, 7)
      assert.deepStrictEqual(yield* Fiber.joinAll(waiters), [7, 7, 7])
    })
  )

  it.effect("concurrent settles: exactly one wins, and it is the outcome", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number, string>()
      const results = yield* Effect.all(
        [Future.complete(future, 1), Future.fail(future, "two"), Future.complete(future, 3)],
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter((won) => won).length, 1)
      const winner = results.indexOf(true)
      const exit = yield* Future.await(future)
      if (winner === 1) assert.deepStrictEqual(errorOf(exit), Option.some("two"))
      else assert.deepStrictEqual(exit, Exit.succeed(winner === 0 ? 1 : 3))
    })
  )

  it.effect("data-last forms compose with pipe", () =>
    Effect.gen(function* () {
      const ok = yield* Future.make<number, string>()
      assert.isTrue(yield* ok.pipe(Future.complete(9)))
      assert.strictEqual(yield* ok, 9)
      const ko = yield* Future.make<number, string>()
      assert.isTrue(yield* ko.pipe(Future.fail("x")))
      assert.strictEqual(yield* Effect.flip(ko), "x")
    })
  )
})

// CPython: test_result_with_timeout, test_result_with_success, test_result_with_cancel.
describe("Future.result", () => {
  it.effect("returns the value, or fails with the typed error", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Future.result(yield* successful(7)), 7)
      assert.strictEqual(yield* Effect.flip(Future.result(yield* failed("boom"))), "boom")
    })
  )

  it.effect("with a zero timeout, every state answers at once", () =>
    Effect.gen(function* () {
      const zero = { timeout: 0 }
      assert.isTrue(isTimeout(yield* Effect.exit(Future.result(yield* pending, zero))), "pending")
      assert.isTrue(isTimeout(yield* Effect.exit(Future.result(yield* running, zero))), "running")
      const cancelled = yield* Effect.flip(Future.result(yield* cancelledPending, zero))
      assert.instanceOf(cancelled, ExecutorError.CancelledError)
      const interrupted = yield* Effect.flip(Future.result(yield* interruptedRunning, zero))
      assert.instanceOf(interrupted, ExecutorError.CancelledError)
      assert.strictEqual(yield* Effect.flip(Future.result(yield* failed("boom"), zero)), "boom")
      assert.strictEqual(yield* Future.result(yield* successful(42), zero), 42)
    })
  )

  it.effect("waits for a value that arrives within the timeout", () =>
    Effect.gen(function* () {
      const future = yield* pending
      const waiter = yield* Effect.forkChild(Future.result(future, { timeout: "5 seconds" }))
      yield* TestClock.adjust("1 second")
      assert.isUndefined(waiter.pollUnsafe())
      yield* Future.complete(future, 42)
      assert.strictEqual(yield* Fiber.join(waiter), 42)
    })
  )

  it.effect("fails with Cause.TimeoutError when the timeout passes, not before, and leaves the future alone", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      const waiter = yield* Effect.forkChild(Effect.exit(Future.result(future, { timeout: "1 second" })))
      yield* TestClock.adjust(999)
      yield* letOthersRun
      assert.isUndefined(waiter.pollUnsafe(), "not before the timeout")
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.join(waiter)
      assert.isTrue(isTimeout(exit))
      assert.isTrue(Option.exists(errorOf(exit), (e) => e instanceof Cause.TimeoutError))
      assert.strictEqual(yield* Future.state(future), "RUNNING", "a timeout cancels nothing")
      yield* Deferred.succeed(gate, 3)
      assert.strictEqual(yield* Future.result(future, { timeout: 0 }), 3)
    })
  )

  it.effect("takes the timeout as milliseconds, a string or a Duration", () =>
    Effect.gen(function* () {
      for (const timeout of [250, "250 millis", Duration.millis(250)] as const) {
        const future = yield* pending
        const waiter = yield* Effect.forkChild(Effect.exit(Future.result(future, { timeout })))
        yield* TestClock.adjust(249)
        yield* letOthersRun
        assert.isUndefined(waiter.pollUnsafe(), `not before 250 ms (${String(timeout)})`)
        yield* TestClock.adjust(1)
        assert.isTrue(isTimeout(yield* Fiber.join(waiter)), `times out at 250 ms (${String(timeout)})`)
        assert.strictEqual(yield* Future.state(future), "PENDING")
      }
    })
  )

  it.effect("without a timeout waits as long as it takes", () =>
    Effect.gen(function* () {
      const future = yield* pending
      const waiter = yield* Effect.forkChild(Future.result(future))
      yield* TestClock.adjust("1 day")
      yield* letOthersRun
      assert.isUndefined(waiter.pollUnsafe())
      yield* Future.complete(future, 1)
      assert.strictEqual(yield* Fiber.join(waiter), 1)
    })
  )

  it.effect("a defect stays a defect", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Future.result(yield* defected))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.isTrue(Exit.isFailure(exit) && Cause.squash(exit.cause) instanceof Bug)
    })
  )

  it.effect("interrupting the caller leaves the future alone", () =>
    Effect.gen(function* () {
      const future = yield* pending
      const waiter = yield* Effect.forkChild(Future.result(future))
      yield* letOthersRun
      yield* Fiber.interrupt(waiter)
      assert.strictEqual(yield* Future.state(future), "PENDING")
      assert.isTrue(yield* Future.complete(future, 1))
    })
  )

  it.effect("data-last form composes with pipe", () =>
    Effect.gen(function* () {
      const future = yield* successful(5)
      assert.strictEqual(yield* future.pipe(Future.result()), 5)
      assert.strictEqual(yield* future.pipe(Future.result({ timeout: 0 })), 5)
    })
  )
})

// CPython: test_exception_with_timeout, test_exception_with_success.
describe("Future.exception", () => {
  it.effect("is none on success and the typed error on failure", () =>
    Effect.gen(function* () {
      assert.isTrue(Option.isNone(yield* Future.exception(yield* successful(7))))
      assert.deepStrictEqual(yield* Future.exception(yield* failed("boom")), Option.some("boom"))
    })
  )

  it.effect("with a zero timeout, every state answers at once", () =>
    Effect.gen(function* () {
      const zero = { timeout: 0 }
      assert.isTrue(isTimeout(yield* Effect.exit(Future.exception(yield* pending, zero))), "pending")
      assert.isTrue(isTimeout(yield* Effect.exit(Future.exception(yield* running, zero))), "running")
      const cancelled = yield* Effect.flip(Future.exception(yield* cancelledPending, zero))
      assert.instanceOf(cancelled, ExecutorError.CancelledError)
      const interrupted = yield* Effect.flip(Future.exception(yield* interruptedRunning, zero))
      assert.instanceOf(interrupted, ExecutorError.CancelledError)
      assert.deepStrictEqual(yield* Future.exception(yield* failed("boom"), zero), Option.some("boom"))
      assert.deepStrictEqual(yield* Future.exception(yield* successful(42), zero), Option.none())
    })
  )

  it.effect("waits for a failure that arrives within the timeout", () =>
    Effect.gen(function* () {
      const future = yield* pending
      const waiter = yield* Effect.forkChild(Future.exception(future, { timeout: "5 seconds" }))
      yield* TestClock.adjust("1 second")
      assert.isUndefined(waiter.pollUnsafe())
      yield* Future.fail(future, "late")
      assert.deepStrictEqual(yield* Fiber.join(waiter), Option.some("late"))
    })
  )

  it.effect("fails with Cause.TimeoutError when the timeout passes, and leaves the future alone", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number, string>()
      const waiter = yield* Effect.forkChild(Effect.exit(Future.exception(future, { timeout: 50 })))
      yield* TestClock.adjust(49)
      yield* letOthersRun
      assert.isUndefined(waiter.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.isTrue(isTimeout(yield* Fiber.join(waiter)))
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.fail(gate, "x")
      assert.deepStrictEqual(yield* Future.exception(future), Option.some("x"))
    })
  )

  it.effect("a cancellation while waiting fails with CancelledError", () =>
    Effect.gen(function* () {
      const future = yield* pending
      const waiter = yield* Effect.forkChild(Effect.flip(Future.exception(future)))
      yield* letOthersRun
      yield* Future.cancel(future)
      assert.instanceOf(yield* Fiber.join(waiter), ExecutorError.CancelledError)
    })
  )

  it.effect("a defect stays a defect", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Future.exception(yield* defected))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
    })
  )

  it.effect("data-last form composes with pipe", () =>
    Effect.gen(function* () {
      const future = yield* failed("x")
      assert.deepStrictEqual(yield* future.pipe(Future.exception()), Option.some("x"))
      assert.deepStrictEqual(yield* future.pipe(Future.exception({ timeout: 0 })), Option.some("x"))
    })
  )
})

describe("Future.await", () => {
  it.effect("gives the outcome as an Exit and never fails", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* Future.await(yield* successful(1)), Exit.succeed(1))
      assert.deepStrictEqual(errorOf(yield* Future.await(yield* failed("boom"))), Option.some("boom"))
      const died = yield* Future.await(yield* defected)
      assert.isTrue(Exit.isFailure(died) && Cause.hasDies(died.cause))
    })
  )

  it.effect("a cancelled future gives Effect's interrupt Exit, not CancelledError", () =>
    Effect.gen(function* () {
      for (const future of [yield* cancelledPending, yield* interruptedRunning]) {
        const exit = yield* Effect.exit(Future.await(future))
        assert.isTrue(Exit.isSuccess(exit), "await itself succeeds")
        assert.isTrue(Exit.isSuccess(exit) && isCancelledExit(exit.value))
      }
    })
  )

  it.effect("waits until the future ends", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      const waiter = yield* Effect.forkChild(Future.await(future))
      yield* letOthersRun
      assert.isUndefined(waiter.pollUnsafe())
      yield* Deferred.succeed(gate, 2)
      assert.deepStrictEqual(yield* Fiber.join(waiter), Exit.succeed(2))
    })
  )
})

describe("yield* future", () => {
  it.effect("gives the value or fails with the typed error", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* yield* successful(1), 1)
      assert.strictEqual(yield* Effect.flip(yield* failed("boom")), "boom")
    })
  )

  it.effect("a cancelled future fails with CancelledError; Fiber.join(future.fiber) is interrupted", () =>
    Effect.gen(function* () {
      for (const future of [yield* cancelledPending, yield* interruptedRunning]) {
        const error = yield* Effect.flip(future)
        assert.instanceOf(error, ExecutorError.CancelledError)
        assert.strictEqual(error._tag, "CancelledError")
        const joined = yield* Effect.exit(Fiber.join(future.fiber))
        assert.isTrue(isCancelledExit(joined))
      }
    })
  )

  it.effect("a waiter is woken with CancelledError when the future is interrupted", () =>
    Effect.gen(function* () {
      const future = yield* running
      const waiter = yield* Effect.forkChild(Effect.flip(future))
      yield* letOthersRun
      yield* Future.interrupt(future)
      assert.instanceOf(yield* Fiber.join(waiter), ExecutorError.CancelledError)
    })
  )

  it.effect("interrupting the waiter leaves the future alone", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      const waiter = yield* Effect.forkChild(future)
      yield* letOthersRun
      yield* Fiber.interrupt(waiter)
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.succeed(gate, 4)
      assert.strictEqual(yield* future, 4)
    })
  )
})

// CPython: test_done_callback_*.
