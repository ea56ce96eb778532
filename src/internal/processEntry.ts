/**
 * The entry module of a child-process worker.
 *
 * A child must never outlive its parent: when the IPC channel closes (the parent exited, even by SIGKILL) the child
 * exits; and because a child stuck in a synchronous loop cannot see that event, a tiny watchdog thread checks the
 * parent's pid once a second and kills the child when the parent is gone.
 *
 * @internal
 */
import { Worker } from "node:worker_threads"
import * as ModuleCache from "./moduleCache.ts"
import type { FromWorker, InitMessage, ToWorker } from "./protocol.ts"

ModuleCache.install()
// The runtime loads while the parent's `Init` message is on its way.
const workerMain = import("./workerMain.ts")

process.on("disconnect", () => process.exit(0))

/**
 * Started once the runtime has loaded, so that its thread does not boot while the child does (on a machine with
 * few cores, it competes for them): until then the child runs no task that could loop.
 */
const startWatchdog = () => {
  const parentPid = process.ppid
  const watchdog = new Worker(
    `const { parentPid } = require("node:worker_threads").workerData
  setInterval(() => { if (process.ppid !== parentPid) process.kill(process.pid, "SIGKILL") }, 1000)`,
    { eval: true, workerData: { parentPid } }
  )
  watchdog.unref()
}

const send = (message: FromWorker) => {
  process.send!(message)
}

const handlers: Array<(message: ToWorker) => void> = []
let started = false

process.on("message", async (message: ToWorker | InitMessage) => {
  if (message._tag === "Init") {
    if (started) return
    started = true
    const { runWorker } = await workerMain
    runWorker({ post: send, onMessage: (handler) => handlers.push(handler) }, message.init)
    startWatchdog()
    return
  }
  for (const handler of handlers) handler(message)
})
