/**
 * Observability: the metrics every executor exports (and that `Executor.stats` reads), and the task span that a
 * task's own spans nest under, on every local layer.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as http from "node:http"
import { fileURLToPath } from "node:url"
import { Clock, Effect, Exit, Layer, Metric, Option, References, Stream, Tracer } from "effect"
import { Executor, Future } from "../src/index.ts"
import * as Tracing from "../src/internal/observability/tracing.ts"
import { memoryTracer } from "./fixtures/memoryTracer.ts"
import { forever, traced } from "./fixtures/observabilityTasks.ts"
import { double, failWith, throws } from "./fixtures/tasks.ts"
import { exitWith } from "./fixtures/workerTasks.ts"

type MakeLayer = (name: string) => Layer.Layer<Executor.Executor, unknown>

const layers: ReadonlyArray<readonly [string, MakeLayer, boolean]> = [
  ["layerFibers", (name) => Executor.layerFibers({ concurrency: 1, name }), false],
  ["layerWorkerThreads", (name) => Executor.layerWorkerThreads({ maxWorkers: 1, name }), true],
  ["layerProcesses", (name) => Executor.layerProcesses({ maxWorkers: 1, name }), true]
]

/** The value of one series in the current registry. */
const series = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>, id: string, attributes: Record<string, string>) => {
  const found = snapshots.filter(
    (snapshot) =>
      snapshot.id === id && Object.entries(attributes).every(([key, value]) => snapshot.attributes?.[key] === value)
  )
  assert.strictEqual(found.length, 1, `one series ${id} ${JSON.stringify(attributes)}`)
  return found[0].state as any
}

const parentOf = (span: Tracer.Span): Tracer.AnySpan | undefined => Option.getOrUndefined(span.parent)

describe("tracing off", () => {
  it.effect("with Effect's default tracer (nobody collects spans) no task span is opened", () =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      assert.isUndefined(yield* Effect.sync(() => Tracing.start("double", "off", clock, false)))
      const { tracer } = memoryTracer()
      const on = yield* Effect.sync(() => Tracing.start("double", "on", clock, false)).pipe(
        Effect.provideService(Tracer.Tracer, tracer)
      )
      assert.strictEqual(on?.span.name, "effect_futures.task")
    })
  )
})

