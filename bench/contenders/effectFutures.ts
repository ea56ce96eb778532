/**
 * effect-futures, used the way an Effect application uses it (imports as the README shows, the built package):
 * `Executor.layerWorkerThreads` or `Executor.layerProcesses` and Effect code.
 */
import { Effect, Stream } from "effect"
import { Executor, Future } from "effect-futures"
import { double, fib, noop, spin, stamp } from "../tasks.ts"
import { type Contender, settle, WORKERS } from "./types.ts"

type Kind = "threads" | "processes"

const makeRun =
  (kind: Kind, options: Executor.WorkerOptions) =>
  <A, E>(program: Effect.Effect<A, E, Executor.Executor>) => {
    const all = { maxWorkers: WORKERS, minWorkers: WORKERS, ...options }
    return Effect.runPromise(
      program.pipe(Effect.provide(kind === "threads" ? Executor.layerWorkerThreads(all) : Executor.layerProcesses(all)))
    )
  }

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const warm = Effect.forEach(range(1000), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
  concurrency: 64,
  discard: true
})

const makeContender = (options: Executor.WorkerOptions, kind: Kind = "threads"): Contender => {
  const run = makeRun(kind, options)
  return {
    noop: (tasks, inFlight) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const started = performance.now()
          yield* Effect.forEach(range(tasks), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
            concurrency: inFlight,
            discard: true
          })
          return { tasksPerSecond: tasks / ((performance.now() - started) / 1000) }
        })
      ),
    burst: (tasks) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const rssBefore = process.memoryUsage().rss
          const started = performance.now()
          const futures = yield* Effect.forEach(range(tasks), (i) => Executor.submit(noop, i))
          const submitMs = performance.now() - started
          const rss = process.memoryUsage().rss
          yield* Effect.forEach(futures, (future) => Future.result(future), { discard: true })
          const total = performance.now() - started
          return {
            tasksPerSecond: tasks / (total / 1000),
            submitMs,
            rssBytesPerTask: (rss - rssBefore) / tasks,
            rssMb: rss / 1024 / 1024
          }
        })
      ),
    cpu: (count, n) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const started = performance.now()
          const futures = yield* Effect.forEach(range(count), () => Executor.submit(fib, n))
          yield* Effect.forEach(futures, (future) => Future.result(future), { discard: true })
          return { parallelMs: performance.now() - started }
        })
      ),
    startup: async () => {
      // As in every Effect application, `effect` is already imported; the clock starts at the layer's build and
      // stops at the first result (as for the peers, closing the pool is not counted).
      const started = performance.now()
      let firstResultMs = 0
      await run(
        Effect.flatMap(Executor.submit(noop, 1), Future.result).pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              firstResultMs = performance.now() - started
            })
          )
        )
      )
      return { firstResultMs }
    },
    map: (items, chunk) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const started = performance.now()
          yield* Stream.runDrain(Executor.map(double, range(items), { chunksize: chunk }))
          return { itemsPerSecond: items / ((performance.now() - started) / 1000) }
        })
      ),
    cancel: () =>
      run(
        Effect.gen(function* () {
          yield* warm
          // Both workers spin; a third task waits. Interrupting one spinning task must let it start promptly.
          const spinning = yield* Effect.forEach(range(WORKERS), (i) => Executor.submit(spin, i))
          const next = yield* Executor.submit(stamp, 0)
          yield* Effect.promise(() => settle())
          const interruptedAt = performance.timeOrigin + performance.now()
          yield* Future.interrupt(spinning[0])
          const startedAt = yield* Future.result(next)
          yield* Effect.forEach(spinning, Future.interrupt, { discard: true })
          return { nextStartMs: startedAt - interruptedAt }
        })
      )
  }
}

/** The defaults. */
export const contender = makeContender({})

/** With one spare worker booted in reserve, for the cancellation scenario. */
export const contenderWithSpare = makeContender({ spareWorkers: 1 })

/** `layerProcesses` with the defaults (child processes), against tinypool's `child_process` runtime. */
export const contenderProcesses = makeContender({}, "processes")
