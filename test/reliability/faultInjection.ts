/**
 * Seeded fault injection: a plan of N tasks where a seeded random share fail with a typed error, throw, exit their
 * worker or are cancelled while pending, plus a few that wait on a latch and are interrupted while running, spin
 * forever and are interrupted, or run out of memory. Running the plan settles every future; its outcome counts must
 * match the plan exactly. Shared by the test (`npm test`, a few hundred tasks) and the soak (`npm run soak`).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Executor, ExecutorError, Future } from "../../src/index.ts"
import { makeBoard } from "../fixtures/latch.ts"
import { Boom, double, failWith, gated, throws } from "../fixtures/tasks.ts"
import { exhaustMemory, exitWith, spin } from "../fixtures/workerTasks.ts"

export type Kind = "ok" | "typedFailure" | "defect" | "crash" | "cancelPending" | "interruptRunning" | "spin" | "oom"

/** mulberry32: a small, fast, seedable PRNG, so a failing plan can be replayed from its seed. */
export const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export interface PlanOptions {
  readonly seed: number
  readonly tasks: number
  /** Whether the layer runs on real workers (crashes, spins and out-of-memory only make sense there). */
  readonly workers: boolean
  /** The share of tasks that exit their worker (default 0.04): each costs a worker boot, so long runs use less. */
  readonly crashShare?: number
  /** Whether to add one endless spin and one out-of-memory task (default true; each costs seconds). */
  readonly extremes?: boolean
}

export const makePlan = ({
  seed,
  tasks,
  workers,
  crashShare = 0.04,
  extremes = true
}: PlanOptions): ReadonlyArray<Kind> => {
  const random = prng(seed)
  const weights: ReadonlyArray<readonly [Kind, number]> = workers
    ? [
        ["ok", 0.66 - crashShare],
        ["typedFailure", 0.12],
        ["defect", 0.1],
        ["crash", crashShare],
        ["cancelPending", 0.08],
        ["interruptRunning", 0.04]
      ]
    : [
        ["ok", 0.66],
        ["typedFailure", 0.12],
        ["defect", 0.1],
        ["cancelPending", 0.08],
        ["interruptRunning", 0.04]
      ]
  const plan: Array<Kind> = []
  for (let i = 0; i < tasks; i++) {
    let r = random()
    let kind: Kind = "ok"
    for (const [candidate, weight] of weights) {
      if (r < weight) {
        kind = candidate
        break
      }
      r -= weight
    }
    plan.push(kind)
  }
  // Few of these: each costs a worker (terminated, or dead of out-of-memory) and its replacement's boot.
  if (workers && extremes) plan.splice(Math.floor(random() * plan.length), 0, "spin", "oom")
  return plan
}

export type Outcome = "success" | "typedFailure" | "defect" | "crashed" | "cancelled"

export const expected: Record<Kind, Outcome> = {
  ok: "success",
  typedFailure: "typedFailure",
  defect: "defect",
  crash: "crashed",
  oom: "crashed",
  cancelPending: "cancelled",
  interruptRunning: "cancelled",
  spin: "cancelled"
}

const classify = (exit: Exit.Exit<unknown, unknown>): Outcome | string => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "cancelled"
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error)) return `defect that is not a TaskDefect: ${Cause.pretty(exit.cause)}`
  if (error.value instanceof Boom) return "typedFailure"
  if (error.value instanceof ExecutorError.TaskDefect) return "defect"
  if (error.value instanceof ExecutorError.WorkerCrashed) return "crashed"
  return `unexpected error ${String(error.value)}`
}

const heartbeat = (file: string) => {
  try {
    return fs.readFileSync(file, "utf8").endsWith("\n")
  } catch {
    return false
  }
}

/**
 * Runs the plan on the executor in the context. Two latched blockers hold the workers while everything is submitted
 * and the pending cancellations are made, so each cancellation is certain to find its task pending.
 */
export const runPlan = (plan: ReadonlyArray<Kind>, workers: number) =>
  Effect.gen(function* () {
    const board = yield* makeBoard
    const blockers = yield* Effect.forEach(
      Array.from({ length: workers }, (_, i) => i),
      (index) => Executor.submit(gated, { board: board.address, index: 1_000_000 + index })
    )
    yield* Effect.forEach(blockers, (_, i) => board.started(1_000_000 + i), { discard: true })
    const spinFile = path.join(
      os.tmpdir(),
      `effect-futures-fault-${process.pid}-${Math.random().toString(36).slice(2)}`
    )
    const futures: Array<Future.Future<unknown, unknown>> = []
    for (const [i, kind] of plan.entries()) {
      switch (kind) {
        case "ok":
          futures.push(yield* Executor.submit(double, i))
          break
        case "typedFailure":
          futures.push(yield* Executor.submit(failWith, i))
          break
        case "defect":
          futures.push(yield* Executor.submit(throws, `injected ${i}`))
          break
        case "crash":
          futures.push(yield* Executor.submit(exitWith, 7))
          break
        case "oom":
          futures.push(yield* Executor.submit(exhaustMemory, i))
          break
        case "cancelPending":
        case "interruptRunning":
          futures.push(yield* Executor.submit(gated, { board: board.address, index: i }))
          break
        case "spin":
          futures.push(yield* Executor.submit(spin, spinFile))
          break
      }
    }
    for (const [i, kind] of plan.entries()) {
      if (kind === "cancelPending" && !(yield* Future.cancel(futures[i]))) {
        return yield* Effect.die(new Error(`task ${i} was not pending when cancelled`))
      }
    }
    // Interrupt each latched task once it runs, and the spinning one once it spins; release the blockers.
    const interrupters = yield* Effect.forEach(
      plan.flatMap((kind, i) => (kind === "interruptRunning" ? [i] : [])),
      (i) => Effect.forkChild(Effect.andThen(board.started(i), Future.interrupt(futures[i])))
    )
    const spinIndex = plan.indexOf("spin")
    if (spinIndex >= 0) {
      yield* Effect.forkChild(
        Effect.sync(() => heartbeat(spinFile)).pipe(
          Effect.repeat({ until: (beating) => beating, schedule: Schedule.spaced(10) }),
          Effect.andThen(Future.interrupt(futures[spinIndex]))
        )
      )
    }
    yield* Effect.forEach(blockers.keys(), (i) => board.release(1_000_000 + i), { discard: true })
    const outcomes = yield* Effect.forEach(futures, (future) => Effect.map(Future.await(future), classify))
    yield* Effect.forEach(blockers, (future) => Future.await(future), { discard: true })
    yield* Effect.forEach(interrupters, (fiber) => Fiber.await(fiber), { discard: true })
    fs.rmSync(spinFile, { force: true })
    return outcomes
  })

/** Counts outcomes by kind. */
export const tally = (outcomes: ReadonlyArray<string>) => {
  const counts: Record<string, number> = {}
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1
  return counts
}

export const layerFor = (kind: "threads" | "processes" | "fibers", workers: number) =>
  kind === "fibers"
    ? Executor.layerFibers({ concurrency: workers })
    : (kind === "threads" ? Executor.layerWorkerThreads : Executor.layerProcesses)({
        maxWorkers: workers,
        interruptGracePeriod: 50,
        resourceLimits: { maxOldGenerationSizeMb: 64 }
      })
