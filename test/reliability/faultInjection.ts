/**
 * Seeded fault injection, shared by `faultInjection.test.ts` (`npm test`, 500 tasks) and `soak.ts` (`npm run soak`,
 * 50,000 tasks).
 *
 * A plan is a list of task kinds drawn from a seeded PRNG (mulberry32): the same seed gives the same plan, the same
 * exit codes and the same submission order, so a failure replays with its seed. Running a plan settles every future
 * and checks each one against what was injected into it:
 *
 * | kind                | what the task does                              | expected outcome                       |
 * | ------------------- | ----------------------------------------------- | -------------------------------------- |
 * | `ok`                | `double(i)`                                     | success `2 i`                          |
 * | `typedFailure`      | `failWith(i)`                                   | `Boom { code: i }`                     |
 * | `defect`            | `throws("injected i")`                          | `TaskDefect` (RangeError, the message) |
 * | `exit`              | `process.exit(code)` in its worker              | `WorkerCrashed { exitCode: code }`     |
 * | `oom`               | exhausts a small `maxOldGenerationSizeMb`       | `WorkerCrashed { oom: true }`          |
 * | `spin`              | a synchronous endless loop, interrupted         | CANCELLED (its worker is terminated)   |
 * | `spinCooperatively` | an endless loop that yields, interrupted        | CANCELLED (its fiber is interrupted)   |
 * | `cancelPending`     | latched; cancelled while it waits in the queue  | CANCELLED, never started               |
 * | `interruptRunning`  | latched; interrupted once it has started        | CANCELLED                              |
 * | `cancelTooLate`     | latched; `Future.cancel` once it has started    | `cancel` is false, then success `i`    |
 *
 * The plan runs in rounds (100 tasks by default). Each round submits, in order: the tasks before a seeded "wall",
 * the wall itself (one latched task per worker), then the rest; every `cancelPending` task is submitted last, once
 * each worker has started its wall task. The wall then holds every worker until the test releases it, so those
 * tasks cannot start before the release (queued, or pre-queued behind a wall task): each `Future.cancel` is certain
 * to find its task pending, while the tasks around the wall fail, crash and are interrupted. Nothing waits on the clock;
 * only the heartbeat of a synchronous spinner (which cannot talk to the latch board) is polled.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Executor, ExecutorError, Future } from "../../src/index.ts"
import { spinCooperatively } from "../fixtures/faultTasks.ts"
import { type Board, makeBoard } from "../fixtures/latch.ts"
import { Boom, double, failWith, gated, throws } from "../fixtures/tasks.ts"
import { exhaustMemory, exitWith, spin } from "../fixtures/workerTasks.ts"

/** mulberry32: a small, fast, seedable PRNG, so a failing plan can be replayed from its seed. */
export const mulberry32 = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export type LayerKind = "threads" | "processes" | "fibers"

export type Kind =
  | "ok"
  | "typedFailure"
  | "defect"
  | "exit"
  | "oom"
  | "spin"
  | "spinCooperatively"
  | "cancelPending"
  | "interruptRunning"
  | "cancelTooLate"

/** Kinds drawn at random for each task; `oom` and `spin` are placed a fixed number of times instead. */
export type RandomKind = Exclude<Kind, "oom" | "spin">

/**
 * How often each random kind is drawn (relative weights). An exit costs a worker boot (~0.3 s for a thread, more
 * for a process), and so does interrupting a running task: its worker drains outside `maxWorkers` while a
 * replacement boots. Keep those few.
 */
export const defaultWeights: Record<RandomKind, number> = {
  ok: 0.6,
  typedFailure: 0.1,
  defect: 0.08,
  exit: 0.02,
  cancelPending: 0.1,
  interruptRunning: 0.025,
  spinCooperatively: 0.01,
  cancelTooLate: 0.05
}

/** Exit codes drawn for `exit` tasks. 0 too: a worker that exits cleanly in the middle of a task still crashed. */
const EXIT_CODES = [0, 1, 2, 3, 7, 42, 99, 255]

