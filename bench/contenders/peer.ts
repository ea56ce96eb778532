/**
 * The peers (piscina, tinypool) share one API shape: `run(data, { signal })` and `destroy()`. Both run
 * `workers/peerWorker.mjs` on a fixed pool of two threads.
 */
import { type Contender, item, mapWindow, noopWindow, settle, withConcurrency, WORKERS } from "./types.ts"

export interface PeerPool {
  readonly run: (data: unknown, options?: { readonly signal?: AbortSignal }) => Promise<unknown>
  readonly destroy: () => Promise<unknown>
}

export const peerContender = (make: () => PeerPool): Contender => {
  const warm = (pool: PeerPool) => withConcurrency(1000, 64, (i) => pool.run({ kind: "noop", value: i }))
  return {
    noop: async (tasks, inFlight) => {
      const pool = make()
      await warm(pool)
      const ended = noopWindow()
      await withConcurrency(tasks, inFlight, (i) => pool.run({ kind: "noop", value: i }))
      const result = ended(tasks)
      await pool.destroy()
      return result
    },
    burst: async (tasks) => {
      const pool = make()
      await warm(pool)
      const rssBefore = process.memoryUsage().rss
      const started = performance.now()
      const pending: Array<Promise<unknown>> = []
      for (let i = 0; i < tasks; i++) pending.push(pool.run({ kind: "noop", value: i }))
      const submitMs = performance.now() - started
      const rss = process.memoryUsage().rss
      await Promise.all(pending)
      const total = performance.now() - started
      await pool.destroy()
      return {
        tasksPerSecond: tasks / (total / 1000),
        submitMs,
        rssBytesPerTask: (rss - rssBefore) / tasks,
        rssMb: rss / 1024 / 1024
      }
    },
    cpu: async (count, n) => {
      const pool = make()
      await warm(pool)
      const started = performance.now()
      await Promise.all(Array.from({ length: count }, () => pool.run({ kind: "fib", value: n })))
      const parallelMs = performance.now() - started
      await pool.destroy()
      return { parallelMs }
    },
    startup: async () => {
      const started = performance.now()
      const pool = make()
      await pool.run({ kind: "noop", value: 1 })
      const firstResultMs = performance.now() - started
      await pool.destroy()
      return { firstResultMs }
    },
    map: async (items, chunk) => {
      const pool = make()
      await warm(pool)
      const ended = mapWindow()
      const chunks = Math.ceil(items / chunk)
      await withConcurrency(chunks, 4 * WORKERS, (c) =>
        pool.run({ kind: "batch", values: Array.from({ length: Math.min(chunk, items - c * chunk) }, (_, i) => i) })
      )
      const result = ended(items)
      await pool.destroy()
      return result
    },
    mapObjects: async (items, chunk) => {
      const pool = make()
      await warm(pool)
      const ended = mapWindow()
      const chunks = Math.ceil(items / chunk)
      await withConcurrency(chunks, 4 * WORKERS, (c) =>
        pool.run({
          kind: "batchObjects",
          values: Array.from({ length: Math.min(chunk, items - c * chunk) }, (_, i) => item(c * chunk + i))
        })
      )
      const result = ended(items)
      await pool.destroy()
      return result
    },
    cancel: async () => {
      const pool = make()
      await warm(pool)
      const controllers = Array.from({ length: WORKERS }, () => new AbortController())
      const spinning = controllers.map((c, i) =>
        pool.run({ kind: "spin", value: i }, { signal: c.signal }).catch(() => undefined)
      )
      const next = pool.run({ kind: "stamp", value: 0 }) as Promise<number>
      await settle()
      const interruptedAt = performance.timeOrigin + performance.now()
      controllers[0].abort()
      const startedAt = await next
      controllers[1].abort()
      await Promise.all(spinning)
      await pool.destroy()
      return { nextStartMs: startedAt - interruptedAt }
    }
  }
}
