/**
 * Tasks of the cluster example. Runners import this module by URL, so it stays light. A runner's worker threads
 * share its pid, so `process.pid` tells which runner ran a task.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Task from "../src/Task.ts"

const isPrime = (n: number) => {
  if (n < 2) return false
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
  return true
}

/**
 * CPU-bound: counts the primes in `[from, to)`. Counting twice gives the same answer, so running it again after a
 * runner dies is harmless: an idempotent task, as tasks on a cluster must be.
 */
export const countPrimes = Task.make("countPrimes", {
  module: import.meta.url,
  payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
  success: Schema.Struct({ primes: Schema.Number, runner: Schema.Number }),
  run: ({ from, to }) =>
    Effect.sync(() => {
      let primes = 0
      for (let n = from; n < to; n++) if (isPrime(n)) primes++
      return { primes, runner: process.pid }
    })
})
