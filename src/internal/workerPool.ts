/**
 * The pool of workers behind `layerWorkerThreads` and `layerProcesses`: one implementation over a `Transport`.
 *
 * A worker's life:
 *
 * ```text
 *   starting ──Ready──▶ active ──idleTimeout / maxTasksPerWorker──▶ retiring ──▶ exit
 *      │                  │
 *      │                  └─ its running job is interrupted: "cooperative" ──▶ draining ──Done──▶ active or retired
 *      │                                                                           └─ grace period ──▶ terminated
 *      │                     "terminate" ──▶ terminated
 *      └─ exit while starting: a failed start; `maxStartFailures` in a row break the executor
 * ```
 *
 * A worker runs its jobs one at a time, in order. When every worker is busy, a worker thread may hold a few more jobs
 * so it starts the next without waiting for a round trip (CPython's process pool pre-queues one extra call the same
 * way). Measured here on 2 cores with 64 no-op tasks in flight: ~14k tasks/s with one job per worker, ~28k/s with
 * one pre-queued (before later hot-path work), then ~50k/s with one and ~60-90k/s with three; `map` over 1M items in
 * chunks of 1,000, ~3.0M against ~3.6M items/s. A worker that always has its next message waiting is never woken
 * from sleep per message, and that wake-up was most of a `postMessage`'s cost on the caller's thread. A pre-queued
 * job stays PENDING until the worker claims its cell (`claims.ts`), so `Future.cancel` keeps Python's meaning
 * exactly, and an idle worker takes over a job pre-queued behind a long task elsewhere.
 * Child processes share no memory for claims, so they run one job at a time.
 *
 * A worker retired while idle (idle timeout, `maxTasksPerWorker`, closing) is stopped gracefully (`retire`: a child
 * exits on its own with its output flushed); one whose task is stuck or cancelled is killed (`terminate`).
 *
 * Only starting and active workers count toward `maxWorkers`: a draining worker's slot is free at once, so the next
 * task never waits for an interrupted one. A worker that dies fails only the job it had started, with
 * `WorkerCrashed`; its pre-queued jobs go back to the head of the queue.
 *
 * Timers here are Node timers, not Effect's Clock: worker layers never run under `TestClock` (their workers live in
 * real time), and every timer is cleared when the pool closes.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { BrokenExecutor, EncodeError, TaskLoadError, WorkerCrashed } from "../ExecutorError.ts"
import * as Claims from "./claims.ts"
import { encodePayload, payloadNotCloneable } from "./codec.ts"
import type { Backend, Host } from "./core.ts"
import * as Job from "./job.ts"
import * as Lifecycle from "./lifecycle.ts"
import * as Policy from "./poolPolicy.ts"
import type { Initializer } from "./options.ts"
import type { ChunkResult, FromWorker, WireExit, WorkerInit } from "./protocol.ts"
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
  /** Booted workers kept in reserve (not counted in `maxWorkers`) to replace a lost worker without a boot. */
  readonly spareWorkers: number
}

/** Consecutive workers dying before they are ready, after which the executor is broken (no crash loop). */
export const maxStartFailures = 3

type WorkerState = Policy.WorkerState

interface PoolWorker extends Policy.WorkerView {
  readonly id: number
  readonly handle: WorkerHandle
  state: WorkerState
  readonly prequeues: boolean
  /** Jobs sent and neither done nor taken back, in the order the worker runs them. */
  readonly jobs: Array<Job.Job>
  /** Claim cells shared with the worker (threads only), and which are free. */
  readonly cells: Int32Array | undefined
  readonly freeCells: Array<number>
  /** The cell of each job sent with one, until the worker reports on it. */
  readonly cellOf: Map<number, number>
  /** Jobs sent (done or not): how `maxTasksPerWorker` is enforced. */
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
    /** Open, Draining (closing: waiting for every worker to exit), Broken or Closed: see `lifecycle.ts`. */
    let lifecycle: Lifecycle.Lifecycle<() => void> = Lifecycle.open
    /** Task modules seen lately: new workers import them while booting. */
    const recentModules = new Set<string>()
    /** Task modules that started an executor while a worker imported them (see `ImportRefused`), with the message. */
    const refusedModules = new Map<string, string>()
    const refusal = (job: Job.Job): TaskLoadError | undefined => {
      const message = refusedModules.get(job.task.module)
      return message === undefined
        ? undefined
        : new TaskLoadError({ module: job.task.module, task: job.task.name, message })
    }

