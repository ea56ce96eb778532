/**
 * The worker_threads transport: each worker is a `Worker` running `threadEntry`. Messages travel by structured
 * clone over the worker's port; ArrayBuffers listed for transfer are moved, not copied.
 *
 * @internal
 */
import { Worker } from "node:worker_threads"
import type { FromWorker } from "../wire/protocol.ts"
import { entryUrl, type ResourceLimits, type Transport } from "./transport.ts"

export interface ThreadOptions {
  readonly name: string
  readonly resourceLimits: ResourceLimits | undefined
}

const entry = entryUrl("threadEntry")

const limitsOf = (limits: ThreadOptions["resourceLimits"]) => {
  if (limits === undefined) return undefined
  const defined: Record<string, number> = {}
  for (const [key, value] of Object.entries(limits)) if (value !== undefined) defined[key] = value
  return defined
}

export const make = (options: ThreadOptions): Transport => {
  const resourceLimits = limitsOf(options.resourceLimits)
  return {
    kind: "workerThreads",
    sharedMemory: true,
    spawn: (init, events) => {
      const worker = new Worker(entry, {
        workerData: init,
        name: `${options.name}-${init.workerId}`,
        ...(resourceLimits !== undefined ? { resourceLimits } : {})
      })
      let error: unknown = undefined
      worker.on("message", (message: FromWorker) => events.onMessage(message))
      worker.on("error", (cause) => {
        error = cause
      })
      worker.on("exit", (exitCode) => {
        const oom = (error as { code?: unknown } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY"
        events.onExit({ exitCode, signal: null, error, oom })
      })
      return {
        send: (message, transfer) =>
          transfer === undefined ? worker.postMessage(message) : worker.postMessage(message, transfer),
        terminate: () => {
          void worker.terminate()
        },
        // A terminated thread's stdout and stderr still reach this process (they travel over its port): terminating
        // loses nothing it wrote.
        stop: () => {
          void worker.terminate()
        },
        setRef: (ref) => (ref ? worker.ref() : worker.unref())
      }
    }
  }
}
