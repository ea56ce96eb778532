/**
 * The benchmark's tasks for effect-futures: the same work the peers' worker module does, imported exactly as the
 * README teaches (`effect` and `effect-futures` by their root entries). `effect-futures` is this package by its own
 * name, so Node resolves it to the built `dist/` a consumer runs (`bench/run.ts` builds it first).
 */
import { Effect, Schema } from "effect"
import { Task } from "effect-futures"

const fibSync = (n: number): number => (n < 2 ? n : fibSync(n - 1) + fibSync(n - 2))

export const noop = Task.make("noop", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: (n) => Effect.succeed(n)
})

export const fib = Task.make("fib", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: (n) => Effect.sync(() => fibSync(n))
})

export const double = Task.make("double", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: (n) => Effect.succeed(n * 2)
})

/** CPU-bound and never yielding: only terminating its worker stops it. */
export const spin = Task.make("spin", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: (n) =>
    Effect.sync(() => {
      for (;;) Math.sqrt(n)
    })
})

/** When the task started, in epoch milliseconds (comparable across threads). */
export const stamp = Task.make("stamp", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: () => Effect.sync(() => performance.timeOrigin + performance.now())
})

/** Returns its input: what a task costs beyond its work, for any payload (`Schema.Unknown` checks nothing). */
export const echo = Task.make("echo", {
  module: import.meta.url,
  payload: Schema.Unknown,
  success: Schema.Unknown,
  run: (input) => Effect.succeed(input)
})

/** `double` as a plain function (`Task.sync`): a worker runs a whole chunk of it in one loop. */
export const doubleSync = Task.sync("doubleSync", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: (n) => n * 2
})

/** A small record, Schema-checked on both sides: what `map` over objects sends. */
export const Item = Schema.Struct({ name: Schema.String, x: Schema.Number, y: Schema.Number })

/** Sums an item's numbers, keeping its name (the peers' worker does the same). */
export const sumItem = Task.sync("sumItem", {
  module: import.meta.url,
  payload: Item,
  success: Item,
  run: ({ name, x, y }) => ({ name, x: x + y, y })
})
