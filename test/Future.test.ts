/**
 * Futures on their own (no executor), ported from CPython's test_concurrent_futures: test_future.py (states, cancel,
 * result/exception with timeouts, done-callbacks), test_as_completed.py and test_wait.py. Time is `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { ExecutorError, Future } from "../src/index.ts"

/** A future that is RUNNING until `finish` is called with an outcome. */
const runningFuture = <A, E = never>() =>
  Effect.gen(function* () {
    const gate = yield* Deferred.make<A, E>()
    const fiber = yield* Effect.forkChild(Deferred.await(gate))
    yield* Effect.yieldNow
    return { future: Future.fromFiber(fiber), gate }
  })

const finished = <A>(value: A) =>
  Effect.gen(function* () {
    const future = yield* Future.make<A, string>()
    yield* Future.complete(future, value)
    return future
  })

const failed = (error: string) =>
  Effect.gen(function* () {
    const future = yield* Future.make<number, string>()
    yield* Future.fail(future, error)
    return future
  })

const cancelledFuture = Effect.gen(function* () {
  const future = yield* Future.make<number, string>()
  yield* Future.cancel(future)
  return future
})

describe("Future states", () => {
  it.effect("a settable future is PENDING, then FINISHED", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number>()
      assert.strictEqual(yield* Future.state(future), "PENDING")
      assert.isFalse(yield* Future.done(future))
      assert.isFalse(yield* Future.running(future))
      assert.isFalse(yield* Future.cancelled(future))
      assert.isTrue(yield* Future.complete(future, 1))
      assert.strictEqual(yield* Future.state(future), "FINISHED")
      assert.isTrue(yield* Future.done(future))
      assert.strictEqual(Future.stateUnsafe(future), "FINISHED")
      assert.deepStrictEqual(Future.pollUnsafe(future), Exit.succeed(1))
    })
  )

  it.effect("a future over a live fiber is RUNNING", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      assert.isTrue(yield* Future.running(future))
      assert.isUndefined(Future.pollUnsafe(future))
      yield* Deferred.succeed(gate, 5)
      assert.strictEqual(yield* future, 5)
      assert.strictEqual(yield* Future.state(future), "FINISHED")
    })
  )

  it.effect("a failed future is FINISHED (not CANCELLED) and done", () =>
    Effect.gen(function* () {
      const future = yield* failed("boom")
      assert.strictEqual(yield* Future.state(future), "FINISHED")
      assert.isTrue(yield* Future.done(future))
      assert.isFalse(yield* Future.cancelled(future))
    })
  )

  it.effect("isFuture recognises futures only", () =>
    Effect.gen(function* () {
      assert.isTrue(Future.isFuture(yield* finished(1)))
      assert.isFalse(Future.isFuture(Effect.succeed(1)))
      assert.isFalse(Future.isFuture(null))
    })
  )
})

describe("Future.cancel (Python's meaning)", () => {
  it.effect("cancels a PENDING future: true, CANCELLED, done; again is still true", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number>()
      assert.isTrue(yield* Future.cancel(future))
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.isTrue(yield* Future.cancelled(future))
      assert.isTrue(yield* Future.done(future))
      assert.isTrue(yield* Future.cancel(future))
    })
  )

  it.effect("does nothing to a RUNNING future: false, still running", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      assert.isFalse(yield* Future.cancel(future))
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.succeed(gate, 1)
      assert.strictEqual(yield* future, 1)
    })
  )

  it.effect("does nothing to a FINISHED future, successful or failed: false", () =>
    Effect.gen(function* () {
      const ok = yield* finished(1)
      assert.isFalse(yield* Future.cancel(ok))
      assert.strictEqual(yield* Future.state(ok), "FINISHED")
      const bad = yield* failed("x")
      assert.isFalse(yield* Future.cancel(bad))
    })
  )

  it.effect("a cancelled future's result fails with CancelledError; Fiber.join keeps Effect's interruption", () =>
    Effect.gen(function* () {
      const future = yield* cancelledFuture
      const error = yield* Effect.flip(Future.result(future))
      assert.instanceOf(error, ExecutorError.CancelledError)
      const fromYield = yield* Effect.flip(future)
      assert.instanceOf(fromYield, ExecutorError.CancelledError)
      const exit = yield* Future.await(future)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
      const joined = yield* Effect.exit(Fiber.join(future.fiber))
      assert.isTrue(Exit.isFailure(joined) && Cause.hasInterruptsOnly(joined.cause))
      const exception = yield* Effect.flip(Future.exception(future))
      assert.instanceOf(exception, ExecutorError.CancelledError)
    })
  )

  it.effect("complete and fail after cancel return false", () =>
    Effect.gen(function* () {
      const future = yield* cancelledFuture
      assert.isFalse(yield* Future.complete(future, 1))
      assert.isFalse(yield* Future.fail(future, "late"))
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    })
  )
})

