/**
 * The entry module of a worker thread.
 *
 * @internal
 */
import * as NodeModule from "node:module"
import { parentPort, workerData } from "node:worker_threads"

// Compiled code is cached on disk across worker boots: importing `effect` is most of a worker's start-up time.
NodeModule.enableCompileCache?.()

const { runWorker } = await import("./workerMain.ts")
const port = parentPort!
runWorker(
  {
    post: (message, transfer) => port.postMessage(message, transfer as Array<ArrayBuffer> | undefined),
    onMessage: (handler) => port.on("message", handler)
  },
  workerData
)
