/** The cluster benchmark's task: CPU work for a given number of milliseconds (a busy loop, as real work is). */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Task from "../src/Task.ts"

export const busy = Task.make("busy", {
  module: import.meta.url,
  payload: Schema.Number,
  success: Schema.Number,
  run: (millis) =>
    Effect.sync(() => {
      const end = performance.now() + millis
      let spins = 0
      while (performance.now() < end) spins++
      return spins
    })
})
