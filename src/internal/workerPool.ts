/**
 * The pool of workers behind `layerWorkerThreads` and `layerProcesses`: one implementation over a `Transport`.
 *
 * A worker's life:
 *
 * ```text
 *   starting ──Ready──▶ idle ◀──Done──▶ busy
 *      │                 │               │ interrupt: "cooperative" ──▶ draining ──Done──▶ idle (or retired)
 *      │                 │               │                                 └─grace period─▶ terminated
 *      │                 │               └─ interrupt: "terminate" ──▶ terminated
 *      │                 └─ idleTimeout / maxTasksPerWorker ──▶ retiring ──▶ exit
 *      └─ exit while starting: a failed start; `maxStartFailures` in a row break the executor
 * ```
 *
 * Only starting, idle and busy workers count toward `maxWorkers`: a draining worker's slot is free at once, so the
 * next task never waits for an interrupted one. A worker that dies fails only the job it was running, with
 * `WorkerCrashed`; queued jobs go to a replacement.
 *
 * Timers here are Node timers, not Effect's Clock: worker layers never run under `TestClock` (their workers live in
 * real time), and the timers are cleared when the pool closes.
 *
 * @internal
 */
import { Effect } from "effect"
import { BrokenExecutor, EncodeError, WorkerCrashed } from "../ExecutorError.ts"
import type { Backend, Host, Job } from "./core.ts"
import { encodePayload } from "./codec.ts"
import type { Initializer } from "./options.ts"
import type { FromWorker, WorkerInit } from "./protocol.ts"
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

type WorkerState = "starting" | "idle" | "busy" | "draining" | "retiring"

