/**
 * `Future.addDoneCallback`, ported from CPython's test_future.py done-callback tests: once, in order, at once when
 * already done, failures logged and isolated. Time is `TestClock` (`it.effect`): nothing sleeps for real and nothing
 * asserts on the wall clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { Future } from "../../src/index.ts"
import {
  type F,
  runningFuture,
  pending,
  running,
  successful,
  failed,
  cancelledPending,
  interruptedRunning,
  Bug,
  Label,
  letOthersRun,
  capturingLogs
} from "./helpers.ts"

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
