/**
 * Metrics and traces over OTLP: the executor's `effect_futures_*` metrics and a span per task, with the spans a task
 * opens inside its worker nested under it, exported to an OpenTelemetry collector (`OTLP_URL`, default
 * http://localhost:4318) with `effect/observability`. The same metrics in Prometheus' text format are printed at the
 * end (`PrometheusMetrics.layerHttp` serves them on an `HttpRouter` as `/metrics`).
 */
import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp, PrometheusMetrics } from "effect/observability"
import { Executor, Future } from "../src/index.ts"
import { fib, fibEach } from "./tasks.ts"

const baseUrl = process.env.OTLP_URL ?? "http://localhost:4318"

// Exports every metric and span of the program; flushes what is left when its scope closes.
const Observability = Otlp.layerJson({
  baseUrl,
  resource: { serviceName: "effect-futures-example" },
  metricsExportInterval: "1 second",
  tracerExportInterval: "500 millis"
}).pipe(Layer.provide(FetchHttpClient.layer))

const program = Effect.gen(function* () {
  // Each submit opens an `effect_futures.task` span under this one; the `fib` spans opened inside the task on its
  // worker nest under that, with the same trace id.
  const futures = yield* Effect.forEach([[20, 21], [22], [23, 24]], (ns) => Executor.submit(fibEach, ns))
  for (const future of futures) console.log(`fibEach: ${(yield* Future.result(future)).join(", ")}`)
  const refused = yield* Executor.submit(fib, -1).pipe(Effect.flatMap(Future.await))
  console.log(`fib(-1): ${refused._tag}`)

  const stats = yield* Executor.stats
  console.log(`stats: ${stats.completed} completed, ${stats.failed} failed`)
}).pipe(Effect.withSpan("observability-example"))

// The executor's `name` is the `executor` attribute of its metrics and spans.
const main = Effect.gen(function* () {
  yield* program.pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2, name: "example" })))
  // The executor is closed: its counters keep their values for the last export.
  const prometheus = yield* PrometheusMetrics.format()
  for (const line of prometheus.split("\n")) if (line.startsWith("effect_futures_tasks_")) console.log(line)
})

await Effect.runPromise(main.pipe(Effect.provide(Observability)))
console.log(`exported to ${baseUrl}`)
