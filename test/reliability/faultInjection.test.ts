/**
 * Fault injection, seeded and reproducible (the seed is in every assertion message; set FAULT_SEED to replay one).
 * Every future settles, the outcomes match the plan exactly, the stats agree, no more than `maxWorkers` workers
 * exist, and the executor still runs a fresh task afterwards.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Executor, Future } from "../../src/index.ts"
import { double } from "../fixtures/tasks.ts"
import { expected, layerFor, makePlan, runPlan, tally } from "./faultInjection.ts"

const TASKS = Number(process.env.FAULT_TASKS ?? 300)
const WORKERS = 2

describe.each(["threads", "processes", "fibers"] as const)("fault injection on %s", (kind) => {
  it.live(`${TASKS} tasks settle with exactly the injected outcomes`, () => {
    const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const plan = makePlan({ seed, tasks: TASKS, workers: kind !== "fibers" })
    const label = `seed ${seed} (replay with FAULT_SEED=${seed})`
    return Effect.gen(function* () {
      const outcomes = yield* runPlan(plan, WORKERS)
      assert.deepStrictEqual(tally(outcomes), tally(plan.map((k) => expected[k])), label)
      const stats = yield* Executor.stats
      const want = tally(plan.map((k) => expected[k]))
      // The latched blockers add two successes to what the plan injected.
      assert.strictEqual(stats.completed, (want.success ?? 0) + WORKERS, label)
      assert.strictEqual(stats.failed, (want.typedFailure ?? 0) + (want.defect ?? 0), label)
      assert.strictEqual(stats.crashed, want.crashed ?? 0, label)
      assert.strictEqual(stats.cancelled, want.cancelled ?? 0, label)
      assert.strictEqual(stats.queued, 0, label)
      assert.isAtMost(stats.workers, WORKERS, label)
      assert.strictEqual(yield* Effect.flatMap(Executor.submit(double, 21), (f) => Future.result(f)), 42, label)
    }).pipe(Effect.provide(layerFor(kind, WORKERS)))
  })
})
