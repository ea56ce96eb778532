/**
 * Properties of the Future combinators, for any schedule of completions, failures, defects and cancellations of
 * settable futures (`Future.make`), with arbitraries derived from Schemas (`it.effect.prop`, which reports the seed
 * and a replay token when a property fails):
 *
 * - `asCompleted` yields each distinct future exactly once, the already-finished ones first, then the others in the
 *   order they finish; with a timeout it yields what finished and fails with `TimeoutError`, cancelling nothing;
 * - `wait` returns exactly when its `returnWhen` condition first holds (or its timeout passes) and partitions the
 *   distinct futures into done and not done, cancelling nothing;
 * - `Executor.map` on `layerFibers` yields results in input order whatever order the tasks finish in, for any input,
 *   chunk size and buffer size; with failures it yields the results of every input before the first failing one,
 *   in order, and then fails with that input's failure (as Python's `map` raises at the failing item's position).
 *
 * Everything runs under `TestClock`: the test decides when each future settles and when time passes.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { Executor, Future } from "../../src/index.ts"
import { delayed } from "../fixtures/faultTasks.ts"
import { Boom } from "../fixtures/tasks.ts"

type Settable = Future.Settable<number, string>

const Outcome = Schema.Literals(["succeed", "fail", "die", "cancel", "interrupt"])
type Outcome = typeof Outcome.Type

/** How one future of a schedule settles, and where it appears in the input. */
const Step = Schema.Struct({
  outcome: Outcome,
  /** Settled before the combinator is called, or after. */
  early: Schema.Boolean,
  /** Position in the settling order (ties broken by index). */
  rank: Schema.Int,
  /** How many times the future appears in the input. */
  copies: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3 })),
  /** Settle the next one without waiting for the stream to yield this one. */
  burst: Schema.Boolean
})
type Step = typeof Step.Type

const Steps = Schema.Array(Step).check(Schema.isMaxLength(12))

/** As `Step`, but a future may also stay pending for good. */
const WaitStep = Schema.Struct({
  outcome: Schema.Literals(["succeed", "fail", "die", "cancel", "interrupt", "stay"]),
  rank: Schema.Int,
  copies: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3 }))
})
type WaitStep = typeof WaitStep.Type

const WaitSteps = Schema.Array(WaitStep).check(Schema.isMaxLength(12))

const ReturnWhen = Schema.Literals(["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"])

/** Settles a future as the step says; the settling call must report that it did (the first outcome wins). */
const settle = (future: Settable, outcome: Exclude<WaitStep["outcome"], "stay">, value: number) =>
  Effect.gen(function* () {
    switch (outcome) {
      case "succeed":
        assert.isTrue(yield* Future.complete(future, value), "complete settles a pending future")
        break
      case "fail":
        assert.isTrue(yield* Future.fail(future, `boom ${value}`), "fail settles a pending future")
        break
      case "die":
        assert.isTrue(yield* Deferred.die(future.deferred, new Error(`defect ${value}`)))
        yield* Fiber.await(future.fiber)
        break
      case "cancel":
        assert.isTrue(yield* Future.cancel(future), "cancel is true for a pending future")
        break
      case "interrupt":
        yield* Future.interrupt(future)
        break
    }
    assert.isTrue(yield* Future.done(future))
    // Whatever comes second loses.
    assert.isFalse(yield* Future.complete(future, -1), "a settled future cannot be completed again")
    assert.isFalse(yield* Future.fail(future, "late"), "a settled future cannot be failed again")
  })

/** The input: every future once, then the second copies, then the third, so duplicates are spread out. */
const inputOf = <S extends { readonly copies: number }>(steps: ReadonlyArray<S>, futures: ReadonlyArray<Settable>) =>
  [1, 2, 3].flatMap((copy) => futures.filter((_, i) => steps[i].copies >= copy))

const settlingOrder = <S extends { readonly rank: number }>(steps: ReadonlyArray<S>) =>
  steps.map((step, i) => ({ step, i })).sort((a, b) => a.step.rank - b.step.rank || a.i - b.i)

const isException = (outcome: WaitStep["outcome"]) => outcome === "fail" || outcome === "die"

