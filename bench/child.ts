/**
 * Runs one scenario for one contender in this fresh process and prints one JSON line with the result and the CPU
 * time this process used (all its threads), so the parent can tell its own load from other processes'.
 *
 * Usage: node bench/child.ts <contender> <scenario> <json params> (after `npm run build`: the effect-futures
 * contenders run the built package, as a consumer does)
 */
import * as fs from "node:fs"
import type { Contender } from "./contenders/types.ts"

const [name, scenario, paramsJson] = process.argv.slice(2)
const params = JSON.parse(paramsJson ?? "{}")

/** CPU time of this process, all threads, in clock ticks (utime + stime from /proc/self/stat). */
const cpuTicks = (): number => {
  const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")
  return Number(fields[11]) + Number(fields[12])
}

const load = async (): Promise<Contender> => {
  switch (name) {
    case "effect-futures":
      return (await import("./contenders/effectFutures.ts")).contender
    case "effect-futures+tracing":
      return (await import("./contenders/effectFutures.ts")).contenderTraced
    case "effect-futures+spare":
      return (await import("./contenders/effectFutures.ts")).contenderWithSpare
    case "effect-futures-processes":
      return (await import("./contenders/effectFutures.ts")).contenderProcesses
    case "piscina":
      return (await import("./contenders/piscina.ts")).contender
    case "tinypool":
      return (await import("./contenders/tinypool.ts")).contender
    case "tinypool-processes":
      return (await import("./contenders/tinypool.ts")).contenderProcesses
    case "raw":
      return (await import("./contenders/raw.ts")).raw
    case "raw-pipelined":
      return (await import("./contenders/raw.ts")).rawPipelined
  }
  throw new Error(`unknown contender ${name}`)
}

const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))

const main = async () => {
  if (scenario !== "startupCold") {
    // Every Effect application has imported `effect` before it builds an executor.
    await import("effect")
  }
  const contender = await load()
  const ticksBefore = cpuTicks()
  let result: unknown
  switch (scenario) {
    case "noop":
      result = await contender.noop(params.tasks, params.inFlight)
      break
    case "burst":
      result = await contender.burst(params.tasks)
      break
    case "cpu": {
      // Serial reference on this main thread: warmed up first (so JIT tiers do not count), a fifth of the work,
      // scaled up.
      for (let i = 0; i < 3; i++) fib(params.n)
      const sample = Math.max(1, Math.round(params.count / 5))
      const started = performance.now()
      for (let i = 0; i < sample; i++) fib(params.n)
      const serialMs = ((performance.now() - started) * params.count) / sample
      const { parallelMs } = await contender.cpu(params.count, params.n)
      result = { parallelMs, serialMs, speedup: serialMs / parallelMs }
      break
    }
    case "startup":
    case "startupCold":
      result = await contender.startup()
      break
    case "map":
      if (contender.map === undefined) throw new Error("not implemented by this contender")
      result = await contender.map(params.items, params.chunk)
      break
    case "noopBridge":
      result = await (contender.noopBridge ?? contender.noop)(params.tasks, params.inFlight)
      break
    case "noopManagedRuntime":
      result = await (contender.noopManagedRuntime ?? contender.noop)(params.tasks, params.inFlight)
      break
    case "mapObjects":
    case "mapStream":
    case "mapLarge": {
      const scenarioOf = contender[scenario]
      if (scenarioOf === undefined) throw new Error("not implemented by this contender")
      result = await scenarioOf(params.items, params.chunk)
      break
    }
    case "cancel":
      if (contender.cancel === undefined) throw new Error("not implemented by this contender")
      result = await contender.cancel()
      break
    default:
      throw new Error(`unknown scenario ${scenario}`)
  }
  process.stdout.write(`${JSON.stringify({ result, cpuTicks: cpuTicks() - ticksBefore })}\n`)
  process.exit(0)
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`)
  process.exit(1)
})
