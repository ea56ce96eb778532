/**
 * Tasks used by the examples. Workers import this module by URL, so it stays light: Effect modules by path and the
 * task constructor from the library's Task module.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { gzipSync } from "node:zlib"
import * as Task from "../src/Task.ts"

export class NegativeInput extends Schema.TaggedError<NegativeInput>()("NegativeInput", { n: Schema.Number }) {}

export const fibSync = (n: number): number => (n < 2 ? n : fibSync(n - 1) + fibSync(n - 2))

/** CPU-bound: the n-th Fibonacci number, the slow way. Fails with a typed error for negative input. */
export const fib = Task.make("fib", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  error: NegativeInput,
  run: (n) => (n < 0 ? Effect.fail(new NegativeInput({ n })) : Effect.sync(() => fibSync(n)))
})

/**
 * fib(n) for each n, each inside its own span `fib`: those spans nest under the caller's `effect_futures.task` span
 * and reach the caller's tracer (see `observability.ts`).
 */
export const fibEach = Task.make("fibEach", {
  module: import.meta.url,
  payload: Schema.Array(Schema.Number),
  success: Schema.Array(Schema.Number),
  run: (ns) =>
    Effect.forEach(ns, (n) => Effect.sync(() => fibSync(n)).pipe(Effect.withSpan("fib", { attributes: { n } })))
})

/** Waits `millis` (Effect's clock), then returns them: stands in for I/O. */
export const pause = Task.make("pause", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: (millis) => Effect.as(Effect.sleep(millis), millis)
})

/** Hashes and gzips a body: what the HTTP example does off the main thread. */
export const digest = Task.make("digest", {
  module: import.meta.url,
  payload: Schema.Uint8Array,
  success: Schema.Struct({ sha256: Schema.String, gzipped: Schema.Number }),
  run: (body) =>
    Effect.sync(() => ({
      sha256: createHash("sha256").update(body).digest("hex"),
      gzipped: gzipSync(body).length
    }))
})

/** A `SharedArrayBuffer` crosses to a worker thread shared, not copied: the task and its caller see the same cells. */
const SharedBuffer = Schema.declare((u): u is SharedArrayBuffer => u instanceof SharedArrayBuffer)

/**
 * Long-running and interruptible: applies sha256 to `body` `rounds` times (key stretching), in chunks of 10,000
 * rounds with a yield between them, so a cooperative interrupt stops it within one chunk. When it starts on its
 * worker it sets cell 0 of `started` to 1 and notifies, so the caller can tell that the task is RUNNING.
 */
export const stretch = Task.make("stretch", {
  module: import.meta.url,
  payload: Schema.Struct({ body: Schema.Uint8Array, rounds: Schema.Number, started: SharedBuffer }),
  success: Schema.String,
  run: ({ body, rounds, started }) =>
    Effect.gen(function* () {
      const cell = new Int32Array(started)
      Atomics.store(cell, 0, 1)
      Atomics.notify(cell, 0)
      let hash = createHash("sha256").update(body).digest()
      for (let round = 0; round < rounds;) {
        const end = Math.min(rounds, round + 10_000)
        for (; round < end; round++) hash = createHash("sha256").update(hash).digest()
        yield* Effect.yieldNow
      }
      return hash.toString("hex")
    })
})