describe("asCompleted", () => {
  it.effect.prop(
    "yields each distinct future once: the finished ones first, then the rest in the order they finish",
    [Steps],
    ([steps]) =>
      Effect.gen(function* () {
        const futures = yield* Effect.forEach(steps, () => Future.make<number, string>())
        const input = inputOf(steps, futures)
        const order = settlingOrder(steps)
        const early = order.filter(({ step }) => step.early)
        const late = order.filter(({ step }) => !step.early)
        for (const { step, i } of early) yield* settle(futures[i], step.outcome, i)

        const yielded = yield* Queue.unbounded<{ future: Settable; done: boolean }>()
        const consumer = yield* Effect.forkChild(
          Stream.runForEach(Future.asCompleted(input), (future) =>
            Effect.flatMap(Future.done(future), (done) => Queue.offer(yielded, { future, done }))
          )
        )
        const seen: Array<{ future: Settable; done: boolean }> = []
        const take = Effect.flatMap(Queue.take(yielded), (item) => Effect.sync(() => seen.push(item)))
        // Once the finished ones are out, the stream watches the others.
        for (let n = 0; n < early.length; n++) yield* take
        for (const [n, { step, i }] of late.entries()) {
          yield* settle(futures[i], step.outcome, i)
          // The first one settled after the call may have been taken for finished already: wait for it either way.
          if (!step.burst || (n === 0 && early.length === 0)) yield* take
        }
        while (seen.length < futures.length) yield* take
        yield* Fiber.join(consumer)

        assert.strictEqual(seen.length, futures.length, "each distinct future exactly once")
        assert.isTrue(
          seen.every((item) => item.done),
          "a future is yielded only once it is done"
        )
        const head = seen.slice(0, early.length).map((item) => item.future)
        assert.sameMembers(
          head,
          early.map(({ i }) => futures[i]),
          "the futures finished before the call come first"
        )
        assert.deepStrictEqual(
          seen.slice(early.length).map((item) => item.future),
          late.map(({ i }) => futures[i]),
          "then the others, in the order they finished"
        )
      })
  )

  it.effect.prop(
    "with a timeout, yields what finished, fails with TimeoutError and cancels nothing",
    [WaitSteps],
    ([steps]) =>
      Effect.gen(function* () {
        const futures = yield* Effect.forEach(steps, () => Future.make<number, string>())
        const yielded: Array<Settable> = []
        const consumer = yield* Effect.forkChild(
          Stream.runForEach(Future.asCompleted(inputOf(steps, futures), { timeout: 1000 }), (future) =>
            Effect.sync(() => yielded.push(future))
          ).pipe(Effect.exit)
        )
        yield* Effect.yieldNow
        for (const { step, i } of settlingOrder(steps)) {
          if (step.outcome !== "stay") yield* settle(futures[i], step.outcome, i)
        }
        const pending = futures.filter((_, i) => steps[i].outcome === "stay")
        if (pending.length > 0) {
          yield* TestClock.adjust(999)
          assert.isUndefined(consumer.pollUnsafe(), "no timeout before its time")
          yield* TestClock.adjust(1)
        }
        const exit = yield* Fiber.join(consumer)
        if (pending.length === 0) {
          assert.isTrue(Exit.isSuccess(exit), "the stream ends once every future has finished")
        } else {
          assert.isTrue(
            Exit.isFailure(exit) && Cause.isTimeoutError(Cause.squash(exit.cause)),
            `expected a TimeoutError, got ${String(exit)}`
          )
        }
        assert.sameMembers(
          yielded,
          futures.filter((_, i) => steps[i].outcome !== "stay")
        )
        for (const future of pending) assert.strictEqual(yield* Future.state(future), "PENDING", "nothing cancelled")
      })
  )
})

