/**
 * The cost of tracing per task (issue 19): the no-op scenario of `child.ts` on worker threads, with tracing off
 * (Effect's default tracer) or on (a tracer that makes Effect's native spans and keeps none, under a parent span), in
 * this fresh process. Prints one JSON line: tasks per second, this process's CPU time (all threads) per task, and
 * the main thread's alone (where the caller's side of the executor runs).
 *
 * Usage: node bench/tracingCost.ts <off|on> [tasks] (after `npm run build`: it runs the built package)
 */
import { Effect, Tracer } from "effect"
import { Executor, Future } from "effect-futures"
import { noop } from "./tasks.ts"
import { discardingTracer } from "./contenders/effectFutures.ts"
import { WORKERS } from "./contenders/types.ts"

const mode = process.argv[2] ?? "off"
const tasks = Number(process.argv[3] ?? 30_000)
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const batch = (n: number) =>
  Effect.forEach(range(n), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
    concurrency: 64,
    discard: true
  })

const program = Effect.gen(function* () {
  yield* batch(1000)
  const cpu = process.cpuUsage()
  const mainCpu = process.threadCpuUsage()
  const started = performance.now()
  yield* batch(tasks)
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  const mainUsed = process.threadCpuUsage(mainCpu)
  return {
    mode,
    tasksPerSecond: tasks / seconds,
    cpuMicrosPerTask: (used.user + used.system) / tasks,
    mainThreadCpuMicrosPerTask: (mainUsed.user + mainUsed.system) / tasks
  }
}).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: WORKERS, minWorkers: WORKERS })))

const traced =
  mode === "on"
    ? program.pipe(Effect.withSpan("bench"), Effect.provideService(Tracer.Tracer, discardingTracer))
    : program

console.log(JSON.stringify(await Effect.runPromise(traced)))
