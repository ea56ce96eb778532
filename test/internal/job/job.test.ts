/**
 * The job state machine (`internal/job/job.ts`): every transition from every state, as one table, and the outcome's
 * delivery to a waiting future.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Exit from "effect/Exit"
import * as Job from "../../../src/internal/job/job.ts"
import * as Metrics from "../../../src/internal/observability/metrics.ts"
import { double } from "../../fixtures/tasks.ts"

const states: ReadonlyArray<Job.State> = ["Queued", "Dispatched", "Running", "Done", "Cancelled"]

/** A job driven into `state` through legal transitions only. */
const jobIn = (state: Job.State): Job.Job => {
  const job = Job.make(1, double as never, 21, false, 100)
  switch (state) {
    case "Queued":
      break
    case "Dispatched":
      Job.dispatch(job, 150)
      break
    case "Running":
      Job.dispatch(job, 150)
      Job.markRunning(job)
      break
    case "Done":
      Job.dispatch(job, 150)
      Job.finish(job, "completed", 200)
      break
    case "Cancelled":
      Job.cancel(job, 200)
      break
  }
  assert.strictEqual(job.state, state)
  return job
}

/** Each transition, and the state it leads to from each source state (`undefined`: refused, nothing changes). */
const table: ReadonlyArray<{
  readonly name: string
  readonly run: (job: Job.Job) => unknown
  readonly to: Partial<Record<Job.State, Job.State>>
}> = [
  { name: "dispatch", run: (job) => Job.dispatch(job, 200), to: { Queued: "Dispatched" } },
  { name: "requeue", run: Job.requeue, to: { Dispatched: "Queued" } },
  { name: "markRunning", run: Job.markRunning, to: { Dispatched: "Running", Running: "Running" } },
  { name: "finish", run: (job) => Job.finish(job, "completed", 200), to: { Dispatched: "Done", Running: "Done" } },
  { name: "failQueued", run: Job.failQueued, to: { Queued: "Done" } },
  {
    name: "cancel",
    run: (job) => Job.cancel(job, 200),
    to: { Queued: "Cancelled", Dispatched: "Cancelled", Running: "Cancelled" }
  }
]

describe("Job", () => {
  it("a new job is Queued", () => {
    const job = Job.make(7, double as never, 21, false, 100)
    assert.strictEqual(job.state, "Queued")
    assert.strictEqual(job.submittedAt, 100)
    assert.isUndefined(job.exit)
  })

  describe("transitions check their source state", () => {
    for (const { name, run, to } of table) {
      for (const from of states) {
        const target = to[from]
        it(`${name} from ${from}: ${target === undefined ? "refused" : target}`, () => {
          const job = jobIn(from)
          const result = run(job)
          assert.strictEqual(job.state, target ?? from)
          if (name === "cancel") assert.strictEqual(result, target === undefined ? undefined : from)
          else assert.strictEqual(result, target !== undefined)
        })
      }
    }
  })

  it("Done and Cancelled are final", () => {
    for (const from of ["Done", "Cancelled"] as const) {
      const job = jobIn(from)
      for (const { run } of table) run(job)
      assert.strictEqual(job.state, from)
    }
  })

  it("requeue forgets the backend's slot; dispatch records when", () => {
    const job = jobIn("Queued")
    Job.dispatch(job, 300)
    job.slot = "worker 1"
    assert.strictEqual(job.dispatchedAt, 300)
    Job.requeue(job)
    assert.isUndefined(job.slot)
  })

  it("observeStart asks the backend only while Dispatched, and records a start it sees", () => {
    let asked = 0
    const started = (answer: boolean) => () => {
      asked++
      return answer
    }
    assert.isFalse(Job.observeStart(jobIn("Queued"), started(true)))
    const job = jobIn("Dispatched")
    assert.isFalse(Job.observeStart(job, started(false)))
    assert.strictEqual(job.state, "Dispatched")
    assert.isTrue(Job.observeStart(job, started(true)))
    assert.strictEqual(job.state, "Running")
    assert.strictEqual(asked, 2)
    assert.isTrue(Job.observeStart(job, started(false)))
    assert.strictEqual(asked, 2)
  })

  it("settle delivers the outcome once to the waiting future, or keeps it for a later one", () => {
    const job = jobIn("Running")
    const seen: Array<Exit.Exit<unknown, unknown>> = []
    job.resume = (exit) => seen.push(exit)
    Job.finish(job, "completed", 200)
    Job.settle(job, Exit.succeed(42))
    assert.deepStrictEqual(seen, [Exit.succeed(42)])
    assert.isUndefined(job.resume)
    const later = jobIn("Queued")
    Job.settle(later, Exit.fail("boom"))
    assert.deepStrictEqual(later.exit, Exit.fail("boom"))
  })

  it("the transitions count the job once: submitted when made, then by the one transition that ends it", () => {
    const counts = (stats: Metrics.TaskStats) => [
      stats.submitted,
      stats.completed,
      stats.failed,
      stats.crashed,
      stats.cancelled
    ]
    for (const [end, expected] of [
      [(job: Job.Job) => Job.finish(job, "completed", 250), [1, 1, 0, 0, 0]],
      [(job: Job.Job) => Job.finish(job, "failed", 250), [1, 0, 1, 0, 0]],
      [(job: Job.Job) => Job.finish(job, "crashed", 250), [1, 0, 0, 1, 0]],
      [(job: Job.Job) => Job.cancel(job, 250), [1, 0, 0, 0, 1]]
    ] as const) {
      const stats = Metrics.makeTaskStats("double")
      const job = Job.make(1, double as never, 21, false, 100, stats)
      Job.dispatch(job, 150)
      Job.accepted(job, 150)
      end(job)
      // A second ending is refused and counts nothing.
      Job.finish(job, "failed", 300)
      Job.cancel(job, 300)
      assert.deepStrictEqual(counts(stats), [...expected])
      assert.strictEqual(stats.queueWait.count, 1)
      assert.strictEqual(stats.queueWait.sum, 0.05)
      assert.strictEqual(stats.run.count, 1)
      assert.strictEqual(stats.run.sum, 0.1)
    }
    const queued = Metrics.makeTaskStats("double")
    Job.failQueued(Job.make(2, double as never, 21, false, 100, queued))
    Job.cancel(Job.make(3, double as never, 21, false, 100, queued), 200)
    // Neither ran: no run time.
    assert.deepStrictEqual(counts(queued), [2, 0, 1, 0, 1])
    assert.strictEqual(queued.run.count, 0)
  })

  it("a dispatch given back takes back the queue wait it recorded: the dispatch that stands records the whole wait", () => {
    const stats = Metrics.makeTaskStats("double")
    const job = Job.make(1, double as never, 21, false, 100, stats)
    Job.dispatch(job, 150)
    Job.accepted(job, 150)
    assert.isTrue(Job.requeue(job))
    assert.strictEqual(stats.queueWait.count, 0)
    Job.dispatch(job, 400)
    Job.accepted(job, 400)
    Job.finish(job, "completed", 500)
    assert.strictEqual(stats.queueWait.count, 1)
    assert.strictEqual(stats.queueWait.sum, 0.3)
    assert.strictEqual(
      stats.queueWait.counts.reduce((a, b) => a + b, 0),
      1
    )
  })
})
