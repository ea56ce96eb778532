/**
 * Future states and cancellation, with Python's meanings: `cancel` succeeds only on a PENDING future;
 * `interrupt` (which Python cannot do) stops a RUNNING one, on its worker.
 */
import * as Effect from "effect/Effect"
import { Executor, Future } from "../src/index.ts"
import { fib } from "./tasks.ts"

const program = Effect.gen(function* () {
  // Wait for the worker to boot, so that the first task starts at once.
  yield* Effect.flatMap(Executor.submit(fib, 1), (f) => Future.result(f))
  // One worker: the first task runs, the second waits.
  const running = yield* Executor.submit(fib, 38)
  const pending = yield* Executor.submit(fib, 38)
  console.log(`states: ${yield* Future.state(running)} / ${yield* Future.state(pending)}`)

  console.log(`cancel(pending) = ${yield* Future.cancel(pending)}`) // true: it will never run
  console.log(`cancel(running) = ${yield* Future.cancel(running)}`) // false: too late to cancel
  console.log(`pending is now ${yield* Future.state(pending)}, done: ${yield* Future.done(pending)}`)

  // interrupt stops the running task: its fiber in the worker is interrupted, the worker replaced if need be.
  yield* Future.interrupt(running)
  console.log(`after interrupt: ${yield* Future.state(running)}`)
  const outcome = yield* Effect.flip(Future.result(running))
  console.log(`result of a cancelled future fails with ${outcome._tag}`)
})

await Effect.runPromise(
  program.pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 1, interruptGracePeriod: 100 })))
)