interface PoolWorker {
  readonly id: number
  readonly handle: WorkerHandle
  state: WorkerState
  job: Job | undefined
  tasksRun: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export const make = (transport: Transport, options: PoolOptions) => (host: Host) =>
  Effect.gen(function*() {
    const workers = new Map<number, PoolWorker>()
    const idle: Array<PoolWorker> = []
    let nextWorkerId = 1
    let starting = 0
    let active = 0
    let startFailures = 0
    let closing = false
    let broken = false
    let onAllExited: (() => void) | undefined

    const encodedInit = (): WorkerInit["initializer"] => {
      const init = options.initializer
      if (init === undefined) return undefined
      const encoded = encodePayload(init.task, init.input)
      if (encoded._tag === "Failure") {
        throw new BrokenExecutor({ message: `The initializer "${init.task.name}" failed: ${encoded.failure.message}` })
      }
      return { module: init.task.module, task: init.task.name, payload: encoded.success }
    }

    const initializer = yield* Effect.try({
      try: encodedInit,
      catch: (error) => error as BrokenExecutor
    }).pipe(Effect.catch((error) => Effect.sync(() => {
      host.breakWith(error)
      return undefined
    })))

    const clearTimer = (worker: PoolWorker) => {
      if (worker.timer !== undefined) {
        clearTimeout(worker.timer)
        worker.timer = undefined
      }
    }

    const setState = (worker: PoolWorker, state: WorkerState) => {
      const counted = (s: WorkerState) => s === "starting" || s === "idle" || s === "busy"
      if (counted(worker.state) && !counted(state)) active--
      if (!counted(worker.state) && counted(state)) active++
      if (worker.state === "starting" && state !== "starting") starting--
      worker.state = state
    }

    const removeIdle = (worker: PoolWorker) => {
      const at = idle.indexOf(worker)
      if (at >= 0) idle.splice(at, 1)
    }

    const retire = (worker: PoolWorker) => {
      clearTimer(worker)
      removeIdle(worker)
      setState(worker, "retiring")
      worker.handle.terminate()
    }

    const becomeIdle = (worker: PoolWorker) => {
      worker.job = undefined
      setState(worker, "idle")
      idle.push(worker)
      worker.handle.setRef(false)
      host.pump()
      if (worker.state === "idle" && !closing && active > options.minWorkers && options.idleTimeout !== Infinity) {
        worker.timer = setTimeout(() => {
          worker.timer = undefined
          if (worker.state === "idle" && active > options.minWorkers) retire(worker)
        }, options.idleTimeout)
        worker.timer.unref()
      }
    }

    const spawn = () => {
      const id = nextWorkerId++
      let handle: WorkerHandle
      const events = {
        onMessage: (message: FromWorker) => onMessage(worker, message),
        onExit: (exit: WorkerExit) => onExit(worker, exit)
      }
      try {
        handle = transport.spawn({ workerId: id, initializer }, events)
      } catch (cause) {
        startFailures++
        if (startFailures >= maxStartFailures) {
          breakPool(`Workers could not be started: ${cause instanceof Error ? cause.message : String(cause)}`)
        }
        return
      }
      const worker: PoolWorker = { id, handle, state: "starting", job: undefined, tasksRun: 0, timer: undefined }
      workers.set(id, worker)
      starting++
      active++
    }

    const breakPool = (message: string) => {
      if (broken) return
      broken = true
      host.breakWith(new BrokenExecutor({ message }))
      for (const worker of workers.values()) {
        clearTimer(worker)
        setState(worker, "retiring")
        worker.handle.terminate()
      }
      idle.length = 0
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
          return becomeIdle(worker)
        case "InitFailed":
          return breakPool(
            `The initializer "${options.initializer?.task.name}" failed in worker ${worker.id}: ${message.message}`
          )
        case "Done":
        case "ChunkDone":
          return onDone(worker, message.id, message._tag === "Done" ? message.exit : message.exits)
      }
    }

    const onDone = (worker: PoolWorker, id: number, exit: Parameters<Host["finish"]>[1]) => {
      const job = worker.job
      if (job === undefined || job.id !== id) return
      if (worker.state === "busy") {
        worker.tasksRun++
        host.finish(job, exit)
        if (worker.tasksRun >= options.maxTasksPerWorker) {
          worker.job = undefined
          retire(worker)
          topUp()
        } else {
          becomeIdle(worker)
        }
      } else if (worker.state === "draining") {
        // The interrupted task stopped within the grace period: the worker is healthy and may be reused.
        clearTimer(worker)
        worker.tasksRun++
        if (active < options.maxWorkers && !closing && worker.tasksRun < options.maxTasksPerWorker) {
          becomeIdle(worker)
        } else {
          worker.job = undefined
          retire(worker)
        }
      }
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
      setState(worker, "retiring")
      if (state === "starting" && !closing && !broken) {
        startFailures++
        if (startFailures >= maxStartFailures) {
          breakPool(`Workers keep dying while starting (${startFailures} in a row); last: ${describeExit(worker, exit)}`)
        }
      }
      if (state === "busy" && worker.job !== undefined) {
        const job = worker.job
        worker.job = undefined
        host.fail(
          job,
          new WorkerCrashed({
            workerId: worker.id,
            exitCode: exit.exitCode,
            signal: exit.signal,
            oom: exit.oom,
            message: `${describeExit(worker, exit)} while running task "${job.task.name}"`
          })
        )
      }
      if (workers.size === 0 && onAllExited !== undefined) onAllExited()
      topUp()
      host.pump()
    }

    const dispatch = (worker: PoolWorker, job: Job) => {
      clearTimer(worker)
      setState(worker, "busy")
      worker.job = job
      job.slot = worker
      worker.handle.setRef(true)
      try {
        worker.handle.send(
          job.chunk
            ? { _tag: "RunChunk", id: job.id, module: job.task.module, task: job.task.name, payloads: job.payload as Array<unknown> }
            : { _tag: "Run", id: job.id, module: job.task.module, task: job.task.name, payload: job.payload }
        )
      } catch (cause) {
        // The encoded payload cannot be serialized (a function, a symbol...): fail this task; the worker is fine.
        const message = cause instanceof Error ? cause.message : String(cause)
        queueMicrotask(() => {
          host.fail(job, new EncodeError({ task: job.task.name, which: "payload", message: `the payload cannot be sent to a worker: ${message}` }))
          if (worker.state === "busy" && worker.job === job) becomeIdle(worker)
        })
      }
    }

    const backend: Backend = {
      start: (job) => {
        const worker = idle.pop()
        if (worker !== undefined) {
          dispatch(worker, job)
          return true
        }
        topUp()
        return false
      },
      stop: (job) => {
        const worker = job.slot as PoolWorker | undefined
        job.slot = undefined
        if (worker === undefined || worker.job !== job || worker.state !== "busy") return
        if (options.interrupt === "terminate") {
          worker.job = undefined
          retire(worker)
          return
        }
        setState(worker, "draining")
        worker.handle.send({ _tag: "Interrupt", id: job.id })
        worker.timer = setTimeout(() => {
          worker.timer = undefined
          if (worker.state === "draining") retire(worker)
        }, options.interruptGracePeriod)
        worker.timer.unref()
      },
      close: Effect.callback<void>((resume) => {
        closing = true
        if (workers.size === 0) return resume(Effect.void)
        onAllExited = () => resume(Effect.void)
        for (const worker of workers.values()) {
          clearTimer(worker)
          if (worker.state !== "retiring") setState(worker, "retiring")
          worker.handle.terminate()
        }
      }),
      workers: () => active
    }

    yield* Effect.sync(topUp)
    return backend
  })
