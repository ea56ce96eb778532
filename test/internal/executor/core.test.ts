/**
 * The executor core's decisions, on a scripted backend: no worker, no fiber pool — the test plays the backend,
 * deciding when a job may start and handing jobs back, and checks what the core does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Core from "../../../src/internal/executor/core.ts"
import { double } from "../../fixtures/tasks.ts"

/** A backend with `slots` places, which starts jobs while it has room and records the order they start in. */
const scripted = (slots: number) => {
  const started: Array<number> = []
  const running = new Set<Core.Job>()
  let host: Core.Host | undefined
  let room = slots
  const backend: Core.Backend = {
    start: (job) => {
      if (room === 0) return false
      room--
      running.add(job)
      started.push(job.payload as number)
      return true
    },
    stop: (job) => {
      if (running.delete(job)) room++
    },
    started: () => true,
    cancelPending: () => false,
    freeSlots: () => room,
    waiting: () => 0,
    close: Effect.void,
    workers: () => slots,
    spares: () => 0,
    busy: () => running.size
  }
  return {
    started,
    make: (h: Core.Host) => {
      host = h
      return Effect.succeed(backend)
    },
    /** The backend gives a running job back (its worker died before it started there): it leaves its place. */
    handBack: (job: Core.Job) => {
      running.delete(job)
      room++
      host!.requeue(job)
    },
    /** Makes room for `n` more jobs and lets the core fill it. */
    open: (n: number) => {
      room += n
      host!.pump()
    },
    job: (payload: number) => Array.from(running).find((job) => job.payload === payload)!,
    /** Every running job succeeds (with its payload, encoded). */
    finishAll: () => {
      for (const job of Array.from(running)) {
        running.delete(job)
        room++
        host!.finish(job, { _tag: "Success", value: job.payload })
      }
    }
  }
}

describe("core: the queue", () => {
  it.effect("a job handed back returns to its place by age: behind an older one handed back before it", () =>
    Effect.gen(function* () {
      const backend = scripted(4)
      const core = yield* Core.make(
        { name: "core", maxQueue: Infinity, onFull: "suspend", shutdownTimeout: undefined },
        backend.make
      )
      // 1-4 start (say, pre-queued on two workers), 5-6 wait in the queue.
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (n) => core.submit(double, n))
      assert.deepStrictEqual(backend.started, [1, 2, 3, 4])
      backend.started.length = 0
      // 2 comes back (its worker is interrupted), then 4 (its worker crashes): 2 was submitted first, so it goes first,
      // and both before 5 and 6. Put back at the head each time, 4 would overtake 2.
      const [two, four] = [backend.job(2), backend.job(4)]
      backend.handBack(two)
      backend.handBack(four)
      // The core fills the two places they left.
      backend.open(0)
      assert.deepStrictEqual(backend.started, [2, 4])
      backend.open(2)
      assert.deepStrictEqual(backend.started, [2, 4, 5, 6])
      backend.finishAll()
      assert.strictEqual((yield* core.stats).completed, 6)
    }).pipe(Effect.scoped)
  )
})