describe("wait", () => {
  it.effect.prop(
    "returns when its condition first holds, partitioning the distinct futures into done and not done",
    { steps: WaitSteps, returnWhen: ReturnWhen, startAfter: Schema.Int },
    ({ steps, returnWhen, startAfter }) =>
      Effect.gen(function* () {
        const futures = yield* Effect.forEach(steps, () => Future.make<number, string>())
        const input = inputOf(steps, futures)
        const order = settlingOrder(steps).filter(({ step }) => step.outcome !== "stay")
        /** Whether the condition holds once the first `k` of `order` have settled. */
        const holds = (k: number) =>
          k === futures.length ||
          (returnWhen === "FIRST_COMPLETED" && k > 0) ||
          (returnWhen === "FIRST_EXCEPTION" && order.slice(0, k).some(({ step }) => isException(step.outcome)))
        let settled = Math.min(Math.abs(startAfter) % (order.length + 1), order.length)
        for (const { step, i } of order.slice(0, settled)) yield* settle(futures[i], step.outcome as Outcome, i)

        const waiting = yield* Effect.forkChild(Future.wait(input, { returnWhen, timeout: 1000 }))
        while (!holds(settled) && settled < order.length) {
          yield* Effect.yieldNow
          assert.isUndefined(waiting.pollUnsafe(), `${returnWhen} returned after ${settled} settled`)
          const { step, i } = order[settled++]
          yield* settle(futures[i], step.outcome as Outcome, i)
        }
        if (!holds(settled)) {
          // The condition can never hold: only the timeout ends the wait.
          yield* TestClock.adjust(999)
          assert.isUndefined(waiting.pollUnsafe(), `${returnWhen} returned before its timeout`)
          yield* TestClock.adjust(1)
        }
        const { done, notDone } = yield* Fiber.join(waiting)
        const doneNow = new Set(order.slice(0, settled).map(({ i }) => futures[i]))
        assert.deepStrictEqual(
          done,
          futures.filter((future) => doneNow.has(future)),
          "done: the distinct futures done at that moment, in input order"
        )
        assert.deepStrictEqual(
          notDone,
          futures.filter((future) => !doneNow.has(future)),
          "not done: the others"
        )
        for (const future of notDone) assert.strictEqual(yield* Future.state(future), "PENDING", "nothing cancelled")
      })
  )
})

describe("Executor.map on layerFibers", () => {
  const Item = Schema.Struct({
    millis: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 50 })),
    fail: Schema.Boolean
  })

  it.effect.prop(
    "yields results in input order whatever order the tasks finish in",
    {
      items: Schema.Array(Item).check(Schema.isMaxLength(40)),
      chunksize: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 8 })),
      buffersize: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 16 })),
      concurrency: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4 })),
      failures: Schema.Boolean
    },
    ({ items, chunksize, buffersize, concurrency, failures }) =>
      Effect.gen(function* () {
        const payloads = items.map((item, index) => ({ index, millis: item.millis, fail: failures && item.fail }))
        const emitted: Array<number> = []
        const running = yield* Effect.forkChild(
          Stream.runForEach(Executor.map(delayed, payloads, { chunksize, buffersize }), (value) =>
            Effect.sync(() => emitted.push(value))
          ).pipe(Effect.exit)
        )
        // Time passes in steps until the stream ends: tasks finish in the order of their delays, not of the input.
        for (let step = 0; running.pollUnsafe() === undefined; step++) {
          assert.isBelow(step, 10_000, "the stream never ended")
          yield* TestClock.adjust(5)
        }
        const exit = yield* Fiber.join(running)
        const failing = payloads.filter((p) => p.fail).map((p) => p.index)
        if (failing.length === 0) {
          assert.isTrue(Exit.isSuccess(exit), String(exit))
          assert.deepStrictEqual(
            emitted,
            payloads.map((p) => p.index)
          )
        } else {
          assert.isTrue(Exit.isFailure(exit), "a failing input fails the stream")
          const error = Cause.squash((exit as Exit.Failure<void, unknown>).cause)
          assert.instanceOf(error, Boom)
          assert.strictEqual((error as Boom).code, failing[0], "the failure is the first failing input's")
          // Every input before it came out first, in order, whenever the later ones finished.
          assert.deepStrictEqual(
            emitted,
            payloads.slice(0, failing[0]).map((p) => p.index)
          )
        }
        const stats = yield* Executor.stats
        assert.strictEqual(stats.queued + stats.busy, 0, "nothing left queued or running")
      }).pipe(Effect.provide(Executor.layerFibers({ concurrency })))
  )
})
