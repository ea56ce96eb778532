/**
 * What differs between worker threads and child processes: how a worker is spawned, how a message reaches it, how
 * it is killed and how its death is observed. Everything else (the pool) is shared.
 *
 * @internal
 */
import type { FromWorker, ToWorker, WorkerInit } from "../wire/protocol.ts"

/** Per-worker memory limits, in megabytes (worker_threads' `resourceLimits`). */
export interface ResourceLimits {
  readonly maxOldGenerationSizeMb?: number | undefined
  readonly maxYoungGenerationSizeMb?: number | undefined
  readonly codeRangeSizeMb?: number | undefined
  readonly stackSizeMb?: number | undefined
}

/** How a worker ended. */
export interface WorkerExit {
  readonly exitCode: number | null
  readonly signal: string | null
  /** The error that killed it, when one was reported (an uncaught exception, out of memory). */
  readonly error: unknown
  /** True when it died of running out of memory. */
  readonly oom: boolean
}

export interface WorkerEvents {
  readonly onMessage: (message: FromWorker) => void
  readonly onExit: (exit: WorkerExit) => void
}

export interface WorkerHandle {
  /** Sends a message; throws synchronously if the message cannot be serialized. */
  readonly send: (message: ToWorker, transfer?: ReadonlyArray<ArrayBuffer>) => void
  /** Kills the worker now (a stuck synchronous loop included). `onExit` follows. */
  readonly terminate: () => void
  /**
   * Stops an idle worker so that nothing it wrote is lost: it is asked to exit on its own, once its output has left
   * it, and killed only if it has not exited within a grace period. `onExit` follows.
   */
  readonly stop: () => void
  /** Whether the worker keeps the parent process alive: only while it has work. */
  readonly setRef: (ref: boolean) => void
}

export interface Transport {
  readonly kind: "workerThreads" | "processes"
  /** Whether workers can share memory with the pool (claim cells for pre-queued jobs, see `claims.ts`). */
  readonly sharedMemory: boolean
  /** Starts a worker. May throw synchronously (bad options); the pool counts that as a failed start. */
  readonly spawn: (init: WorkerInit, events: WorkerEvents) => WorkerHandle
}

/** The worker entry module next to this file, as `.ts` when running from source and `.js` from `dist/`. */
export const entryUrl = (name: string): URL => {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js"
  return new URL(`./${name}${extension}`, import.meta.url)
}
