/**
 * An executor's numbers, kept once: the counts and histograms that `Executor.stats` reads are the very records the
 * exported `Metric`s read, so the two never disagree.
 *
 * The metrics are Effect `Metric`s (any exporter of `effect/observability` sees them), registered with
 * `Metric.registerUnsafe`: a series reads its value from these records when it is exported, so a task costs the
 * executor a few integer increments and two histogram buckets, never a registry lookup.
 *
 * Series are identified by the attributes `executor` (the executor's `name`) and `task`; the gauges carry only
 * `executor`. Two executors alive with the same name in the same registry add up in one series. When an executor
 * closes, its counts are folded into its series, so counters never go back (a Prometheus `rate` sees no reset), and
 * its gauges drop to zero; nothing of the executor itself stays reachable from the registry.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"

/** Histogram bucket bounds, in seconds: from a no-op task on a warm worker (~40 µs) to a long batch job. */
export const boundaries: ReadonlyArray<number> = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300
]

/** A histogram over `boundaries`, in the shape of Effect's `HistogramState` once read. */
export interface Histogram {
  /** Per bucket (not cumulative); the last one counts values above every bound. */
  readonly counts: Uint32Array
  count: number
  sum: number
  min: number
  max: number
}

const makeHistogram = (): Histogram => ({
  counts: new Uint32Array(boundaries.length + 1),
  count: 0,
  sum: 0,
  min: Number.MAX_VALUE,
  max: -Number.MAX_VALUE
})

/** Records one duration, given in milliseconds (the executor's clock), in seconds. */
export const observe = (histogram: Histogram, millis: number): void => {
  const seconds = millis / 1000
  let bucket = 0
  while (bucket < boundaries.length && seconds > boundaries[bucket]) bucket++
  histogram.counts[bucket]++
  histogram.count++
  histogram.sum += seconds
  if (seconds < histogram.min) histogram.min = seconds
  if (seconds > histogram.max) histogram.max = seconds
}

/**
 * Takes back a duration `observe` recorded (a queue wait that did not end after all). Its bucket, count and sum are
 * exact again; `min` and `max` stay as they were (they cannot be taken back): the duration taken back is never
 * above the one that replaces it, so `max` still holds, and `min` may be lower than any value kept.
 */
export const unobserve = (histogram: Histogram, millis: number): void => {
  const seconds = millis / 1000
  let bucket = 0
  while (bucket < boundaries.length && seconds > boundaries[bucket]) bucket++
  histogram.counts[bucket]--
  histogram.count--
  histogram.sum -= seconds
}

/** One task's numbers on one executor. */
export interface TaskStats {
  readonly task: string
  submitted: number
  completed: number
  failed: number
  crashed: number
  cancelled: number
  readonly queueWait: Histogram
  readonly run: Histogram
}

export const makeTaskStats = (task: string): TaskStats => ({
  task,
  submitted: 0,
  completed: 0,
  failed: 0,
  crashed: 0,
  cancelled: 0,
  queueWait: makeHistogram(),
  run: makeHistogram()
})

type Count = "submitted" | "completed" | "failed" | "crashed" | "cancelled"

/** The counters: metric name, the `TaskStats` field it reads, its description. */
const counters: ReadonlyArray<readonly [string, Count, string]> = [
  ["effect_futures_tasks_submitted_total", "submitted", "Tasks accepted by submit (or map), whatever their outcome"],
  ["effect_futures_tasks_completed_total", "completed", "Tasks that succeeded"],
  ["effect_futures_tasks_failed_total", "failed", "Tasks that failed: a typed error, a defect, a codec error"],
  ["effect_futures_tasks_crashed_total", "crashed", "Tasks whose worker died under them (WorkerCrashed)"],
  ["effect_futures_tasks_cancelled_total", "cancelled", "Tasks cancelled or interrupted before they finished"]
]

const histograms: ReadonlyArray<readonly [string, "queueWait" | "run", string]> = [
  ["effect_futures_queue_wait_seconds", "queueWait", "Time from submit until a worker was handed the task"],
  ["effect_futures_run_seconds", "run", "Time from hand-off to a worker until the outcome arrived"]
]

/** What the gauges read from one live executor. */
export interface GaugeSource {
  readonly workers: () => number
  readonly busy: () => number
  readonly queued: () => number
}

const gauges: ReadonlyArray<readonly [string, keyof GaugeSource, string]> = [
  ["effect_futures_workers", "workers", "Workers (or fiber slots) of the executor"],
  ["effect_futures_workers_busy", "busy", "Workers running a task now"],
  ["effect_futures_queue_length", "queued", "Tasks waiting for a worker"]
]

// ---------------------------------------------------------------------------------------------------------------
// Series shared by every executor of one name, per metric registry
// ---------------------------------------------------------------------------------------------------------------

/** One `(executor, task)` series: the live executors' records, plus what closed ones left. */
interface TaskSeries {
  readonly live: Set<TaskStats>
  readonly retired: TaskStats
}

interface ExecutorSeries {
  readonly live: Set<GaugeSource>
}

interface RegistrySeries {
  readonly tasks: Map<string, TaskSeries>
  readonly executors: Map<string, ExecutorSeries>
}