describe("Future.interrupt", () => {
  it.effect("cancels a RUNNING future wherever it is", () =>
    Effect.gen(function* () {
      const { future } = yield* runningFuture<number>()
      yield* Future.interrupt(future)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      assert.isTrue(yield* Future.cancel(future), "cancel on an already cancelled future is true")
    })
  )

  it.effect("Fiber.interrupt on future.fiber means the same", () =>
    Effect.gen(function* () {
      const { future } = yield* runningFuture<number>()
      yield* Fiber.interrupt(future.fiber)
      assert.isTrue(yield* Future.cancelled(future))
    })
  )
})

describe("Future.complete and Future.fail", () => {
  it.effect("the first outcome wins", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number, string>()
      assert.isTrue(yield* Future.complete(future, 1))
      assert.isFalse(yield* Future.complete(future, 2))
      assert.isFalse(yield* Future.fail(future, "late"))
      assert.strictEqual(yield* future, 1)
      const other = yield* Future.make<number, string>()
      assert.isTrue(yield* Future.fail(other, "first"))
      assert.isFalse(yield* Future.complete(other, 3))
      assert.deepStrictEqual(yield* Future.exception(other), Option.some("first"))
    })
  )

  it.effect("data-last forms compose with pipe", () =>
    Effect.gen(function* () {
      const future = yield* Future.make<number, string>()
      assert.isTrue(yield* future.pipe(Future.complete(9)))
      assert.strictEqual(yield* future.pipe(Future.result()), 9)
    })
  )
})

