/**
 * piscina 5, a fixed pool of two threads.
 */
import { Piscina } from "piscina"
import { peerContender } from "./peer.ts"
import { peerWorker, WORKERS } from "./types.ts"

export const contender = peerContender(
  () => new Piscina({ filename: peerWorker.href, minThreads: WORKERS, maxThreads: WORKERS })
)
