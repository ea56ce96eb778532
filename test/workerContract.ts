/**
 * What every worker-backed executor (threads, processes) must keep on top of the executor contract: crash isolation,
 * bounded restarts, load errors that fail one future, Schema failures on the far side, real cancellation of CPU-bound
 * work, recycling, limits, option validation and a shutdown that never hangs and leaves no worker behind.
 * Time-dependent waits poll a condition; nothing asserts on wall-clock durations.
 *
 * Whether a worker is gone is asked of the OS: a child process by its pid, a worker thread by its name among this
 * process's threads (`/proc/self/task/<tid>/comm`, which Node sets to the worker's name). Where the OS does not
 * tell (no `/proc`), a worker counts as gone.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, References, Schedule, Stream } from "effect"
import { Executor, ExecutorError, Future } from "../src/index.ts"
import { failureOf, invalidOptions } from "./contract.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { Boom, double, failWith, gated } from "./fixtures/tasks.ts"
import { UNLUCKY, UnluckyError, unluckyError, unluckyPayload, unluckyResult } from "./fixtures/schemaTasks.ts"
import {
  bytes,
  exhaustMemory,
  exitWith,
  heapAndStack,
  heapLimit,
  initFails,
  initOk,
  lateReject,
  missingModule,
  notExported,
  readInit,
  rejectAndWait,
  spin,
  throwOutside,
  whichWorker
} from "./fixtures/workerTasks.ts"

export type MakeWorkerLayer = (
  options: Executor.WorkerOptions
) => Layer.Layer<Executor.Executor, ExecutorError.InvalidOptions | ExecutorError.BootstrapError>

/**
 * A grace period no test outlives (the longest a duration option takes, about 24 days): a cancelled task stuck in
 * synchronous code stays in its grace period for the whole test, so asserting what happens during it does not
 * depend on how long the test takes. Closing the layer still terminates it.
 */
export const stuckForTheTest = "24 days"

/** Polls `condition` every few milliseconds until it holds: waiting for a real-time event, not asserting its timing. */
export const eventually = <R>(condition: Effect.Effect<boolean, never, R>) =>
  condition.pipe(Effect.repeat({ until: (held) => held, schedule: Schedule.spaced(5) }), Effect.asVoid)

let heartbeats = 0
/** A fresh file for a `spin` task's heartbeat. */
export const heartbeatFile = () => {
  const file = path.join(
    os.tmpdir(),
    `effect-futures-beat-${process.pid}-${heartbeats++}-${Math.random().toString(36).slice(2)}`
  )
  fs.rmSync(file, { force: true })
  return file
}
interface Beat {
  readonly beat: number
  readonly pid: number
  /** The worker thread's name, or "-" on a process's main thread. */
  readonly thread: string
}
const readBeat = (file: string): Beat => {
  try {
    const content = fs.readFileSync(file, "utf8")
    // A write may be caught halfway: only a complete line counts.
    if (!content.endsWith("\n")) return { beat: 0, pid: 0, thread: "-" }
    const [beat, pid, thread] = content.trim().split(" ")
    return { beat: Number(beat) || 0, pid: Number(pid) || 0, thread: thread ?? "-" }
  } catch {
    return { beat: 0, pid: 0, thread: "-" }
  }
}
/** How many heartbeats a `spin` task wrote so far. */
export const beats = (file: string): number => readBeat(file).beat
/** The pid of the process running a `spin` task. */
export const spinnerPid = (file: string): number => readBeat(file).pid

/** Whether a process is alive; a zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

/** Whether this process has a thread of that name (Linux truncates a thread's name to 15 bytes). */
const hasThread = (name: string): boolean => {
  try {
    return fs
      .readdirSync("/proc/self/task")
      .some((tid) => fs.readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() === name.slice(0, 15))
  } catch {
    return false
  }
}

/** The worker a `spin` task runs on, once it has beaten: its process, and its thread when it is a worker thread. */
export const spinnerOf = (file: string) =>
  Effect.suspend(() => {
    let found: Beat | undefined
    return eventually(
      Effect.sync(() => {
        const beat = readBeat(file)
        if (beat.beat > 0) found = beat
        return found !== undefined
      })
    ).pipe(Effect.map(() => found!))
  })

