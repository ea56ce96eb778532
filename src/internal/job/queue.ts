/**
 * The core's FIFO of `Queued` jobs: one record and small functions over it.
 *
 * An array with a moving head: O(1) push and take. Jobs that left the `Queued` state while in it (cancelled, failed
 * by a broken executor) stay until reached and are skipped then. The order is by job id, oldest first, always: a job
 * a backend gives back (`requeue`) goes back to its place among the queued ones, so no newer job overtakes it — not
 * even one given back just before it (two workers dying one after the other, each with a pre-queued job).
 *
 * @internal
 */
import * as Job from "./job.ts"

export interface JobQueue {
  items: Array<Job.Job | undefined>
  head: number
  /** Jobs in the queue still `Queued`. */
  size: number
}

export const make = (): JobQueue => ({ items: [], head: 0, size: 0 })

/** A new job, newest of all. */
export const push = (self: JobQueue, job: Job.Job): void => {
  self.items.push(job)
  self.size++
}

/** Takes the oldest `Queued` job out, if any (`size` is the caller's to adjust once the job has left `Queued`). */
export const takeNext = (self: JobQueue): Job.Job | undefined => {
  while (self.head < self.items.length) {
    const job = self.items[self.head]
    self.items[self.head++] = undefined
    if (job !== undefined && Job.isQueued(job)) return job
  }
  return undefined
}

/** Puts back the job `takeNext` just returned, where it was (the backend had no room). */
export const putBack = (self: JobQueue, job: Job.Job): void => {
  self.items[--self.head] = job
}

/**
 * A job given back by a backend (`Queued` again): it goes before every newer queued job. It is usually older than
 * all of them (it was dispatched before them), so this is O(1) then.
 */
export const requeue = (self: JobQueue, job: Job.Job): void => {
  self.size++
  let at = self.head
  while (at < self.items.length) {
    const other = self.items[at]
    if (other !== undefined && Job.isQueued(other) && other.id > job.id) break
    at++
  }
  if (at === self.head && self.head > 0) {
    self.items[--self.head] = job
    return
  }
  self.items.splice(at, 0, job)
}

/** The id of the oldest `Queued` job, if any. */
export const nextId = (self: JobQueue): number | undefined => {
  if (self.size === 0) return undefined
  for (let i = self.head; i < self.items.length; i++) {
    const job = self.items[i]
    if (job !== undefined && Job.isQueued(job)) return job.id
  }
  return undefined
}

/** The `Queued` jobs, oldest first. */
export const queued = (self: JobQueue): Array<Job.Job> => {
  const jobs: Array<Job.Job> = []
  for (let i = self.head; i < self.items.length; i++) {
    const job = self.items[i]
    if (job !== undefined && Job.isQueued(job)) jobs.push(job)
  }
  return jobs
}

/** Drops the slots already taken once they are most of the array. */
export const compact = (self: JobQueue): void => {
  if (self.head > 1024 && self.head * 2 > self.items.length) {
    self.items = self.items.slice(self.head)
    self.head = 0
  }
}
