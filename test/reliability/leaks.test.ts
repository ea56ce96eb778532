/**
 * Leak checks: once an executor's scope has closed, nothing it created is left — no worker thread, child process,
 * message port or pipe, no pending timer (unref'd ones included), no listener on `process` — and opening and
 * closing 200 executors in a row grows none of these, nor the heap beyond a small bound.
 *
 * `process.getActiveResourcesInfo()` only lists handles that keep the event loop alive, and the pool unrefs idle
 * workers and its timers, so a leaked idle worker or timer would not show there. Resources are tracked instead with
 * `async_hooks` from their creation (with the creating stack for timers) until they are destroyed, and the OS is
 * asked how many threads and child processes this process has.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { createHook } from "node:async_hooks"
import * as fs from "node:fs"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { afterAll, beforeAll } from "vitest"
import { Executor, Future } from "../../src/index.ts"
import { anything } from "../fixtures/faultTasks.ts"
import { makeBoard } from "../fixtures/latch.ts"
import { double, failWith, gated } from "../fixtures/tasks.ts"
import { exitWith, missingModule, spin } from "../fixtures/workerTasks.ts"
import { childProcesses } from "./faultInjection.ts"

/** Async resource types an executor may create: workers, their ports, child processes, their pipes, timers. */
const TRACKED = new Set(["WORKER", "MESSAGEPORT", "PROCESSWRAP", "PIPEWRAP", "Timeout"])

interface Tracked {
  readonly type: string
  readonly resource: { _destroyed?: boolean }
  readonly stack: string | undefined
  readonly generation: number
}

const stackOf = () => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 30
  const stack = new Error().stack
  Error.stackTraceLimit = limit
  return stack
}

const live = new Map<number, Tracked>()
let generation = 0
/** How many resources of each type were created in each generation: proof that the hook sees them at all. */
const created = new Map<number, Record<string, number>>()
const hook = createHook({
  init(id, type, _trigger, resource) {
    if (!TRACKED.has(type)) return
    const counts = created.get(generation) ?? {}
    counts[type] = (counts[type] ?? 0) + 1
    created.set(generation, counts)
    live.set(id, {
      type,
      resource: resource as Tracked["resource"],
      stack: type === "Timeout" ? stackOf() : undefined,
      generation
    })
  },
  destroy(id) {
    live.delete(id)
  }
})
beforeAll(() => {
  hook.enable()
})
afterAll(() => {
  hook.disable()
})

/** The frame that called `setTimeout`: the first one below the hook that is not Node's own. */
const creatorOf = (stack: string) =>
  stack
    .split("\n")
    .slice(1)
    .find((line) => !/node:|stackOf|AsyncHook\.init/.test(line)) ?? ""

/** The test runner's own timers (its RPC with the main process, the test timeout) are not ours to judge. */
const isRunners = (entry: Tracked) => entry.stack !== undefined && /vitest|birpc|tinypool/.test(creatorOf(entry.stack))

/** Resources created since `since` (see `mark`) and still alive: a timer that has fired or been cleared is not. */
const leftSince = (since: number) => {
  const left: Array<Tracked> = []
  for (const entry of live.values()) {
    if (entry.generation < since) continue
    if (entry.type === "Timeout" && (entry.resource._destroyed === true || isRunners(entry))) continue
    left.push(entry)
  }
  return left
}

/** Starts a new generation of resources: everything created from now on is checked by `leftSince`. */
const mark = () => ++generation

const osThreads = () => Number(/Threads:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0)

const WATCHED_EVENTS = [
  "exit",
  "beforeExit",
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "message",
  "disconnect",
  "uncaughtException",
  "unhandledRejection",
  "warning"
] as const
const listeners = () => Object.fromEntries(WATCHED_EVENTS.map((event) => [event, process.listenerCount(event)]))

const describeLeft = (left: ReadonlyArray<Tracked>) =>
  left
    .map((entry) => (entry.type === "Timeout" ? `Timeout created at\n${entry.stack}` : entry.type))
    .join("\n")
    .slice(0, 4000)

const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Waits (polling, bounded) until nothing created since `since` is alive and the OS counts are back to `os`, then
 * asserts it. Handles close a moment after their owners have gone; a leak never does.
 */