    const initializer = encodeInitializer(options.initializer, host)

    const clearTimer = (worker: PoolWorker) => {
      if (worker.timer !== undefined) {
        clearTimeout(worker.timer)
        worker.timer = undefined
      }
    }

    const counted = Policy.counts

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

    const removeJob = (worker: PoolWorker, job: Job.Job) => {
      const at = worker.jobs.indexOf(job)
      if (at >= 0) worker.jobs.splice(at, 1)
    }

    /** Whether `job` has started on `worker`: the first job of a worker without cells, or a claimed cell. */
    const startedOn = (worker: PoolWorker, job: Job.Job): boolean => {
      const cell = worker.cellOf.get(job.id)
      if (worker.cells === undefined || cell === undefined) return worker.jobs[0] === job
      return Claims.hasStarted(worker.cells, cell)
    }

    /** Takes back a job that has not started on `worker`; false if the worker already started it. */
    const takeBack = (worker: PoolWorker, job: Job.Job, as: typeof Claims.CANCELLED | typeof Claims.WITHDRAWN) => {
      const cell = worker.cellOf.get(job.id)
      if (worker.cells === undefined || cell === undefined) return false
      if (!Claims.takeBack(worker.cells, cell, as)) return false
      // The cell stays reserved until the worker reports it skipped the job.
      removeJob(worker, job)
      job.slot = undefined
      return true
    }

    /** Puts a job that never started on `worker` back at the head of the queue, to run elsewhere. */
    const withdraw = (worker: PoolWorker, job: Job.Job) => {
      if (Job.isInFlight(job) && takeBack(worker, job, Claims.WITHDRAWN)) host.requeue(job)
    }

    /**
     * An idle worker first takes over a job pre-queued behind a long task on another worker: that job was submitted
     * before anything still in the queue (FIFO), and without this it could wait for a slow task while a worker idles.
     */
    const steal = () => {
      if (idle.length === 0) return
      // The oldest pre-queued job anywhere (jobs[0] is the running one), wherever it sits in its worker's line: a job
      // requeued after a crash or an interrupt may have been pre-queued behind newer ones, and must not wait for
      // them (they may be waiting for it).
      // A job still in the queue that is older goes first (see `Policy.stealFrom`).
      const steal = Policy.stealFrom(workers.values(), host.nextQueuedId())
      if (steal === undefined) return
      withdraw(steal.from, steal.job)
      host.pump()
    }

    /** Kills a worker now: its task is stuck or cancelled, or the pool is broken. */
    const terminate = (worker: PoolWorker) => {
      clearTimer(worker)
      removeIdle(worker)
      setState(worker, "retiring")
      // A worker on its way out keeps the process alive until it has exited, so shutdown can observe the exit.
      worker.handle.setRef(true)
      worker.handle.terminate()
    }

    /**
     * Stops a worker that has no task (idle timeout, `maxTasksPerWorker`, closing): it exits on its own, so nothing
     * it wrote just before is lost, and is killed only if it has not within the transport's grace period.
     */
    const retire = (worker: PoolWorker) => {
      if (worker.state === "retiring") return
      clearTimer(worker)
      removeIdle(worker)
      setState(worker, "retiring")
      worker.handle.setRef(true)
      worker.handle.stop()
    }

    const becomeIdle = (worker: PoolWorker) => {
      idle.push(worker)
      worker.handle.setRef(false)
      steal()
      host.pump()
      if (Policy.armsIdleTimer(worker, active, Lifecycle.isOpen(lifecycle), options)) {
        worker.timer = setTimeout(() => {
          worker.timer = undefined
          if (Policy.retiresWhenIdle(worker, active, options)) retire(worker)
        }, options.idleTimeout)
        worker.timer.unref()
      }
    }

