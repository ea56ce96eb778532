/**
 * Turns the medians into bench/RESULTS.md (tables with ratios to piscina and to the raw baseline, and the issue's
 * targets) and bench/results.svg (a Vega-Lite chart rendered to SVG in Node).
 */
import * as fs from "node:fs"
import * as vega from "vega"
import * as vegaLite from "vega-lite"
import type { Results } from "./run.ts"

interface Metric {
  readonly scenario: string
  readonly key: string
  readonly label: string
  readonly higherIsBetter: boolean
  readonly baseline: string
  /** For the scenarios child-process pools run too: their figures are compared with tinypool's child processes. */
  readonly processes?: boolean
}

const metrics: ReadonlyArray<Metric> = [
  {
    scenario: "noop",
    key: "tasksPerSecond",
    label: "no-op tasks/s, 64 in flight",
    higherIsBetter: true,
    baseline: "raw"
  },
  { scenario: "burst", key: "tasksPerSecond", label: "burst: tasks/s", higherIsBetter: true, baseline: "raw" },
  { scenario: "burst", key: "submitMs", label: "burst: ms to submit", higherIsBetter: false, baseline: "raw" },
  {
    scenario: "burst",
    key: "rssBytesPerTask",
    label: "burst: RSS bytes per queued task",
    higherIsBetter: false,
    baseline: "raw"
  },
  {
    scenario: "cpu",
    key: "speedup",
    label: "CPU: speedup over serial (200 × fib(32))",
    higherIsBetter: true,
    baseline: "raw"
  },
  {
    scenario: "startup",
    key: "firstResultMs",
    label: "startup: ms from pool creation to first result",
    higherIsBetter: false,
    baseline: "raw",
    processes: true
  },
  {
    scenario: "startupCold",
    key: "coldMs",
    label: "cold start: ms from process spawn to first result",
    higherIsBetter: false,
    baseline: "raw",
    processes: true
  },
  {
    scenario: "map",
    key: "itemsPerSecond",
    label: "map 1M items, chunks of 1000: items/s",
    higherIsBetter: true,
    baseline: "raw-pipelined"
  },
  {
    scenario: "map",
    key: "callerNsPerItem",
    label: "map: CPU of the caller's thread per item, ns (input generation included)",
    higherIsBetter: false,
    baseline: "raw-pipelined"
  },
  {
    scenario: "noop",
    key: "callerUsPerTask",
    label: "no-op: CPU of the caller's thread per task, µs",
    higherIsBetter: false,
    baseline: "raw"
  },
  {
    scenario: "noopBridge",
    key: "callerUsPerTask",
    label: "no-op, Promise caller (Bridge runner): CPU of the caller's thread per task, µs",
    higherIsBetter: false,
    baseline: "piscina"
  },
  {
    scenario: "noopManagedRuntime",
    key: "callerUsPerTask",
    label: "no-op, `ManagedRuntime.runPromise` per task: CPU of the caller's thread per task, µs",
    higherIsBetter: false,
    baseline: "piscina"
  },
  {
    scenario: "noopBridge",
    key: "tasksPerSecond",
    label: "no-op tasks/s, 64 in flight, Promise caller (ours: the Bridge runner's `run`)",
    higherIsBetter: true,
    baseline: "piscina"
  },
  {
    scenario: "noopManagedRuntime",
    key: "tasksPerSecond",
    label: "no-op tasks/s, 64 in flight, one `ManagedRuntime.runPromise` per task (peers: their Promise `run`)",
    higherIsBetter: true,
    baseline: "piscina"
  },
  {
    scenario: "mapObjects",
    key: "itemsPerSecond",
    label: "map over records { name, x, y } (Schema-checked), chunks of 1000: items/s",
    higherIsBetter: true,
    baseline: "piscina"
  },
  {
    scenario: "mapObjects",
    key: "callerNsPerItem",
    label: "map over records: CPU of the caller's thread per item, ns",
    higherIsBetter: false,
    baseline: "piscina"
  },
  {
    scenario: "mapStream",
    key: "itemsPerSecond",
    label: "map over a lazy Stream of the `map` numbers: items/s",
    higherIsBetter: true,
    baseline: "piscina"
  },
  {
    scenario: "mapLarge",
    key: "rssPeakMb",
    label: "map 10M items from a lazy Stream: peak RSS, MB (start, half-way and end in results.json)",
    higherIsBetter: false,
    baseline: "piscina"
  },
  {
    scenario: "mapLarge",
    key: "maxChunksInFlight",
    label: "map 10M items from a lazy Stream: most chunks in flight at a sample",
    higherIsBetter: false,
    baseline: "piscina"
  },
  {
    scenario: "cancel",
    key: "nextStartMs",
    label: "cancel a running CPU task: ms until the next task starts",
    higherIsBetter: false,
    baseline: "piscina",
    processes: true
  }
]

