/**
 * The child-process transport: each worker is a `child_process.fork` of `processEntry`, talking over IPC with
 * Node's advanced serialization (so typed arrays, Maps, Dates and errors cross as with structured clone; nothing is
 * transferred, everything is copied).
 *
 * Out-of-memory is recognised from V8's fatal message on the child's stderr (which is forwarded to ours) or from
 * the abort it ends with.
 *
 * @internal
 */
import { fork } from "node:child_process"
import type { InitMessage } from "./protocol.ts"
import { entryUrl, type Transport } from "./transport.ts"

export interface ProcessTransportOptions {
  readonly maxOldGenerationSizeMb: number | undefined
  readonly execArgv: ReadonlyArray<string> | undefined
  readonly env: Readonly<Record<string, string | undefined>> | undefined
  readonly cwd: string | undefined
}

const entry = entryUrl("processEntry")

const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed/

export const make = (options: ProcessTransportOptions): Transport => {
  const execArgv = [
    ...(options.execArgv ?? process.execArgv),
    ...(options.maxOldGenerationSizeMb !== undefined ? [`--max-old-space-size=${options.maxOldGenerationSizeMb}`] : [])
  ]
  return {
    kind: "processes",
    sharedMemory: false,
    spawn: (init, events) => {
      const child = fork(entry, [], {
        serialization: "advanced",
        execArgv,
        stdio: ["ignore", "inherit", "pipe", "ipc"],
        ...(options.env !== undefined ? { env: options.env as NodeJS.ProcessEnv } : {}),
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {})
      })
      let oom = false
      let error: unknown = undefined
      // The last error line the child printed: a child has no 'error' event for an uncaught exception.
      let lastError: string | undefined
      child.stderr?.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk)
        const text = chunk.toString()
        if (OUT_OF_MEMORY.test(text)) oom = true
        const lines = text.match(/^\w*Error\b.*$/gm)
        if (lines !== null) lastError = lines[lines.length - 1]
      })
      child.on("message", events.onMessage as (message: unknown) => void)
      child.on("error", (cause) => {
        error = cause
      })
      child.on("exit", (exitCode, signal) => {
        if (error === undefined && lastError !== undefined) {
          const [, name, message] = /^(\w*)[^:]*:?\s*(.*)$/.exec(lastError) ?? []
          error = Object.assign(new Error(message ?? lastError), { name: name ?? "Error" })
        }
        events.onExit({ exitCode, signal, error, oom: oom || signal === "SIGABRT" })
      })
      const initMessage: InitMessage = { _tag: "Init", init }
      child.send(initMessage)
      return {
        send: (message) => {
          child.send(message)
        },
        terminate: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
        },
        setRef: (ref) => {
          if (ref) {
            child.ref()
            child.channel?.ref()
            ;(child.stderr as { ref?: () => void } | null)?.ref?.()
          } else {
            child.unref()
            child.channel?.unref()
            ;(child.stderr as { unref?: () => void } | null)?.unref?.()
          }
        }
      }
    }
  }
}
