/**
 * A task module outside the test runners' allowed `modules`: importing it writes the file named by
 * `EFFECT_FUTURES_TEST_IMPORT_MARKER` (so a test can tell that a runner imported it), and its task writes a marker.
 */
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Task from "../../src/Task.ts"

const importMarker = process.env.EFFECT_FUTURES_TEST_IMPORT_MARKER
if (importMarker !== undefined && process.env.EFFECT_FUTURES_RUNNER === "1") fs.writeFileSync(importMarker, "imported")

export const outsideMarker = Task.make("outsideMarker", {
  module: import.meta.url,
  payload: Schema.String,
  success: Schema.String,
  run: (file) => Effect.sync(() => (fs.writeFileSync(file, "ran"), "ran"))
})
