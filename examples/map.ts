/**
 * CPU-bound parallelism with `Executor.map`, Python's `executor.map(fn, inputs, chunksize=...)`: results stream back
 * in input order, and the work runs on every core.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import { Executor } from "../src/index.ts"
import { fib, fibSync } from "./tasks.ts"

const inputs = Array.from({ length: 24 }, () => 27)

const program = Effect.gen(function* () {
  // Boot the workers first, so the timing below compares computing with computing.
  yield* Stream.runDrain(Executor.map(fib, [1, 1, 1, 1]))

  const started = performance.now()
  const results = yield* Stream.runCollect(Executor.map(fib, inputs, { chunksize: 2 }))
  const pooled = performance.now() - started

  const serialStart = performance.now()
  const serial = inputs.map(fibSync)
  const alone = performance.now() - serialStart

  console.log(`same results: ${JSON.stringify(Array.from(results)) === JSON.stringify(serial)}`)
  console.log(`pool ${pooled.toFixed(0)} ms, serial ${alone.toFixed(0)} ms: speedup ${(alone / pooled).toFixed(2)}x`)
})

await Effect.runPromise(
  program.pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: os.availableParallelism() })))
)
