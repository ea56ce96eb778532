/**
 * The entry module of a worker thread.
 *
 * @internal
 */
import { parentPort, workerData } from "node:worker_threads"
import * as ModuleCache from "./moduleCache.ts"

// Importing `effect` is most of a worker's start-up time: modules are served from a cache (and compiled code from
// Node's compile cache) across worker boots.
ModuleCache.install()

const { runWorker } = await import("./workerMain.ts")
const port = parentPort!
runWorker(
  {
    post: (message, transfer) => port.postMessage(message, transfer as Array<ArrayBuffer> | undefined),
    onMessage: (handler) => port.on("message", handler)
  },
  workerData
)
