/**
 * `npm run bench`: effect-futures against piscina, tinypool and raw worker_threads loops, side by side.
 *
 * Every run is one contender × one scenario in a fresh child process; rounds interleave the contenders (in a rotating
 * order) and each figure is the median of the rounds. This machine is shared: a run during which other processes
 * used more than 5% of the CPU (from /proc/stat, minus the child's own ticks) is discarded and repeated.
 *
 * Options: `--quick` (smaller scenarios, one round), `--only=<scenario>[,<scenario>]`, `--rounds=N`; `--render`
 * runs nothing and only renders RESULTS.md and the chart again from results.json (after editing NOTES.md).
 * Writes bench/results.json, bench/RESULTS.md and bench/results.svg.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import { render } from "./report.ts"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const only = args
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",")
const rounds = Number(args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? (quick ? 1 : 3))
const MAX_OTHER_LOAD = 0.05
const MAX_RETRIES = 3

export interface Scenario {
  readonly name: string
  readonly params: Record<string, number>
  readonly contenders: ReadonlyArray<string>
}

const everyone = ["effect-futures", "piscina", "tinypool", "raw", "raw-pipelined"]
const pools = ["effect-futures", "piscina", "tinypool"]
/** Child-process pools: ours (`layerProcesses`) against tinypool's `child_process` runtime (piscina has none). */
const processPools = ["effect-futures-processes", "tinypool-processes"]
const startupContenders = ["effect-futures", "piscina", "tinypool", "raw", ...processPools]

const scenarios: ReadonlyArray<Scenario> = [
  // `effect-futures+tracing`: the same window with a tracer installed, for the per-task cost of tracing.
  {
    name: "noop",
    params: { tasks: quick ? 20_000 : 100_000, inFlight: 64 },
    contenders: [...everyone, "effect-futures+tracing"]
  },
  { name: "burst", params: { tasks: quick ? 20_000 : 100_000 }, contenders: everyone },
  {
    name: "cpu",
    params: { count: quick ? 40 : 200, n: 32 },
    contenders: ["effect-futures", "piscina", "tinypool", "raw"]
  },
  { name: "startup", params: {}, contenders: [...startupContenders] },
  { name: "startupCold", params: {}, contenders: [...startupContenders] },
  {
    name: "map",
    params: { items: quick ? 200_000 : 1_000_000, chunk: 1000 },
    contenders: ["effect-futures", "piscina", "raw-pipelined"]
  },
  // The no-op window as a Promise caller pays it: our Bridge runner's `run`, and one `ManagedRuntime.runPromise` per
  // task; the peers run their ordinary (Promise) no-op window.
  {
    name: "noopBridge",
    params: { tasks: quick ? 20_000 : 100_000, inFlight: 64 },
    contenders: ["effect-futures", "piscina"]
  },
  {
    name: "noopManagedRuntime",
    params: { tasks: quick ? 20_000 : 100_000, inFlight: 64 },
    contenders: ["effect-futures", "piscina"]
  },
  {
    name: "mapObjects",
    params: { items: quick ? 100_000 : 500_000, chunk: 1000 },
    contenders: ["effect-futures", "piscina"]
  },
  // The `map` scenario's numbers from a lazy `Stream` (compared with our own `map` row of the same run).
  { name: "mapStream", params: { items: quick ? 200_000 : 1_000_000, chunk: 1000 }, contenders: ["effect-futures"] },
  // 10M items from a lazy Stream: RSS sampled every 100 ms, with the chunks in flight.
  { name: "mapLarge", params: { items: quick ? 2_000_000 : 10_000_000, chunk: 1000 }, contenders: ["effect-futures"] },
  { name: "cancel", params: {}, contenders: [...pools, "effect-futures+spare", ...processPools] }
].filter((s) => only === undefined || only.includes(s.name))

/** CPU ticks of this process's children that have exited (cutime + cstime): a child's whole life, teardown included. */
const childrenTicks = () => {
  const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")
  return Number(fields[13]) + Number(fields[14])
}

/** Busy and total jiffies of the whole machine. */
const machineTicks = () => {
  const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1).map(Number)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu
  const busy = user + nice + system + irq + softirq + steal
  return { busy, total: busy + idle + iowait }
}

export interface Run {
  readonly result?: Record<string, number>
  readonly error?: string
  readonly wallMs: number
  readonly otherLoad: number
}

