/**
 * An HTTP server (Node's `http`, no framework) that hashes and gzips request bodies on a worker pool through
 * `Bridge.makeRunner`, so the event loop keeps serving while the CPU work runs elsewhere. A client that disconnects
 * cancels its task, even one already running on a worker.
 *
 *   POST /                   sha256 and gzipped size of the body
 *   POST /stretch?rounds=N   sha256 applied N times; the headers go out as soon as the task runs on a worker
 *
 *   node examples/httpServer.ts              # serves on http://127.0.0.1:8080
 *   node examples/httpServer.ts --self-test  # ephemeral port, a few requests to itself, then exits (1 on failure)
 */
import { EventEmitter, once } from "node:events"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Bridge, Executor, ExecutorError } from "../src/index.ts"
import { digest, stretch } from "./tasks.ts"

// Cooperative interrupt (the default): a cancelled task stops at its next yield and its worker stays in the pool.
const runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 2 }))

/** What the server reports about its requests; the self-test listens to it. */
const events = new EventEmitter<{ cancelled: [] }>()

const readBody = (request: http.IncomingMessage) =>
  new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))))
    request.on("error", reject)
  })

/** Resolves once the `stretch` task has set its `started` cell, i.e. it is running on a worker. */
const whenStarted = (started: Int32Array): Promise<unknown> => {
  const waiting = Atomics.waitAsync(started, 0, 0)
  return waiting.async ? waiting.value : Promise.resolve(waiting.value)
}

const stretched = async (body: Uint8Array, rounds: number, response: http.ServerResponse, signal: AbortSignal) => {
  const started = new Int32Array(new SharedArrayBuffer(4))
  const result = runner.run(stretch, { body, rounds, started: started.buffer }, { signal })
  const running = whenStarted(started).then(() => {
    if (Atomics.load(started, 0) === 1 && !response.headersSent && !response.destroyed) {
      response.writeHead(200, { "content-type": "application/json", "x-task": "running" }).flushHeaders()
    }
  })
  try {
    return { sha256: await result, rounds }
  } finally {
    Atomics.notify(started, 0) // releases the waiter if the task never started
    await running
  }
}

const server = http.createServer(async (request, response) => {
  // Aborted when the client goes away before the answer: the task is cancelled on its worker.
  const disconnected = new AbortController()
  response.on("close", () => {
    if (!response.writableFinished) disconnected.abort()
  })
  try {
    const url = new URL(request.url ?? "/", "http://localhost")
    const body = await readBody(request)
    const result =
      url.pathname === "/stretch"
        ? await stretched(body, Number(url.searchParams.get("rounds") ?? 1), response, disconnected.signal)
        : await runner.run(digest, body, { signal: disconnected.signal })
    if (!response.headersSent) response.writeHead(200, { "content-type": "application/json" })
    response.end(JSON.stringify(result))
  } catch (error) {
    if (error instanceof ExecutorError.CancelledError) {
      console.log("client left: task cancelled")
      events.emit("cancelled")
      return
    }
    if (!response.headersSent) response.writeHead(500)
    response.end(String(error))
  }
})

const close = async () => {
  await new Promise((resolve) => server.close(resolve))
  await runner.dispose()
}

const selfTest = async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const post = (path: string, body: string, signal?: AbortSignal) =>
    fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body, ...(signal ? { signal } : {}) })
  for (const text of ["hello", "x".repeat(100_000)]) {
    const answer = (await (await post("/", text)).json()) as { sha256: string; gzipped: number }
    console.log(`${text.length} bytes -> sha256 ${answer.sha256.slice(0, 16)}..., gzipped to ${answer.gzipped} bytes`)
  }
  const short = (await (await post("/stretch?rounds=1000", "hello")).json()) as { sha256: string; rounds: number }
  console.log(`stretch x${short.rounds} -> ${short.sha256.slice(0, 16)}...`)

  // A job that would run for days: the client waits until the server says it is running, then leaves.
  const cancelled = once(events, "cancelled")
  const controller = new AbortController()
  const slow = await post("/stretch?rounds=1000000000000", "hello", controller.signal)
  console.log(`stretch x1e12: ${slow.headers.get("x-task")} on a worker; the client disconnects`)
  controller.abort()
  // A guard, not a wait: a server that ignored the disconnect would otherwise leave the self-test hanging.
  const guard = setTimeout(() => fail("the disconnect did not cancel the running task"), 10_000)
  await cancelled
  clearTimeout(guard)
  const stats = await runner.stats()
  console.log(`executor stats: ${stats.completed} completed, ${stats.cancelled} cancelled`)
  // Every request has been answered; drop the keep-alive sockets fetch holds (and one it opened ahead of need).
  server.closeAllConnections()
  await close()
  console.log("server closed, pool disposed")
  if (slow.headers.get("x-task") !== "running") fail("the slow task was not reported running")
  if (stats.cancelled !== 1) fail(`expected the executor to count 1 cancelled task, got ${stats.cancelled}`)
}

const fail = (reason: string) => {
  console.error(`self-test failed: ${reason}`)
  process.exit(1)
}

if (process.argv.includes("--self-test")) {
  await selfTest()
} else {
  server.listen(8080, "127.0.0.1", () => console.log("POST a body to http://127.0.0.1:8080/"))
  process.on("SIGINT", () => void close())
}
