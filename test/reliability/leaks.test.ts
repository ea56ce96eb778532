/**
 * Leak checks: once an executor's scope closes, no worker, child process, timer or `process` listener is left, and
 * opening and closing executors over and over grows nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Executor, Future } from "../../src/index.ts"
import { double } from "../fixtures/tasks.ts"

const KINDS = ["MessagePort", "Worker", "ProcessWrap", "PipeWrap", "Timeout"]

/** Counts of the handles an executor could leave behind. */
const resources = () => {
  const counts: Record<string, number> = Object.fromEntries(KINDS.map((kind) => [kind, 0]))
  for (const resource of process.getActiveResourcesInfo()) if (resource in counts) counts[resource]++
  return counts
}

const listeners = () =>
  Object.fromEntries(
    ["exit", "SIGINT", "SIGTERM", "message", "uncaughtException", "beforeExit"].map((event) => [
      event,
      process.listenerCount(event)
    ])
  )

/** Handles close a moment after their owners are gone: poll (bounded) until the counts are back. */
const settlesTo = (baseline: Record<string, number>) =>
  Effect.sync(resources).pipe(
    Effect.repeat({
      until: (now) => KINDS.every((kind) => now[kind] <= baseline[kind]),
      schedule: Schedule.spaced(10),
      times: 300
    })
  )

const assertNoMoreThan = (now: Record<string, number>, baseline: Record<string, number>) => {
  for (const kind of KINDS) assert.isAtMost(now[kind], baseline[kind], `${kind} handles left open`)
}

const useExecutor = (layer: ReturnType<typeof Executor.layerWorkerThreads>) =>
  Effect.gen(function* () {
    const futures = yield* Effect.forEach([1, 2, 3, 4], (n) => Executor.submit(double, n))
    yield* Effect.forEach(futures, (f) => Future.result(f), { discard: true })
  }).pipe(Effect.provide(layer))

describe("leaks", () => {
  it.live.each([
    ["layerWorkerThreads", () => Executor.layerWorkerThreads({ maxWorkers: 2 })],
    ["layerProcesses", () => Executor.layerProcesses({ maxWorkers: 2 })],
    ["layerFibers", () => Executor.layerFibers({ concurrency: 2 })]
  ] as const)("%s leaves no worker, process, timer or listener behind", ([, makeLayer]) =>
    Effect.gen(function* () {
      const baseline = resources()
      const before = listeners()
      yield* useExecutor(makeLayer())
      assertNoMoreThan(yield* settlesTo(baseline), baseline)
      assert.deepStrictEqual(listeners(), before)
    })
  )

  it.live("opening and closing 200 executors grows nothing", () =>
    Effect.gen(function* () {
      v8.setFlagsFromString("--expose-gc")
      const gc = vm.runInNewContext("gc") as () => void
      const baseline = resources()
      const before = listeners()
      gc()
      const heapBefore = process.memoryUsage().heapUsed
      for (let i = 0; i < 200; i++) {
        // Mostly in-process executors; every tenth on worker threads (each boots real workers).
        yield* useExecutor(
          i % 10 === 0 ? Executor.layerWorkerThreads({ maxWorkers: 1 }) : Executor.layerFibers({ concurrency: 2 })
        )
      }
      assertNoMoreThan(yield* settlesTo(baseline), baseline)
      assert.deepStrictEqual(listeners(), before)
      gc()
      const grown = process.memoryUsage().heapUsed - heapBefore
      assert.isBelow(grown, 16 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(1)} MB`)
    })
  )
})