const assertNothingLeft = (since: number, os: { threads: number; children: number }, what: string) =>
  Effect.gen(function* () {
    const clean = () => leftSince(since).length === 0 && osThreads() <= os.threads && childProcesses() <= os.children
    // Each check runs from setImmediate, after the callback of the polling timer has returned: a timer only counts
    // as fired once its callback is over.
    yield* nextTurn.pipe(
      Effect.map(clean),
      Effect.repeat({ until: (done) => done, schedule: Schedule.spaced(10), times: 500 })
    )
    yield* nextTurn
    const left = leftSince(since)
    assert.deepStrictEqual(
      left.map((entry) => entry.type),
      [],
      `${what} left resources behind:\n${describeLeft(left)}`
    )
    assert.isAtMost(osThreads(), os.threads, `${what} left threads running`)
    assert.isAtMost(childProcesses(), os.children, `${what} left child processes`)
  })

const osCounts = () => ({ threads: osThreads(), children: childProcesses() })

/**
 * Work that exercises every path that creates a timer or a handle: idle workers (idle timers), a crash and its
 * replacement, a load error, a typed failure, a value that cannot be cloned, a running task interrupted with a long
 * grace period (a draining worker and its grace timer, still pending when the scope closes), futures with
 * timeouts that do not expire, `asCompleted`/`wait`/`map` with timeouts that do not expire.
 */
const busyLife = (kind: "workerThreads" | "processes" | "fibers") =>
  Effect.gen(function* () {
    const board = yield* makeBoard
    const futures = yield* Effect.forEach([1, 2, 3, 4], (n) => Executor.submit(double, n))
    yield* Effect.forEach(futures, (f) => Future.result(f, { timeout: "1 minute" }), { discard: true })
    yield* Future.await(yield* Executor.submit(failWith, 1))
    yield* Stream.runCollect(Future.asCompleted(futures, { timeout: "1 minute" }))
    yield* Future.wait(futures, { returnWhen: "ALL_COMPLETED", timeout: "1 minute" })
    yield* Stream.runCollect(Executor.map(double, [1, 2, 3, 4, 5], { chunksize: 2, timeout: "1 minute" }))
    if (kind !== "fibers") {
      yield* Future.await(yield* Executor.submit(exitWith, 3))
      yield* Future.await(yield* Executor.submit(missingModule, 1))
      yield* Future.await(yield* Executor.submit(anything, { callback: () => 1 }))
      const heartbeat = `${board.address}.beat`
      const spinning = yield* Executor.submit(spin, heartbeat)
      yield* Effect.sync(() => fs.existsSync(heartbeat)).pipe(
        Effect.repeat({ until: (beating) => beating, schedule: Schedule.spaced(10) })
      )
      // Its grace period outlives the scope: closing must still terminate that worker and clear the timer.
      yield* Future.interrupt(spinning)
      yield* Effect.sync(() => fs.rmSync(heartbeat, { force: true }))
    }
    const waiting = yield* Executor.submit(gated, { board: board.address, index: 0 })
    yield* board.started(0)
    yield* Future.interrupt(waiting)
  })

const layerOf = (kind: "workerThreads" | "processes" | "fibers") =>
  kind === "fibers"
    ? Executor.layerFibers({ concurrency: 2, shutdownTimeout: "1 minute" })
    : (kind === "workerThreads" ? Executor.layerWorkerThreads : Executor.layerProcesses)({
        maxWorkers: 2,
        idleTimeout: "1 minute",
        interruptGracePeriod: "1 minute",
        shutdownTimeout: "1 minute"
      })