describe("Future.result and Future.exception", () => {
  it.effect("result returns the value or fails with the typed error", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Future.result(yield* finished(7)), 7)
      assert.strictEqual(yield* Effect.flip(Future.result(yield* failed("boom"))), "boom")
    })
  )

  it.effect("exception is none on success, the error on failure", () =>
    Effect.gen(function* () {
      assert.isTrue(Option.isNone(yield* Future.exception(yield* finished(7))))
      assert.deepStrictEqual(yield* Future.exception(yield* failed("boom")), Option.some("boom"))
    })
  )

  it.effect("exception lets a defect through as a defect", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Effect.die(new Error("bug")))
      yield* Fiber.await(fiber)
      const exit = yield* Effect.exit(Future.exception(Future.fromFiber(fiber)))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
    })
  )

  it.effect("result with a timeout fails with TimeoutError and leaves the future running", () =>
    Effect.gen(function* () {
      const { future, gate } = yield* runningFuture<number>()
      const waiting = yield* Effect.forkChild(Effect.flip(Future.result(future, { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Cause.isTimeoutError(yield* Fiber.join(waiting)))
      assert.strictEqual(yield* Future.state(future), "RUNNING")
      yield* Deferred.succeed(gate, 3)
      assert.strictEqual(yield* Future.result(future, { timeout: 0 }), 3)
    })
  )

  it.effect("exception with a timeout fails with TimeoutError; a finished future needs no time", () =>
    Effect.gen(function* () {
      const { future } = yield* runningFuture<number, string>()
      const waiting = yield* Effect.forkChild(Effect.flip(Future.exception(future, { timeout: 50 })))
      yield* TestClock.adjust(50)
      assert.isTrue(Cause.isTimeoutError(yield* Fiber.join(waiting)))
      assert.deepStrictEqual(yield* Future.exception(yield* failed("x"), { timeout: 0 }), Option.some("x"))
    })
  )
})

describe("Future.addDoneCallback", () => {
  it.effect("runs once on success, on failure and on cancellation, with the future", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const record = (label: string) => (future: Future.Future<number, string>) => {
        seen.push(`${label}:${Future.stateUnsafe(future)}`)
      }
      const ok = yield* Future.make<number, string>()
      const bad = yield* Future.make<number, string>()
      const gone = yield* Future.make<number, string>()
      yield* Future.addDoneCallback(ok, record("ok"))
      yield* Future.addDoneCallback(bad, record("bad"))
      yield* Future.addDoneCallback(gone, record("gone"))
      assert.deepStrictEqual(seen, [])
      yield* Future.complete(ok, 1)
      yield* Future.fail(bad, "x")
      yield* Future.cancel(gone)
      yield* Effect.yieldNow
      assert.deepStrictEqual(seen, ["ok:FINISHED", "bad:FINISHED", "gone:CANCELLED"])
      yield* Future.complete(ok, 2)
      yield* Effect.yieldNow
      assert.strictEqual(seen.length, 3, "a callback runs once")
    })
  )

  it.effect("runs at once on an already finished future", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      const future = yield* finished(4)
      yield* Future.addDoneCallback(future, () => {
        seen.push(4)
      })
      assert.deepStrictEqual(seen, [4])
    })
  )

  it.effect("runs callbacks in registration order, Effect callbacks included", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      const future = yield* Future.make<number>()
      yield* Future.addDoneCallback(future, () => {
        seen.push(1)
      })
      yield* Future.addDoneCallback(future, () => Effect.sync(() => seen.push(2)))
      yield* Future.addDoneCallback(future, () => {
        seen.push(3)
      })
      yield* Future.complete(future, 0)
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      assert.deepStrictEqual(seen, [1, 2, 3])
    })
  )

  it.effect("a callback that throws or fails is isolated: the future and the other callbacks are unaffected", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const future = yield* Future.make<number>()
      yield* Future.addDoneCallback(future, () => {
        throw new Error("callback bug")
      })
      yield* Future.addDoneCallback(future, () => Effect.fail("callback failure"))
      yield* Future.addDoneCallback(future, () => {
        seen.push("after")
      })
      yield* Future.complete(future, 1)
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      assert.deepStrictEqual(seen, ["after"])
      assert.strictEqual(yield* future, 1)
      const done = yield* finished(2)
      yield* Future.addDoneCallback(done, () => {
        throw new Error("at once")
      })
      assert.strictEqual(yield* done, 2)
    })
  )
})

describe("Future.map and Future.flatMap", () => {
  it.effect("map transforms the value; a failure passes through", () =>
    Effect.gen(function* () {
      const doubled = yield* Future.map(yield* finished(21), (n) => n * 2)
      assert.strictEqual(yield* doubled, 42)
      const failure = yield* Future.map(yield* failed("boom"), (n) => n * 2)
      assert.strictEqual(yield* Effect.flip(Future.result(failure)), "boom")
    })
  )

  it.effect("a derived future mirrors a pending source and is cancelled with it; cancelling it spares the source", () =>
    Effect.gen(function* () {
      const source = yield* Future.make<number>()
      const derived = yield* Future.map(source, (n) => n + 1)
      yield* Effect.yieldNow
      assert.strictEqual(yield* Future.state(derived), "PENDING")
      assert.isTrue(yield* Future.cancel(derived))
      assert.strictEqual(yield* Future.state(source), "PENDING")
      const second = yield* Future.map(source, (n) => n + 1)
      yield* Effect.yieldNow
      yield* Future.cancel(source)
      yield* Effect.exit(Fiber.await(second.fiber))
      assert.strictEqual(yield* Future.state(second), "CANCELLED")
    })
  )

  it.effect("flatMap chains to the next future, given as a Future or an Effect of one", () =>
    Effect.gen(function* () {
      const first = yield* finished(2)
      const chained = yield* Future.flatMap(first, (n) =>
        Future.map(Future.fromFiber(Effect.runFork(Effect.succeed(n))), (x) => x + 1)
      )
      assert.strictEqual(yield* chained, 3)
      const direct = yield* Future.flatMap(first, (n) => Future.fromFiber(Effect.runFork(Effect.succeed(n * 10))))
      assert.strictEqual(yield* direct, 20)
      const failing = yield* Future.flatMap(yield* failed("early"), () => Future.make<number>())
      assert.strictEqual(yield* Effect.flip(Future.result(failing)), "early")
    })
  )
})

