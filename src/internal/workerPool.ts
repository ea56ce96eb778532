/**
 * The pool of workers behind `layerWorkerThreads` and `layerProcesses`: one implementation over a `Transport`.
 *
 * A worker's life:
 *
 * ```text
 *   starting ──Ready──▶ active (0..PREFETCH jobs) ──idleTimeout / maxTasksPerWorker──▶ retiring ──▶ exit
 *      │                  │
 *      │                  └─ its running job is interrupted: "cooperative" ──▶ draining ──Done──▶ active or retired
 *      │                                                                           └─ grace period ──▶ terminated
 *      │                     "terminate" ──▶ terminated
 *      └─ exit while starting: a failed start; `maxStartFailures` in a row break the executor
 * ```
 *
 * A worker runs its jobs one at a time, in order; the first job in `jobs` is the one running. When every worker is
 * busy, each may hold one more job so it starts the next without waiting for a round trip (CPython's process pool
 * pre-queues one extra call the same way): measured on 2 cores, no-op tasks went from ~14k/s with one job in flight
 * per worker to the figures in bench/RESULTS.md. A job queued on a worker that never started there is put back at
 * the head of the executor's queue when that worker dies or is stopped, so only the running task ever fails with
 * `WorkerCrashed`.
 *
 * Only starting and active workers count toward `maxWorkers`: a draining worker's slot is free at once, so the next
 * task never waits for an interrupted one.
 *
 * Timers here are Node timers, not Effect's Clock: worker layers never run under `TestClock` (their workers live in
 * real time), and every timer is cleared when the pool closes.
 *
 * @internal
 */
import { Effect } from "effect"
import { BrokenExecutor, EncodeError, WorkerCrashed } from "../ExecutorError.ts"
import { encodePayload } from "./codec.ts"
import type { Backend, Host, Job } from "./core.ts"
import type { Initializer } from "./options.ts"
import type { FromWorker, WireExit, WorkerInit } from "./protocol.ts"
import type { Transport, WorkerExit, WorkerHandle } from "./transport.ts"

export interface PoolOptions {
  readonly maxWorkers: number
  readonly minWorkers: number
  /** Milliseconds; `Infinity` keeps idle workers. */
  readonly idleTimeout: number
  readonly maxTasksPerWorker: number
  readonly interrupt: "cooperative" | "terminate"
  /** Milliseconds. */
  readonly interruptGracePeriod: number
  readonly initializer: Initializer | undefined
}

/** Consecutive workers dying before they are ready, after which the executor is broken (no crash loop). */
export const maxStartFailures = 3

/** Jobs a busy worker may hold: the running one plus one waiting. */
const PREFETCH = 2

type WorkerState = "starting" | "active" | "draining" | "retiring"

