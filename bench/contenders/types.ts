/**
 * What every contender implements: one function per scenario, each building its own pool in a fresh process.
 */
export interface NoopResult {
  readonly tasksPerSecond: number
}
export interface BurstResult {
  readonly tasksPerSecond: number
  readonly submitMs: number
  readonly rssBytesPerTask: number
  readonly rssMb: number
}
export interface CpuResult {
  readonly parallelMs: number
}
export interface StartupResult {
  readonly firstResultMs: number
}
export interface MapResult {
  readonly itemsPerSecond: number
}
export interface CancelResult {
  readonly nextStartMs: number
}

export interface Contender {
  readonly noop: (tasks: number, inFlight: number) => Promise<NoopResult>
  readonly burst: (tasks: number) => Promise<BurstResult>
  readonly cpu: (count: number, n: number) => Promise<CpuResult>
  readonly startup: () => Promise<StartupResult>
  readonly map?: (items: number, chunk: number) => Promise<MapResult>
  readonly cancel?: () => Promise<CancelResult>
}

export const WORKERS = 2

export const peerWorker = new URL("../workers/peerWorker.mjs", import.meta.url)

/** Waits until the CPU-bound tasks have surely started spinning. */
export const settle = (millis = 150) => new Promise((resolve) => setTimeout(resolve, millis))

/** Runs `task(i)` for i < total with at most `inFlight` pending at once. */
export const withConcurrency = async (total: number, inFlight: number, task: (i: number) => Promise<unknown>) => {
  let next = 0
  const lane = async () => {
    while (next < total) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane))
}
