/**
 * Why run CPU-bound work through the Bridge: the main event loop stays responsive. A heartbeat ticks every
 * millisecond while the same work runs twice — inline on the main thread, then on a worker pool through
 * `Bridge.makeRunner` — and the longest gap between two ticks measures how long the event loop was held up.
 */
import { Bridge, Executor } from "../src/index.ts"
import { fib, fibSync } from "./tasks.ts"

const WORK = [30, 30, 30, 30]

const measure = async (label: string, work: () => Promise<unknown>) => {
  let ticks = 0
  let last = performance.now()
  let longestGap = 0
  const heartbeat = setInterval(() => {
    ticks++
    const now = performance.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
  }, 1)
  const started = performance.now()
  await work()
  const millis = performance.now() - started
  const ticked = ticks
  // Let the heartbeat take the tick that a blocked event loop held back.
  await new Promise((resolve) => setTimeout(resolve, 20))
  clearInterval(heartbeat)
  console.log(
    `${label}: ${millis.toFixed(0)} ms of work, ${ticked} heartbeat ticks, ` +
      `longest heartbeat gap ${longestGap.toFixed(0)} ms`
  )
}

await using runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 2 }))
await runner.run(fib, 1) // boot the workers before measuring

await measure("inline  ", async () => WORK.map(fibSync))
await measure("on pool ", () => Promise.all(WORK.map((n) => runner.run(fib, n))))
