/**
 * Futures on their own (no executor), ported from CPython's test_concurrent_futures: test_future.py (states, cancel,
 * result/exception with timeouts, done-callbacks, setting a result twice), test_as_completed.py and test_wait.py.
 *
 * CPython builds its fixtures by poking `_state`; here each state is reached the honest way: PENDING is a settable
 * `Future.make()`, RUNNING is `Future.fromFiber` over a fiber blocked on a Deferred, CANCELLED is `cancel` (pending)
 * or `interrupt` (running), FINISHED is `complete` / `fail` or a fiber that ended. Time is `TestClock` (`it.effect`):
 * nothing sleeps for real and nothing asserts on the wall clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { ExecutorError, Future } from "../src/index.ts"
import * as internal from "../src/internal/future.ts"

type F = Future.Future<number, string>

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: one future per state, as CPython's PENDING_FUTURE, RUNNING_FUTURE, CANCELLED_FUTURE, EXCEPTION_FUTURE
// and SUCCESSFUL_FUTURE.
// ---------------------------------------------------------------------------------------------------------------

/** A future over a live fiber: RUNNING until `gate` is completed (or the future is interrupted). */
const runningFuture = <A = number, E = string>() =>
  Effect.gen(function* () {
    const gate = yield* Deferred.make<A, E>()
    const fiber = yield* Effect.forkChild(Deferred.await(gate))
    yield* Effect.yieldNow
    return { future: Future.fromFiber(fiber), gate }
  })

const pending = Future.make<number, string>()

const running = Effect.map(runningFuture(), ({ future }) => future)

const successful = (value: number = 42) =>
  Effect.gen(function* () {
    const future = yield* Future.make<number, string>()
    yield* Future.complete(future, value)
    return future
  })

const failed = (error: string = "boom") =>
  Effect.gen(function* () {
    const future = yield* Future.make<number, string>()
    yield* Future.fail(future, error)
    return future
  })

/** PENDING, then cancelled: withdrawn before it ever ran. */
const cancelledPending = Effect.gen(function* () {
  const future = yield* Future.make<number, string>()
  assert.isTrue(yield* Future.cancel(future))
  return future
})

/** RUNNING, then interrupted. */
const interruptedRunning = Effect.gen(function* () {
  const future = yield* running
  yield* Future.interrupt(future)
  return future
})

/** PENDING, then interrupted (`interrupt`, not `cancel`). */
const interruptedPending = Effect.gen(function* () {
  const future = yield* Future.make<number, string>()
  yield* Future.interrupt(future)
  return future
})

class Bug extends Error {}

/** A future whose fiber died with a defect (the analogue of a task that threw). */
const defected = Effect.gen(function* () {
  const fiber = yield* Effect.forkChild(Effect.die(new Bug("bug")) as Effect.Effect<number, string>)
  yield* Fiber.await(fiber)
  return Future.fromFiber(fiber)
})

/** A reference an Effect done-callback reads, to see whose references it runs with. */
const Label = Context.Reference<string>("effect-futures/test/Label", { defaultValue: () => "default" })

/** Lets every other runnable fiber take a few turns (scheduler turns, not time) before asserting on what they did. */
const letOthersRun = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

const isCancelledExit = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

const isTimeout = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Option.exists(Cause.findErrorOption(exit.cause), Cause.isTimeoutError)

const errorOf = <A, E>(exit: Exit.Exit<A, E>): Option.Option<E> =>
  Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()

/** Collects what is logged while `effect` runs (done-callback failures are reported through the logger). */
const capturingLogs = () => {
  const logs: Array<{ readonly level: string; readonly cause: Cause.Cause<unknown> }> = []
  const logger = Logger.make((options) => {
    logs.push({ level: options.logLevel, cause: options.cause })
  })
  const capture = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, Logger.CurrentLoggers, new Set([logger]))
  return { logs, capture }
}

