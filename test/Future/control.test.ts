/**
 * A future over an executor's `Control` (as `src/internal/executor/core.ts` builds them): lazy fiber, pending cancel. Time is `TestClock` (`it.effect`): nothing sleeps for real and nothing
 * asserts on the wall clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { ExecutorError, Future } from "../../src/index.ts"
import * as internal from "../../src/internal/job/future.ts"
import { isCancelledExit, letOthersRun } from "./helpers.ts"

/**
 * What an executor builds (see `src/internal/executor/core.ts`): a future whose `Control` answers for a job in a queue, with a
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
