/**
 * effect-futures, used the way an Effect application uses it (imports as the README shows, the built package):
 * `Executor.layerWorkerThreads` or `Executor.layerProcesses` and Effect code.
 */
import { Effect, Fiber, ManagedRuntime, Schedule, Stream, Tracer } from "effect"
import { Bridge, Executor, Future } from "effect-futures"
import { doubleSync, fib, noop, spin, stamp, sumItem } from "../tasks.ts"
import {
  type Contender,
  item,
  type MapLargeResult,
  mapWindow,
  noopWindow,
  settle,
  withConcurrency,
  WORKERS
} from "./types.ts"

type Kind = "threads" | "processes"

const layerOf = (kind: Kind, options: Executor.WorkerOptions) => {
  const all = { maxWorkers: WORKERS, minWorkers: WORKERS, ...options }
  return kind === "threads" ? Executor.layerWorkerThreads(all) : Executor.layerProcesses(all)
}

/** A tracer that makes Effect's native spans and keeps none: what tracing costs before any exporter's own work. */
export const discardingTracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })

const makeRun =
  (kind: Kind, options: Executor.WorkerOptions, traced = false) =>
  <A, E>(program: Effect.Effect<A, E, Executor.Executor>) => {
    const provided = program.pipe(Effect.provide(layerOf(kind, options)))
    return Effect.runPromise(
      traced
        ? provided.pipe(Effect.withSpan("bench"), Effect.provideService(Tracer.Tracer, discardingTracer))
        : provided
    )
  }

/** The no-op window from Promise code: `runOne(i)` runs one no-op task and resolves with its value. */
const promiseWindow = async (runOne: (i: number) => Promise<unknown>, tasks: number, inFlight: number) => {
  await withConcurrency(1000, 64, runOne)
  const ended = noopWindow()
  await withConcurrency(tasks, inFlight, runOne)
  return ended(tasks)
}

/** Samples RSS and the chunks in flight (queued + busy) every 100 ms while `program` runs. */
const sampled = <A, E>(program: Effect.Effect<A, E, Executor.Executor>) =>
  Effect.gen(function* () {
    const samples = { rss: [process.memoryUsage().rss], chunks: 0 }
    const sampler = yield* Effect.forkChild(
      Effect.repeat(
        Effect.map(Executor.stats, (stats) => {
          samples.rss.push(process.memoryUsage().rss)
          samples.chunks = Math.max(samples.chunks, stats.queued + stats.busy)
        }),
        Schedule.spaced(100)
      )
    )
    const result = yield* program
    yield* Fiber.interrupt(sampler)
    return {
      result,
      rssPeak: Math.max(...samples.rss),
      // Half-way through the window: V8 and the workers have sized their heaps by then; what RSS gains after it is
      // what the map holds on to.
      rssHalf: samples.rss[Math.floor(samples.rss.length / 2)],
      rssThreeQuarters: samples.rss[Math.floor((samples.rss.length * 3) / 4)],
      chunks: samples.chunks
    }
  })

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const warm = Effect.forEach(range(1000), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
  concurrency: 64,
  discard: true
})

const makeContender = (options: Executor.WorkerOptions, kind: Kind = "threads", traced = false): Contender => {
  const run = makeRun(kind, options, traced)
  return {
    noop: (tasks, inFlight) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const ended = noopWindow()
          yield* Effect.forEach(range(tasks), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
            concurrency: inFlight,
            discard: true
          })
          return ended(tasks)
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
          const ended = mapWindow()
          yield* Stream.runDrain(Executor.map(doubleSync, range(items), { chunksize: chunk }))
          return ended(items)
        })
      ),
    noopBridge: async (tasks, inFlight) => {
      await using runner = Bridge.makeRunner(layerOf(kind, options))
      return await promiseWindow((i) => runner.run(noop, i), tasks, inFlight)
    },
    noopManagedRuntime: async (tasks, inFlight) => {
      const runtime = ManagedRuntime.make(layerOf(kind, options))
      try {
        return await promiseWindow(
          (i) => runtime.runPromise(Effect.flatMap(Executor.submit(noop, i), Future.result)),
          tasks,
          inFlight
        )
      } finally {
        await runtime.dispose()
      }
    },
    mapObjects: (items, chunk) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const ended = mapWindow()
          const inputs = Array.from({ length: items }, (_, i) => item(i))
          yield* Stream.runDrain(Executor.map(sumItem, inputs, { chunksize: chunk }))
          return ended(items)
        })
      ),
    mapStream: (items, chunk) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const ended = mapWindow()
          yield* Stream.runDrain(Executor.map(doubleSync, Stream.range(0, items - 1), { chunksize: chunk }))
          return ended(items)
        })
      ),
    mapLarge: (items, chunk) =>
      run(
        Effect.gen(function* () {
          yield* warm
          const rssStart = process.memoryUsage().rss
          const ended = mapWindow()
          const { chunks, rssHalf, rssPeak, rssThreeQuarters } = yield* sampled(
            Stream.runDrain(Executor.map(doubleSync, Stream.range(0, items - 1), { chunksize: chunk }))
          )
          const mb = (bytes: number) => bytes / 1024 / 1024
          const result: MapLargeResult = {
            ...ended(items),
            rssStartMb: mb(rssStart),
            rssHalfMb: mb(rssHalf),
            rssThreeQuartersMb: mb(rssThreeQuarters),
            rssPeakMb: mb(rssPeak),
            rssEndMb: mb(process.memoryUsage().rss),
            maxChunksInFlight: chunks
          }
          return result
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

/** The defaults with a tracer installed (native spans, none kept): the per-task cost of tracing. */
export const contenderTraced = makeContender({}, "threads", true)

/** `layerProcesses` with the defaults (child processes), against tinypool's `child_process` runtime. */
export const contenderProcesses = makeContender({}, "processes")