/** Whether the worker that ran a `spin` task still exists: the thread in this process, or the child process. */
export const spinnerRuns = (spinner: Beat): boolean =>
  spinner.pid === process.pid ? spinner.thread !== "-" && hasThread(spinner.thread) : alive(spinner.pid)

/**
 * Runs `fixtures/killerParent.ts`: an application whose one task, on `layer`, sends SIGTERM to its own process or
 * to its parent. Resolves with how that application ended.
 */
export const runKillerParent = (layer: "workerThreads" | "processes", which: "self" | "parent") =>
  Effect.callback<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>((resume) => {
    const parent = spawn(
      process.execPath,
      [fileURLToPath(new URL("./fixtures/killerParent.ts", import.meta.url)), layer, which],
      { stdio: ["ignore", "ignore", "inherit"] }
    )
    parent.on("exit", (code, signal) => resume(Effect.succeed({ code, signal })))
    return Effect.sync(() => parent.kill("SIGKILL"))
  })

/** The README and the API docs, split into paragraphs (a table row is a paragraph of its own). */
export const docParagraphs = (): ReadonlyArray<string> =>
  ["../README.md", "../docs/API.md"].flatMap((file) =>
    fs
      .readFileSync(new URL(file, import.meta.url), "utf8")
      .split(/\n\s*\n|\n(?=\|)/)
      .map((paragraph) => paragraph.replace(/\s+/g, " "))
  )

/** Counts of the handles keeping this process alive, by type: child processes, their pipes, workers' ports, timers. */
const handles = () => {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}
const WORKER_HANDLES = ["ProcessWrap", "PipeWrap", "MessagePort", "Worker", "Timeout"]

