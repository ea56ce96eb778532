/**
 * `loop.run_in_executor`, twice: from Effect code (`Bridge.runInExecutor`, where a timeout on the caller cancels the
 * task on its worker) and from plain Promise code (`Bridge.makeRunner`, with an AbortSignal).
 */
import * as Effect from "effect/Effect"
import { Bridge, Executor, ExecutorError } from "../src/index.ts"
import { fib } from "./tasks.ts"

// From Effect code.
const fromEffect = Effect.gen(function* () {
  console.log(`Effect: fib(27) = ${yield* Bridge.runInExecutor(fib, 27)}`)
  const timedOut = yield* Bridge.runInExecutor(fib, 45).pipe(Effect.timeout("100 millis"), Effect.flip)
  console.log(`Effect: fib(45) with a 100 ms timeout -> ${timedOut._tag}, and the task was cancelled`)
})
await Effect.runPromise(
  fromEffect.pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2, interrupt: "terminate" })))
)

// From Promise code: no Effect in sight.
{
  await using runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 2, interrupt: "terminate" }))
  console.log(`Promise: fib(27) = ${await runner.run(fib, 27)}`)
  const controller = new AbortController()
  const slow = runner.run(fib, 45, { signal: controller.signal })
  setTimeout(() => controller.abort(), 100)
  const reason = await slow.catch((error: unknown) => error)
  console.log(`Promise: aborted -> ${reason instanceof ExecutorError.CancelledError ? "CancelledError" : reason}`)
}
console.log("runner disposed; nothing keeps the process alive")
