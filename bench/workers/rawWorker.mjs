// The raw worker_threads baseline: one message in, one message out, nothing else.
import { parentPort } from "node:worker_threads"
import run from "./peerWorker.mjs"

parentPort.on("message", (message) => {
  if (Array.isArray(message)) parentPort.postMessage(message.map((m) => ({ id: m.id, value: run(m) })))
  else parentPort.postMessage({ id: message.id, value: run(message) })
})
