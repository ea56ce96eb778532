/**
 * tinypool 2, a fixed pool of two threads, or of two child processes (`runtime: "child_process"`).
 */
import { Tinypool } from "tinypool"
import { peerContender } from "./peer.ts"
import { peerWorker, WORKERS } from "./types.ts"

export const contender = peerContender(
  () => new Tinypool({ filename: peerWorker.href, minThreads: WORKERS, maxThreads: WORKERS })
)

export const contenderProcesses = peerContender(
  () => new Tinypool({ filename: peerWorker.href, minThreads: WORKERS, maxThreads: WORKERS, runtime: "child_process" })
)
