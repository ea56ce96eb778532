/**
 * The in-process backend (`Executor.layerFibers`): each job runs on its own fiber, at most `concurrency` at once.
 *
 * Tasks still go through their Schemas (encode in the caller, decode before running, encode the outcome and decode it
 * back), so a task behaves exactly as it does on a worker: the same validation, the same typed errors, the same
 * defects. Fibers inherit the layer's services, so `TestClock` drives tasks that sleep.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { BrokenExecutor, taskDefectFrom } from "../ExecutorError.ts"
import type { Backend, Host } from "./core.ts"
import { describeWireFailure, encodePayload, runChunkEncoded, runEncoded } from "./codec.ts"
import type { Initializer } from "./options.ts"
import type { ChunkResult, WireExit } from "./protocol.ts"

export const make = (concurrency: number, initializer: Initializer | undefined) => (host: Host) =>
  Effect.gen(function* () {
    if (initializer !== undefined) yield* initialize(initializer, host)
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const live = new Set<Fiber.Fiber<unknown>>()
    let busy = 0

    const backend: Backend = {
      start: (job) => {
        if (busy >= concurrency) return false
        busy++
        const effect: Effect.Effect<WireExit | ChunkResult> = job.chunk
          ? runChunkEncoded(job.task, job.payload as ReadonlyArray<unknown>)
          : runEncoded(job.task, job.payload)
        const fiber = runFork(effect)
        job.slot = fiber
        live.add(fiber)
        fiber.addObserver((exit) => {
          live.delete(fiber)
          if (job.slot !== fiber) return
          job.slot = undefined
          busy--
          host.pump()
          if (exit._tag === "Success") host.finish(job, exit.value)
          else host.fail(job, taskDefectFrom(Cause.squash(exit.cause)))
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

/** Runs the initializer once for the layer; if it does not succeed, the executor is broken. */
const initialize = (initializer: Initializer, host: Host) =>
  Effect.gen(function* () {
    const encoded = encodePayload(initializer.task, initializer.input)
    const reason =
      encoded._tag === "Failure"
        ? encoded.failure.message
        : yield* Effect.map(runEncoded(initializer.task, encoded.success), (wire) =>
            wire._tag === "Success" ? undefined : describeWireFailure(wire)
          )
    if (reason !== undefined) {
      host.breakWith(new BrokenExecutor({ message: `The initializer "${initializer.task.name}" failed: ${reason}` }))
    }
  })