    /** The last worker exited: a close waiting for it resumes. */
    const allExited = () => {
      const waiter = Lifecycle.waiter(lifecycle)
      if (waiter === undefined) return
      lifecycle = Lifecycle.close(lifecycle)
      waiter()
    }

    const breakPool = (message: string) => {
      const error = new BrokenExecutor({ message })
      const next = Lifecycle.breakWith(lifecycle, error)
      if (next === undefined) return
      lifecycle = next
      host.breakWith(error)
      for (const worker of workers.values()) terminate(worker)
    }

    const spawn = (asSpare = false) => {
      const id = nextWorkerId++
      const cells = transport.sharedMemory ? Claims.makeCells() : undefined
      let handle: WorkerHandle
      try {
        handle = transport.spawn(
          { workerId: id, initializer, claims: cells, preload: [...recentModules] },
          { onMessage: (message) => onMessage(worker, message), onExit: (exit) => onExit(worker, exit) }
        )
      } catch (cause) {
        if (++startFailures >= maxStartFailures) {
          breakPool(`Workers could not be started: ${cause instanceof Error ? cause.message : String(cause)}`)
        }
        return
      }
      const worker: PoolWorker = {
        id,
        handle,
        state: asSpare ? "spare" : "starting",
        prequeues: cells !== undefined,
        jobs: [],
        cells: cells === undefined ? undefined : new Int32Array(cells),
        freeCells: cells === undefined ? [] : Array.from({ length: Claims.CELLS }, (_, i) => i),
        cellOf: new Map(),
        assigned: 0,
        timer: undefined
      }
      workers.set(id, worker)
      if (asSpare) {
        spares.add(worker)
        return
      }
      starting++
      active++
    }

    /** Spares booted and ready to take a place in the pool at once. */
    const spares = new Set<PoolWorker>()
    const readySpares = new Set<PoolWorker>()

    const keepSpares = () => {
      while (Lifecycle.isOpen(lifecycle) && spares.size < options.spareWorkers) spawn(true)
    }

    /** Puts a ready spare in the place of a worker that would otherwise have to boot. */
    const promoteSpare = (): boolean => {
      const spare = readySpares.values().next().value
      if (spare === undefined) return false
      readySpares.delete(spare)
      spares.delete(spare)
      setState(spare, "active")
      becomeIdle(spare)
      keepSpares()
      return true
    }

    /** Starts workers while there is queued work (or fewer than `minWorkers`) and room under `maxWorkers`. */
    const topUp = () => {
      if (!Lifecycle.isOpen(lifecycle)) return
      // Jobs waiting on a busy worker count as demand too: a new worker takes them over (see `steal`).
      const demand = () => host.queued() + waitingJobs()
      while (Policy.shouldStart(active, starting, demand(), options)) {
        if (promoteSpare()) return
        spawn()
      }
    }

    const onMessage = (worker: PoolWorker, message: FromWorker) => {
      switch (message._tag) {
        case "Ready":
          if (worker.state === "spare") {
            startFailures = 0
            readySpares.add(worker)
            worker.handle.setRef(false)
            return
          }
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
          return onDone(worker, message.id, message.result)
        case "Skipped":
          return releaseCell(worker, message.id)
        case "ImportRefused":
          // The worker answers its own jobs for the module; if the program that tripped the guard ends the worker
          // first, `onExit` fails them with this message rather than a crash.
          refusedModules.set(message.module, message.message)
          recentModules.delete(message.module)
          return
        case "Unhandled":
          return host.unhandledRejection(message.task, worker.id, message.reason)
      }
    }

    const releaseCell = (worker: PoolWorker, id: number) => {
      const cell = worker.cellOf.get(id)
      if (cell === undefined) return
      worker.cellOf.delete(id)
      worker.freeCells.push(cell)
    }

    const onDone = (worker: PoolWorker, id: number, exit: WireExit | ChunkResult) => {
      releaseCell(worker, id)
      const job = worker.jobs.find((job) => job.id === id)
      if (job === undefined) return
      removeJob(worker, job)
      // The worker's next step comes first: whoever awaits this job may resume synchronously inside `finish` and
      // submit again, and should then find the worker free.
      afterRemoval(worker)
      host.finish(job, exit)
    }

