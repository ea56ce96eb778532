/**
 * The entry module of a child-process worker.
 *
 * A child must never outlive its parent: when the IPC channel closes (the parent exited, even by SIGKILL) the child
 * exits; and because a child stuck in a synchronous loop cannot see that event, a tiny watchdog thread checks the
 * parent's pid once a second and kills the child when the parent is gone.
 *
 * Asked to stop (`Stop`), or left by its parent, a child exits only once what it wrote to stdout and stderr has
 * left it: writes to a pipe are asynchronous, and `process.exit` (or a kill) would drop what is still queued.
 *
 * @internal
 */
import { Worker } from "node:worker_threads"
import * as ModuleCache from "./moduleCache.ts"
import type { FromWorker, InitMessage, StopMessage, ToWorker } from "../wire/protocol.ts"

ModuleCache.install()
// The runtime loads while the parent's `Init` message is on its way.
const workerMain = import("./workerMain.ts")

let exiting = false
/** Exits once stdout and stderr have written out everything before this call (a write's callback comes after). */
const exitWhenFlushed = () => {
  if (exiting) return
  exiting = true
  let pending = 2
  const flushed = () => {
    if (--pending === 0) process.exit(0)
  }
  process.stdout.write("", flushed)
  process.stderr.write("", flushed)
}

process.on("disconnect", exitWhenFlushed)
// The parent may have gone while this module was still loading, before the listener above was there.
if (!process.connected) exitWhenFlushed()

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

process.on("message", async (message: ToWorker | InitMessage | StopMessage) => {
  if (message._tag === "Stop") return exitWhenFlushed()
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
