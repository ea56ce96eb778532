/**
 * tinypool 2, a fixed pool of two threads.
 */
import { Tinypool } from "tinypool"
import { peerContender } from "./peer.ts"
import { peerWorker, WORKERS } from "./types.ts"

export const contender = peerContender(
  () => new Tinypool({ filename: peerWorker.href, minThreads: WORKERS, maxThreads: WORKERS })
)