export interface PlanOptions {
  readonly seed: number
  readonly tasks: number
  readonly layer: LayerKind
  readonly weights?: Partial<Record<RandomKind, number>>
  /** Out-of-memory tasks in the whole plan (worker layers only; default 1): each costs a worker and seconds. */
  readonly oom?: number
  /** Synchronous endless spinners in the whole plan (worker layers only; default 1): each costs a worker. */
  readonly spin?: number
  /** Tasks per round (default 100). */
  readonly roundSize?: number
}

export interface Plan {
  readonly seed: number
  readonly layer: LayerKind
  readonly kinds: ReadonlyArray<Kind>
  /** The exit code of each `exit` task (0 for the others). */
  readonly codes: ReadonlyArray<number>
  /** How each cancellation is made: `Future.cancel`/`Future.interrupt` (true) or the fiber's own interrupt. */
  readonly viaFuture: ReadonlyArray<boolean>
  /** Per round: where the wall goes, as a share of the tasks that go before it. */
  readonly walls: ReadonlyArray<number>
  readonly roundSize: number
}

export const makePlan = (options: PlanOptions): Plan => {
  const random = mulberry32(options.seed)
  const workers = options.layer !== "fibers"
  const weights = { ...defaultWeights, ...options.weights }
  if (!workers) weights.exit = 0
  const entries = Object.entries(weights) as Array<[RandomKind, number]>
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0)
  const kinds: Array<Kind> = []
  for (let i = 0; i < options.tasks; i++) {
    let r = random() * total
    let kind: Kind = "ok"
    for (const [candidate, weight] of entries) {
      if (r < weight) {
        kind = candidate
        break
      }
      r -= weight
    }
    kinds.push(kind)
  }
  if (workers) {
    // Placed, not drawn: every run has them, and never more than asked for.
    const place = (kind: Kind, count: number) => {
      for (let n = 0; n < count && kinds.length > 0; n++) {
        let at = Math.floor(random() * kinds.length)
        while (kinds[at] === "oom" || kinds[at] === "spin") at = (at + 1) % kinds.length
        kinds[at] = kind
      }
    }
    place("oom", Math.min(options.oom ?? 1, options.tasks))
    place("spin", Math.min(options.spin ?? 1, options.tasks - (options.oom ?? 1)))
  }
  const codes = kinds.map((kind) => (kind === "exit" ? EXIT_CODES[Math.floor(random() * EXIT_CODES.length)] : 0))
  const viaFuture = kinds.map(() => random() < 0.5)
  const roundSize = options.roundSize ?? 100
  const walls = Array.from({ length: Math.ceil(options.tasks / roundSize) }, () => random())
  return { seed: options.seed, layer: options.layer, kinds, codes, viaFuture, walls, roundSize }
}

/** The outcome classes counted per run. */
export type Outcome =
  "success" | "Boom" | "TaskDefect" | "WorkerCrashed(exit)" | "WorkerCrashed(oom)" | "CancelledError"

export const expectedOutcome: Record<Kind, Outcome> = {
  ok: "success",
  cancelTooLate: "success",
  typedFailure: "Boom",
  defect: "TaskDefect",
  exit: "WorkerCrashed(exit)",
  oom: "WorkerCrashed(oom)",
  spin: "CancelledError",
  spinCooperatively: "CancelledError",
  cancelPending: "CancelledError",
  interruptRunning: "CancelledError"
}

export type Tally = Record<string, number>

export const tally = (outcomes: Iterable<string>, into: Tally = {}): Tally => {
  for (const outcome of outcomes) into[outcome] = (into[outcome] ?? 0) + 1
  return into
}

/** Tallies in a stable key order, for assertion messages and `deepStrictEqual`. */
export const sorted = (counts: Tally): Tally =>
  Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)))

export const expectedTally = (plan: Plan): Tally => sorted(tally(plan.kinds.map((kind) => expectedOutcome[kind])))

/** What `Executor.stats` must say after the plan, not counting tasks the caller ran besides it. */
export const expectedStats = (plan: Plan, workers: number) => {
  const count = (...kinds: Array<Kind>) => plan.kinds.filter((kind) => kinds.includes(kind)).length
  const rounds = Math.ceil(plan.kinds.length / plan.roundSize)
  return {
    // The wall tasks succeed too.
    completed: count("ok", "cancelTooLate") + rounds * workers,
    failed: count("typedFailure", "defect"),
    crashed: count("exit", "oom"),
    cancelled: count("cancelPending", "interruptRunning", "spin", "spinCooperatively")
  }
}

