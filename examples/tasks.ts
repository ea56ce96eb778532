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