const byRegistry = new WeakMap<object, RegistrySeries>()

const seriesOf = (context: Context.Context<never>): RegistrySeries => {
  const map = Context.get(context, Metric.MetricRegistry)
  let series = byRegistry.get(map)
  if (series === undefined) {
    series = { tasks: new Map(), executors: new Map() }
    byRegistry.set(map, series)
  }
  return series
}

const sumCount = (series: TaskSeries, field: Count): number => {
  let total = series.retired[field]
  for (const stats of series.live) total += stats[field]
  return total
}

const addHistogram = (into: Histogram, from: Histogram) => {
  for (let i = 0; i < into.counts.length; i++) into.counts[i] += from.counts[i]
  into.count += from.count
  into.sum += from.sum
  if (from.min < into.min) into.min = from.min
  if (from.max > into.max) into.max = from.max
}

const readHistogram = (series: TaskSeries, field: "queueWait" | "run"): Metric.HistogramState => {
  const total = makeHistogram()
  addHistogram(total, series.retired[field])
  for (const stats of series.live) addHistogram(total, stats[field])
  const buckets: Array<[number, number]> = []
  let cumulated = 0
  for (let i = 0; i < boundaries.length; i++) {
    cumulated += total.counts[i]
    buckets.push([boundaries[i], cumulated])
  }
  return { buckets, count: total.count, sum: total.sum, min: total.min, max: total.max }
}

const ignore = () => {}

const registerTaskSeries = (context: Context.Context<never>, executor: string, task: string): TaskSeries => {
  const series: TaskSeries = { live: new Set(), retired: makeTaskStats(task) }
  const attributes = { executor, task }
  for (const [name, field, description] of counters) {
    Metric.registerUnsafe(Metric.counter(name, { description, attributes, incremental: true }), context, {
      get: () => ({ count: sumCount(series, field), incremental: true }),
      update: ignore,
      modify: ignore
    })
  }
  for (const [name, field, description] of histograms) {
    Metric.registerUnsafe(Metric.histogram(name, { description, attributes, boundaries }), context, {
      get: () => readHistogram(series, field),
      update: ignore,
      modify: ignore
    })
  }
  return series
}

const registerExecutorSeries = (context: Context.Context<never>, executor: string): ExecutorSeries => {
  const series: ExecutorSeries = { live: new Set() }
  for (const [name, field, description] of gauges) {
    Metric.registerUnsafe(Metric.gauge(name, { description, attributes: { executor } }), context, {
      get: () => {
        let value = 0
        for (const source of series.live) value += source[field]()
        return { value }
      },
      update: ignore,
      modify: ignore
    })
  }
  return series
}

// ---------------------------------------------------------------------------------------------------------------
// One executor's metrics
// ---------------------------------------------------------------------------------------------------------------

/** One executor's numbers: a `TaskStats` per task it has seen, and its gauges, registered as its series. */
export interface ExecutorMetrics {
  readonly executor: string
  readonly tasks: Map<string, TaskStats>
  readonly context: Context.Context<never>
}

/**
 * Registers the executor's gauges in the metric registry of `context` (the default one unless the program provides
 * `Metric.MetricRegistry`), reading `source` until `retire`.
 */
export const make = (context: Context.Context<never>, executor: string, source: GaugeSource): ExecutorMetrics => {
  const registry = seriesOf(context)
  let series = registry.executors.get(executor)
  if (series === undefined) {
    series = registerExecutorSeries(context, executor)
    registry.executors.set(executor, series)
  }
  series.live.add(source)
  return { executor, tasks: new Map(), context }
}

/** The task's record on this executor, made (and its series registered) the first time the task is seen. */
export const taskStats = (self: ExecutorMetrics, task: string): TaskStats => {
  let stats = self.tasks.get(task)
  if (stats !== undefined) return stats
  stats = makeTaskStats(task)
  self.tasks.set(task, stats)
  const registry = seriesOf(self.context)
  const key = `${self.executor}\u0000${task}`
  let series = registry.tasks.get(key)
  if (series === undefined) {
    series = registerTaskSeries(self.context, self.executor, task)
    registry.tasks.set(key, series)
  }
  series.live.add(stats)
  return stats
}

/** The executor closed: its counts stay in its series (counters never go back), its gauges leave them. */
export const retire = (self: ExecutorMetrics, source: GaugeSource): void => {
  const registry = seriesOf(self.context)
  registry.executors.get(self.executor)?.live.delete(source)
  for (const stats of self.tasks.values()) {
    const series = registry.tasks.get(`${self.executor}\u0000${stats.task}`)
    if (series === undefined || !series.live.delete(stats)) continue
    for (const [, field] of counters) series.retired[field] += stats[field]
    addHistogram(series.retired.queueWait, stats.queueWait)
    addHistogram(series.retired.run, stats.run)
  }
}

/** The executor's totals over its tasks, as `Executor.stats` reports them. */
export const totals = (self: ExecutorMetrics): Record<Count, number> => {
  const total = { submitted: 0, completed: 0, failed: 0, crashed: 0, cancelled: 0 }
  for (const stats of self.tasks.values()) {
    for (const [, field] of counters) total[field] += stats[field]
  }
  return total
}
