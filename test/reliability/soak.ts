/**
 * `npm run soak`: the fault-injection plan at scale (50,000 tasks by default, `SOAK_TASKS` to change) on one
 * worker-thread executor, in rounds of 100, sampling RSS after every tenth. Fails on any future whose outcome is not
 * the one injected into it, on outcome counts that differ from the plan, on more live workers than `maxWorkers`, and
 * on RSS that grows after warm-up (the last sample over 1.5 × the sample after the warm-up rounds). Prints a summary:
 * tasks, outcomes by kind, RSS first/after warm-up/last, duration, and the seed (`SOAK_SEED` replays it).
 */
import * as Effect from "effect/Effect"
import { Executor } from "../../src/index.ts"
import { expectedTally, layerFor, makePlan, runPlan } from "./faultInjection.ts"

const TOTAL = Number(process.env.SOAK_TASKS ?? 50_000)
const WORKERS = 2
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31))
/** Rounds of 100 tasks before RSS is taken as the warm baseline: JIT tiers, pools and caches fill up first. */
const WARM_ROUNDS = 20

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

const program = Effect.gen(function* () {
  const started = performance.now()
  // One OOM and one synchronous spinner per 1,000 tasks: each costs a worker boot, the rest are drawn at random.
  const plan = makePlan({
    seed: SEED,
    tasks: TOTAL,
    layer: "threads",
    oom: Math.max(1, Math.floor(TOTAL / 1000)),
    spin: Math.max(1, Math.floor(TOTAL / 1000))
  })
  const rss: Array<number> = [process.memoryUsage().rss]
  const report = yield* runPlan(plan, WORKERS, (round) =>
    Effect.sync(() => {
      if ((round + 1) % 10 !== 0) return
      rss.push(process.memoryUsage().rss)
      if ((round + 1) % 50 === 0) console.log(`round ${round + 1}: ${(round + 1) * 100} tasks, ${mb(rss.at(-1)!)} RSS`)
    })
  )
  const label = `(seed ${SEED}: replay with SOAK_SEED=${SEED})`
  if (report.mismatches.length > 0) {
    return yield* Effect.die(
      new Error(`futures with another outcome than injected ${label}:\n${report.mismatches.join("\n")}`)
    )
  }
  const want = expectedTally(plan)
  if (JSON.stringify(report.tally) !== JSON.stringify(want)) {
    return yield* Effect.die(
      new Error(`outcomes ${JSON.stringify(report.tally)}, injected ${JSON.stringify(want)} ${label}`)
    )
  }
  if (report.maxWorkersSeen > WORKERS) {
    return yield* Effect.die(new Error(`${report.maxWorkersSeen} workers seen, maxWorkers is ${WORKERS} ${label}`))
  }
  const stats = yield* Executor.stats
  const warm = rss[Math.min(WARM_ROUNDS / 10, rss.length - 1)]
  const last = rss[rss.length - 1]
  console.log(`\nsoak summary ${label}`)
  console.log(`  tasks: ${plan.kinds.length} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  console.log(`  outcomes: ${JSON.stringify(report.tally)} (each future exactly as injected)`)
  console.log(
    `  executor stats: completed ${stats.completed}, failed ${stats.failed}, crashed ${stats.crashed}, cancelled ${stats.cancelled}`
  )
  console.log(`  workers: at most ${report.maxWorkersSeen} live (maxWorkers ${WORKERS})`)
  console.log(`  RSS: first ${mb(rss[0])}, after warm-up ${mb(warm)}, last ${mb(last)}`)
  if (last > 1.5 * warm) return yield* Effect.die(new Error(`RSS grew from ${mb(warm)} to ${mb(last)} after warm-up`))
  console.log("  RSS flat after warm-up: ok")
})

await Effect.runPromise(program.pipe(Effect.provide(layerFor("threads", WORKERS)), Effect.scoped))