const contenders = [
  "effect-futures",
  "effect-futures+tracing",
  "effect-futures+spare",
  "piscina",
  "tinypool",
  "raw",
  "raw-pipelined",
  "effect-futures-processes",
  "tinypool-processes"
]

const valueOf = (results: Results, scenario: string, contender: string, key: string): number | undefined =>
  results[scenario]?.[contender]?.median[key]

const format = (value: number | undefined) =>
  value === undefined ? "n/a" : Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2)

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b

interface Target {
  readonly label: string
  readonly value: number | undefined
  readonly mustReach: number
  readonly aim: number
  readonly atLeast: boolean
  readonly unit: string
}

const targets = (results: Results): ReadonlyArray<Target> => {
  const ours = (scenario: string, key: string, who = "effect-futures") => valueOf(results, scenario, who, key)
  const theirs = (scenario: string, key: string, who = "piscina") => valueOf(results, scenario, who, key)
  const boot = (who: string, against: string, label: string) => [
    {
      label: `${label}: layer build to first result, vs ${against}`,
      value: ratio(ours("startup", "firstResultMs", who), theirs("startup", "firstResultMs", against)),
      mustReach: 1.5,
      aim: 1.0,
      atLeast: false,
      unit: "x"
    },
    {
      label: `${label}: cold start (process start to first result), vs ${against}`,
      value: ratio(ours("startupCold", "coldMs", who), theirs("startupCold", "coldMs", against)),
      mustReach: 1.5,
      aim: 1.2,
      atLeast: false,
      unit: "x"
    },
    {
      label: `${label}: next task after cancelling a running CPU task, vs ${against}`,
      value: ratio(ours("cancel", "nextStartMs", who), theirs("cancel", "nextStartMs", against)),
      mustReach: 2.0,
      aim: 1.0,
      atLeast: false,
      unit: "x"
    }
  ]
  return [
    ...boot("effect-futures", "piscina", "threads"),
    ...boot("effect-futures-processes", "tinypool-processes", "processes"),
    {
      label: "no-op tasks/s vs piscina",
      value: ratio(ours("noop", "tasksPerSecond"), theirs("noop", "tasksPerSecond")),
      mustReach: 1.0,
      aim: 1.3,
      atLeast: true,
      unit: "x"
    },
    {
      label: "burst RSS per queued task vs piscina",
      value: ratio(ours("burst", "rssBytesPerTask"), theirs("burst", "rssBytesPerTask")),
      mustReach: 1.0,
      aim: 0.5,
      atLeast: false,
      unit: "x"
    },
    {
      label: "CPU speedup on 2 cores",
      value: ours("cpu", "speedup"),
      mustReach: 1.9,
      aim: 1.97,
      atLeast: true,
      unit: "x"
    },
    {
      label: "map with chunksize, items/s vs pipelined raw",
      value: ratio(ours("map", "itemsPerSecond"), theirs("map", "itemsPerSecond", "raw-pipelined")),
      mustReach: 0.6,
      aim: 0.9,
      atLeast: true,
      unit: "x"
    },
    // Issue 17: the figures users see, and map's new rows.
    {
      label: "no-op, Effect program (`Effect.forEach`, 64 in flight) vs piscina",
      value: ratio(ours("noop", "tasksPerSecond"), theirs("noop", "tasksPerSecond")),
      mustReach: 1.5,
      aim: 1.5,
      atLeast: true,
      unit: "x"
    },
    {
      label: "no-op, Promise caller through the Bridge runner vs piscina",
      value: ratio(ours("noopBridge", "tasksPerSecond"), theirs("noopBridge", "tasksPerSecond")),
      mustReach: 1.2,
      aim: 1.2,
      atLeast: true,
      unit: "x"
    },
    {
      label: "map, numbers, chunks of 1000 vs piscina hand-chunked",
      value: ratio(ours("map", "itemsPerSecond"), theirs("map", "itemsPerSecond")),
      mustReach: 1.0,
      aim: 1.0,
      atLeast: true,
      unit: "x"
    },
    {
      label: "map over records (Schema-checked) vs piscina hand-chunked",
      value: ratio(ours("mapObjects", "itemsPerSecond"), theirs("mapObjects", "itemsPerSecond")),
      mustReach: 1.0,
      aim: 1.0,
      atLeast: true,
      unit: "x"
    },
    {
      label: "map over a lazy Stream vs the same items from an array (ours, same run)",
      value: ratio(ours("mapStream", "itemsPerSecond"), ours("map", "itemsPerSecond")),
      mustReach: 0.9,
      aim: 1.0,
      atLeast: true,
      unit: "x"
    },
    {
      label: "map 10M items from a lazy Stream: RSS growth over the last quarter of the window (flat: ~0)",
      value:
        ours("mapLarge", "rssEndMb") === undefined
          ? undefined
          : ours("mapLarge", "rssEndMb")! - ours("mapLarge", "rssThreeQuartersMb")!,
      mustReach: 50,
      aim: 25,
      atLeast: false,
      unit: " MB"
    },
    // Issue 19: what tracing costs per task (the no-op window with a tracer installed, against the same without).
    {
      label: "tracing on: extra wall time per no-op task (64 in flight, native spans, none kept)",
      value: perTaskMicros(
        valueOf(results, "noop", "effect-futures+tracing", "tasksPerSecond"),
        ours("noop", "tasksPerSecond")
      ),
      mustReach: 10,
      aim: 5,
      atLeast: false,
      unit: " µs"
    },
    {
      label: "next-task latency after cancelling a running CPU task, with `spareWorkers: 1`",
      value: valueOf(results, "cancel", "effect-futures+spare", "nextStartMs"),
      mustReach: 200,
      aim: 100,
      atLeast: false,
      unit: " ms"
    }
  ]
}

