/**
 * `npm run soak`: the fault-injection plan at scale (50,000 tasks by default, SOAK_TASKS to change) on one
 * worker-thread executor, in batches, sampling RSS after each. Asserts every batch's outcomes match its plan and that
 * RSS stays flat after warm-up (the last sample under 1.5 × the sample after the fifth batch), then prints a summary.
 */
import * as Effect from "effect/Effect"
import { Executor } from "../../src/index.ts"
import { expected, layerFor, makePlan, runPlan, tally } from "./faultInjection.ts"

const TOTAL = Number(process.env.SOAK_TASKS ?? 50_000)
const BATCH = 1000
const WORKERS = 2
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31))

const program = Effect.gen(function* () {
  const started = performance.now()
  const outcomes: Record<string, number> = {}
  const rss: Array<number> = []
  for (let batch = 0; batch * BATCH < TOTAL; batch++) {
    const plan = makePlan({
      seed: SEED + batch,
      tasks: Math.min(BATCH, TOTAL - batch * BATCH),
      workers: true,
      crashShare: 0.002
    })
    const got = tally(yield* runPlan(plan, WORKERS))
    const want = tally(plan.map((kind) => expected[kind]))
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      return yield* Effect.die(
        new Error(`batch ${batch} (seed ${SEED + batch}): got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
      )
    }
    for (const [outcome, count] of Object.entries(got)) outcomes[outcome] = (outcomes[outcome] ?? 0) + count
    rss.push(process.memoryUsage().rss)
    if (batch % 10 === 0) console.log(`batch ${batch}: ${(rss[rss.length - 1] / 1024 / 1024).toFixed(0)} MB RSS`)
  }
  const stats = yield* Executor.stats
  const warm = rss[Math.min(4, rss.length - 1)]
  const last = rss[rss.length - 1]
  console.log(`\nsoak summary (seed ${SEED})`)
  console.log(`  tasks: ${TOTAL} in ${rss.length} batches, ${((performance.now() - started) / 1000).toFixed(1)} s`)
  console.log(`  outcomes: ${JSON.stringify(outcomes)}`)
  console.log(
    `  executor stats: completed ${stats.completed}, failed ${stats.failed}, crashed ${stats.crashed}, cancelled ${stats.cancelled}`
  )
  console.log(
    `  RSS: first ${(rss[0] / 1024 / 1024).toFixed(0)} MB, after warm-up ${(warm / 1024 / 1024).toFixed(0)} MB, last ${(last / 1024 / 1024).toFixed(0)} MB`
  )
  if (last > 1.5 * warm) return yield* Effect.die(new Error(`RSS grew from ${warm} to ${last} bytes after warm-up`))
  console.log("  RSS flat after warm-up: ok")
})

await Effect.runPromise(program.pipe(Effect.provide(layerFor("threads", WORKERS)), Effect.scoped))
