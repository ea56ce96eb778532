/**
 * Done-callbacks (`add_done_callback`), chaining with `Future.map` / `Future.flatMap`, and a future settled by hand
 * (`Future()` + `set_result`).
 */
import * as Effect from "effect/Effect"
import { Executor, Future } from "../src/index.ts"
import { fib } from "./tasks.ts"

const program = Effect.gen(function* () {
  const future = yield* Executor.submit(fib, 25)
  yield* Future.addDoneCallback(future, (f) => Effect.log(`callback: the future is ${Future.stateUnsafe(f)}`))

  // map transforms the value; flatMap starts the next task from it.
  const doubled = yield* Future.map(future, (n) => n * 2)
  const next = yield* Future.flatMap(future, (n) => Executor.submit(fib, n % 20))
  console.log(`fib(25) = ${yield* future}, doubled = ${yield* doubled}, fib(fib(25) % 20) = ${yield* next}`)

  // A settable future: the first outcome wins.
  const manual = yield* Future.make<string>()
  yield* Future.addDoneCallback(manual, () => {
    console.log("manual future settled")
  })
  console.log(
    `complete: ${yield* Future.complete(manual, "first")}, again: ${yield* Future.complete(manual, "second")}`
  )
  console.log(`manual = ${yield* manual}`)
})

await Effect.runPromise(program.pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2 }))))