const WALL = 10_000_000

const heartbeatFile = () =>
  path.join(os.tmpdir(), `effect-futures-fault-${process.pid}-${Math.random().toString(36).slice(2)}`)

const beating = (file: string) => {
  try {
    return fs.readFileSync(file, "utf8").endsWith("\n")
  } catch {
    return false
  }
}

const submitKind = (plan: Plan, board: Board, i: number, spinFile: string) => {
  const kind = plan.kinds[i]
  switch (kind) {
    case "ok":
      return Executor.submit(double, i)
    case "typedFailure":
      return Executor.submit(failWith, i)
    case "defect":
      return Executor.submit(throws, `injected ${i}`)
    case "exit":
      return Executor.submit(exitWith, plan.codes[i])
    case "oom":
      return Executor.submit(exhaustMemory, i)
    case "spin":
      return Executor.submit(spin, spinFile)
    case "spinCooperatively":
      return Executor.submit(spinCooperatively, { board: board.address, index: i })
    case "cancelPending":
    case "interruptRunning":
    case "cancelTooLate":
      return Executor.submit(gated, { board: board.address, index: i })
  }
}

type AnyFuture = Future.Future<unknown, unknown>

const stop = (future: AnyFuture, viaFuture: boolean) =>
  viaFuture ? Future.interrupt(future) : Fiber.interrupt(future.fiber)

/** Checks one settled future against what was injected into it: its outcome class, and a mismatch if any. */
const verify = (plan: Plan, board: Board, i: number, future: AnyFuture, cancelledAt: Map<number, boolean>) =>
  Effect.gen(function* () {
    const kind = plan.kinds[i]
    const exit = yield* Future.await(future)
    const state = yield* Future.state(future)
    let outcome: string
    let problem: string | undefined
    if (Exit.isSuccess(exit)) {
      outcome = "success"
      const want = kind === "ok" ? 2 * i : i
      if (exit.value !== want) problem = `value ${String(exit.value)}, want ${want}`
      if (state !== "FINISHED") problem = `state ${state}`
    } else if (Cause.hasInterruptsOnly(exit.cause)) {
      outcome = "CancelledError"
      const typed = yield* Effect.flip(Future.result(future))
      if (!(typed instanceof ExecutorError.CancelledError)) problem = `result failed with ${String(typed)}`
      if (state !== "CANCELLED") problem = `state ${state}`
    } else {
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isNone(error)) {
        outcome = "defect"
        problem = Cause.pretty(exit.cause)
      } else if (error.value instanceof Boom) {
        outcome = "Boom"
        if (error.value.code !== i) problem = `Boom code ${error.value.code}`
      } else if (error.value instanceof ExecutorError.TaskDefect) {
        outcome = "TaskDefect"
        const defect = error.value
        if (defect.errorName !== "RangeError" || defect.message !== `injected ${i}`) {
          problem = `${defect.errorName}: ${defect.message}`
        }
      } else if (error.value instanceof ExecutorError.WorkerCrashed) {
        const crash = error.value
        outcome = crash.oom ? "WorkerCrashed(oom)" : "WorkerCrashed(exit)"
        if (kind === "exit" && crash.exitCode !== plan.codes[i]) {
          problem = `exit code ${crash.exitCode}, want ${plan.codes[i]}: ${crash.message}`
        }
      } else {
        outcome = `${(error.value as { _tag?: string })._tag ?? "unknown error"}`
        problem = String(error.value)
      }
      if (state !== "FINISHED") problem = `state ${state}`
    }
    if (outcome !== expectedOutcome[kind]) problem = `${outcome}${problem === undefined ? "" : ` (${problem})`}`
    if (kind === "cancelPending" && board.hasStarted(i)) problem = "a task cancelled while pending started"
    if (kind === "cancelPending" && cancelledAt.get(i) !== true) problem = "Future.cancel was false while pending"
    if (kind === "cancelTooLate" && cancelledAt.get(i) !== false) problem = "Future.cancel was true once running"
    return { outcome, problem: problem === undefined ? undefined : `task ${i} (${kind}): ${problem}` }
  })

