/**
 * The in-process backend (`Executor.layerFibers`): each job runs on its own fiber, at most `concurrency` at once.
 *
 * Tasks still go through their Schemas (encode in the caller, decode before running, encode the outcome and decode it
 * back), so a task behaves exactly as it does on a worker: the same validation, the same typed errors, the same
 * defects. Fibers inherit the layer's services, so `TestClock` drives tasks that sleep.
 *
 * @internal
 */
import { Cause, Effect, Fiber } from "effect"
import { taskDefectFrom } from "../ExecutorError.ts"
import { type Backend, type Host, type Job } from "./core.ts"
import { runEncoded } from "./codec.ts"
import type { WireExit } from "./protocol.ts"

export const make = (concurrency: number) => (host: Host) =>
  Effect.gen(function* () {
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const live = new Set<Fiber.Fiber<unknown>>()
    let busy = 0

    const runChunk = (job: Job) =>
      Effect.gen(function* () {
        const exits: Array<WireExit> = []
        for (const payload of job.payload as ReadonlyArray<unknown>) {
          const exit = yield* runEncoded(job.task, payload)
          exits.push(exit)
          if (exit._tag !== "Success") break
        }
        return exits
      })

    const backend: Backend = {
      start: (job) => {
        if (busy >= concurrency) return false
        busy++
        const effect: Effect.Effect<WireExit | ReadonlyArray<WireExit>> = job.chunk
          ? runChunk(job)
          : runEncoded(job.task, job.payload)
        const fiber = runFork(effect)
        job.slot = fiber
        live.add(fiber)
        fiber.addObserver((exit) => {
          live.delete(fiber)
          if (job.slot !== fiber) return
          job.slot = undefined
          busy--
          if (exit._tag === "Success") host.finish(job, exit.value)
          else host.fail(job, taskDefectFrom(Cause.squash(exit.cause)))
          host.pump()
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
      waiting: () => 0,
      close: Effect.suspend(() => Fiber.interruptAll(Array.from(live))),
      workers: () => concurrency
    }
    return backend
  })