for (const [label, makeLayer, workers] of layers) {
  describe(`${label}: metrics`, () => {
    it.live("a known mix of outcomes shows in the metrics, per task, and Executor.stats reads the same numbers", () =>
      Effect.gen(function* () {
        const name = `mix-${label}`
        const outcomes = yield* Effect.gen(function* () {
          const futures = [
            yield* Executor.submit(double, 1),
            yield* Executor.submit(double, 2),
            yield* Executor.submit(failWith, 3),
            yield* Executor.submit(throws, "boom")
          ]
          if (workers) futures.push(yield* Executor.submit(exitWith, 3))
          for (const future of futures) yield* Future.await(future)
          // One running and one queued behind it (one worker), both cancelled.
          const running = yield* Executor.submit(forever, 0)
          const queued = yield* Executor.submit(double, 3)
          assert.isTrue(yield* Future.cancel(queued))
          yield* Future.interrupt(running)
          const stats = yield* Executor.stats
          return { stats, snapshots: yield* Metric.snapshot }
        }).pipe(Effect.provide(makeLayer(name)))
        const { snapshots, stats } = outcomes
        const count = (metric: string, task: string) =>
          series(snapshots, `effect_futures_tasks_${metric}_total`, { executor: name, task }).count
        assert.strictEqual(count("submitted", "double"), 3)
        assert.strictEqual(count("completed", "double"), 2)
        assert.strictEqual(count("cancelled", "double"), 1)
        assert.strictEqual(count("failed", "failWith"), 1)
        assert.strictEqual(count("failed", "throws"), 1)
        assert.strictEqual(count("cancelled", "forever"), 1)
        if (workers) assert.strictEqual(count("crashed", "exitWith"), 1)
        // Executor.stats is the sum over tasks of the same records.
        assert.strictEqual(stats.completed, 2)
        assert.strictEqual(stats.failed, 2)
        assert.strictEqual(stats.cancelled, 2)
        assert.strictEqual(stats.crashed, workers ? 1 : 0)
        const run = series(snapshots, "effect_futures_run_seconds", { executor: name, task: "double" })
        assert.strictEqual(run.count, 2)
        const wait = series(snapshots, "effect_futures_queue_wait_seconds", { executor: name, task: "double" })
        assert.strictEqual(wait.count, 2)
        assert.strictEqual(series(snapshots, "effect_futures_workers", { executor: name }).value, stats.workers)
        assert.strictEqual(series(snapshots, "effect_futures_workers_busy", { executor: name }).value, stats.busy)
        assert.strictEqual(series(snapshots, "effect_futures_queue_length", { executor: name }).value, 0)
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.live("a task that waited behind a running one has its queue wait recorded once", () =>
      Effect.gen(function* () {
        const name = `wait-once-${label}`
        const snapshots = yield* Effect.gen(function* () {
          const running = yield* Executor.submit(forever, 0)
          yield* Future.running(running).pipe(Effect.repeat({ until: (running) => running }))
          // Queued behind it (on a worker pool, maybe handed to the busy worker ahead of time, then given back when
          // that worker is stopped): it waits once, until it runs.
          const queued = yield* Executor.submit(double, 1)
          yield* Future.interrupt(running)
          assert.strictEqual(yield* queued, 2)
          return yield* Metric.snapshot
        }).pipe(Effect.provide(makeLayer(name)))
        const wait = series(snapshots, "effect_futures_queue_wait_seconds", { executor: name, task: "double" })
        assert.strictEqual(wait.count, 1)
        const run = series(snapshots, "effect_futures_run_seconds", { executor: name, task: "double" })
        assert.strictEqual(run.count, 1)
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.live("a task cancelled before it started (Future.cancel true) has no run time", () =>
      Effect.gen(function* () {
        const name = `never-ran-${label}`
        const snapshots = yield* Effect.gen(function* () {
          const running = yield* Executor.submit(forever, 0)
          yield* Future.running(running).pipe(Effect.repeat({ until: (running) => running }))
          // Behind it: queued, or on a worker pool maybe handed to the busy worker ahead of time; it never runs.
          const pending = yield* Executor.submit(double, 1)
          assert.isTrue(yield* Future.cancel(pending))
          yield* Future.interrupt(running)
          return yield* Metric.snapshot
        }).pipe(Effect.provide(makeLayer(name)))
        const count = (metric: string) =>
          series(snapshots, `effect_futures_tasks_${metric}_total`, { executor: name, task: "double" }).count
        assert.strictEqual(count("cancelled"), 1)
        const run = series(snapshots, "effect_futures_run_seconds", { executor: name, task: "double" })
        assert.strictEqual(run.count, 0)
        // Nor a queue wait, on every layer: it never left the line.
        const wait = series(snapshots, "effect_futures_queue_wait_seconds", { executor: name, task: "double" })
        assert.strictEqual(wait.count, 0)
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.live("the gauges read the live executor; once it closes, counters keep their values", () =>
      Effect.gen(function* () {
        const name = `gauges-${label}`
        const during = yield* Effect.gen(function* () {
          const running = yield* Executor.submit(forever, 0)
          const queued = [yield* Executor.submit(double, 1), yield* Executor.submit(double, 2)]
          // Wait for the event (the task running), not for time.
          yield* Future.running(running).pipe(Effect.repeat({ until: (running) => running }))
          const snapshots = yield* Metric.snapshot
          const stats = yield* Executor.stats
          yield* Future.interrupt(running)
          for (const future of queued) yield* Future.await(future)
          return { snapshots, stats }
        }).pipe(Effect.provide(makeLayer(name)))
        assert.strictEqual(series(during.snapshots, "effect_futures_workers_busy", { executor: name }).value, 1)
        assert.strictEqual(series(during.snapshots, "effect_futures_queue_length", { executor: name }).value, 2)
        assert.strictEqual(during.stats.queued, 2)
        const after = yield* Metric.snapshot
        assert.strictEqual(
          series(after, "effect_futures_tasks_completed_total", { executor: name, task: "double" }).count,
          2
        )
        assert.strictEqual(series(after, "effect_futures_workers", { executor: name }).value, 0)
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )
  })

  describe(`${label}: tracing`, () => {
    it.live("a span the task opens inside run nests under the caller's task span, with the caller's trace id", () =>
      Effect.gen(function* () {
        const { spans, tracer } = memoryTracer()
        const result = yield* Effect.gen(function* () {
          const future = yield* Executor.submit(traced, 7)
          return yield* future
        }).pipe(
          Effect.withSpan("caller"),
          Effect.provide(makeLayer(`trace-${label}`)),
          Effect.provideService(Tracer.Tracer, tracer)
        )
        assert.strictEqual(result, 7)
        const byName = (name: string) => {
          const found = spans.filter((span) => span.name === name)
          assert.strictEqual(found.length, 1, `one span ${name}: ${spans.map((span) => span.name).join(", ")}`)
          return found[0]
        }
        const caller = byName("caller")
        const task = byName("effect_futures.task")
        const outer = byName("outer")
        const inner = byName("inner")
        assert.strictEqual(parentOf(task), caller)
        assert.strictEqual(parentOf(outer), task)
        assert.strictEqual(parentOf(inner), outer)
        for (const span of [task, outer, inner]) assert.strictEqual(span.traceId, caller.traceId)
        assert.strictEqual(task.attributes.get("task"), "traced")
        assert.strictEqual(task.attributes.get("executor"), `trace-${label}`)
        assert.strictEqual(inner.attributes.get("n"), 7)
        assert.isTrue(task.events.some(([name]) => name === "effect_futures.dispatched"))
        for (const span of [task, outer, inner]) assert.strictEqual(span.status._tag, "Ended")
        // Children end before their parents.
        const endOf = (span: Tracer.NativeSpan) => (span.status as { endTime: bigint }).endTime
        assert.isTrue(endOf(inner) <= endOf(outer) && endOf(outer) <= endOf(task))
      })
    )

    it.live(
      "a tracer that throws (ending the task span, or making a worker's span again) cannot keep a future from settling",
      () =>
        Effect.gen(function* () {
          const tracer = Tracer.make({
            span: (options) => {
              // The task's own spans are made in the task itself on layerFibers (a throw there is the task's defect);
              // on a worker pool they are made again by the caller, where a throw must stay the tracer's problem.
              if (workers && options.name === "outer") throw new Error("tracer refuses outer")
              const span = new Tracer.NativeSpan(options)
              if (options.name === "effect_futures.task") {
                span.end = () => {
                  throw new Error("tracer refuses to end")
                }
              }
              return span
            }
          })
          const results = yield* Effect.gen(function* () {
            const futures = [yield* Executor.submit(traced, 1), yield* Executor.submit(traced, 2)]
            return yield* Effect.forEach(futures, (future) => Future.await(future))
          }).pipe(
            Effect.withSpan("caller"),
            Effect.provide(makeLayer(`throwing-tracer-${label}`)),
            Effect.provideService(Tracer.Tracer, tracer)
          )
          assert.deepStrictEqual(
            results.map((exit) => (Exit.isSuccess(exit) ? exit.value : Exit.isFailure(exit) ? "failure" : "")),
            [1, 2]
          )
        })
    )

    it.live("map in chunks: a task span per chunk, and the spans its items open nest under it", () =>
      Effect.gen(function* () {
        const { spans, tracer } = memoryTracer()
        const values = yield* Stream.runCollect(Executor.map(traced, [1, 2, 3, 4], { chunksize: 2 })).pipe(
          Effect.withSpan("caller"),
          Effect.provide(makeLayer(`chunks-${label}`)),
          Effect.provideService(Tracer.Tracer, tracer)
        )
        assert.deepStrictEqual(Array.from(values), [1, 2, 3, 4])
        const tasks = spans.filter((span) => span.name === "effect_futures.task")
        assert.strictEqual(tasks.length, 2)
        for (const task of tasks) assert.strictEqual(task.attributes.get("chunk"), true)
        const outers = spans.filter((span) => span.name === "outer")
        assert.strictEqual(outers.length, 4)
        for (const outer of outers) assert.include(tasks, parentOf(outer))
      })
    )

    it.live("a task queued behind another is marked dispatched once, when a worker takes it", () =>
      Effect.gen(function* () {
        const { spans, tracer } = memoryTracer()
        yield* Effect.gen(function* () {
          const running = yield* Executor.submit(forever, 0)
          yield* Future.running(running).pipe(Effect.repeat({ until: (running) => running }))
          // The only worker is busy: this one waits in the queue (a pump that finds no room does not hand it over).
          const queued = yield* Executor.submit(double, 1)
          yield* Executor.submit(double, 2)
          yield* Future.interrupt(running)
          assert.strictEqual(yield* queued, 2)
        }).pipe(Effect.provide(makeLayer(`queued-${label}`)), Effect.provideService(Tracer.Tracer, tracer))
        const tasks = spans.filter(
          (span) => span.name === "effect_futures.task" && span.attributes.get("task") === "double"
        )
        assert.strictEqual(tasks.length, 2)
        for (const task of tasks) {
          const dispatched = task.events.filter(([name]) => name === "effect_futures.dispatched")
          assert.strictEqual(dispatched.length, 1, `one dispatched event, got ${dispatched.length}`)
        }
      })
    )

    it.live("a task cancelled before it started has no dispatched event: its run never began", () =>
      Effect.gen(function* () {
        const { spans, tracer } = memoryTracer()
        yield* Effect.gen(function* () {
          const running = yield* Executor.submit(forever, 0)
          yield* Future.running(running).pipe(Effect.repeat({ until: (running) => running }))
          const pending = yield* Executor.submit(double, 1)
          assert.isTrue(yield* Future.cancel(pending))
          yield* Future.interrupt(running)
        }).pipe(Effect.provide(makeLayer(`never-ran-${label}`)), Effect.provideService(Tracer.Tracer, tracer))
        const task = spans.find(
          (span) => span.name === "effect_futures.task" && span.attributes.get("task") === "double"
        )!
        assert.strictEqual(task.status._tag, "Ended")
        assert.deepStrictEqual(
          task.events.map(([name]) => name),
          []
        )
      })
    )

    it.live("a cancelled task's span ends interrupted", () =>
      Effect.gen(function* () {
        const { spans, tracer } = memoryTracer()
        yield* Effect.gen(function* () {
          const future = yield* Executor.submit(forever, 0)
          yield* Future.interrupt(future)
        }).pipe(Effect.provide(makeLayer(`cancel-${label}`)), Effect.provideService(Tracer.Tracer, tracer))
        const task = spans.find((span) => span.name === "effect_futures.task")!
        assert.strictEqual(task.status._tag, "Ended")
        const exit = (task.status as { exit: Exit.Exit<unknown, unknown> }).exit
        assert.isTrue(Exit.hasInterrupts(exit))
      })
    )

    it.live("with tracing disabled (References.TracerEnabled false) no span is made, here or in the worker", () =>
      Effect.gen(function* () {
        const { spans, tracer } = memoryTracer()
        const result = yield* Effect.gen(function* () {
          const future = yield* Executor.submit(traced, 3)
          return yield* future
        }).pipe(
          Effect.provide(makeLayer(`disabled-${label}`)),
          Effect.provideService(References.TracerEnabled, false),
          Effect.provideService(Tracer.Tracer, tracer)
        )
        assert.strictEqual(result, 3)
        assert.deepStrictEqual(
          spans.map((span) => span.name),
          []
        )
      })
    )
  })
}

describe("examples/observability.ts", () => {
  it.live("exports the task spans, nested, and the metrics over OTLP to a receiver (no collector needed)", () =>
    Effect.gen(function* () {
      const received = yield* Effect.acquireRelease(startReceiver, (receiver) => Effect.sync(() => receiver.close()))
      const { code, stdout, stderr } = yield* Effect.promise(() => runExample(received.url))
      assert.strictEqual(code, 0, stderr)
      assert.match(stdout, /stats: 3 completed, 1 failed/)
      assert.match(stdout, /effect_futures_tasks_completed_total\{executor="example",task="fibEach"\} 3/)
      const spans = received
        .bodies("/v1/traces")
        .flatMap((body: any) =>
          body.resourceSpans.flatMap((resource: any) => resource.scopeSpans.flatMap((scope: any) => scope.spans))
        )
      const tasks = spans.filter((span: any) => span.name === "effect_futures.task")
      const fibs = spans.filter((span: any) => span.name === "fib")
      assert.strictEqual(tasks.length, 4)
      assert.strictEqual(fibs.length, 5)
      for (const span of fibs) {
        const parent = tasks.find((task: any) => task.spanId === span.parentSpanId)
        assert.isDefined(parent, "a worker's span nests under a task span")
        assert.strictEqual(span.traceId, parent.traceId)
      }
      const metrics = received
        .bodies("/v1/metrics")
        .flatMap((body: any) =>
          body.resourceMetrics.flatMap((resource: any) => resource.scopeMetrics.flatMap((scope: any) => scope.metrics))
        )
        .map((metric: any) => metric.name)
      for (const name of [
        "effect_futures_tasks_submitted_total",
        "effect_futures_tasks_completed_total",
        "effect_futures_tasks_failed_total",
        "effect_futures_workers",
        "effect_futures_queue_wait_seconds",
        "effect_futures_run_seconds"
      ]) {
        assert.include(metrics, name)
      }
    }).pipe(Effect.scoped)
  )
})

/** A tiny OTLP/HTTP receiver: keeps every JSON body posted to it, by path. */
const startReceiver = Effect.callback<{
  readonly url: string
  readonly bodies: (path: string) => ReadonlyArray<unknown>
  readonly close: () => void
}>((resume) => {
  const bodies: Array<readonly [string, unknown]> = []
  const server = http.createServer((request, response) => {
    let body = ""
    request.on("data", (chunk) => (body += chunk))
    request.on("end", () => {
      bodies.push([request.url ?? "", JSON.parse(body)])
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as { port: number }
    resume(
      Effect.succeed({
        url: `http://127.0.0.1:${port}`,
        bodies: (path) => bodies.filter(([at]) => at === path).map(([, body]) => body),
        close: () => server.close()
      })
    )
  })
})

const runExample = (url: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [fileURLToPath(new URL("../examples/observability.ts", import.meta.url))],
      { timeout: 60_000, env: { ...process.env, OTLP_URL: url } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    )
  })