    /** A job left the worker: decide what the worker does next. */
    const afterRemoval = (worker: PoolWorker) => {
      switch (Policy.afterRemoval(worker, active, Lifecycle.isOpen(lifecycle), options)) {
        case "wait":
          return
        case "reuse":
          // The interrupted task stopped within the grace period: the worker is healthy and may serve again.
          clearTimer(worker)
          setState(worker, "active")
          return becomeIdle(worker)
        case "retire":
          return retire(worker)
        case "retireAndTopUp":
          retire(worker)
          return topUp()
        case "drain":
          // A job cancelled after its cell was claimed is running now: stop it like any running job.
          return drain(worker)
        case "idle":
          return becomeIdle(worker)
        case "pump":
          return host.pump()
      }
    }

    const describeExit = (worker: PoolWorker, exit: WorkerExit) => {
      const how = exit.oom
        ? `ran out of memory${exit.signal === null ? "" : ` (${exit.signal})`}`
        : exit.signal === "SIGABRT"
          ? "aborted (SIGABRT)"
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
      if (state === "spare") {
        spares.delete(worker)
        readySpares.delete(worker)
        if (Lifecycle.isOpen(lifecycle) && ++startFailures >= maxStartFailures) {
          breakPool(`Spare workers keep dying (${startFailures} in a row); last: ${describeExit(worker, exit)}`)
        }
        keepSpares()
        if (workers.size === 0) allExited()
        return
      }
      if (state !== "retiring") setState(worker, "retiring")
      if (state === "starting" && Lifecycle.isOpen(lifecycle) && ++startFailures >= maxStartFailures) {
        breakPool(`Workers keep dying while starting (${startFailures} in a row); last: ${describeExit(worker, exit)}`)
      }
      // Only a job that had started can have crashed with the worker; the others never ran and are queued again.
      const crashed = worker.jobs.filter((job) => startedOn(worker, job))
      const jobs = worker.jobs.splice(0)
      for (let i = jobs.length - 1; i >= 0; i--) {
        if (crashed.includes(jobs[i])) continue
        // A job whose module tripped the bootstrapping guard would only trip it again elsewhere.
        const refused = refusal(jobs[i])
        if (refused === undefined) host.requeue(jobs[i])
        else host.fail(jobs[i], refused)
      }
      for (const job of crashed) {
        host.fail(
          job,
          refusal(job) ??
            new WorkerCrashed({
              workerId: worker.id,
              exitCode: exit.exitCode,
              signal: exit.signal,
              oom: exit.oom,
              message: `${describeExit(worker, exit)} while running task "${job.task.name}"`
            })
        )
      }
      if (workers.size === 0) allExited()
      topUp()
      host.pump()
    }

    /** The worker's running job was cancelled: stop it by the interrupt policy; its pre-queued jobs go elsewhere. */
    const drain = (worker: PoolWorker) => {
      // Last first: each goes back to the head of the queue, so they end up there in their original order.
      for (const job of worker.jobs.slice(1).reverse()) withdraw(worker, job)
      const running = worker.jobs[0]
      if (options.interrupt === "terminate" || running === undefined) {
        terminate(worker)
      } else {
        setState(worker, "draining")
        worker.handle.send({ _tag: "Interrupt", id: running.id })
        worker.timer = setTimeout(() => {
          worker.timer = undefined
          if (worker.state === "draining") terminate(worker)
        }, options.interruptGracePeriod)
        worker.timer.unref()
      }
      topUp()
      host.pump()
    }