const collect = <F extends Future.Future<any, any>>(stream: Stream.Stream<F, Cause.TimeoutError>) =>
  Stream.runCollect(stream).pipe(Effect.map((chunk) => Array.from(chunk)))

describe("Future.asCompleted", () => {
  it.effect("yields already-finished futures first (in the order given), then the rest as they finish", () =>
    Effect.gen(function* () {
      const done1 = yield* finished(1)
      const done2 = yield* failed("x")
      const cancelled = yield* cancelledFuture
      const later = yield* Future.make<number, string>()
      const latest = yield* Future.make<number, string>()
      const fiber = yield* Effect.forkChild(collect(Future.asCompleted([latest, done1, later, done2, cancelled])))
      yield* Effect.yieldNow
      yield* Future.complete(later, 3)
      yield* Future.fail(latest, "y")
      const order = yield* Fiber.join(fiber)
      assert.deepStrictEqual(order, [done1, done2, cancelled, later, latest])
    })
  )

  it.effect("yields each distinct future once, and nothing for no futures", () =>
    Effect.gen(function* () {
      const a = yield* finished(1)
      const b = yield* Future.make<number, string>()
      const fiber = yield* Effect.forkChild(collect(Future.asCompleted([a, b, a, b, b])))
      yield* Effect.yieldNow
      yield* Future.complete(b, 2)
      assert.deepStrictEqual(yield* Fiber.join(fiber), [a, b])
      assert.deepStrictEqual(yield* collect(Future.asCompleted([])), [])
    })
  )

  it.effect("a timeout fails with TimeoutError after yielding what finished, and cancels nothing", () =>
    Effect.gen(function* () {
      const a = yield* finished(1)
      const b = yield* Future.make<number, string>()
      const c = yield* Future.make<number, string>()
      const seen: Array<Future.Future<number, string>> = []
      const fiber = yield* Effect.forkChild(
        Effect.flip(
          Stream.runForEach(Future.asCompleted([a, b, c], { timeout: "1 second" }), (f) =>
            Effect.sync(() => seen.push(f))
          )
        )
      )
      yield* Effect.yieldNow
      yield* Future.complete(c, 3)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.isTrue(Cause.isTimeoutError(error))
      assert.deepStrictEqual(seen, [a, c])
      assert.strictEqual(yield* Future.state(b), "PENDING")
    })
  )

  it.effect("a zero timeout yields the finished futures, then fails at once", () =>
    Effect.gen(function* () {
      const a = yield* finished(1)
      const b = yield* Future.make<number, string>()
      const seen: Array<unknown> = []
      const fiber = yield* Effect.forkChild(
        Effect.flip(
          Stream.runForEach(Future.asCompleted([a, b], { timeout: 0 }), (f) => Effect.sync(() => seen.push(f)))
        )
      )
      yield* TestClock.adjust(0)
      assert.isTrue(Cause.isTimeoutError(yield* Fiber.join(fiber)))
      assert.deepStrictEqual(seen, [a])
      assert.deepStrictEqual(yield* collect(Future.asCompleted([a], { timeout: 0 })), [a])
    })
  )
})

