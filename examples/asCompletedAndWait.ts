/**
 * `Future.asCompleted` (a Stream in completion order) and `Future.wait` (FIRST_COMPLETED / FIRST_EXCEPTION /
 * ALL_COMPLETED, with a timeout that returns what is done so far).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Executor, Future } from "../src/index.ts"
import { fib, pause } from "./tasks.ts"

const program = Effect.gen(function* () {
  const sleepers = yield* Effect.forEach([300, 100, 200], (millis) => Executor.submit(pause, millis))
  yield* Future.asCompleted(sleepers).pipe(
    Stream.runForEach((future) => Effect.map(Future.result(future), (millis) => console.log(`done after ${millis} ms`)))
  )

  const more = yield* Effect.forEach([400, 50], (millis) => Executor.submit(pause, millis))
  const first = yield* Future.wait(more, { returnWhen: "FIRST_COMPLETED" })
  console.log(`FIRST_COMPLETED: ${first.done.length} done, ${first.notDone.length} not done`)

  const mixed = [yield* Executor.submit(fib, -5), yield* Executor.submit(pause, 1000)]
  const failure = yield* Future.wait(mixed, { returnWhen: "FIRST_EXCEPTION" })
  console.log(
    `FIRST_EXCEPTION: returned with ${failure.done.length} done (the failure), ${failure.notDone.length} running`
  )

  const partial = yield* Future.wait(mixed, { timeout: "100 millis" })
  console.log(`ALL_COMPLETED with a timeout: ${partial.notDone.length} still running, no error`)
})

await Effect.runPromise(program.pipe(Effect.provide(Executor.layerFibers({ concurrency: 4 }))))