/** The extra microseconds per task of a slower throughput over a faster one. */
const perTaskMicros = (slower: number | undefined, faster: number | undefined) =>
  slower === undefined || faster === undefined ? undefined : 1e6 / slower - 1e6 / faster

const verdict = (t: Target) => {
  if (t.value === undefined) return "not measured"
  const meets = (bound: number) => (t.atLeast ? t.value! >= bound : t.value! <= bound)
  return meets(t.aim) ? "aim met" : meets(t.mustReach) ? "must-reach met" : "**not met**"
}

export const render = async (meta: Record<string, unknown>, results: Results) => {
  const lines: Array<string> = [
    "# Benchmark results",
    "",
    "Produced by `npm run bench` (see `bench/run.ts`); do not edit by hand.",
    "",
    `- date: ${meta.date}`,
    `- Node: ${meta.node}`,
    `- machine: ${meta.cpus}`,
    `- rounds: ${meta.rounds} (median shown)${meta.quick ? ", quick mode" : ""}; runs discarded for other load > 5%: ${meta.discarded}`,
    "",
    "Each figure is one contender in a fresh process, two workers each. Ratios compare every contender's figure to",
    "piscina's and to the raw worker_threads baseline (one task in flight per worker; for `map`, the pipelined",
    "variant). For ratios of times and memory, lower is better.",
    "",
    "## Targets (issue 16: worker boot; issue 17: the no-op figures users see and map; issue 7: the rest)",
    "",
    "| target | measured | must reach | aim | verdict |",
    "| --- | --- | --- | --- | --- |",
    ...targets(results).map(
      (t) =>
        `| ${t.label} | ${t.value === undefined ? "n/a" : `${format(t.value)}${t.unit}`} | ${t.atLeast ? "≥" : "≤"} ${t.mustReach}${t.unit} | ${t.atLeast ? "≥" : "≤"} ${t.aim}${t.unit} | ${verdict(t)} |`
    ),
    "",
    "## All figures",
    ""
  ]
  for (const metric of metrics) {
    const present = contenders.filter((c) => results[metric.scenario]?.[c] !== undefined)
    if (present.length === 0) continue
    lines.push(
      `### ${metric.label}`,
      "",
      `| contender | median | vs piscina | vs ${metric.baseline} |${metric.processes === true ? " vs tinypool-processes |" : ""}`,
      `| --- | --- | --- | --- |${metric.processes === true ? " --- |" : ""}`
    )
    for (const contender of present) {
      const entry = results[metric.scenario][contender]
      const value = entry.median[metric.key]
      const vsPiscina = ratio(value, valueOf(results, metric.scenario, "piscina", metric.key))
      const vsBaseline = ratio(value, valueOf(results, metric.scenario, metric.baseline, metric.key))
      const shown = entry.error !== undefined ? `error: ${entry.error.split("\n")[0].slice(0, 80)}` : format(value)
      const vsProcesses = ratio(value, valueOf(results, metric.scenario, "tinypool-processes", metric.key))
      lines.push(
        `| ${contender} | ${shown} | ${format(vsPiscina)}${vsPiscina === undefined ? "" : "x"} | ${format(vsBaseline)}${vsBaseline === undefined ? "" : "x"} |${metric.processes === true ? ` ${format(vsProcesses)}${vsProcesses === undefined ? "" : "x"} |` : ""}`
      )
    }
    lines.push("")
  }
  const chartData = metrics.flatMap((metric) =>
    contenders.flatMap((contender) => {
      const value = valueOf(results, metric.scenario, contender, metric.key)
      const piscina = valueOf(results, metric.scenario, "piscina", metric.key)
      const relative = ratio(value, piscina)
      if (relative === undefined || relative === 0) return []
      // Normalised so that higher is always better: 1.0 is piscina.
      return [{ metric: metric.label, contender, score: metric.higherIsBetter ? relative : 1 / relative }]
    })
  )
  const spec: vegaLite.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Relative to piscina (1.0); higher is better",
    data: { values: chartData },
    mark: "bar",
    encoding: {
      row: { field: "metric", type: "nominal", header: { labelAngle: 0, labelAlign: "left", labelLimit: 420 } },
      y: { field: "contender", type: "nominal", axis: { title: null } },
      x: { field: "score", type: "quantitative", scale: { type: "log" }, title: "score (log scale)" },
      color: { field: "contender", type: "nominal", legend: null }
    },
    width: 360
  }
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" })
  const svg = await view.toSVG()
  lines.push("![chart](results.svg)", "")
  // The analysis (what the profiles show where a target is not met) is written by hand, next to this file.
  const notes = new URL("./NOTES.md", import.meta.url)
  if (fs.existsSync(notes)) lines.push(fs.readFileSync(notes, "utf8"))
  // The cluster's figures, written by `node bench/cluster.ts` (a separate run: it starts runner processes).
  const cluster = new URL("./CLUSTER.md", import.meta.url)
  if (fs.existsSync(cluster)) lines.push("", fs.readFileSync(cluster, "utf8"))
  return { markdown: lines.join("\n"), svg }
}
