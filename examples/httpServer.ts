/**
 * An HTTP server (Node's `http`, no framework) that hashes and gzips request bodies on a worker pool through
 * `Bridge.makeRunner`, so the event loop keeps serving while the CPU work runs elsewhere. A client that disconnects
 * cancels its task.
 *
 *   node examples/httpServer.ts              # serves on http://127.0.0.1:8080
 *   node examples/httpServer.ts --self-test  # ephemeral port, a few requests to itself, then exits
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Bridge, Executor, ExecutorError } from "../src/index.ts"
import { digest } from "./tasks.ts"

const runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 2, interrupt: "terminate" }))

const readBody = (request: http.IncomingMessage) =>
  new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))))
    request.on("error", reject)
  })

const server = http.createServer(async (request, response) => {
  // Aborted when the client goes away before the answer: the task is cancelled on its worker.
  const disconnected = new AbortController()
  response.on("close", () => {
    if (!response.writableFinished) disconnected.abort()
  })
  try {
    const body = await readBody(request)
    const result = await runner.run(digest, body, { signal: disconnected.signal })
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result))
  } catch (error) {
    if (error instanceof ExecutorError.CancelledError) return console.log("client left: task cancelled")
    response.writeHead(500).end(String(error))
  }
})

const close = async () => {
  await new Promise((resolve) => server.close(resolve))
  await runner.dispose()
}

const selfTest = async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const post = (body: string, signal?: AbortSignal) =>
    fetch(`http://127.0.0.1:${port}/`, { method: "POST", body, ...(signal ? { signal } : {}) })
  for (const text of ["hello", "x".repeat(100_000)]) {
    const answer = (await (await post(text)).json()) as { sha256: string; gzipped: number }
    console.log(`${text.length} bytes -> sha256 ${answer.sha256.slice(0, 16)}..., gzipped to ${answer.gzipped} bytes`)
  }
  const controller = new AbortController()
  const abandoned = post("y".repeat(50_000_000), controller.signal).catch(() => "aborted by the client")
  setTimeout(() => controller.abort(), 50)
  console.log(await abandoned)
  await close()
  console.log("server closed, pool disposed")
}

if (process.argv.includes("--self-test")) {
  await selfTest()
} else {
  server.listen(8080, "127.0.0.1", () => console.log("POST a body to http://127.0.0.1:8080/"))
  process.on("SIGINT", () => void close())
}