export const workerSuite = (label: string, makeLayer: MakeWorkerLayer) => {
  const withExecutor =
    (options: Executor.WorkerOptions) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.provide(effect, makeLayer(options))

  describe(`${label}: crash isolation`, () => {
    it.live("a worker that exits fails only its task with WorkerCrashed; queued tasks run on a replacement", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const other = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        const crashing = yield* Executor.submit(exitWith, 3)
        const queued = yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(double, n))
        const crash = failureOf(yield* Future.await(crashing))
        assert.instanceOf(crash, ExecutorError.WorkerCrashed)
        const crashed = crash as ExecutorError.WorkerCrashed
        assert.strictEqual(crashed.exitCode, 3)
        assert.isFalse(crashed.oom)
        assert.include(crashed.message, "exitWith")
        assert.deepStrictEqual(yield* Effect.forEach(queued, (f) => Future.result(f)), [2, 4, 6])
        assert.strictEqual(yield* Future.state(other), "RUNNING", "the task on the other worker is untouched")
        yield* board.release(0)
        assert.strictEqual(yield* other, 0)
        const stats = yield* Executor.stats
        assert.strictEqual(stats.crashed, 1)
      }).pipe(withExecutor({ maxWorkers: 2 }))
    )

    it.live("an exception thrown outside any task kills only that worker's task", () =>
      Effect.gen(function* () {
        const error = failureOf(yield* Future.await(yield* Executor.submit(throwOutside, "stray timer")))
        assert.instanceOf(error, ExecutorError.WorkerCrashed)
        assert.include(error.message, "stray timer")
        assert.strictEqual(yield* yield* Executor.submit(double, 4), 8)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )

    it.live(
      "a rejection a task leaves unhandled after it settled is logged against it and counted; the next runs on",
      () =>
        Effect.gen(function* () {
          const logs: Array<{ readonly message: string; readonly annotations: Record<string, unknown> }> = []
          const logger = Logger.make((options) => {
            const parts: ReadonlyArray<unknown> = Array.isArray(options.message) ? options.message : [options.message]
            logs.push({
              message: parts.map(String).join(" "),
              annotations: options.fiber.getRef(References.CurrentLogAnnotations)
            })
          })
          yield* Effect.gen(function* () {
            const board = yield* makeBoard
            // A settles at once; what it left behind waits on the board.
            const a = yield* Executor.submit(lateReject, { board: board.address, index: 0 })
            assert.strictEqual(yield* Future.result(a), 0)
            yield* board.started(0)
            // B runs on the same (only) worker when A's leftover rejects.
            const b = yield* Executor.submit(gated, { board: board.address, index: 1 })
            yield* board.started(1)
            yield* board.release(0)
            yield* eventually(Effect.map(Executor.stats, (s) => s.unhandledRejections > 0 || s.crashed > 0))
            yield* board.release(1)
            assert.strictEqual(yield* Future.result(b), 1, "B finishes: A's fault is not B's")
            const stats = yield* Executor.stats
            assert.strictEqual(stats.crashed, 0)
            assert.strictEqual(stats.unhandledRejections, 1)
            assert.strictEqual(stats.completed, 2)
          }).pipe(withExecutor({ maxWorkers: 1 }), Effect.provideService(Logger.CurrentLoggers, new Set([logger])))
          const logged = logs.filter((log) => log.message.includes("late-0"))
          assert.strictEqual(logged.length, 1, JSON.stringify(logs))
          assert.include(logged[0].message, "unhandled")
          assert.strictEqual(logged[0].annotations.task, "lateReject")
        })
    )

    it.live(
      "a rejection a task leaves unhandled while it runs kills its worker, as Node would, failing that task",
      () =>
        Effect.gen(function* () {
          const error = failureOf(yield* Future.await(yield* Executor.submit(rejectAndWait, "early rejection")))
          assert.instanceOf(error, ExecutorError.WorkerCrashed)
          assert.include(error.message, "early rejection")
          assert.include(error.message, "rejectAndWait")
          assert.strictEqual(yield* yield* Executor.submit(double, 4), 8)
          assert.strictEqual((yield* Executor.stats).unhandledRejections, 0)
        }).pipe(withExecutor({ maxWorkers: 1 }))
    )

    it.live("running out of memory is WorkerCrashed with oom: true, and the pool recovers", () =>
      Effect.gen(function* () {
        const error = failureOf(yield* Future.await(yield* Executor.submit(exhaustMemory, 0)))
        assert.instanceOf(error, ExecutorError.WorkerCrashed)
        assert.isTrue((error as ExecutorError.WorkerCrashed).oom, error.message)
        assert.strictEqual(yield* yield* Executor.submit(double, 5), 10)
      }).pipe(withExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } }))
    )

    it.live("typed failures and defects do not harm the worker", () =>
      Effect.gen(function* () {
        const first = yield* yield* Executor.submit(whichWorker, 0)
        const failure = failureOf(yield* Future.await(yield* Executor.submit(failWith, 9)))
        assert.instanceOf(failure, Boom)
        assert.strictEqual(yield* yield* Executor.submit(whichWorker, 0), first)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )
  })

  describe(`${label}: broken executor and load errors`, () => {
    it.live("an initializer that fails breaks the executor: pending futures and later submits fail", () =>
      Effect.gen(function* () {
        const pending = yield* Executor.submit(double, 1)
        const error = failureOf(yield* Future.await(pending))
        assert.instanceOf(error, ExecutorError.BrokenExecutor)
        assert.include(error.message, "initFails")
        const refused = yield* Effect.flip(Executor.submit(double, 2))
        assert.instanceOf(refused, ExecutorError.BrokenExecutor)
      }).pipe(withExecutor({ maxWorkers: 2, initializer: { task: initFails, input: "no database" } }))
    )

    it.live("workers that keep dying while starting break the executor after a bounded number of tries", () =>
      Effect.gen(function* () {
        const error = failureOf(yield* Future.await(yield* Executor.submit(double, 1)))
        assert.instanceOf(error, ExecutorError.BrokenExecutor)
        assert.include(error.message, "in a row")
      }).pipe(withExecutor({ maxWorkers: 1, initializer: { task: exitWith, input: 1 } }))
    )

    it.live("an initializer runs once per worker before its tasks", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* yield* Executor.submit(readInit, 0), "ready")
      }).pipe(withExecutor({ maxWorkers: 1, initializer: { task: initOk, input: "ready" } }))
    )

    it.live("a task whose module lacks it, or does not exist, fails with TaskLoadError; the pool stays healthy", () =>
      Effect.gen(function* () {
        const absent = failureOf(yield* Future.await(yield* Executor.submit(notExported, 1)))
        assert.instanceOf(absent, ExecutorError.TaskLoadError)
        assert.strictEqual((absent as ExecutorError.TaskLoadError).task, "notExported")
        assert.include(absent.message, "no task named")
        const missing = failureOf(yield* Future.await(yield* Executor.submit(missingModule, 1)))
        assert.instanceOf(missing, ExecutorError.TaskLoadError)
        assert.include(missing.message, "failed to import")
        assert.strictEqual(yield* yield* Executor.submit(double, 6), 12)
        assert.strictEqual((yield* Executor.stats).crashed, 0)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )
  })

  describe(`${label}: Schema failures on the far side`, () => {
    it.live(
      "a value its Schema encodes but does not decode fails with DecodeError naming the side; the pool is fine",
      () =>
        Effect.gen(function* () {
          const worker = yield* yield* Executor.submit(whichWorker, 0)
          // The caller encodes the payload; the worker cannot decode it.
          const payload = failureOf(yield* Future.await(yield* Executor.submit(unluckyPayload, UNLUCKY)))
          assert.instanceOf(payload, ExecutorError.DecodeError)
          assert.deepInclude(payload, { task: "unluckyPayload", which: "payload" })
          assert.include(payload.message, "13 is unlucky")
          // The worker encodes the result, or the typed error; the caller cannot decode it.
          const success = failureOf(yield* Future.await(yield* Executor.submit(unluckyResult, UNLUCKY)))
          assert.instanceOf(success, ExecutorError.DecodeError)
          assert.deepInclude(success, { task: "unluckyResult", which: "success" })
          assert.include(success.message, "13 is unlucky")
          const error = failureOf(yield* Future.await(yield* Executor.submit(unluckyError, UNLUCKY)))
          assert.instanceOf(error, ExecutorError.DecodeError)
          assert.deepInclude(error, { task: "unluckyError", which: "error" })
          // In a chunk: the values before the one that does not decode arrive, then the DecodeError.
          const collected: Array<number> = []
          const inMap = yield* Effect.flip(
            Stream.runForEach(Executor.map(unluckyResult, [1, UNLUCKY, 2], { chunksize: 3 }), (n) =>
              Effect.sync(() => collected.push(n))
            )
          )
          assert.instanceOf(inMap, ExecutorError.DecodeError)
          assert.deepInclude(inMap, { task: "unluckyResult", which: "success" })
          assert.deepStrictEqual(collected, [1])
          // Values that decode pass both ways, on the same worker: nothing crashed or was replaced.
          assert.strictEqual(yield* yield* Executor.submit(unluckyPayload, 7), 7)
          assert.strictEqual(yield* yield* Executor.submit(unluckyResult, 8), 8)
          const typed = failureOf(yield* Future.await(yield* Executor.submit(unluckyError, 9)))
          assert.instanceOf(typed, UnluckyError)
          assert.strictEqual(yield* yield* Executor.submit(whichWorker, 0), worker)
          const stats = yield* Executor.stats
          assert.strictEqual(stats.crashed, 0)
          assert.strictEqual(stats.failed, 5)
        }).pipe(withExecutor({ maxWorkers: 1 }))
    )
  })

  describe(`${label}: cancellation of CPU-bound work`, () => {
    const stopsSpinning = (options: Executor.WorkerOptions) =>
      Effect.gen(function* () {
        const heartbeat = heartbeatFile()
        const spinning = yield* Executor.submit(spin, heartbeat)
        const spinner = yield* spinnerOf(heartbeat)
        assert.isTrue(spinnerRuns(spinner), "the spinner's worker is seen while it runs")
        yield* Future.interrupt(spinning)
        assert.strictEqual(yield* Future.state(spinning), "CANCELLED")
        // The slot is free at once: the next task runs on a fresh worker while the old one is stopped.
        assert.strictEqual(yield* yield* Executor.submit(double, 21), 42)
        // The spinning worker is terminated: its thread or process goes away (the executor is still open, so this
        // is the interrupt policy's doing, not shutdown's)...
        yield* eventually(Effect.sync(() => !spinnerRuns(spinner)))
        // ...and nothing writes its heartbeat any more, however much else happens afterwards.
        const last = beats(heartbeat)
        assert.strictEqual(yield* yield* Executor.submit(double, 4), 8)
        assert.strictEqual(beats(heartbeat), last)
        const stats = yield* Executor.stats
        assert.isAtMost(stats.workers, 1)
        assert.strictEqual(stats.cancelled, 1)
      }).pipe(withExecutor({ name: "spinner", ...options }))

    it.live("cooperative interrupt terminates a stuck synchronous task after the grace period", () =>
      stopsSpinning({ maxWorkers: 1, interrupt: "cooperative", interruptGracePeriod: 50 })
    )

    it.live("terminate interrupt stops it at once", () => stopsSpinning({ maxWorkers: 1, interrupt: "terminate" }))

    it.live("cooperative interrupt interrupts the task's fiber inside the worker: its finalizers run", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const waiting = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        yield* Future.interrupt(waiting)
        yield* eventually(Effect.sync(() => board.wasInterrupted(0)))
        assert.strictEqual(yield* yield* Executor.submit(double, 1), 2)
        assert.strictEqual((yield* Executor.stats).crashed, 0)
      }).pipe(withExecutor({ maxWorkers: 1, interruptGracePeriod: "1 minute" }))
    )
  })

  describe(`${label}: pre-queued work`, () => {
    it.live("a task pre-queued behind a long one moves to a worker that becomes free", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const long = yield* Executor.submit(gated, { board: board.address, index: 0 })
        const short = yield* Executor.submit(gated, { board: board.address, index: 1 })
        yield* Effect.forEach([0, 1], board.started)
        // Both workers are busy: these wait on them, one behind each gated task.
        const queued = yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(double, n))
        yield* board.release(1)
        assert.strictEqual(yield* short, 1)
        // The long task still runs; everything pre-queued behind it was taken over by the free worker.
        const results = yield* Effect.forEach(queued, (f) => Future.result(f, { timeout: "20 seconds" }))
        assert.deepStrictEqual(results, [2, 4, 6])
        assert.strictEqual(yield* Future.state(long), "RUNNING")
        yield* board.release(0)
        assert.strictEqual(yield* long, 0)
      }).pipe(withExecutor({ maxWorkers: 2 }))
    )

    it.live("a free worker takes the oldest waiting task, queued or pre-queued, so nothing overtakes it", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        // Both workers busy with a latched task; then one task pre-queued behind each (on threads) or queued.
        const running = yield* Effect.forEach([0, 1], (index) =>
          Executor.submit(gated, { board: board.address, index })
        )
        yield* Effect.forEach([0, 1], board.started, { discard: true })
        const older = yield* Executor.submit(double, 21)
        const newer = yield* Executor.submit(gated, { board: board.address, index: 2 })
        // Interrupting one latched task sends what was pre-queued behind it back to the queue. Whichever of the
        // two that was, the worker freed next must run `older` first: were `newer` taken from behind the other
        // latched task and run first, it would hold that worker and `older` would wait behind both latches.
        yield* Future.interrupt(running[0])
        assert.strictEqual(yield* Future.result(older, { timeout: "20 seconds" }), 42)
        yield* Effect.forEach([1, 2], board.release, { discard: true })
        assert.strictEqual(yield* Future.result(running[1]), 1)
        assert.strictEqual(yield* Future.result(newer), 2)
      }).pipe(withExecutor({ maxWorkers: 2 }))
    )
  })

  describe(`${label}: recycling and limits`, () => {
    it.live("maxTasksPerWorker replaces a worker after that many tasks", () =>
      Effect.gen(function* () {
        const ids = yield* Effect.forEach([0, 1, 2, 3], () =>
          Effect.flatMap(Executor.submit(whichWorker, 0), Future.result)
        )
        assert.strictEqual(ids[0], ids[1])
        assert.notStrictEqual(ids[1], ids[2])
        assert.strictEqual(ids[2], ids[3])
      }).pipe(withExecutor({ maxWorkers: 1, maxTasksPerWorker: 2 }))
    )

    it.live("idleTimeout stops idle workers above minWorkers", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const gatedTasks = yield* Effect.forEach([0, 1], (index) =>
          Executor.submit(gated, { board: board.address, index })
        )
        yield* Effect.forEach([0, 1], board.started)
        // Both run at once, so there are two workers, one above minWorkers.
        const busy = yield* Executor.stats
        assert.strictEqual(busy.workers, 2)
        assert.strictEqual(busy.busy, 2)
        yield* Effect.forEach([0, 1], board.release)
        assert.deepStrictEqual(yield* Effect.forEach(gatedTasks, (f) => Future.result(f)), [0, 1])
        yield* eventually(Effect.map(Executor.stats, (s) => s.workers === 1))
        assert.strictEqual(yield* yield* Executor.submit(double, 3), 6)
      }).pipe(withExecutor({ maxWorkers: 2, minWorkers: 1, idleTimeout: 20 }))
    )

    it.live("resourceLimits apply to each worker", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* yield* Executor.submit(heapLimit, 0), 48)
      }).pipe(withExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 48 } }))
    )

    it.live("every resourceLimit reaches V8: young generation and stack size as well as old generation", () =>
      Effect.gen(function* () {
        const measure = (resourceLimits: Executor.ResourceLimits) =>
          Effect.flatMap(Executor.submit(heapAndStack, 0), (f) => Future.result(f)).pipe(
            withExecutor({ maxWorkers: 1, resourceLimits })
          )
        const small = yield* measure({ maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 24, stackSizeMb: 0.5 })
        // V8's heap limit is old + young generation: 64 + 3 semi-spaces of 8 MB.
        assert.strictEqual(small.heapLimitMb, 88)
        const large = yield* measure({ stackSizeMb: 2 })
        // 2 MB leaves JavaScript (2048 - 192) KB of stack, 0.5 MB leaves (512 - 192) KB: ~5.8 times as deep.
        assert.isAbove(large.depth, 3 * small.depth, `${large.depth} vs ${small.depth}`)
      })
    )

    it.live("binary results arrive intact", () =>
      Effect.gen(function* () {
        const result = yield* yield* Executor.submit(bytes, 1024)
        assert.instanceOf(result, Uint8Array)
        assert.strictEqual(result.length, 1024)
        assert.strictEqual(result[1023], 7)
      }).pipe(withExecutor({ maxWorkers: 1 }))
    )

    it.live("invalid worker options fail the layer with InvalidOptions", () =>
      Effect.gen(function* () {
        const build = (options: Executor.WorkerOptions) =>
          Effect.flip(Effect.scoped(Layer.build(makeLayer(options)))).pipe(Effect.map(invalidOptions))
        const min = yield* build({ maxWorkers: 1, minWorkers: 2 })
        assert.strictEqual(min.option, "minWorkers")
        const grace = yield* build({ interruptGracePeriod: -5 })
        assert.strictEqual(grace.option, "interruptGracePeriod")
        const policy = yield* build({ interrupt: "politely" as never })
        assert.strictEqual(policy.option, "interrupt")
        const limits = yield* build({ resourceLimits: { maxOldGenerationSizeMb: 0 } })
        assert.strictEqual(limits.option, "resourceLimits.maxOldGenerationSizeMb")
        for (const bad of [0, -1, 1.5, "3", NaN]) {
          const error = yield* build({ maxTasksPerWorker: bad as never })
          assert.strictEqual(error.option, "maxTasksPerWorker", String(bad))
          assert.strictEqual(error.expected, "a positive integer or Infinity (no limit)")
        }
        for (const bad of [-1, 0.5, "1", Infinity, 3]) {
          const error = yield* build({ maxWorkers: 2, spareWorkers: bad as never })
          assert.strictEqual(error.option, "spareWorkers", String(bad))
          assert.strictEqual(error.expected, "an integer from 0 to `maxWorkers` (2)")
        }
      })
    )

    it.live("an unknown or misspelled option fails the layer, naming it and listing the valid ones", () =>
      Effect.gen(function* () {
        const build = (options: object) =>
          Effect.flip(Effect.scoped(Layer.build(makeLayer(options as Executor.WorkerOptions)))).pipe(
            Effect.map(invalidOptions)
          )
        const misspelled = yield* build({ maxWorker: 2 })
        assert.instanceOf(misspelled, ExecutorError.InvalidOptions)
        assert.strictEqual(misspelled.option, "maxWorker")
        assert.strictEqual(misspelled.received, "2")
        assert.include(misspelled.expected, "did you mean `maxWorkers`?")
        for (const valid of ["maxWorkers", "minWorkers", "idleTimeout", "resourceLimits", "maxQueue", "name"]) {
          assert.include(misspelled.expected, valid)
        }
        assert.include(misspelled.message, "Expected `maxWorker` to be an option of")
        // An option of another layer is as unknown here.
        const foreign = yield* build({ maxWorkers: 1, concurrency: 4 })
        assert.strictEqual(foreign.option, "concurrency")
        // A key that asks for nothing (`undefined`, as spreads leave) is let through.
        const context = yield* Effect.scoped(
          Effect.map(
            Layer.build(makeLayer({ maxWorkers: 1, maxWorker: undefined } as Executor.WorkerOptions)),
            () => true
          )
        )
        assert.isTrue(context)
      })
    )
  })

  describe(`${label}: shutdown never hangs`, () => {
    it.live("closing the scope with a worker stuck in a synchronous loop returns after shutdownTimeout", () =>
      Effect.gen(function* () {
        const heartbeat = heartbeatFile()
        const before = handles()
        const [future, spinner] = yield* Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(
              makeLayer({ name: "stuck", maxWorkers: 1, shutdownTimeout: 50, interruptGracePeriod: 50 })
            )
            const future = yield* Executor.submit(spin, heartbeat).pipe(Effect.provideContext(context))
            const spinner = yield* spinnerOf(heartbeat)
            assert.isTrue(spinnerRuns(spinner), "the spinner's worker is seen while it runs")
            return [future, spinner] as const
          })
        )
        assert.strictEqual(yield* Future.state(future), "CANCELLED")
        // Closing the scope returned only once the worker had exited: no thread, child or handle is left. (Node
        // releases a dead child's process and pipe handles in a later turn of its loop than the 'close' event.)
        assert.isFalse(spinnerRuns(spinner), "the stuck worker is gone")
        yield* eventually(
          Effect.sync(() => {
            const now = handles()
            return WORKER_HANDLES.every((type) => (now[type] ?? 0) <= (before[type] ?? 0))
          })
        )
        const after = handles()
        for (const type of WORKER_HANDLES) {
          assert.isAtMost(after[type] ?? 0, before[type] ?? 0, `${type} handles left: ${JSON.stringify(after)}`)
        }
      })
    )

    it.live("shutdown while tasks are queued, running and crashing settles every future", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const futures: Array<Future.Future<unknown, unknown>> = [
          yield* Executor.submit(gated, { board: board.address, index: 0 }),
          yield* Executor.submit(exitWith, 1),
          yield* Executor.submit(gated, { board: board.address, index: 1 }),
          yield* Executor.submit(double, 1)
        ]
        yield* board.started(0)
        const shutting = yield* Effect.forkChild(Executor.shutdown({ wait: true, cancelFutures: true }))
        yield* board.release(0)
        yield* board.release(1)
        yield* Fiber.join(shutting)
        const states = yield* Effect.forEach(futures, Future.state)
        assert.isTrue(
          states.every((s) => s === "FINISHED" || s === "CANCELLED"),
          states.join()
        )
        assert.strictEqual(yield* futures[0] as Future.Future<number, unknown>, 0)
      }).pipe(withExecutor({ maxWorkers: 2 }))
    )
  })
}