// ---------------------------------------------------------------------------------------------------------------

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
describe("Future.addDoneCallback", () => {
  it.effect("runs on success, with the future, which has its result", () =>
    Effect.gen(function* () {
      const ran = yield* Deferred.make<number, unknown>()
      const future = yield* pending
      yield* Future.addDoneCallback(future, (f) => Deferred.into(Future.result(f), ran))
      yield* letOthersRun
      assert.isFalse(yield* Deferred.isDone(ran), "not before the future is done")
      yield* Future.complete(future, 5)
      assert.strictEqual(yield* Deferred.await(ran), 5)
    })
  )

  it.effect("runs on failure; the future has its exception", () =>
    Effect.gen(function* () {
      const ran = yield* Deferred.make<Option.Option<string>, unknown>()
      const future = yield* pending
      yield* Future.addDoneCallback(future, (f) => Deferred.into(Future.exception(f), ran))
      yield* Future.fail(future, "test")
      assert.deepStrictEqual(yield* Deferred.await(ran), Option.some("test"))
    })
  )

  it.effect("runs on cancellation, of a pending future (cancel) or a running one (interrupt)", () =>
    Effect.gen(function* () {
      const p = yield* pending
      const r = yield* running
      const seen: Array<string> = []
      const latch = yield* Deferred.make<void>()
      yield* Future.addDoneCallback(p, (f) => {
        seen.push(`pending:${Future.stateUnsafe(f)}`)
      })
      yield* Future.addDoneCallback(r, (f) =>
        Effect.andThen(
          Effect.sync(() => seen.push(`running:${Future.stateUnsafe(f)}`)),
          Deferred.succeed(latch, undefined)
        )
      )
      assert.isTrue(yield* Future.cancel(p))
      yield* Future.interrupt(r)
      yield* Deferred.await(latch)
      assert.sameMembers(seen, ["pending:CANCELLED", "running:CANCELLED"])
    })
  )

  it.effect("runs when a running fiber ends by itself", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number, string>()
      const ran = yield* Deferred.make<Option.Option<string>, unknown>()
      yield* Future.addDoneCallback(future, (f) => Deferred.into(Future.exception(f), ran))
      yield* Deferred.fail(gate, "ended")
      assert.deepStrictEqual(yield* Deferred.await(ran), Option.some("ended"))
    })
  )

  it.effect("on a future that is already successful, failed or cancelled, runs at once", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const futures: Array<[string, F]> = [
        ["successful", yield* successful(5)],
        ["failed", yield* failed("test")],
        ["cancelled", yield* cancelledPending],
        ["interrupted", yield* interruptedRunning]
      ]
      for (const [name, future] of futures) {
        const before = seen.length
        yield* Future.addDoneCallback(future, (f) => {
          seen.push(`${name}:${Future.stateUnsafe(f)}`)
        })
        // nothing else ran in between: the callback ran before addDoneCallback returned
        assert.strictEqual(seen.length, before + 1, `${name} ran at once`)
      }
      assert.deepStrictEqual(seen, [
        "successful:FINISHED",
        "failed:FINISHED",
        "cancelled:CANCELLED",
        "interrupted:CANCELLED"
      ])
      let result: unknown
      yield* Future.addDoneCallback(futures[0][1], (f) =>
        Effect.map(Future.result(f), (value) => {
          result = value
        })
      )
      assert.strictEqual(result, 5, "an Effect callback on a done future also runs before addDoneCallback returns")
    })
  )

  it.effect("runs once, however the future is settled again", () =>
    Effect.gen(function* () {
      let calls = 0
      const latch = yield* Deferred.make<void>()
      const future = yield* pending
      yield* Future.addDoneCallback(future, () =>
        Effect.andThen(
          Effect.sync(() => calls++),
          Deferred.succeed(latch, undefined)
        )
      )
      yield* Future.complete(future, 1)
      yield* Deferred.await(latch)
      yield* Future.complete(future, 2)
      yield* Future.fail(future, "x")
      yield* Future.cancel(future)
      yield* Future.interrupt(future)
      yield* letOthersRun
      assert.strictEqual(calls, 1)
    })
  )

  it.effect("callbacks start in registration order; one registered twice runs twice", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      const latch = yield* Deferred.make<void>()
      const future = yield* pending
      const twice = () => {
        seen.push(0)
      }
      yield* Future.addDoneCallback(future, () => {
        seen.push(1)
      })
      yield* Future.addDoneCallback(future, () => Effect.sync(() => seen.push(2)))
      yield* Future.addDoneCallback(future, twice)
      yield* Future.addDoneCallback(future, () => {
        seen.push(3)
      })
      yield* Future.addDoneCallback(future, twice)
      yield* Future.addDoneCallback(future, () => Deferred.succeed(latch, undefined))
      yield* Future.complete(future, 0)
      yield* Deferred.await(latch)
      assert.deepStrictEqual(seen, [1, 2, 0, 3, 0])
    })
  )

  // CPython: test_done_callback_raises.
  it.effect("a callback that throws, fails or dies is logged; the others still run and the future is unaffected", () =>
    Effect.gen(function* () {
      const { logs, capture } = capturingLogs()
      const seen: Array<string> = []
      const latch = yield* Deferred.make<void>()
      const future = yield* pending
      yield* capture(
        Effect.gen(function* () {
          yield* Future.addDoneCallback(future, () => {
            seen.push("thrower")
            throw new Bug("doh!")
          })
          yield* Future.addDoneCallback(future, () =>
            Effect.andThen(
              Effect.sync(() => seen.push("failer")),
              Effect.fail("callback failure")
            )
          )
          yield* Future.addDoneCallback(future, () =>
            Effect.andThen(
              Effect.sync(() => seen.push("dier")),
              Effect.die(new Bug("callback defect"))
            )
          )
          yield* Future.addDoneCallback(future, () =>
            Effect.andThen(
              Effect.sync(() => seen.push("after")),
              Deferred.succeed(latch, undefined)
            )
          )
        })
      )
      assert.isTrue(yield* Future.complete(future, 5))
      yield* Deferred.await(latch)
      yield* letOthersRun
      assert.deepStrictEqual(seen, ["thrower", "failer", "dier", "after"])
      assert.strictEqual(yield* Future.state(future), "FINISHED")
      assert.strictEqual(yield* future, 5)
      const reported = logs.filter((log) => log.level === "Error").map((log) => Cause.squash(log.cause))
      assert.strictEqual(reported.length, 3, "each failing callback is logged once")
      assert.isTrue(reported.some((e) => e instanceof Bug && e.message === "doh!"))
      assert.isTrue(reported.some((e) => e === "callback failure"))
      assert.isTrue(reported.some((e) => e instanceof Bug && e.message === "callback defect"))
    })
  )

  // CPython: test_done_callback_raises_already_succeeded.
  it.effect("a callback that throws or fails on an already-done future is logged; addDoneCallback succeeds", () =>
    Effect.gen(function* () {
      const { logs, capture } = capturingLogs()
      const future = yield* successful(5)
      const exits = yield* capture(
        Effect.all([
          Effect.exit(
            Future.addDoneCallback(future, () => {
              throw new Bug("doh!")
            })
          ),
          Effect.exit(Future.addDoneCallback(future, () => Effect.fail("callback failure")))
        ])
      )
      assert.isTrue(exits.every(Exit.isSuccess))
      const reported = logs.filter((log) => log.level === "Error").map((log) => Cause.squash(log.cause))
      assert.strictEqual(reported.length, 2)
      assert.isTrue(reported[0] instanceof Bug && reported[0].message === "doh!")
      assert.strictEqual(reported[1], "callback failure")
      assert.strictEqual(yield* future, 5)
      assert.strictEqual(yield* Future.state(future), "FINISHED")
    })
  )

  it.effect("an Effect callback runs with the references of the fiber that registered it", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const latch = yield* Deferred.make<void>()
      const record = () =>
        Effect.gen(function* () {
          seen.push(yield* Label)
          yield* Deferred.succeed(latch, undefined)
        })
      const later = yield* pending
      yield* Future.addDoneCallback(later, record).pipe(Effect.provideService(Label, "registered-later"))
      yield* Future.complete(later, 1)
      yield* Deferred.await(latch)
      yield* Future.addDoneCallback(later, record).pipe(Effect.provideService(Label, "registered-done"))
      assert.deepStrictEqual(seen, ["registered-later", "registered-done"])
    })
  )

  it.effect("data-last form composes with pipe", () =>
    Effect.gen(function* () {
      let seen = false
      const future = yield* successful(1)
      yield* future.pipe(
        Future.addDoneCallback(() => {
          seen = true
        })
      )
      assert.isTrue(seen)
    })
  )
})

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