describe("leaks", () => {
  it.live.each(["workerThreads", "processes", "fibers"] as const)(
    "layer %s leaves no worker, process, port, pipe, timer or process listener once its scope closes",
    (kind) =>
      Effect.gen(function* () {
        const os = osCounts()
        const before = listeners()
        const since = mark()
        yield* Effect.scoped(busyLife(kind).pipe(Effect.provide(layerOf(kind))))
        // The tracker saw what the executor created (so its silence afterwards means something).
        const seen = created.get(since) ?? {}
        assert.isAbove(seen.Timeout ?? 0, 0, `timers seen: ${JSON.stringify(seen)}`)
        if (kind === "workerThreads") assert.isAbove(seen.WORKER ?? 0, 1, `workers seen: ${JSON.stringify(seen)}`)
        if (kind === "processes") assert.isAbove(seen.PROCESSWRAP ?? 0, 1, `processes seen: ${JSON.stringify(seen)}`)
        yield* assertNothingLeft(since, os, kind)
        assert.deepStrictEqual(listeners(), before, "listeners on process")
      }),
    60_000
  )

  it.live.each(["workerThreads", "processes"] as const)(
    "layer %s: closing the scope while tasks are queued, running and spinning leaves nothing",
    (kind) =>
      Effect.gen(function* () {
        const os = osCounts()
        const before = listeners()
        const since = mark()
        const board = yield* makeBoard
        const futures = yield* Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(
              (kind === "workerThreads" ? Executor.layerWorkerThreads : Executor.layerProcesses)({
                maxWorkers: 2,
                shutdownTimeout: 20,
                interruptGracePeriod: 20
              })
            )
            return yield* Effect.gen(function* () {
              const heartbeat = `${board.address}.beat`
              const futures = [
                yield* Executor.submit(spin, heartbeat),
                yield* Executor.submit(gated, { board: board.address, index: 0 }),
                ...(yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(double, n)))
              ]
              yield* board.started(0)
              yield* Effect.sync(() => fs.existsSync(heartbeat)).pipe(
                Effect.repeat({ until: (beating) => beating, schedule: Schedule.spaced(10) })
              )
              fs.rmSync(heartbeat, { force: true })
              return futures
            }).pipe(Effect.provideContext(context))
          })
        )
        const states = yield* Effect.forEach(futures, Future.state)
        assert.isTrue(
          states.every((state) => state === "CANCELLED"),
          `states after the scope closed: ${states.join()}`
        )
        yield* assertNothingLeft(since, os, kind)
        assert.deepStrictEqual(listeners(), before, "listeners on process")
      }),
    60_000
  )

  it.live("an interrupted scope (Ctrl-C) leaves nothing either", () =>
    Effect.gen(function* () {
      const os = osCounts()
      const before = listeners()
      const since = mark()
      const board = yield* makeBoard
      const fiber = yield* Effect.forkChild(
        Effect.gen(function* () {
          yield* Executor.submit(gated, { board: board.address, index: 0 })
          yield* Executor.submit(double, 1)
          yield* Effect.never
        }).pipe(Effect.provide(Executor.layerProcesses({ maxWorkers: 1, interruptGracePeriod: 20 })))
      )
      yield* board.started(0)
      yield* Fiber.interrupt(fiber)
      yield* assertNothingLeft(since, os, "an interrupted layerProcesses scope")
      assert.deepStrictEqual(listeners(), before, "listeners on process")
    })
  )

  it.live(
    "opening and closing 200 executors grows nothing",
    () =>
      Effect.gen(function* () {
        v8.setFlagsFromString("--expose-gc")
        const gc = vm.runInNewContext("gc") as () => void
        // Most are in-process; every tenth runs on workers (threads and processes in turn), each booting a real one.
        const layerFor = (i: number) =>
          i % 10 === 0
            ? (i % 20 === 0 ? Executor.layerWorkerThreads : Executor.layerProcesses)({ maxWorkers: 1, minWorkers: 0 })
            : Executor.layerFibers({ concurrency: 2 })
        const life = Effect.gen(function* () {
          const futures = yield* Effect.forEach([1, 2], (n) => Executor.submit(double, n))
          yield* Effect.forEach(futures, (f) => Future.result(f), { discard: true })
          yield* Stream.runCollect(Executor.map(double, [1, 2, 3], { chunksize: 2 }))
        })
        const cycle = (from: number, to: number) =>
          Effect.forEach(
            Array.from({ length: to - from }, (_, k) => from + k),
            (i) => Effect.scoped(life.pipe(Effect.provide(layerFor(i)))),
            { discard: true }
          )

        // Warm up (module caches, the JIT, the runtime's own pools), then measure from there.
        yield* cycle(0, 20)
        const os = osCounts()
        const before = listeners()
        const since = mark()
        gc()
        const heapBefore = process.memoryUsage().heapUsed
        yield* cycle(20, 200)
        yield* assertNothingLeft(since, os, "180 executors")
        assert.deepStrictEqual(listeners(), before, "listeners on process")
        gc()
        const grown = process.memoryUsage().heapUsed - heapBefore
        assert.isBelow(grown, 8 * 1024 * 1024, `the heap grew by ${(grown / 1024 / 1024).toFixed(1)} MB`)
      }),
    90_000
  )
})