    const dispatch = (worker: PoolWorker, job: Job.Job) => {
      clearTimer(worker)
      if (worker.jobs.length === 0) {
        removeIdle(worker)
        worker.handle.setRef(true)
      }
      // A job sent behind another one gets a claim cell, so it can be taken back until the worker starts it.
      let claim: number | undefined
      if (worker.jobs.length > 0 && worker.cells !== undefined) {
        claim = worker.freeCells.pop()!
        Atomics.store(worker.cells, claim, Claims.WAITING)
        worker.cellOf.set(job.id, claim)
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
                payloads: job.payload as Array<unknown>,
                claim
              }
            : { _tag: "Run", id: job.id, module: job.task.module, task: job.task.name, payload: job.payload, claim }
        )
      } catch (cause) {
        // The encoded payload cannot be serialized (a function, a symbol...): fail this task; the worker is fine.
        worker.jobs.pop()
        worker.assigned--
        releaseCell(worker, job.id)
        const message = payloadNotCloneable(cause)
        queueMicrotask(() => {
          host.fail(job, new EncodeError({ task: job.task.name, which: "payload", message }))
          if (worker.state === "active" && worker.jobs.length === 0) becomeIdle(worker)
        })
      }
    }

    /** The least-loaded busy worker thread that can take one more job now (see `Policy.withRoom`). */
    const withRoom = () => Policy.withRoom(workers.values(), options)

    /** Jobs sent to a worker behind its first one that it has not started: they wait for it, and count as queued. */
    const waitingJobs = () => {
      let count = 0
      for (const worker of workers.values()) {
        // A worker's first job is running, or starts as soon as the worker reads it (the job before it is done):
        // it waits for nothing. Counting it until its cell is claimed would leave a submit suspended on a full
        // queue that nothing wakes when the claim lands, as the claim sends no message.
        for (let i = 1; i < worker.jobs.length; i++) if (!startedOn(worker, worker.jobs[i])) count++
      }
      return count
    }

    const backend: Backend = {
      started: (job) => {
        const worker = job.slot as PoolWorker | undefined
        return worker === undefined || startedOn(worker, job)
      },
      cancelPending: (job) => {
        const worker = job.slot as PoolWorker | undefined
        if (worker === undefined || !takeBack(worker, job, Claims.CANCELLED)) return false
        afterRemoval(worker)
        return true
      },
      waiting: () => waitingJobs(),
      freeSlots: () => {
        if (!Lifecycle.isOpen(lifecycle)) return 0
        let booting = 0
        for (const worker of workers.values()) if (worker.state === "starting") booting++
        // Starting workers are counted in `active` already; idle ones have no job; the rest can still be started.
        return Policy.freeSlots(idle.length, booting, active, true, options)
      },
      start: (job) => {
        const refused = refusal(job)
        if (refused !== undefined) {
          // Its module would only trip the guard again on another worker: fail it (after `start` returns, as the
          // core expects of a job it has just started).
          queueMicrotask(() => host.fail(job, refused))
          return true
        }
        if (!recentModules.has(job.task.module) && recentModules.size < 16) recentModules.add(job.task.module)
        const free = idle.pop()
        if (free !== undefined) {
          dispatch(free, job)
          return true
        }
        topUp()
        if (!Policy.mayPrequeue(active, starting, options)) return false
        const busy = withRoom()
        if (busy === undefined) return false
        dispatch(busy, job)
        return true
      },
      stop: (job) => {
        const worker = job.slot as PoolWorker | undefined
        job.slot = undefined
        if (worker === undefined || worker.state !== "active") return
        // Not started yet: take it back; it never runs.
        if (takeBack(worker, job, Claims.CANCELLED)) return afterRemoval(worker)
        // Started: it runs first on that worker, or will once the job before it reports done.
        if (worker.jobs[0] === job) drain(worker)
      },
      close: Effect.callback<void>((resume) => {
        if (workers.size === 0) {
          lifecycle = Lifecycle.close(lifecycle)
          return resume(Effect.void)
        }
        lifecycle = Lifecycle.drain(lifecycle, () => resume(Effect.void))
        // Idle workers exit on their own; one still busy with a cancelled task (closing past shutdownTimeout, or on
        // interruption) is killed, as the interrupt policy would have.
        for (const worker of workers.values()) {
          if (worker.state === "draining" || worker.jobs.length > 0) terminate(worker)
          else retire(worker)
        }
      }),
      workers: () => active,
      spares: () => readySpares.size,
      busy: () => {
        // A worker counts once even in the instant between starting its next job and reporting the last one done.
        let count = 0
        for (const worker of workers.values()) {
          if (worker.state === "active" && worker.jobs.some((job) => startedOn(worker, job))) count++
        }
        return count
      }
    }

    yield* Effect.sync(() => {
      topUp()
      keepSpares()
    })
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
