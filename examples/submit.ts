/**
 * Submit a task to a pool of worker threads and await its result — Python's `executor.submit(fn, arg).result()`.
 * A typed failure raised in the worker arrives as an instance of its own class, so `Effect.catchTag` handles it.
 */
import * as Effect from "effect/Effect"
import { Executor, Future } from "../src/index.ts"
import { fib } from "./tasks.ts"

const program = Effect.gen(function* () {
  // submit returns at once; the future is PENDING until a worker picks the task up.
  const future = yield* Executor.submit(fib, 30)
  console.log(`submitted, state: ${yield* Future.state(future)}`)
  console.log(`fib(30) = ${yield* Future.result(future)}`)

  // The worker fails with NegativeInput; the caller gets that very class back.
  const recovered = yield* Executor.submit(fib, -1).pipe(
    Effect.flatMap((f) => Future.result(f)),
    Effect.catchTag("NegativeInput", (error) => Effect.succeed(`refused n = ${error.n}`))
  )
  console.log(`fib(-1): ${recovered}`)
})

// Closing the layer shuts the pool down: the process exits once the program is done.
await Effect.runPromise(program.pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2 }))))
