/**
 * CPU per item of `Executor.map` on the caller's thread and on the rest of the process (the workers), with the input
 * built before the window: the figure bench/NOTES.md gives per step, since other load moves wall-clock figures most.
 *
 * Usage (after `npm run build`): node bench/mapCpu.ts <make | sync | objects> [label]
 */
import { Effect, Stream } from "effect"
import { Executor, Future } from "effect-futures"
import { item } from "./contenders/types.ts"
import { double, doubleSync, noop, sumItem } from "./tasks.ts"
const which = process.argv[2]
const items = which === "objects" ? 200_000 : 1_000_000
const task: typeof doubleSync | typeof double | typeof sumItem =
  which === "make" ? double : which === "objects" ? sumItem : doubleSync
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const range = (n: number) => Array.from({ length: n }, (_, i) => i)
const inputs = which === "objects" ? Array.from({ length: items }, (_, i) => item(i)) : range(items)
const rates: number[] = [],
  caller: number[] = [],
  others: number[] = []
await Effect.runPromise(
  Effect.gen(function* () {
    yield* Effect.forEach(range(1000), (i) => Effect.flatMap(Executor.submit(noop, i), Future.result), {
      concurrency: 64,
      discard: true
    })
    for (let k = 0; k < 6; k++) {
      const s = performance.now()
      const t = process.threadCpuUsage()
      const p = process.cpuUsage()
      yield* Stream.runDrain(Executor.map(task, inputs, { chunksize: 1000 }))
      const tu = process.threadCpuUsage(t)
      const pu = process.cpuUsage(p)
      if (k === 0) continue
      rates.push(items / ((performance.now() - s) / 1000))
      caller.push(((tu.user + tu.system) * 1000) / items)
      others.push(((pu.user + pu.system - (tu.user + tu.system)) * 1000) / items)
    }
  }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 2, minWorkers: 2 })))
)
console.log(
  `${(process.argv[3] ?? which).padEnd(22)} ${(median(rates) / 1e6).toFixed(2)}M items/s  caller ${median(caller).toFixed(0)} ns/item  workers+other ${median(others).toFixed(0)} ns/item`
)
process.exit(0)
