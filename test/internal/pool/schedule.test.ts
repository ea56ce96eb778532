/**
 * The pool's scheduling, as a property: the real core and pool (`core.ts`, `workerPool.ts`, `policy.ts`) over a
 * scripted in-memory transport whose workers claim cells, report done and crash when the test says. For any script
 * of submits, worker steps, completions, crashes and cancellations:
 *
 * - no job is lost: once the workers are let run to the end, every future has settled;
 * - no job starts twice (on two workers, or twice on one);
 * - no job is overtaken by a newer one: whenever a job is sent to a worker, no older job waits in the queue.
 *
 * (With the queue's old rule, a job handed back always at the head, the property fails within ~600 runs: two
 * workers dying one after the other, each with a pre-queued job, let the newer job go first.)
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Claims from "../../../src/internal/pool/claims.ts"
import * as Core from "../../../src/internal/executor/core.ts"
import type { FutureImpl } from "../../../src/internal/job/future.ts"
import type { ToWorker, WorkerInit } from "../../../src/internal/wire/protocol.ts"
import type { Transport, WorkerEvents } from "../../../src/internal/transport/transport.ts"
import * as Pool from "../../../src/internal/pool/workerPool.ts"
import { Future } from "../../../src/index.ts"
import { double } from "../../fixtures/tasks.ts"

interface FakeWorker {
  readonly events: WorkerEvents
  readonly cells: Int32Array
  /** Messages received and not yet read: `Run`s with their claim cell. */
  readonly inbox: Array<{ readonly id: number; readonly claim: number | undefined; readonly payload: number }>
  running: { readonly id: number; readonly payload: number } | undefined
  ready: boolean
  alive: boolean
}

const Op = Schema.Literals(["submit", "ready", "step", "finish", "crash", "cancel"])
const Action = Schema.Struct({ op: Op, n: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 7 })) })
const Script = Schema.Array(Action).check(Schema.isMaxLength(60))

const exitCrash = { exitCode: 1, signal: null, error: undefined, oom: false }