export interface RunReport {
  readonly tally: Tally
  /** Futures whose outcome differs from what was injected (at most 20 listed). */
  readonly mismatches: ReadonlyArray<string>
  /** The most `stats.workers` and `stats.busy` seen while the plan ran. */
  readonly maxWorkersSeen: number
  readonly maxBusySeen: number
}

/** Where a run is, for the report of a run that hangs: the round, its step, and the futures not settled yet. */
export interface Progress {
  round: number
  step: string
  readonly futures: Map<number, AnyFuture>
}

export const makeProgress = (): Progress => ({ round: -1, step: "not started", futures: new Map() })

/** The unsettled futures of the current round, with their kinds and states: what a hung run was waiting for. */
export const describeProgress = (plan: Plan, progress: Progress): string => {
  const pending: Array<string> = []
  for (const [i, future] of progress.futures) {
    const state = Future.stateUnsafe(future)
    if (state === "PENDING" || state === "RUNNING") pending.push(`#${i} ${plan.kinds[i] ?? "wall"} ${state}`)
  }
  return `round ${progress.round}, ${progress.step}; unsettled: ${pending.join(", ") || "none"}`
}

const runRound = (plan: Plan, round: number, workers: number, progress: Progress) =>
  Effect.gen(function* () {
    progress.round = round
    progress.step = "submitting"
    const board = yield* makeBoard
    const first = round * plan.roundSize
    const indices = Array.from({ length: Math.min(plan.roundSize, plan.kinds.length - first) }, (_, k) => first + k)
    const wallAt = Math.floor(plan.walls[round] * indices.length)
    const before = indices.slice(0, wallAt).filter((i) => plan.kinds[i] !== "cancelPending")
    const after = [
      ...indices.slice(wallAt),
      ...indices.slice(0, wallAt).filter((i) => plan.kinds[i] === "cancelPending")
    ]
    const futures = progress.futures
    futures.clear()
    const spinFiles = new Map<number, string>()
    /** What `Future.cancel` returned, for the tasks cancelled with it. */
    const cancelledAt = new Map<number, boolean>()
    const actors: Array<Fiber.Fiber<unknown>> = []

    const submitAll = (order: ReadonlyArray<number>) =>
      Effect.forEach(
        order,
        (i) =>
          Effect.gen(function* () {
            const spinFile = plan.kinds[i] === "spin" ? heartbeatFile() : ""
            if (spinFile !== "") spinFiles.set(i, spinFile)
            const future = (yield* submitKind(plan, board, i, spinFile)) as AnyFuture
            futures.set(i, future)
            // Whatever acts on a running task waits for it to start, on its own fiber.
            switch (plan.kinds[i]) {
              case "interruptRunning":
              case "spinCooperatively":
                actors.push(yield* Effect.forkChild(Effect.andThen(board.started(i), stop(future, plan.viaFuture[i]))))
                break
              case "cancelTooLate":
                actors.push(
                  yield* Effect.forkChild(
                    Effect.gen(function* () {
                      yield* board.started(i)
                      cancelledAt.set(i, yield* Future.cancel(future))
                      yield* board.release(i)
                    })
                  )
                )
                break
              case "spin":
                actors.push(
                  yield* Effect.forkChild(
                    Effect.sync(() => beating(spinFile)).pipe(
                      Effect.repeat({ until: (beats) => beats, schedule: Schedule.spaced(10) }),
                      Effect.andThen(stop(future, plan.viaFuture[i]))
                    )
                  )
                )
                break
            }
          }),
        { discard: true }
      )

    yield* submitAll(before)
    const wall = yield* Effect.forEach(
      Array.from({ length: workers }, (_, k) => WALL + k),
      (index) => Executor.submit(gated, { board: board.address, index })
    )
    // Every `cancelPending` task goes in only once each worker runs its wall task: a worker may hold pre-queued jobs,
    // so a task merely submitted after the wall could still start on a worker that took no wall task.
    yield* submitAll(after.filter((i) => plan.kinds[i] !== "cancelPending"))
    progress.step = "waiting for every worker to run its wall task"
    yield* Effect.forEach(wall.keys(), (k) => board.started(WALL + k), { discard: true })
    yield* submitAll(after.filter((i) => plan.kinds[i] === "cancelPending"))
    // Let part of what runs before the wall finish, so the cancellations land while the rest is still under way.
    progress.step = "waiting for the first half of the tasks before the wall"
    yield* Effect.forEach(before.slice(0, Math.floor(before.length / 2)), (i) => Future.await(futures.get(i)!), {
      discard: true
    })
    for (const i of after) {
      if (plan.kinds[i] !== "cancelPending") continue
      const future = futures.get(i)!
      if (plan.viaFuture[i]) cancelledAt.set(i, yield* Future.cancel(future))
      else {
        // Interrupting a pending future's fiber cancels it too; record it as a successful cancel if it did.
        yield* Fiber.interrupt(future.fiber)
        cancelledAt.set(i, (yield* Future.state(future)) === "CANCELLED")
      }
    }
    yield* Effect.forEach(wall.keys(), (k) => board.release(WALL + k), { discard: true })
    wall.forEach((future, k) => futures.set(WALL + k, future))

    const outcomes: Array<string> = []
    const problems: Array<string> = []
    progress.step = "waiting for the actors (cancel, interrupt) to finish"
    yield* Effect.forEach(actors, Fiber.await, { discard: true })
    progress.step = "verifying outcomes"
    for (const i of indices) {
      const { outcome, problem } = yield* verify(plan, board, i, futures.get(i)!, cancelledAt)
      outcomes.push(outcome)
      if (problem !== undefined) problems.push(problem)
    }
    for (const [k, future] of wall.entries()) {
      const exit = yield* Future.await(future)
      if (!Exit.isSuccess(exit) || exit.value !== WALL + k) problems.push(`wall task ${k}: ${String(exit)}`)
    }
    for (const file of spinFiles.values()) fs.rmSync(file, { force: true })
    return { outcomes, problems }
  })