interface PoolWorker {
  readonly id: number
  readonly handle: WorkerHandle
  state: WorkerState
  /** Jobs sent to the worker and not yet reported done, in the order it runs them. */
  readonly jobs: Array<Job>
  /** Jobs reported done, plus jobs sent: how `maxTasksPerWorker` is enforced. */
  assigned: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export const make = (transport: Transport, options: PoolOptions) => (host: Host) =>
  Effect.gen(function* () {
    const workers = new Map<number, PoolWorker>()
    /** Active workers with no job, most recently used last (reused first: its caches are warm). */
    const idle: Array<PoolWorker> = []
    let nextWorkerId = 1
    let starting = 0
    let active = 0
    let startFailures = 0
    let closing = false
    let broken = false
    let onAllExited: (() => void) | undefined

    const initializer = encodeInitializer(options.initializer, host)

    const clearTimer = (worker: PoolWorker) => {
      if (worker.timer !== undefined) {
        clearTimeout(worker.timer)
        worker.timer = undefined
      }
    }

    const counted = (state: WorkerState) => state === "starting" || state === "active"

    const setState = (worker: PoolWorker, state: WorkerState) => {
      if (counted(worker.state) && !counted(state)) active--
      if (!counted(worker.state) && counted(state)) active++
      if (worker.state === "starting" && state !== "starting") starting--
      worker.state = state
    }

    const removeIdle = (worker: PoolWorker) => {
      const at = idle.indexOf(worker)
      if (at >= 0) idle.splice(at, 1)
    }

    /** Jobs asked back from their worker (`Withdraw`) and not answered yet. */
    const withdrawing = new Set<Job>()

    /** Asks `worker` to hand back `job`, which waits there behind another one, so it can run elsewhere. */
    const withdraw = (worker: PoolWorker, job: Job) => {
      if (withdrawing.has(job) || job.state !== "running") return
      withdrawing.add(job)
      worker.handle.send({ _tag: "Withdraw", id: job.id })
    }

    /** Asks for every job waiting on `worker` behind its first one. */
    const withdrawWaiting = (worker: PoolWorker) => {
      for (let i = 1; i < worker.jobs.length; i++) withdraw(worker, worker.jobs[i])
    }

    /**
     * An idle worker with nothing queued takes over a job waiting behind a long task on another worker: without
     * this, pre-queued work could wait for a slow task while a worker sits idle.
     */
    const steal = () => {
      if (host.queued() > 0 || idle.length === 0) return
      for (const worker of workers.values()) {
        if (worker.state === "active" && worker.jobs.length > 1) {
          const job = worker.jobs[worker.jobs.length - 1]
          if (!withdrawing.has(job)) return withdraw(worker, job)
        }
      }
    }

    const terminate = (worker: PoolWorker) => {
      clearTimer(worker)
      removeIdle(worker)
      setState(worker, "retiring")
      // A worker on its way out keeps the process alive until it has exited, so shutdown can observe the exit.
      worker.handle.setRef(true)
      worker.handle.terminate()
    }

    const becomeIdle = (worker: PoolWorker) => {
      idle.push(worker)
      worker.handle.setRef(false)
      host.pump()
      steal()
      if (
        worker.state === "active" &&
        worker.jobs.length === 0 &&
        !closing &&
        active > options.minWorkers &&
        options.idleTimeout !== Infinity
      ) {
        worker.timer = setTimeout(() => {
          worker.timer = undefined
          if (worker.state === "active" && worker.jobs.length === 0 && active > options.minWorkers) terminate(worker)
        }, options.idleTimeout)
        worker.timer.unref()
      }
    }

    const breakPool = (message: string) => {
      if (broken) return
      broken = true
      host.breakWith(new BrokenExecutor({ message }))
      for (const worker of workers.values()) terminate(worker)
    }

    const spawn = () => {
      const id = nextWorkerId++
      let handle: WorkerHandle
      try {
        handle = transport.spawn(
          { workerId: id, initializer },
          {
            onMessage: (message) => onMessage(worker, message),
            onExit: (exit) => onExit(worker, exit)
          }
        )
      } catch (cause) {
        if (++startFailures >= maxStartFailures) {
          breakPool(`Workers could not be started: ${cause instanceof Error ? cause.message : String(cause)}`)
        }
        return
      }
      const worker: PoolWorker = { id, handle, state: "starting", jobs: [], assigned: 0, timer: undefined }
      workers.set(id, worker)
      starting++
      active++
    }

    /** Starts workers while there is queued work (or fewer than `minWorkers`) and room under `maxWorkers`. */
    const topUp = () => {
      if (closing || broken) return
      while (active < options.maxWorkers && (starting < host.queued() || active < options.minWorkers)) spawn()
    }

    const onMessage = (worker: PoolWorker, message: FromWorker) => {
      switch (message._tag) {
        case "Ready":
          if (worker.state !== "starting") return
          startFailures = 0
          setState(worker, "active")
          return becomeIdle(worker)
        case "InitFailed":
          return breakPool(
            `The initializer "${options.initializer?.task.name}" failed in worker ${worker.id}: ${message.message}`
          )
        case "Done":
          return onDone(worker, message.id, message.exit)
        case "ChunkDone":
          return onDone(worker, message.id, message.exits)
        case "Withdrawn":
          return onWithdrawn(worker, message.id)
      }
    }

    const onWithdrawn = (worker: PoolWorker, id: number) => {
      const at = worker.jobs.findIndex((job) => job.id === id)
      if (at < 0) return
      const [job] = worker.jobs.splice(at, 1)
      withdrawing.delete(job)
      worker.assigned--
      host.requeue(job)
      afterRemoval(worker)
      host.pump()
    }

    const onDone = (worker: PoolWorker, id: number, exit: WireExit | ReadonlyArray<WireExit>) => {
      const at = worker.jobs.findIndex((job) => job.id === id)
      if (at < 0) return
      const [job] = worker.jobs.splice(at, 1)
      withdrawing.delete(job)
      host.finish(job, exit)
      afterRemoval(worker)
    }

    /** A job left the worker (done or withdrawn): decide what the worker does next. */
    const afterRemoval = (worker: PoolWorker) => {
      if (worker.state === "draining") {
        if (worker.jobs.length > 0) return
        clearTimer(worker)
        // The interrupted task stopped within the grace period: the worker is healthy and may serve again.
        if (active < options.maxWorkers && !closing && worker.assigned < options.maxTasksPerWorker) {
          setState(worker, "active")
          return becomeIdle(worker)
        }
        return terminate(worker)
      }
      if (worker.state !== "active") return
      const next = worker.jobs[0]
      if (next !== undefined && next.state === "cancelled") return drain(worker)
      if (worker.jobs.length === 0) {
        if (worker.assigned >= options.maxTasksPerWorker) {
          terminate(worker)
          return topUp()
        }
        return becomeIdle(worker)
      }
      host.pump()
    }

    const describeExit = (worker: PoolWorker, exit: WorkerExit) => {
      const how = exit.oom
        ? "ran out of memory"
        : exit.signal !== null
          ? `was killed by ${exit.signal}`
          : `exited with code ${exit.exitCode}`
      const error = exit.error instanceof Error ? `: ${exit.error.name}: ${exit.error.message}` : ""
      return `Worker ${worker.id} ${how}${error}`
    }

    const onExit = (worker: PoolWorker, exit: WorkerExit) => {
      clearTimer(worker)
      removeIdle(worker)
      workers.delete(worker.id)
      const state = worker.state
      if (state !== "retiring") setState(worker, "retiring")
      if (state === "starting" && !closing && !broken && ++startFailures >= maxStartFailures) {
        breakPool(`Workers keep dying while starting (${startFailures} in a row); last: ${describeExit(worker, exit)}`)
      }
      const [running, ...waiting] = worker.jobs
      worker.jobs.length = 0
      // Only the first job was running; the others never started there and go back to the queue.
      for (let i = waiting.length - 1; i >= 0; i--) {
        withdrawing.delete(waiting[i])
        host.requeue(waiting[i])
      }
      if (running !== undefined) withdrawing.delete(running)
      if (running !== undefined) {
        host.fail(
          running,
          new WorkerCrashed({
            workerId: worker.id,
            exitCode: exit.exitCode,
            signal: exit.signal,
            oom: exit.oom,
            message: `${describeExit(worker, exit)} while running task "${running.task.name}"`
          })
        )
      }
      if (workers.size === 0 && onAllExited !== undefined) onAllExited()
      topUp()
      host.pump()
    }

    /** The worker's running job was cancelled: stop it by the interrupt policy; its waiting jobs go elsewhere. */
    const drain = (worker: PoolWorker) => {
      // Withdraw first: the worker handles messages in order, so the waiting jobs are handed back before the
      // interruption lets it move on to them.
      withdrawWaiting(worker)
      if (options.interrupt === "terminate") {
        terminate(worker)
      } else {
        setState(worker, "draining")
        worker.handle.send({ _tag: "Interrupt", id: worker.jobs[0].id })
        worker.timer = setTimeout(() => {
          worker.timer = undefined
          if (worker.state === "draining") terminate(worker)
        }, options.interruptGracePeriod)
        worker.timer.unref()
      }
      topUp()
      host.pump()
    }

    const dispatch = (worker: PoolWorker, job: Job) => {
      clearTimer(worker)
      if (worker.jobs.length === 0) {
        removeIdle(worker)
        worker.handle.setRef(true)
      }
      worker.jobs.push(job)
      worker.assigned++
      job.slot = worker
      try {
        worker.handle.send(
          job.chunk
            ? {
                _tag: "RunChunk",
                id: job.id,
                module: job.task.module,
                task: job.task.name,
                payloads: job.payload as Array<unknown>
              }
            : { _tag: "Run", id: job.id, module: job.task.module, task: job.task.name, payload: job.payload }
        )
      } catch (cause) {
        // The encoded payload cannot be serialized (a function, a symbol...): fail this task; the worker is fine.
        worker.jobs.pop()
        worker.assigned--
        const message = `the payload cannot be sent to a worker: ${cause instanceof Error ? cause.message : cause}`
        queueMicrotask(() => {
          host.fail(job, new EncodeError({ task: job.task.name, which: "payload", message }))
          if (worker.state === "active" && worker.jobs.length === 0) becomeIdle(worker)
        })
      }
    }

    /** A busy worker that can take one more job now, when every worker is already busy. */
    const withRoom = (): PoolWorker | undefined => {
      for (const worker of workers.values()) {
        if (
          worker.state === "active" &&
          worker.jobs.length < PREFETCH &&
          worker.assigned < options.maxTasksPerWorker &&
          worker.jobs[0]?.state === "running"
        )
          return worker
      }
      return undefined
    }

    const waitingJobs = () => {
      let count = 0
      for (const worker of workers.values()) if (worker.jobs.length > 1) count += worker.jobs.length - 1
      return count
    }

    const backend: Backend = {
      started: (job) => (job.slot as PoolWorker | undefined)?.jobs[0] === job,
      waiting: waitingJobs,
      start: (job) => {
        const free = idle.pop()
        if (free !== undefined) {
          dispatch(free, job)
          return true
        }
        topUp()
        if (starting > 0 || active < options.maxWorkers) return false
        const busy = withRoom()
        if (busy === undefined) return false
        dispatch(busy, job)
        return true
      },
      stop: (job) => {
        const worker = job.slot as PoolWorker | undefined
        job.slot = undefined
        if (worker === undefined) return
        const at = worker.jobs.indexOf(job)
        if (at < 0 || worker.state !== "active") return
        if (at === 0) return drain(worker)
        // Not started yet: the worker drops it unrun and reports it done.
        worker.handle.send({ _tag: "Interrupt", id: job.id })
      },
      close: Effect.callback<void>((resume) => {
        closing = true
        if (workers.size === 0) return resume(Effect.void)
        onAllExited = () => resume(Effect.void)
        for (const worker of workers.values()) terminate(worker)
      }),
      workers: () => active
    }

    yield* Effect.sync(topUp)
    return backend
  })

/** The initializer's payload, encoded once for every worker; an initializer that cannot encode breaks the pool. */
const encodeInitializer = (init: Initializer | undefined, host: Host): WorkerInit["initializer"] => {
  if (init === undefined) return undefined
  const encoded = encodePayload(init.task, init.input)
  if (encoded._tag === "Failure") {
    host.breakWith(
      new BrokenExecutor({ message: `The initializer "${init.task.name}" failed: ${encoded.failure.message}` })
    )
    return undefined
  }
  return { module: init.task.module, task: init.task.name, payload: encoded.success }
}
