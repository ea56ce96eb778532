/**
 * The pool's decisions (`internal/pool/policy.ts`), without a worker: table-driven cases for each decision.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Job from "../../../src/internal/job/job.ts"
import * as Policy from "../../../src/internal/pool/policy.ts"
import { double } from "../../fixtures/tasks.ts"

const limits: Policy.Limits = { maxWorkers: 2, minWorkers: 0, maxTasksPerWorker: Infinity, idleTimeout: 1000 }

/** A job in flight (`Dispatched`), or in another state. */
const job = (id: number, state: "Dispatched" | "Cancelled" = "Dispatched"): Job.Job => {
  const self = Job.make(id, double as never, id, false, 0)
  Job.dispatch(self, 0)
  if (state === "Cancelled") Job.cancel(self, 0)
  return self
}

const worker = (
  name: string,
  jobs: ReadonlyArray<Job.Job>,
  overrides: Partial<Omit<Policy.WorkerView, "jobs">> = {}
): Policy.WorkerView & { readonly name: string } => ({
  name,
  state: "active",
  prequeues: true,
  freeCells: { length: 16 },
  assigned: jobs.length,
  jobs,
  ...overrides
})

describe("poolPolicy", () => {
  describe("shouldStart", () => {
    const cases: ReadonlyArray<readonly [string, number, number, number, Policy.Limits, boolean]> = [
      // name, active, starting, demand, limits, expected
      ["demand and room", 0, 0, 1, limits, true],
      ["demand met by a booting worker", 1, 1, 1, limits, false],
      ["more demand than booting workers", 1, 1, 2, limits, true],
      ["at maxWorkers", 2, 0, 5, limits, false],
      ["no demand, below minWorkers", 0, 0, 0, { ...limits, minWorkers: 1 }, true],
      ["no demand, at minWorkers", 1, 0, 0, { ...limits, minWorkers: 1 }, false]
    ]
    for (const [name, active, starting, demand, l, expected] of cases) {
      it(name, () => assert.strictEqual(Policy.shouldStart(active, starting, demand, l), expected))
    }
  })

  describe("mayPrequeue: only when no worker may still start or is booting", () => {
    const cases: ReadonlyArray<readonly [number, number, boolean]> = [
      [2, 0, true],
      [2, 1, false],
      [1, 0, false]
    ]
    for (const [active, starting, expected] of cases) {
      it(`active ${active}, starting ${starting}: ${expected}`, () =>
        assert.strictEqual(Policy.mayPrequeue(active, starting, limits), expected))
    }
  })

  describe("withRoom picks the least-loaded busy worker that can pre-queue", () => {
    const cases: ReadonlyArray<
      readonly [string, ReadonlyArray<ReturnType<typeof worker>>, string | undefined, Partial<Policy.Limits>?]
    > = [
      ["least loaded wins", [worker("a", [job(1), job(3)]), worker("b", [job(2)])], "b"],
      ["first of equals", [worker("a", [job(1)]), worker("b", [job(2)])], "a"],
      ["an idle worker is not 'busy'", [worker("a", [])], undefined],
      ["a full line (PREFETCH)", [worker("a", [job(1), job(2), job(3), job(4)])], undefined],
      ["no claim cells (processes)", [worker("a", [job(1)], { prequeues: false })], undefined],
      ["no free cell", [worker("a", [job(1)], { freeCells: { length: 0 } })], undefined],
      ["at maxTasksPerWorker", [worker("a", [job(1)], { assigned: 5 })], undefined, { maxTasksPerWorker: 5 }],
      ["draining", [worker("a", [job(1)], { state: "draining" })], undefined],
      ["its running job was cancelled", [worker("a", [job(1, "Cancelled")])], undefined]
    ]
    for (const [name, workers, expected, extra] of cases) {
      it(name, () => assert.strictEqual(Policy.withRoom(workers, { ...limits, ...extra })?.name, expected))
    }
  })

  describe("stealFrom: the oldest pre-queued job, unless an older one waits in the queue", () => {
    const cases: ReadonlyArray<
      readonly [
        string,
        ReadonlyArray<ReturnType<typeof worker>>,
        number | undefined,
        readonly [string, number] | undefined
      ]
    > = [
      ["nothing pre-queued", [worker("a", [job(1)])], undefined, undefined],
      ["the running job is never taken", [worker("a", [job(1), job(5)])], undefined, ["a", 5]],
      ["oldest anywhere", [worker("a", [job(1), job(6)]), worker("b", [job(2), job(4)])], undefined, ["b", 4]],
      ["a requeued job pre-queued behind newer ones", [worker("a", [job(1), job(8), job(3)])], undefined, ["a", 3]],
      ["an older job in the queue goes first", [worker("a", [job(1), job(5)])], 4, undefined],
      ["a newer job in the queue waits", [worker("a", [job(1), job(5)])], 9, ["a", 5]],
      ["not from a draining worker", [worker("a", [job(1), job(5)], { state: "draining" })], undefined, undefined]
    ]
    for (const [name, workers, next, expected] of cases) {
      it(name, () => {
        const steal = Policy.stealFrom(workers, next)
        assert.deepStrictEqual(steal === undefined ? undefined : ([steal.from.name, steal.job.id] as const), expected)
      })
    }
  })

  describe("afterRemoval: a worker's next step", () => {
    const cases: ReadonlyArray<readonly [string, Policy.WorkerView, number, boolean, Policy.Next]> = [
      ["draining with jobs left", worker("a", [job(1)], { state: "draining" }), 1, true, "wait"],
      ["draining, stopped in time: serves again", worker("a", [], { state: "draining" }), 1, true, "reuse"],
      ["draining, pool full meanwhile", worker("a", [], { state: "draining" }), 2, true, "retire"],
      ["draining, pool closing", worker("a", [], { state: "draining" }), 1, false, "retire"],
      ["draining, used up", worker("a", [], { state: "draining", assigned: 9 }), 1, true, "retire"],
      ["retiring", worker("a", [], { state: "retiring" }), 1, true, "wait"],
      ["next job cancelled after it started", worker("a", [job(1, "Cancelled")]), 1, true, "drain"],
      ["no job left", worker("a", []), 1, true, "idle"],
      ["no job left, used up", worker("a", [], { assigned: 9 }), 1, true, "retireAndTopUp"],
      ["more jobs", worker("a", [job(1)]), 1, true, "pump"]
    ]
    const used = { ...limits, maxTasksPerWorker: 9 }
    for (const [name, w, active, open, expected] of cases) {
      it(name, () => assert.strictEqual(Policy.afterRemoval(w, active, open, used), expected))
    }
  })

  describe("idle workers", () => {
    it("armsIdleTimer: above minWorkers, finite timeout, open, no job", () => {
      assert.isTrue(Policy.armsIdleTimer(worker("a", []), 1, true, limits))
      assert.isFalse(Policy.armsIdleTimer(worker("a", []), 1, false, limits))
      assert.isFalse(Policy.armsIdleTimer(worker("a", []), 1, true, { ...limits, minWorkers: 1 }))
      assert.isFalse(Policy.armsIdleTimer(worker("a", []), 1, true, { ...limits, idleTimeout: Infinity }))
      assert.isFalse(Policy.armsIdleTimer(worker("a", [job(1)]), 1, true, limits))
    })
    it("retiresWhenIdle: still idle and above minWorkers when the timer fires", () => {
      assert.isTrue(Policy.retiresWhenIdle(worker("a", []), 2, { ...limits, minWorkers: 1 }))
      assert.isFalse(Policy.retiresWhenIdle(worker("a", []), 1, { ...limits, minWorkers: 1 }))
      assert.isFalse(Policy.retiresWhenIdle(worker("a", [job(1)]), 2, limits))
    })
  })

  it("freeSlots: idle + booting + workers that may still start; none once closed", () => {
    assert.strictEqual(Policy.freeSlots(1, 1, 1, true, limits), 3)
    assert.strictEqual(Policy.freeSlots(0, 0, 2, true, limits), 0)
    assert.strictEqual(Policy.freeSlots(0, 0, 3, true, limits), 0)
    assert.strictEqual(Policy.freeSlots(1, 1, 1, false, limits), 0)
  })
})