/**
 * Runs the plan, round after round, on the executor in the context; samples `stats` meanwhile. `onRound` runs after
 * each round (the soak samples memory there).
 */
export const runPlan = (
  plan: Plan,
  workers: number,
  onRound?: (round: number) => Effect.Effect<void>,
  progress: Progress = makeProgress()
) =>
  Effect.gen(function* () {
    let maxWorkersSeen = 0
    let maxBusySeen = 0
    const sampler = yield* Effect.forkChild(
      Executor.stats.pipe(
        Effect.tap((stats) =>
          Effect.sync(() => {
            maxWorkersSeen = Math.max(maxWorkersSeen, stats.workers)
            maxBusySeen = Math.max(maxBusySeen, stats.busy)
          })
        ),
        Effect.repeat(Schedule.spaced(5))
      )
    )
    const counts: Tally = {}
    const mismatches: Array<string> = []
    const rounds = Math.ceil(plan.kinds.length / plan.roundSize)
    for (let round = 0; round < rounds; round++) {
      const { outcomes, problems } = yield* Effect.scoped(runRound(plan, round, workers, progress))
      tally(outcomes, counts)
      for (const problem of problems) if (mismatches.length < 20) mismatches.push(problem)
      if (onRound !== undefined) yield* onRound(round)
    }
    yield* Fiber.interrupt(sampler)
    const report: RunReport = { tally: sorted(counts), mismatches, maxWorkersSeen, maxBusySeen }
    return report
  })

/** Worker options for fault injection: a short grace period (spinners are terminated soon) and a small heap. */
export const layerFor = (kind: LayerKind, workers: number) =>
  kind === "fibers"
    ? Executor.layerFibers({ concurrency: workers })
    : (kind === "threads" ? Executor.layerWorkerThreads : Executor.layerProcesses)({
        maxWorkers: workers,
        interruptGracePeriod: 100,
        resourceLimits: { maxOldGenerationSizeMb: 48 }
      })

/** Child processes of this process (on Linux; 0 elsewhere). */
export const childProcesses = (): number => {
  try {
    let count = 0
    for (const task of fs.readdirSync("/proc/self/task")) {
      const children = fs.readFileSync(`/proc/self/task/${task}/children`, "utf8").trim()
      if (children !== "") count += children.split(/\s+/).length
    }
    return count
  } catch {
    return 0
  }
}