describe("Future.wait", () => {
  it.effect("ALL_COMPLETED (the default) waits for every future", () =>
    Effect.gen(function* () {
      const a = yield* finished(1)
      const b = yield* Future.make<number, string>()
      const c = yield* Future.make<number, string>()
      const fiber = yield* Effect.forkChild(Future.wait([a, b, c]))
      yield* Effect.yieldNow
      yield* Future.complete(b, 2)
      yield* Effect.yieldNow
      assert.isUndefined(fiber.pollUnsafe())
      yield* Future.cancel(c)
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.deepStrictEqual(done, [a, b, c])
      assert.deepStrictEqual(notDone, [])
    })
  )

  it.effect("FIRST_COMPLETED returns at the first future done, cancellation included", () =>
    Effect.gen(function* () {
      const a = yield* Future.make<number, string>()
      const b = yield* Future.make<number, string>()
      const fiber = yield* Effect.forkChild(Future.wait([a, b], { returnWhen: "FIRST_COMPLETED" }))
      yield* Effect.yieldNow
      yield* Future.cancel(b)
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.deepStrictEqual(done, [b])
      assert.deepStrictEqual(notDone, [a])
      const immediate = yield* Future.wait([a, yield* finished(1)], { returnWhen: "FIRST_COMPLETED" })
      assert.strictEqual(immediate.done.length, 1)
    })
  )

  it.effect("FIRST_EXCEPTION returns at the first failure; cancellation and success do not count", () =>
    Effect.gen(function* () {
      const ok = yield* Future.make<number, string>()
      const gone = yield* Future.make<number, string>()
      const bad = yield* Future.make<number, string>()
      const pending = yield* Future.make<number, string>()
      const fiber = yield* Effect.forkChild(Future.wait([ok, gone, bad, pending], { returnWhen: "FIRST_EXCEPTION" }))
      yield* Effect.yieldNow
      yield* Future.complete(ok, 1)
      yield* Future.cancel(gone)
      yield* Effect.yieldNow
      assert.isUndefined(fiber.pollUnsafe(), "neither a success nor a cancellation is an exception")
      yield* Future.fail(bad, "boom")
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.deepStrictEqual(done, [ok, gone, bad])
      assert.deepStrictEqual(notDone, [pending])
    })
  )

  it.effect("FIRST_EXCEPTION with no failure is ALL_COMPLETED", () =>
    Effect.gen(function* () {
      const a = yield* finished(1)
      const b = yield* cancelledFuture
      const { done, notDone } = yield* Future.wait([a, b], { returnWhen: "FIRST_EXCEPTION" })
      assert.deepStrictEqual(done, [a, b])
      assert.deepStrictEqual(notDone, [])
    })
  )

  it.effect("a timeout returns what is done so far, without error, and cancels nothing", () =>
    Effect.gen(function* () {
      const a = yield* finished(1)
      const b = yield* Future.make<number, string>()
      const fiber = yield* Effect.forkChild(Future.wait([a, b], { timeout: "5 seconds" }))
      yield* TestClock.adjust("5 seconds")
      const { done, notDone } = yield* Fiber.join(fiber)
      assert.deepStrictEqual(done, [a])
      assert.deepStrictEqual(notDone, [b])
      assert.strictEqual(yield* Future.state(b), "PENDING")
      const zero = yield* Effect.forkChild(Future.wait([a, b], { timeout: 0 }))
      yield* TestClock.adjust(0)
      assert.deepStrictEqual((yield* Fiber.join(zero)).notDone, [b])
    })
  )

  it.effect("counts each distinct future once; no futures is done at once", () =>
    Effect.gen(function* () {
      const a = yield* finished(1)
      const { done } = yield* Future.wait([a, a, a])
      assert.deepStrictEqual(done, [a])
      assert.deepStrictEqual(yield* Future.wait([]), { done: [], notDone: [] })
    })
  )
})