const simulate = (script: ReadonlyArray<typeof Action.Type>) =>
  Effect.gen(function* () {
    const workers: Array<FakeWorker> = []
    const violations: Array<string> = []
    const starts = new Map<number, number>()
    const futures: Array<FutureImpl<unknown, unknown>> = []
    /** Jobs whose outcome a worker reported, or whose worker died while running them: they wait for nothing. */
    const over = new Set<number>()
    const settled = (id: number) => futures[id - 1]?.fiber.pollUnsafe() !== undefined

    /** Jobs a live worker holds (sent, not done, not taken back). */
    const held = () => {
      const ids = new Set<number>()
      for (const w of workers) {
        if (!w.alive) continue
        if (w.running !== undefined) ids.add(w.running.id)
        for (const m of w.inbox) {
          if (m.claim === undefined || Atomics.load(w.cells, m.claim) === Claims.WAITING) ids.add(m.id)
        }
      }
      return ids
    }

    const transport: Transport = {
      kind: "workerThreads",
      sharedMemory: true,
      spawn: (init: WorkerInit, events) => {
        const worker: FakeWorker = {
          events,
          cells: new Int32Array(init.claims!),
          inbox: [],
          running: undefined,
          ready: false,
          alive: true
        }
        workers.push(worker)
        const exit = () => {
          if (!worker.alive) return
          worker.alive = false
          queueMicrotask(() => events.onExit(exitCrash))
        }
        return {
          send: (message: ToWorker) => {
            if (message._tag !== "Run") return
            // Nothing older may still wait in the queue when a job is sent to a worker.
            const holding = held()
            for (let id = 1; id < message.id; id++) {
              if (!holding.has(id) && !over.has(id) && !settled(id) && !cancelled.has(id)) {
                violations.push(`job ${message.id} was sent while older job ${id} waited`)
              }
            }
            worker.inbox.push({ id: message.id, claim: message.claim, payload: message.payload as number })
          },
          terminate: exit,
          stop: exit,
          setRef: () => {}
        }
      }
    }
    /** Jobs cancelled while pending (or being cancelled): they wait for nothing. */
    const cancelled = new Set<number>()

    const pick = (n: number, ok: (w: FakeWorker) => boolean) => {
      const candidates = workers.filter((w) => w.alive && ok(w))
      return candidates.length === 0 ? undefined : candidates[n % candidates.length]
    }
    /** The worker reads its next message: claims the job's cell (or just starts it), or skips it if taken back. */
    const step = (w: FakeWorker) => {
      const next = w.inbox.shift()
      if (next === undefined) return
      if (next.claim !== undefined && Claims.claim(w.cells, next.claim) !== Claims.STARTED) {
        return w.events.onMessage({ _tag: "Skipped", id: next.id })
      }
      starts.set(next.id, (starts.get(next.id) ?? 0) + 1)
      if (starts.get(next.id)! > 1) violations.push(`job ${next.id} started twice`)
      w.running = { id: next.id, payload: next.payload }
    }
    const finish = (w: FakeWorker) => {
      const running = w.running
      if (running === undefined) return
      w.running = undefined
      over.add(running.id)
      w.events.onMessage({ _tag: "Done", id: running.id, exit: { _tag: "Success", value: running.payload * 2 } })
    }

    const core = yield* Core.make(
      { name: "schedule", maxQueue: Infinity, onFull: "suspend", shutdownTimeout: undefined },
      Pool.make(transport, {
        maxWorkers: 2,
        minWorkers: 0,
        idleTimeout: Infinity,
        maxTasksPerWorker: Infinity,
        interrupt: "terminate",
        interruptGracePeriod: 1_000,
        initializer: undefined,
        spareWorkers: 0
      })
    )

    for (const { op, n } of script) {
      switch (op) {
        case "submit":
          futures.push(yield* core.submit(double as never, futures.length + 1))
          break
        case "ready": {
          const w = pick(n, (w) => !w.ready)
          if (w !== undefined) {
            w.ready = true
            w.events.onMessage({ _tag: "Ready" })
          }
          break
        }
        case "step": {
          const w = pick(n, (w) => w.ready && w.running === undefined && w.inbox.length > 0)
          if (w !== undefined) step(w)
          break
        }
        case "finish": {
          const w = pick(n, (w) => w.running !== undefined)
          if (w !== undefined) finish(w)
          break
        }
        case "crash": {
          // Only a worker that is ready: crashes while starting would break the executor (`maxStartFailures`).
          const w = pick(n, (w) => w.ready)
          if (w !== undefined) {
            w.alive = false
            if (w.running !== undefined) over.add(w.running.id)
            w.events.onExit(exitCrash)
          }
          break
        }
        case "cancel": {
          if (futures.length === 0) break
          const id = (n % futures.length) + 1
          // Counted as cancelled from the moment it is asked: cancelling a pending job lets the next one start.
          cancelled.add(id)
          if (!(yield* Future.cancel(futures[id - 1] as never))) cancelled.delete(id)
          break
        }
      }
      yield* Effect.yieldNow
    }

    // Let every worker run to the end: no job may be left behind.
    for (let round = 0; round < 1_000 && futures.some((_, i) => !settled(i + 1)); round++) {
      for (const w of workers) {
        if (!w.alive) continue
        if (!w.ready) {
          w.ready = true
          w.events.onMessage({ _tag: "Ready" })
        } else if (w.running !== undefined) finish(w)
        else step(w)
      }
      yield* Effect.yieldNow
    }
    for (let id = 1; id <= futures.length; id++) if (!settled(id)) violations.push(`job ${id} never settled`)
    return violations
  }).pipe(Effect.scoped)

const A = (op: typeof Op.Type, n = 0): typeof Action.Type => ({ op, n })

describe("pool scheduling", () => {
  it.effect("two workers die one after the other, each with a pre-queued job: the older job runs first", () =>
    Effect.gen(function* () {
      // Jobs 1 and 2 run on two workers, 3 and 4 are pre-queued behind them; the worker holding 3 dies (3 goes back
      // to the queue, and waits: no worker is free), then the one holding 4 dies: 4 must not go ahead of 3.
      const script = [A("submit"), A("submit"), A("submit"), A("submit"), A("ready"), A("ready")]
      script.push(A("step"), A("step"), A("crash"), A("crash"))
      assert.deepStrictEqual(yield* simulate(script), [])
    })
  )

  it.effect.prop(
    "no job is lost, started twice, or overtaken by a newer one",
    [Script],
    ([script]) =>
      Effect.gen(function* () {
        const violations = yield* simulate(script)
        assert.deepStrictEqual(violations, [], JSON.stringify(script) + JSON.stringify(violations))
      }),
    { arbitrary: { runs: 1000, size: 60 } }
  )
})
