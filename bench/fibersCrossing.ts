/**
 * What `layerFibers` pays per task to check that payloads and outcomes could cross to a worker and back (structured
 * clone's rules, see `cloneRefusal` in src/internal/wire/transfer.ts): an `echo` task over payloads of a few shapes (each
 * checked twice, going and coming back), 64 in flight, µs per task as the median of 7 runs of 20,000 tasks. Run it
 * on two builds (with and without the check) for the difference.
 *
 * Usage: node bench/fibersCrossing.ts
 */
import * as Effect from "effect/Effect"
import { Executor, Future } from "../src/index.ts"
import { echo } from "./tasks.ts"

const TASKS = 20_000
const RUNS = 7

const payloads: Record<string, unknown> = {
  number: 42,
  "small object": { id: 7, name: "order-7", tags: ["a", "b"], at: 1_700_000_000_000 },
  "1 KB of numbers": Array.from({ length: 128 }, (_, i) => i * 1.5),
  "10 KB string": "x".repeat(10_240),
  // Not plain data (a Date): checked by cloning it.
  "object with a Date": { id: 7, at: new Date(0) }
}

const perTask = (payload: unknown) =>
  Effect.gen(function* () {
    const once = Effect.gen(function* () {
      const started = performance.now()
      yield* Effect.forEach(
        Array.from({ length: TASKS }, (_, i) => i),
        () => Effect.flatMap(Executor.submit(echo, payload), Future.result),
        { concurrency: 64, discard: true }
      )
      return ((performance.now() - started) * 1000) / TASKS
    })
    yield* once // warm-up
    const samples: Array<number> = []
    for (let i = 0; i < RUNS; i++) samples.push(yield* once)
    samples.sort((a, b) => a - b)
    return samples[Math.floor(RUNS / 2)]
  }).pipe(Effect.provide(Executor.layerFibers({ concurrency: 64 })))

const results: Record<string, string> = {}
for (const [name, payload] of Object.entries(payloads)) {
  results[name] = `${(await Effect.runPromise(perTask(payload))).toFixed(2)} µs/task`
}
process.stdout.write(`${JSON.stringify(results)}\n`)