/**
 * What an executor builds (see `src/internal/core.ts`): a future whose `Control` answers for a job in a queue, with a
 * fiber started lazily that awaits the job's outcome. Interrupting that fiber winds the job down slowly here: its
 * finalizer waits for `drained`, as a worker finishing an interrupted task would.
 */
const queuedJob = Effect.gen(function* () {
  const outcome = yield* Deferred.make<number, string>()
  const drained = yield* Deferred.make<void>()
  const job = {
    state: "queued" as "queued" | "claimed" | "running" | "withdrawn",
    fibersStarted: 0,
    cancelPendingCalls: 0
  }
  const future: Future.Future<number, string> = new internal.FutureImpl<number, string>(
    () => {
      job.fibersStarted++
      return Effect.runFork(Deferred.await(outcome).pipe(Effect.onInterrupt(() => Deferred.await(drained))))
    },
    {
      phase: () => (job.state === "running" ? "RUNNING" : "PENDING"),
      cancelPending: () => {
        job.cancelPendingCalls++
        if (job.state !== "queued") return false
        job.state = "withdrawn"
        return true
      }
    }
  )
  return { future, job, outcome, drained }
})

describe("Future over an executor's Control", () => {
  it.effect("its fiber starts once, when something first asks for it", () =>
    Effect.gen(function* () {
      const { future, job, outcome } = yield* queuedJob
      assert.strictEqual(job.fibersStarted, 0)
      assert.strictEqual(yield* Future.state(future), "PENDING")
      assert.isFalse(yield* Future.done(future))
      assert.strictEqual(job.fibersStarted, 1)
      yield* Deferred.succeed(outcome, 1)
      assert.strictEqual(yield* future, 1)
      assert.strictEqual(job.fibersStarted, 1)
    })
  )

  it.effect("PENDING while queued, RUNNING once started: cancel is then false and leaves the job alone", () =>
    Effect.gen(function* () {
      const { future, job, outcome } = yield* queuedJob
      assert.strictEqual(yield* Future.state(future), "PENDING")
      job.state = "running"
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      assert.isTrue(yield* Future.running(future))
      assert.isFalse(yield* Future.cancel(future))
      assert.strictEqual(job.cancelPendingCalls, 0)
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.succeed(outcome, 2)
      assert.strictEqual(yield* future, 2)
      assert.strictEqual(yield* Future.state(future), "FINISHED")
    })
  )

  it.effect("cancelling a queued job withdraws it once and reads CANCELLED at once, while the fiber winds down", () =>
    Effect.gen(function* () {
      const { future, job, drained } = yield* queuedJob
      const canceller = yield* Effect.forkChild(Future.cancel(future))
      yield* letOthersRun
      assert.isUndefined(canceller.pollUnsafe(), "cancel waits for the fiber to wind down")
      assert.isUndefined(Future.pollUnsafe(future))
      assert.strictEqual(job.state, "withdrawn")
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.isTrue(yield* Future.cancelled(future))
      assert.isTrue(yield* Future.done(future))
      assert.isFalse(yield* Future.running(future))
      const again = yield* Effect.forkChild(Future.cancel(future))
      yield* letOthersRun
      assert.deepStrictEqual(again.pollUnsafe(), Exit.succeed(true), "cancelling again is true at once")
      assert.strictEqual(job.cancelPendingCalls, 1, "the job is withdrawn once")
      yield* Deferred.succeed(drained, undefined)
      assert.isTrue(yield* Fiber.join(canceller))
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.instanceOf(yield* Effect.flip(Future.result(future)), ExecutorError.CancelledError)
      assert.isTrue(isCancelledExit(yield* Future.await(future)))
    })
  )

  it.effect("a cancel that loses the race to a worker returns false and cancels nothing", () =>
    Effect.gen(function* () {
      const { future, job, outcome } = yield* queuedJob
      job.state = "claimed" // a worker has taken it, but it has not started yet
      assert.strictEqual(yield* Future.state(future), "PENDING")
      assert.isFalse(yield* Future.cancel(future))
      assert.strictEqual(job.cancelPendingCalls, 1)
      assert.isFalse(yield* Future.cancelled(future))
      job.state = "running"
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.succeed(outcome, 3)
      assert.strictEqual(yield* future, 3)
    })
  )
})

