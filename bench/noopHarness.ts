/**
 * The no-op window as an outside harness measures it: both pools in one process, rounds alternating, with or without
 * a warm-up (bench/NOTES.md: the difference from the bench's figure is the window's start).
 *
 * Usage (after `npm run build`): node bench/noopHarness.ts <tasks> <warm-up tasks> <rounds>
 */
import { Effect } from "effect"
import { Executor, Future } from "effect-futures"
import { Piscina } from "piscina"
import { withConcurrency } from "./contenders/types.ts"
import { noop } from "./tasks.ts"

const N = Number(process.argv[2] ?? 20000)
const warmN = Number(process.argv[3] ?? 0)
const rounds = Number(process.argv[4] ?? 3)
const range = (n: number) => Array.from({ length: n }, (_, i) => i)
const ours = () =>
  Effect.runPromise(
    Effect.gen(function* () {
      if (warmN > 0)
        yield* Effect.forEach(range(warmN), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
          concurrency: 64,
          discard: true
        })
      const s = performance.now()
      yield* Effect.forEach(range(N), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
        concurrency: 64,
        discard: true
      })
      return N / ((performance.now() - s) / 1000)
    }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2, minWorkers: 2 })))
  )
const theirs = async () => {
  const pool = new Piscina({
    filename: new URL("./workers/peerWorker.mjs", import.meta.url).href,
    minThreads: 2,
    maxThreads: 2
  })
  if (warmN > 0) await withConcurrency(warmN, 64, (i) => pool.run({ kind: "noop", value: i }))
  const s = performance.now()
  await withConcurrency(N, 64, (i) => pool.run({ kind: "noop", value: i }))
  const r = N / ((performance.now() - s) / 1000)
  await pool.destroy()
  return r
}
const ratios: Array<number> = []
for (let r = 0; r < rounds; r++) {
  const a = await ours()
  const b = await theirs()
  ratios.push(a / b)
  console.log(`round ${r + 1}: ours ${a.toFixed(0)}/s piscina ${b.toFixed(0)}/s ratio ${(a / b).toFixed(2)}`)
}
process.exit(0)
