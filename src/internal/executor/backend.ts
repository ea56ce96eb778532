/**
 * The backend SPI: the one seam between the executor core and whatever runs its jobs.
 *
 * The core (`core.ts`) owns the FIFO queue, the futures, shutdown and statistics, and never knows how a job runs. A
 * backend runs jobs and answers the core's questions about capacity (`Backend`); it reports back through the `Host`
 * the core gives it when it is made. Three backends implement it, each in its own folder and none importing another:
 *
 * - `executor/fiberBackend.ts` — a fiber per job in this process (`layerFibers`);
 * - `pool/workerPool.ts` — a pool of worker threads or child processes (`layerWorkerThreads`, `layerProcesses`);
 * - `cluster/client.ts` — a call per job to a runner of the cluster (`Cluster.layer`).
 *
 * This module holds types only: it imports nothing at run time, so any backend can depend on it without a cycle.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type { Job } from "../job/job.ts"
import type { BrokenExecutor } from "../../ExecutorError.ts"
import type { ChunkResult, WireExit } from "../wire/protocol.ts"

export type { Job } from "../job/job.ts"

/** How the core sees a backend: it starts jobs when told there is room, and stops the ones it is asked to. */
export interface Backend {
  /** Starts `job` now if there is room (the job is then running), else returns false and the job stays queued. */
  readonly start: (job: Job) => boolean
  /** The running `job` was cancelled: stop it by the interrupt policy, and free its slot at once. */
  readonly stop: (job: Job) => void
  /** Whether a running job has actually started (false while it waits on a worker behind another one). */
  readonly started: (job: Job) => boolean
  /**
   * Takes back a running job that has not started (it waits on a worker behind another one), atomically: true if it
   * will never run, false if it has started.
   */
  readonly cancelPending: (job: Job) => boolean
  /** How many more jobs could start now, or as soon as a worker being started is ready, without waiting. */
  readonly freeSlots: () => number
  /** How many running jobs wait on a worker without having started: they count as queued. */
  readonly waiting: () => number
  /** Releases every worker. Called once, when no job is queued or running, or when shutting down by force. */
  readonly close: Effect.Effect<void>
  readonly workers: () => number
  /** Booted spare workers ready to take a lost worker's place. */
  readonly spares: () => number
  /** Workers (or fiber slots) running a task now. */
  readonly busy: () => number
}

/** How a backend talks to the core. */
export interface Host {
  /** A running job ended with this outcome (ignored if it was cancelled meanwhile). */
  readonly finish: (job: Job, exit: WireExit | ChunkResult) => void
  /** A running job's worker died or the job could not be run: fail it with an executor error. */
  readonly fail: (job: Job, error: unknown) => void
  /** There may be room for queued jobs now. */
  readonly pump: () => void
  /** Jobs waiting for a worker (the backend uses it to decide whether to spawn). */
  readonly queued: () => number
  /** The id of the job that runs next from the queue (the oldest waiting), if any. */
  readonly nextQueuedId: () => number | undefined
  /** The executor cannot run tasks any more: fail everything pending with `error`. */
  readonly breakWith: (error: BrokenExecutor) => void
  /**
   * A task that had settled left a promise rejection unhandled, on worker `workerId`; the worker carried on. Logged
   * (annotated with the task and the worker) and counted.
   */
  readonly unhandledRejection: (task: string, workerId: number, reason: string) => void
  /**
   * A job handed to a worker never started there (it was queued behind a task whose worker is being stopped): put it
   * back at the head of the queue, PENDING again, to run elsewhere.
   */
  readonly requeue: (job: Job) => void
}
