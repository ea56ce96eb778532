/**
 * The demo's task: count the primes in a half-open range [from, to). CPU-bound and embarrassingly parallel.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Task from "../src/Task.ts"

export const Range = Schema.Struct({ from: Schema.Int, to: Schema.Int })

export class InvalidRange extends Schema.TaggedError<InvalidRange>()("InvalidRange", {
  from: Schema.Number,
  to: Schema.Number
}) {}

export const countPrimesSync = (from: number, to: number): number => {
  let count = 0
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

export const countPrimes = Task.make("countPrimes", {
  module: import.meta.url,
  payload: Range,
  success: Schema.Number,
  error: InvalidRange,
  run: ({ from, to }) =>
    from > to ? Effect.fail(new InvalidRange({ from, to })) : Effect.sync(() => countPrimesSync(from, to))
})

/** How far `countPrimesReporting` has got: ranges of its slice done, out of `total`. */
export const Counted = Schema.Struct({ done: Schema.Int, total: Schema.Int, primes: Schema.Int })

/**
 * The same count as one long task, cut in `steps` slices, reporting after each one (`Task.progress`): the caller
 * shows it with `Future.progress`.
 */
export const countPrimesReporting = Task.make("countPrimesReporting", {
  module: import.meta.url,
  payload: Schema.Struct({ from: Schema.Int, to: Schema.Int, steps: Schema.Int }),
  success: Schema.Number,
  progress: Counted,
  run: ({ from, to, steps }) =>
    Effect.gen(function* () {
      const size = Math.ceil((to - from) / steps)
      let primes = 0
      for (let done = 1; done <= steps; done++) {
        const start = from + (done - 1) * size
        primes += countPrimesSync(start, Math.min(to, start + size))
        yield* Task.progress({ done, total: steps, primes })
      }
      return primes
    })
})
