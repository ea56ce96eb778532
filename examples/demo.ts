/**
 * `npm start`: count the primes below 6,000,000 on a pool of worker threads, with a live progress bar fed by
 * `Future.asCompleted`, then the same work serially on the main thread, and the speedup; last, half the work as one
 * long task whose progress bar is fed by the values it reports (`Future.progress`).
 *
 * Ctrl-C interrupts the main fiber in either phase: the pool's futures are interrupted (running tasks are stopped,
 * then their workers terminated), the executor's scope closes, the progress bar gives the cursor back, and the
 * process exits with code 130. The serial phase counts one range per step and yields to the event loop between
 * steps, so the SIGINT handler gets its turn within one range's time.
 */
import { NodeRuntime } from "@effect/platform-node"
import { SingleBar } from "cli-progress"
import { Effect, Stream } from "effect"
import * as os from "node:os"
import { Executor, Future } from "../src/index.ts"
import { countPrimes, countPrimesReporting, countPrimesSync } from "./primes.ts"

const LIMIT = Number(process.env.DEMO_LIMIT ?? 6_000_000)
const SLICE = 100_000

const ranges = Array.from({ length: Math.ceil(LIMIT / SLICE) }, (_, i) => ({
  from: i * SLICE,
  to: Math.min(LIMIT, (i + 1) * SLICE)
}))

const parallel = Effect.gen(function* () {
  const started = performance.now()
  const futures = yield* Effect.forEach(ranges, (range) => Executor.submit(countPrimes, range))
  const bar = new SingleBar({
    format: "  {bar} {percentage}% | {value}/{total} ranges | {primes} primes so far",
    hideCursor: true
  })
  bar.start(futures.length, 0, { primes: 0 })
  let primes = 0
  yield* Future.asCompleted(futures).pipe(
    Stream.runForEach((future) =>
      Effect.map(Future.result(future), (count) => {
        primes += count
        bar.increment(1, { primes })
      })
    ),
    Effect.ensuring(Effect.sync(() => bar.stop())),
    Effect.onInterrupt(() =>
      Effect.andThen(
        Effect.log(`Ctrl-C: interrupting ${futures.length} futures`),
        Effect.forEach(futures, Future.interrupt, { discard: true })
      )
    )
  )
  return { primes, millis: performance.now() - started }
})

/**
 * The same work on the main thread, one range per step. `Effect.yieldNow` hands the thread back to the event loop
 * between ranges (Effect's scheduler resumes on `setImmediate`), so a Ctrl-C arriving mid-phase is handled at the
 * next range rather than when the whole loop ends.
 */
const serial = Effect.suspend(() => {
  let counted = 0
  return Effect.gen(function* () {
    const started = performance.now()
    let primes = 0
    for (const { from, to } of ranges) {
      primes += countPrimesSync(from, to)
      counted++
      yield* Effect.yieldNow
    }
    return { primes, millis: performance.now() - started }
  }).pipe(Effect.onInterrupt(() => Effect.log(`Ctrl-C: serial phase stopped after ${counted}/${ranges.length} ranges`)))
})

/**
 * One long task on one worker, its progress bar fed by the values it reports (`Task.progress` inside, read here
 * with `Future.progress`, a Stream that ends when the task does). Like the bar above, it draws only on a terminal.
 */
const oneLongTask = Effect.gen(function* () {
  const future = yield* Executor.submit(countPrimesReporting, { from: 0, to: Math.ceil(LIMIT / 2), steps: 50 })
  const bar = new SingleBar({ format: "  {bar} {percentage}% | one task | {primes} primes so far", hideCursor: true })
  bar.start(50, 0, { primes: 0 })
  yield* Future.progress(future).pipe(
    Stream.runForEach(({ done, primes }) => Effect.sync(() => bar.update(done, { primes }))),
    Effect.ensuring(Effect.sync(() => bar.stop()))
  )
  return yield* Future.result(future)
})

/** Boots every worker (each imports the task module once) so the timing below measures computing, not booting. */
const warmUp = (workers: number) =>
  Effect.gen(function* () {
    const started = performance.now()
    const futures = yield* Effect.forEach(
      Array.from({ length: workers }, () => ({ from: 0, to: 10 })),
      (range) => Executor.submit(countPrimes, range)
    )
    yield* Effect.forEach(futures, (future) => Future.result(future))
    return performance.now() - started
  })

const main = Effect.gen(function* () {
  const workers = os.availableParallelism()
  yield* Effect.log(`Starting ${workers} worker threads...`)
  const boot = yield* warmUp(workers)
  yield* Effect.log(
    `Pool ready in ${boot.toFixed(0)} ms. Counting primes below ${LIMIT.toLocaleString()} in ${ranges.length} ranges`
  )
  const pooled = yield* parallel
  yield* Effect.log(
    `${pooled.primes} primes in ${pooled.millis.toFixed(0)} ms on the pool; now serially on the main thread...`
  )
  const alone = yield* serial
  if (alone.primes !== pooled.primes) return yield* Effect.die(new Error("the pool and the main thread disagree"))
  yield* Effect.log(
    `serial: ${alone.millis.toFixed(0)} ms; pool: ${pooled.millis.toFixed(0)} ms; ` +
      `speedup ${(alone.millis / pooled.millis).toFixed(2)}x on ${workers} cores`
  )
  yield* Effect.log(`One long task over the first half, reporting its progress...`)
  yield* Effect.log(`It found ${yield* oneLongTask} primes`)
}).pipe(
  Effect.provide(Executor.layerWorkerThreads({ maxWorkers: os.availableParallelism() })),
  // Runs after the layer's scope has closed: every worker is gone by the time this is printed.
  Effect.onInterrupt(() => Effect.log("Interrupted: pool shut down, exiting with code 130"))
)

NodeRuntime.runMain(main)
