/**
 * What every contender implements: one function per scenario, each building its own pool in a fresh process.
 */
export interface NoopResult {
  readonly tasksPerSecond: number
  /** CPU the caller's own thread spent per task during the window, µs (`process.threadCpuUsage`). */
  readonly callerUsPerTask: number
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
  /** CPU the caller's own thread spent per item during the window (`process.threadCpuUsage`): load disturbs it least. */
  readonly callerNsPerItem: number
}
/** A long map over a lazy input: throughput, and what it held while running. */
export interface MapLargeResult {
  readonly itemsPerSecond: number
  readonly callerNsPerItem: number
  /** RSS after warming up, half-way and three quarters through the window, the highest sampled (every 100 ms), at the end. */
  readonly rssStartMb: number
  readonly rssHalfMb: number
  readonly rssThreeQuartersMb: number
  readonly rssPeakMb: number
  readonly rssEndMb: number
  /** The most chunks submitted and not yet consumed at any sample (the executor's queued + busy). */
  readonly maxChunksInFlight: number
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
  /** The no-op window from a Promise caller through our Bridge runner (peers: their `noop`, a Promise caller). */
  readonly noopBridge?: (tasks: number, inFlight: number) => Promise<NoopResult>
  /** The no-op window with one `ManagedRuntime.runPromise` per task (peers: their `noop`). */
  readonly noopManagedRuntime?: (tasks: number, inFlight: number) => Promise<NoopResult>
  /** map over small records `{ name, x, y }`, chunks of `chunk`. */
  readonly mapObjects?: (items: number, chunk: number) => Promise<MapResult>
  /** map over a lazy `Stream` of the numbers the `map` scenario uses. */
  readonly mapStream?: (items: number, chunk: number) => Promise<MapResult>
  readonly mapLarge?: (items: number, chunk: number) => Promise<MapLargeResult>
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

/** The records the object scenarios map over: a string and two numbers. */
export const item = (i: number) => ({ name: `item-${i}`, x: i, y: i / 2 })

/** Starts a map window: call the result with the item count when it ends. */
export const mapWindow = () => {
  const started = performance.now()
  const cpu = process.threadCpuUsage()
  return (items: number): MapResult => {
    const used = process.threadCpuUsage(cpu)
    return {
      itemsPerSecond: items / ((performance.now() - started) / 1000),
      callerNsPerItem: ((used.user + used.system) * 1000) / items
    }
  }
}

/** Starts a no-op window: call the result with the task count when it ends. */
export const noopWindow = () => {
  const started = performance.now()
  const cpu = process.threadCpuUsage()
  return (tasks: number): NoopResult => {
    const used = process.threadCpuUsage(cpu)
    return {
      tasksPerSecond: tasks / ((performance.now() - started) / 1000),
      callerUsPerTask: (used.user + used.system) / tasks
    }
  }
}
