/**
 * The in-process backend (`Executor.layerFibers`): each job runs on its own fiber, at most `concurrency` at once.
 *
 * Tasks still go through their Schemas (encode in the caller, decode before running, encode the outcome and decode it
 * back), and the encoded payload and outcome are checked for what structured clone refuses (`cloneRefusal`), as on
 * their way to a worker and back: so a task behaves as it does on a worker — the same validation, the same typed
 * errors, the same defects, the same `EncodeError` for a value that could not cross (a function, a symbol, a
 * promise). Values are not copied: a task that mutates its payload is seen by the caller here, and not on a worker.
 * Fibers inherit the layer's services, so `TestClock` drives tasks that sleep.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as References from "effect/References"
import * as Result from "effect/Result"
import type * as Task from "../../Task.ts"
import { BrokenExecutor, taskDefectFrom } from "../../ExecutorError.ts"
import type { Backend, Host } from "./backend.ts"
import type { Job } from "../job/job.ts"
import { describeWireFailure, encodePayload } from "../wire/codec.ts"
import { runChunkEncoded, runEncoded } from "../wire/run.ts"
import { cloneRefusal, crossChunk, crossExit, payloadNotCloneable } from "../wire/transfer.ts"
import type { Initializer } from "./options.ts"
import * as Progress from "../observability/progress.ts"
import * as Tracing from "../observability/tracing.ts"
import type { ChunkResult, WireExit } from "../wire/protocol.ts"

export const make = (concurrency: number, initializer: Initializer | undefined) => (host: Host) =>
  Effect.gen(function* () {
    if (initializer !== undefined) yield* initialize(initializer, host)
    const runFork = forkPerTask(yield* Effect.context<never>())
    const live = new Set<Fiber.Fiber<unknown>>()
    let busy = 0

    const backend: Backend = {
      start: (job) => {
        if (busy >= concurrency) return false
        busy++
        const fiber = runFork(job.task)(withProgress(job, run(job)))
        job.slot = fiber
        live.add(fiber)
        fiber.addObserver((exit) => {
          live.delete(fiber)
          if (job.slot !== fiber) return
          job.slot = undefined
          busy--
          host.pump()
          if (exit._tag === "Success") {
            // The outcome is checked as it would cross back from a worker (EncodeError if it could not).
            const outcome = job.chunk
              ? crossChunk(job.task.name, exit.value as ChunkResult)
              : crossExit(job.task.name, exit.value as WireExit)
            host.finish(job, outcome)
          } else {
            host.fail(job, taskDefectFrom(Cause.squash(exit.cause)))
          }
        })
        return true
      },
      stop: (job) => {
        const fiber = job.slot as Fiber.Fiber<unknown> | undefined
        if (fiber === undefined) return
        // The slot is free at once; the interrupted fiber finishes its finalizers on its own.
        job.slot = undefined
        busy--
        fiber.interruptUnsafe()
      },
      started: () => true,
      freeSlots: () => concurrency - busy,
      cancelPending: () => false,
      waiting: () => 0,
      close: Effect.suspend(() => Fiber.interruptAll(Array.from(live))),
      workers: () => concurrency,
      spares: () => 0,
      busy: () => busy
    }
    return backend
  })

/** Runs a job, unless its payload could not have crossed to a worker: then it fails with `EncodeError`. */
const run = (job: Job): Effect.Effect<WireExit | ChunkResult> => {
  const refusal = cloneRefusal(job.payload)
  if (refusal !== undefined) {
    const refused: WireExit = {
      _tag: "ExecutorError",
      error: { _tag: "EncodeError", task: job.task.name, which: "payload", message: payloadNotCloneable(refusal) }
    }
    return Effect.succeed(job.chunk ? { values: [], failure: refused } : refused)
  }
  const effect: Effect.Effect<WireExit | ChunkResult> = job.chunk
    ? runChunkEncoded(job.task, job.payload as ReadonlyArray<unknown>)
    : runEncoded(job.task, job.payload)
  // Traced: the task's spans nest under its task span, in the submitter's tracer.
  return job.trace === undefined ? effect : Tracing.runInProcess(effect, job.trace)
}

/**
 * Forks a task's fiber with the layer's services and its logs annotated `task` (the layer's carry `executor`), as
 * a worker's lines are. One context per task (made the first time it runs), not per job: annotating each job's
 * Effect cost ~0.5 µs of CPU per task, measured on a no-op task.
 */
const forkPerTask = (context: Context.Context<never>) => {
  const forks = new WeakMap<Task.Any, ReturnType<typeof Effect.runForkWith<never>>>()
  const annotations = Context.get(context, References.CurrentLogAnnotations)
  return (task: Task.Any) => {
    let fork = forks.get(task)
    if (fork === undefined) {
      const annotated = { ...annotations, task: task.name }
      fork = Effect.runForkWith(Context.add(context, References.CurrentLogAnnotations, annotated))
      forks.set(task, fork)
    }
    return fork
  }
}

const noSend = () => {}

/** A job's Effect, with a progress reporter if its task declares `progress`. */
const withProgress = <A>(job: Job, effect: Effect.Effect<A>): Effect.Effect<A> => {
  if (Progress.schemaOf(job.task) === undefined) return effect
  // A chunk (map with a chunksize) has no future to read progress from: its items' values are checked, then
  // dropped, as on a worker; without a reporter each item would die with InvalidProgress.
  const target: Progress.Target = {
    task: job.task,
    send: job.chunk ? noSend : (value) => Progress.publish(job, value)
  }
  return Effect.provideService(effect, Progress.CurrentReporter, () => target)
}

/** Runs the initializer once for the layer; if it does not succeed, the executor is broken. */
const initialize = (initializer: Initializer, host: Host) =>
  Effect.gen(function* () {
    const broken = (reason: string) =>
      host.breakWith(new BrokenExecutor({ message: `The initializer "${initializer.task.name}" failed: ${reason}` }))
    const encoded = encodePayload(initializer.task, initializer.input)
    if (Result.isFailure(encoded)) return broken(encoded.failure.message)
    // Checked as it would cross to a worker: one that cannot breaks the executor there too (no worker can start).
    const refusal = cloneRefusal(encoded.success)
    if (refusal !== undefined) return broken(payloadNotCloneable(refusal))
    const wire = yield* runEncoded(initializer.task, encoded.success)
    if (wire._tag !== "Success") broken(describeWireFailure(wire))
  })
