/**
 * The raw worker_threads baselines: no pool library, just `postMessage` and a message handler per worker.
 * `raw` keeps one task in flight per worker (what every pool does); `rawPipelined` keeps many in flight per worker
 * (the ceiling for a message-per-task design), and batches for `map`.
 */
import { Worker } from "node:worker_threads"
import { type Contender, mapWindow, noopWindow, settle, WORKERS } from "./types.ts"

const rawWorker = new URL("../workers/rawWorker.mjs", import.meta.url)

interface Message {
  readonly kind: string
  readonly value?: number
  readonly values?: ReadonlyArray<number>
}

interface Waiting {
  readonly message: Message
  readonly resolve: (value: unknown) => void
}

/**
 * Two workers; `pump` sends each waiting message to the least-loaded worker with room under `perWorker`.
 * The waiting list is an array with a moving head: `Array#shift` on 100k entries is quadratic and would make the
 * baseline, not the pools, the slow one in the burst scenario.
 */
const makePool = async (perWorker: number) => {
  const workers: Array<Worker> = []
  const inFlight = new Array<number>(WORKERS).fill(0)
  let waiting: Array<Waiting | undefined> = []
  let head = 0
  const pending = new Map<number, (value: unknown) => void>()
  let nextId = 0
  const pump = () => {
    while (head < waiting.length) {
      let best = -1
      for (let w = 0; w < WORKERS; w++)
        if (inFlight[w] < perWorker && (best < 0 || inFlight[w] < inFlight[best])) best = w
      if (best < 0) return
      const { message, resolve } = waiting[head]!
      waiting[head++] = undefined
      if (head === waiting.length) {
        waiting = []
        head = 0
      }
      const id = nextId++
      pending.set(id, resolve)
      inFlight[best]++
      workers[best].postMessage({ ...message, id })
    }
  }
  const start = (w: number) => {
    const worker = new Worker(rawWorker)
    worker.on("message", (reply: { id: number; value: unknown }) => {
      inFlight[w]--
      const resolve = pending.get(reply.id)!
      pending.delete(reply.id)
      resolve(reply.value)
      pump()
    })
    workers[w] = worker
    return new Promise((resolve) => worker.once("online", resolve))
  }
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => start(w)))
  const run = (message: Message) =>
    new Promise<unknown>((resolve) => {
      waiting.push({ message, resolve })
      pump()
    })
  /** What a pool does to cancel a task stuck in a loop: terminate its worker and start a fresh one in its place. */
  const replace = (w: number) => {
    void workers[w].terminate()
    inFlight[w] = 0
    void start(w)
    pump()
  }
  return { run, replace, close: () => Promise.all(workers.map((worker) => worker.terminate())) }
}

const inFlightLoop = async (run: (m: Message) => Promise<unknown>, total: number, inFlight: number) => {
  let next = 0
  const lane = async () => {
    while (next < total) await run({ kind: "noop", value: next++ })
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
}

const rawContender = (perWorker: number): Contender => ({
  noop: async (tasks, inFlight) => {
    const pool = await makePool(perWorker)
    await inFlightLoop(pool.run, 1000, inFlight)
    const ended = noopWindow()
    await inFlightLoop(pool.run, tasks, inFlight)
    const result = ended(tasks)
    await pool.close()
    return result
  },
  burst: async (tasks) => {
    const pool = await makePool(perWorker)
    await inFlightLoop(pool.run, 1000, 64)
    const rssBefore = process.memoryUsage().rss
    const started = performance.now()
    const all: Array<Promise<unknown>> = []
    for (let i = 0; i < tasks; i++) all.push(pool.run({ kind: "noop", value: i }))
    const submitMs = performance.now() - started
    const rss = process.memoryUsage().rss
    await Promise.all(all)
    const total = performance.now() - started
    await pool.close()
    return {
      tasksPerSecond: tasks / (total / 1000),
      submitMs,
      rssBytesPerTask: (rss - rssBefore) / tasks,
      rssMb: rss / 1024 / 1024
    }
  },
  cpu: async (count, n) => {
    const pool = await makePool(perWorker)
    await inFlightLoop(pool.run, 1000, 64)
    const started = performance.now()
    await Promise.all(Array.from({ length: count }, () => pool.run({ kind: "fib", value: n })))
    const parallelMs = performance.now() - started
    await pool.close()
    return { parallelMs }
  },
  startup: async () => {
    const started = performance.now()
    const pool = await makePool(perWorker)
    await pool.run({ kind: "noop", value: 1 })
    const firstResultMs = performance.now() - started
    await pool.close()
    return { firstResultMs }
  },
  map: async (items, chunk) => {
    const pool = await makePool(perWorker)
    await inFlightLoop(pool.run, 1000, 64)
    const ended = mapWindow()
    const chunks = Math.ceil(items / chunk)
    const all: Array<Promise<unknown>> = []
    for (let c = 0; c < chunks; c++) {
      const values = Array.from({ length: Math.min(chunk, items - c * chunk) }, (_, i) => c * chunk + i)
      all.push(pool.run({ kind: "batch", values }))
    }
    await Promise.all(all)
    const result = ended(items)
    await pool.close()
    return result
  },
  cancel: async () => {
    const pool = await makePool(perWorker)
    await inFlightLoop(pool.run, 1000, 64)
    void pool.run({ kind: "spin", value: 0 })
    void pool.run({ kind: "spin", value: 1 })
    const next = pool.run({ kind: "stamp", value: 0 }) as Promise<number>
    await settle()
    const interruptedAt = performance.timeOrigin + performance.now()
    pool.replace(0)
    const startedAt = await next
    await pool.close()
    return { nextStartMs: startedAt - interruptedAt }
  }
})

export const raw = rawContender(1)
export const rawPipelined = rawContender(64)
