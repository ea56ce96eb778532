/**
 * Fault injection, seeded and reproducible (see `faultInjection.ts` for the plan): on each layer, N tasks (500;
 * `SOAK_TASKS` to change) of which a seeded random share exit their worker, throw, fail with a typed error, run out
 * of memory, spin forever and are interrupted, or are cancelled while pending or running. Afterwards every future
 * has settled with exactly the outcome injected into it, `Executor.stats` agrees, no more than `maxWorkers` workers
 * existed, and the executor still runs a fresh task.
 *
 * Every assertion message carries the seed; replay a failure with `FAULT_SEED=<seed>`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { Executor, Future } from "../../src/index.ts"
import { double } from "../fixtures/tasks.ts"
import {
  childProcesses,
  describeProgress,
  makeProgress,
  expectedStats,
  expectedTally,
  type LayerKind,
  layerFor,
  makePlan,
  runPlan
} from "./faultInjection.ts"

const TASKS = Number(process.env.SOAK_TASKS ?? 500)
const WORKERS = 2

const seedFor = (layer: LayerKind) => {
  if (process.env.FAULT_SEED !== undefined) return Number(process.env.FAULT_SEED)
  return (Math.random() * 2 ** 31) >>> 0 || ({ threads: 1, processes: 2, fibers: 3 } as const)[layer]
}

describe.each(["threads", "processes", "fibers"] as const)("fault injection on %s", (layer) => {
  it.live(
    `${TASKS} tasks settle with exactly the outcomes injected into them`,
    () => {
      const seed = seedFor(layer)
      const plan = makePlan({ seed, tasks: TASKS, layer })
      const label = `[${layer}, seed ${seed}: replay with FAULT_SEED=${seed}]`
      const childrenBefore = childProcesses()
      const progress = makeProgress()
      return Effect.gen(function* () {
        const report = yield* runPlan(plan, WORKERS, undefined, progress).pipe(
          // Before the test's own time-out, so that a run that hangs says where, with its seed.
          Effect.timeoutOrElse({
            duration: "100 seconds",
            orElse: () =>
              Effect.flatMap(Executor.stats, (stats) =>
                Effect.die(
                  new Error(`hung ${label}: ${describeProgress(plan, progress)}; stats ${JSON.stringify(stats)}`)
                )
              )
          })
        )
        assert.deepStrictEqual(report.mismatches, [], `futures with another outcome than injected ${label}`)
        assert.deepStrictEqual(report.tally, expectedTally(plan), `outcome counts ${label}`)

        const stats = yield* Executor.stats
        const want = expectedStats(plan, WORKERS)
        assert.deepStrictEqual(
          { completed: stats.completed, failed: stats.failed, crashed: stats.crashed, cancelled: stats.cancelled },
          want,
          `Executor.stats ${label}`
        )
        assert.strictEqual(stats.queued, 0, `queued ${label}`)
        assert.strictEqual(stats.busy, 0, `busy ${label}`)
        assert.isAtMost(stats.workers, WORKERS, `workers ${label}`)
        assert.isAtMost(report.maxWorkersSeen, WORKERS, `most workers seen while running ${label}`)
        assert.isAtMost(report.maxBusySeen, WORKERS, `most busy workers seen while running ${label}`)
        if (layer === "processes") {
          // Terminated children may take a moment to be reaped; then no more than maxWorkers are left.
          yield* Effect.sync(() => childProcesses() - childrenBefore).pipe(
            Effect.repeat({ until: (children) => children <= WORKERS, schedule: Schedule.spaced(10), times: 1000 })
          )
          assert.isAtMost(childProcesses() - childrenBefore, WORKERS, `live child processes ${label}`)
        }

        const fresh = yield* Future.result(yield* Executor.submit(double, 21))
        assert.strictEqual(fresh, 42, `a fresh task after the run ${label}`)
        assert.strictEqual((yield* Executor.stats).completed, want.completed + 1, `stats after a fresh task ${label}`)
      }).pipe(
        Effect.provide(layerFor(layer, WORKERS)),
        // Whatever goes wrong (an assertion, a defect, the test timing out), say how to replay it.
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => console.error(`fault injection failed ${label}`))
        )
      )
    },
    // A hang guard, not a timing assertion.
    120_000
  )
})
