/**
 * `Future.asCompleted`, ported from CPython's test_as_completed.py. Time is `TestClock` (`it.effect`): nothing sleeps for real and nothing
 * asserts on the wall clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { Future } from "../../src/index.ts"
import {
  type F,
  runningFuture,
  pending,
  running,
  successful,
  failed,
  cancelledPending,
  letOthersRun,
  isTimeout
} from "./helpers.ts"

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
