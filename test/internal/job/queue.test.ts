/**
 * The core's queue (`internal/job/queue.ts`): oldest first, cancelled jobs skipped, and a job given back goes back to
 * its place by age, whatever was given back before it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Job from "../../../src/internal/job/job.ts"
import * as JobQueue from "../../../src/internal/job/queue.ts"
import { double } from "../../fixtures/tasks.ts"

const queueOf = (...ids: ReadonlyArray<number>) => {
  const queue = JobQueue.make()
  const jobs = new Map<number, Job.Job>()
  for (const id of ids) {
    const job = Job.make(id, double as never, id, false, 0)
    jobs.set(id, job)
    JobQueue.push(queue, job)
  }
  return { queue, jobs }
}

/** Takes a job out and dispatches it, as the core does. */
const dispatch = (queue: JobQueue.JobQueue) => {
  const job = JobQueue.takeNext(queue)!
  Job.dispatch(job, 0)
  queue.size--
  return job
}

const ids = (queue: JobQueue.JobQueue) => JobQueue.queued(queue).map((job) => job.id)

describe("JobQueue", () => {
  it("oldest first; cancelled jobs are skipped", () => {
    const { jobs, queue } = queueOf(1, 2, 3)
    Job.cancel(jobs.get(2)!, 0)
    queue.size--
    assert.strictEqual(JobQueue.nextId(queue), 1)
    assert.strictEqual(dispatch(queue).id, 1)
    assert.strictEqual(JobQueue.nextId(queue), 3)
    assert.strictEqual(dispatch(queue).id, 3)
    assert.isUndefined(JobQueue.takeNext(queue))
  })

  it("putBack returns a job to the head it came from", () => {
    const { queue } = queueOf(1, 2)
    const job = JobQueue.takeNext(queue)!
    JobQueue.putBack(queue, job)
    assert.deepStrictEqual(ids(queue), [1, 2])
  })

  const cases: ReadonlyArray<readonly [string, ReadonlyArray<number>]> = [
    ["given back in order", [1, 2]],
    ["the newer given back first (two workers dying one after the other)", [2, 1]],
    ["given back among queued ones", [3, 1]]
  ]
  for (const [name, order] of cases) {
    it(`requeue keeps the order by age: ${name}`, () => {
      const { queue } = queueOf(1, 2, 3, 4, 5)
      const out = [dispatch(queue), dispatch(queue), dispatch(queue)]
      for (const id of order) {
        const job = out[id - 1]
        Job.requeue(job)
        JobQueue.requeue(queue, job)
      }
      const expected = [...order, 4, 5].sort((a, b) => a - b)
      assert.deepStrictEqual(ids(queue), expected)
      assert.strictEqual(queue.size, expected.length)
      assert.strictEqual(JobQueue.nextId(queue), expected[0])
    })
  }
})