const collect = <F extends Future.Future<any, any>>(stream: Stream.Stream<F, Cause.TimeoutError>) =>
  Stream.runCollect(stream).pipe(Effect.map((chunk) => Array.from(chunk)))

/** Runs `asCompleted` in a fiber, recording each future as it arrives. */
const consume = (futures: Iterable<F>, options?: { readonly timeout?: Duration.Input }) =>
  Effect.gen(function* () {
    const seen: Array<F> = []
    const fiber = yield* Effect.forkChild(
      Effect.exit(Stream.runForEach(Future.asCompleted(futures, options), (f) => Effect.sync(() => seen.push(f))))
    )
    yield* Effect.yieldNow
    return { seen, fiber }
  })

describe("Future.asCompleted", () => {
  // CPython: test_no_timeout.
  it.effect("yields every future once, finished, failed and cancelled alike", () =>
    Effect.gen(function* () {
      const cancelled = yield* cancelledPending
      const exception = yield* failed()
      const success = yield* successful()
      const future1 = yield* pending
      const { future: future2, gate } = yield* runningFuture<number, string>()
      const { seen, fiber } = yield* consume([cancelled, exception, success, future1, future2])
      yield* Future.complete(future1, 42)
      yield* Deferred.succeed(gate, 42)
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(fiber)))
      assert.sameMembers(seen, [cancelled, exception, success, future1, future2])
    })
  )

  it.effect("yields already-finished futures first (in the order given), then the rest in the order they end", () =>
    Effect.gen(function* () {
      const done1 = yield* successful(1)
      const done2 = yield* failed("x")
      const cancelled = yield* cancelledPending
      const later = yield* pending
      const latest = yield* pending
      const middle = yield* running
      const fiber = yield* Effect.forkChild(
        collect(Future.asCompleted([latest, done1, middle, later, done2, cancelled]))
      )
      yield* letOthersRun
      yield* Future.complete(later, 3)
      yield* letOthersRun
      yield* Future.interrupt(middle)
      yield* letOthersRun
      yield* Future.fail(latest, "y")
      assert.sameOrderedMembers(yield* Fiber.join(fiber), [done1, done2, cancelled, later, middle, latest])
    })
  )

  it.effect("each future arrives as it ends, before the others have", () =>
    Effect.gen(function* () {
      const a = yield* pending
      const b = yield* pending
      const { seen, fiber } = yield* consume([a, b])
      yield* letOthersRun
      assert.strictEqual(seen.length, 0)
      yield* Future.complete(b, 2)
      yield* letOthersRun
      assert.sameOrderedMembers(seen, [b])
      assert.isUndefined(fiber.pollUnsafe())
      yield* Future.complete(a, 1)
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(fiber)))
      assert.sameOrderedMembers(seen, [b, a])
    })
  )

  // CPython: test_duplicate_futures (issue 20367, issue 31641: any iterable).
  it.effect("yields each distinct future once, from any iterable; no futures is an empty stream", () =>
    Effect.gen(function* () {
      const a = yield* successful(1)
      const b = yield* pending
      const fiber = yield* Effect.forkChild(collect(Future.asCompleted([a, b, a, b, b])))
      yield* letOthersRun
      yield* Future.complete(b, 2)
      assert.sameOrderedMembers(yield* Fiber.join(fiber), [a, b])
      const repeated = function* () {
        for (let i = 0; i < 3; i++) yield a
      }
      assert.sameOrderedMembers(yield* collect(Future.asCompleted(repeated())), [a])
      assert.sameOrderedMembers(yield* collect(Future.asCompleted(new Set([a, b]))), [a, b])
      assert.deepStrictEqual(yield* collect(Future.asCompleted([])), [])
      assert.deepStrictEqual(yield* collect(Future.asCompleted([], { timeout: 0 })), [])
    })
  )

  // CPython: test_future_times_out.
  it.effect("a timeout fails with Cause.TimeoutError after yielding what finished, for a zero or a short timeout", () =>
    Effect.gen(function* () {
      const alreadyCompleted = [yield* cancelledPending, yield* failed(), yield* successful()]
      for (const timeout of [0, 100]) {
        const future = yield* running
        const { seen, fiber } = yield* consume([...alreadyCompleted, future], { timeout })
        yield* TestClock.adjust(timeout)
        const exit = yield* Fiber.join(fiber)
        assert.isTrue(isTimeout(exit), `timeout ${timeout}`)
        assert.sameMembers(seen, alreadyCompleted, `timeout ${timeout}`)
        assert.strictEqual(yield* Future.state(future), "RUNNING", "a timeout cancels nothing")
      }
    })
  )

  it.effect("a timeout fires when that much time has passed since the stream started, not before", () =>
    Effect.gen(function* () {
      const a = yield* successful(1)
      const b = yield* pending
      const c = yield* pending
      const { seen, fiber } = yield* consume([a, b, c], { timeout: "1 second" })
      yield* TestClock.adjust(500)
      yield* Future.complete(c, 3)
      yield* TestClock.adjust(499)
      yield* letOthersRun
      assert.isUndefined(fiber.pollUnsafe(), "not before the timeout")
      assert.sameOrderedMembers(seen, [a, c])
      yield* TestClock.adjust(1)
      assert.isTrue(isTimeout(yield* Fiber.join(fiber)))
      assert.sameOrderedMembers(seen, [a, c])
      assert.strictEqual(yield* Future.state(b), "PENDING", "a timeout cancels nothing")
      assert.isTrue(yield* Future.complete(b, 2))
    })
  )

  it.effect("ends without error when everything finishes in time, even after the timeout passes", () =>
    Effect.gen(function* () {
      const a = yield* pending
      const { seen, fiber } = yield* consume([a], { timeout: "1 second" })
      yield* Future.complete(a, 1)
      const exit = yield* Fiber.join(fiber)
      yield* TestClock.adjust("2 seconds")
      assert.isTrue(Exit.isSuccess(exit))
      assert.sameOrderedMembers(seen, [a])
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(collect(Future.asCompleted([a], { timeout: 0 })))))
    })
  )

  it.effect("every future that ended before the timeout is yielded, even to a slow consumer", () =>
    Effect.gen(function* () {
      const a = yield* successful(1)
      const b = yield* pending
      const c = yield* pending
      const d = yield* pending
      const release = yield* Deferred.make<void>()
      const seen: Array<F> = []
      const fiber = yield* Effect.forkChild(
        Effect.exit(
          Stream.runForEach(Future.asCompleted([a, b, c, d], { timeout: "1 second" }), (f) =>
            Effect.andThen(
              Effect.sync(() => seen.push(f)),
              f === a ? Deferred.await(release) : Effect.void
            )
          )
        )
      )
      yield* letOthersRun
      assert.sameOrderedMembers(seen, [a])
      yield* Future.complete(b, 2)
      yield* Future.complete(c, 3)
      yield* TestClock.adjust("1 second")
      yield* Deferred.succeed(release, undefined)
      assert.isTrue(isTimeout(yield* Fiber.join(fiber)))
      assert.sameOrderedMembers(seen, [a, b, c])
      assert.strictEqual(yield* Future.state(d), "PENDING")
    })
  )

  it.effect("never cancels: stopping early or interrupting the consumer leaves every future as it was", () =>
    Effect.gen(function* () {
      const a = yield* successful(1)
      const p = yield* pending
      const r = yield* running
      const first = yield* collect(Future.asCompleted([a, p, r]).pipe(Stream.take(1)))
      assert.sameOrderedMembers(first, [a])
      const { fiber } = yield* consume([p, r])
      yield* letOthersRun
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* Future.state(p), "PENDING")
      assert.strictEqual(yield* Future.state(r), "RUNNING")
      assert.isTrue(yield* Future.complete(p, 2))
    })
  )

  // CPython: ThreadPoolWaitTests.test_pending_calls_race, in asCompleted's terms.
  it.effect("yields all of many futures that end at the same moment", () =>
    Effect.gen(function* () {
      const done = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => successful(i)
      )
      const gate = yield* Deferred.make<number, string>()
      const fibers = yield* Effect.forEach(done, () => Effect.forkChild(Deferred.await(gate)))
      const later = fibers.map((fiber) => Future.fromFiber(fiber))
      const fiber = yield* Effect.forkChild(collect(Future.asCompleted([...done, ...later])))
      yield* letOthersRun
      yield* Deferred.succeed(gate, 0)
      const all = yield* Fiber.join(fiber)
      assert.strictEqual(all.length, 100)
      assert.sameMembers(all, [...done, ...later])
      assert.sameOrderedMembers(all.slice(0, 50), done)
    })
  )
})

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
