/**
 * Properties of the combinators, for any schedule of completions, failures and cancellations: `asCompleted` yields
 * each distinct future once in completion order (already-finished first), `wait` partitions correctly, and `map`
 * keeps input order.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Executor, Future } from "../../src/index.ts"
import { double } from "../fixtures/tasks.ts"

const Step = Schema.Struct({
  outcome: Schema.Literals(["succeed", "fail", "cancel", "stay"]),
  /** Settled before `asCompleted` / `wait` looks, or after. */
  early: Schema.Boolean,
  /** Position in the settling order. */
  rank: Schema.Int,
  /** How many times the future appears in the input (duplicates). */
  copies: Schema.Literals([1, 2])
})

const settle = (future: Future.Settable<number, string>, outcome: (typeof Step.Type)["outcome"]) => {
  switch (outcome) {
    case "succeed":
      return Future.complete(future, 1)
    case "fail":
      return Future.fail(future, "boom")
    case "cancel":
      return Future.cancel(future)
    case "stay":
      return Effect.succeed(false)
  }
}

const setUp = (steps: ReadonlyArray<typeof Step.Type>) =>
  Effect.gen(function* () {
    const futures = yield* Effect.forEach(steps, () => Future.make<number, string>())
    const input = steps.flatMap((step, i) => Array.from({ length: step.copies }, () => futures[i]))
    const order = steps.map((step, i) => ({ step, i })).sort((a, b) => a.step.rank - b.step.rank || a.i - b.i)
    return { futures, input, order }
  })

describe("combinator properties", () => {
  it.effect.prop(
    "asCompleted yields each distinct future once, finished first, then in completion order",
    [Schema.Array(Step)],
    ([all]) =>
      Effect.gen(function* () {
        const steps = all.slice(0, 10).map((s) => (s.outcome === "stay" ? { ...s, outcome: "succeed" as const } : s))
        const { futures, input, order } = yield* setUp(steps)
        for (const { step, i } of order) if (step.early) yield* settle(futures[i], step.outcome)
        const fiber = yield* Effect.forkChild(Stream.runCollect(Future.asCompleted(input)))
        yield* Effect.yieldNow
        const late = order.filter(({ step }) => !step.early)
        for (const { step, i } of late) yield* settle(futures[i], step.outcome)
        const seen = Array.from(yield* Fiber.join(fiber))
        const expected = [...futures.filter((_, i) => steps[i].early), ...late.map(({ i }) => futures[i])]
        assert.deepStrictEqual(seen, expected)
      })
  )

  it.effect.prop(
    "wait partitions into done and not done for every returnWhen",
    [Schema.Array(Step), Schema.Literals(["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"])],
    ([all, returnWhen]) =>
      Effect.gen(function* () {
        const steps = all.slice(0, 10)
        const { futures, input, order } = yield* setUp(steps)
        for (const { step, i } of order) yield* settle(futures[i], step.outcome)
        const settled = futures.filter((_, i) => steps[i].outcome !== "stay")
        const pending = futures.filter((_, i) => steps[i].outcome === "stay")
        const { done, notDone } = yield* Future.wait(input, { returnWhen, timeout: 0 })
        assert.deepStrictEqual(done, settled)
        assert.deepStrictEqual(notDone, pending)
        const failed = steps.some((s) => s.outcome === "fail")
        // Without a timeout, wait returns at once exactly when its condition already holds.
        const satisfied =
          pending.length === 0 ||
          (returnWhen === "FIRST_COMPLETED" && settled.length > 0) ||
          (returnWhen === "FIRST_EXCEPTION" && failed)
        const fiber = yield* Effect.forkChild(Future.wait(input, { returnWhen }))
        yield* Effect.yieldNow
        assert.strictEqual(fiber.pollUnsafe() !== undefined, satisfied)
        yield* Fiber.interrupt(fiber)
      })
  )

  it.effect.prop(
    "map returns results in input order for any inputs and chunk size",
    [Schema.Array(Schema.Int), Schema.Int],
    ([inputs, chunk]) =>
      Effect.gen(function* () {
        const chunksize = 1 + Math.abs(chunk % 7)
        const results = yield* Stream.runCollect(Executor.map(double, inputs, { chunksize }))
        assert.deepStrictEqual(
          Array.from(results),
          inputs.map((n) => n * 2)
        )
      }).pipe(Effect.provide(Executor.layerFibers({ concurrency: 3 })))
  )
})