const runOnce = (contender: string, scenario: Scenario): Promise<Run> =>
  new Promise((resolve) => {
    const before = machineTicks()
    const childrenBefore = childrenTicks()
    const started = performance.now()
    const child = spawn(process.execPath, [
      new URL("./child.ts", import.meta.url).pathname,
      contender,
      scenario.name,
      JSON.stringify(scenario.params)
    ])
    let out = ""
    let firstLineAt = 0
    child.stdout.on("data", (chunk) => {
      if (firstLineAt === 0) firstLineAt = performance.now()
      out += chunk
    })
    child.stderr.on("data", () => {})
    child.on("exit", () => {
      const after = machineTicks()
      const wallMs = performance.now() - started
      let parsed: { result?: Record<string, number>; error?: string; cpuTicks?: number }
      try {
        parsed = JSON.parse(out.trim().split("\n").pop() ?? "{}")
      } catch {
        parsed = { error: `unreadable output: ${out.slice(0, 200)}` }
      }
      const own = childrenTicks() - childrenBefore
      const others = Math.max(0, after.busy - before.busy - own)
      const otherLoad = others / Math.max(1, after.total - before.total)
      let result = parsed.result
      if (result !== undefined && scenario.name === "startupCold") {
        // Cold start is measured from outside: from spawning the process to its first output.
        result = { ...result, coldMs: firstLineAt - started }
      }
      resolve({ ...(result ? { result } : {}), ...(parsed.error ? { error: parsed.error } : {}), wallMs, otherLoad })
    })
  })

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export type Results = Record<string, Record<string, { median: Record<string, number>; runs: number; error?: string }>>

/** The contenders import `effect-futures` by its package name, which resolves to the built `dist/`: build it first. */
const build = () => {
  const built = spawnSync("npm", ["run", "build"], { cwd: new URL("..", import.meta.url), stdio: "inherit" })
  if (built.status !== 0) throw new Error("npm run build failed")
}

const main = async () => {
  build()
  const collected: Record<string, Record<string, Array<Record<string, number>>>> = {}
  const errors: Record<string, Record<string, string>> = {}
  let discarded = 0
  for (let round = 0; round < rounds; round++) {
    for (const scenario of scenarios) {
      const order = scenario.contenders.map((_, i) => scenario.contenders[(i + round) % scenario.contenders.length])
      for (const contender of order) {
        let run = await runOnce(contender, scenario)
        for (let retry = 0; retry < MAX_RETRIES && run.otherLoad > MAX_OTHER_LOAD; retry++) {
          discarded++
          console.log(`  discarded ${contender}/${scenario.name}: others used ${(run.otherLoad * 100).toFixed(1)}% CPU`)
          run = await runOnce(contender, scenario)
        }
        const line = run.result
          ? Object.entries(run.result)
              .map(([k, v]) => `${k}=${v.toFixed(1)}`)
              .join(" ")
          : `error: ${run.error?.split("\n")[0]}`
        console.log(`round ${round + 1} ${scenario.name.padEnd(11)} ${contender.padEnd(15)} ${line}`)
        if (run.result) ((collected[scenario.name] ??= {})[contender] ??= []).push(run.result)
        else (errors[scenario.name] ??= {})[contender] = run.error ?? "unknown error"
      }
    }
  }
  const results: Results = {}
  for (const scenario of scenarios) {
    for (const contender of scenario.contenders) {
      const runs = collected[scenario.name]?.[contender] ?? []
      const keys = runs.length > 0 ? Object.keys(runs[0]) : []
      const medianOf = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))]))
      const error = errors[scenario.name]?.[contender]
      ;(results[scenario.name] ??= {})[contender] = {
        median: medianOf,
        runs: runs.length,
        ...(error !== undefined && runs.length === 0 ? { error } : {})
      }
    }
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown"}`,
    rounds,
    quick,
    discarded
  }
  fs.writeFileSync(new URL("./results.json", import.meta.url), `${JSON.stringify({ meta, results }, null, 2)}\n`)
  const { markdown, svg } = await render(meta, results)
  fs.writeFileSync(new URL("./RESULTS.md", import.meta.url), markdown)
  fs.writeFileSync(new URL("./results.svg", import.meta.url), svg)
  console.log("\nwrote bench/RESULTS.md, bench/results.svg, bench/results.json")
}

const renderOnly = async () => {
  const { meta, results } = JSON.parse(fs.readFileSync(new URL("./results.json", import.meta.url), "utf8"))
  const { markdown, svg } = await render(meta, results)
  fs.writeFileSync(new URL("./RESULTS.md", import.meta.url), markdown)
  fs.writeFileSync(new URL("./results.svg", import.meta.url), svg)
  console.log("rendered bench/RESULTS.md and bench/results.svg from bench/results.json")
}

await (args.includes("--render") ? renderOnly() : main())
