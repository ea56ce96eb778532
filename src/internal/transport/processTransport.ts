/**
 * The child-process transport: each worker is a `child_process.fork` of `processEntry`, talking over IPC with
 * Node's advanced serialization (so typed arrays, Maps, Dates and errors cross as with structured clone; nothing is
 * transferred, everything is copied).
 *
 * Out-of-memory is recognised from V8's fatal message on the child's stderr (which is forwarded to ours), and only
 * from it: the abort that follows it is also what `process.abort()` or a native addon's failed assertion ends with.
 *
 * @internal
 */
import { fork } from "node:child_process"
import * as fs from "node:fs"
import { InvalidOptions } from "../../ExecutorError.ts"
import type { InitMessage, StopMessage } from "../wire/protocol.ts"
import { entryUrl, type ResourceLimits, type Transport } from "./transport.ts"

export interface ProcessTransportOptions {
  /** Each child gets `<name>-<workerId>` as its argument, so `ps` tells the pool's children apart. */
  readonly name: string
  readonly resourceLimits: ResourceLimits | undefined
  /** Appended to this process's `process.execArgv`. */
  readonly execArgv: ReadonlyArray<string> | undefined
  readonly env: Readonly<Record<string, string>> | undefined
  readonly cwd: string | undefined
}

const entry = entryUrl("processEntry")

/** V8's fatal messages ("...JavaScript heap out of memory", "Fatal JavaScript out of memory: ..."). */
const OUT_OF_MEMORY = /out of memory|Reached heap limit|Allocation failed/i

/** Milliseconds from a child's exit to reporting its death if its pipes have not closed by then (see `spawn`). */
const CLOSE_AFTER_EXIT = 1000

/**
 * Milliseconds a child asked to stop (`stop`) has to exit on its own, its stdout and stderr flushed, before it is
 * killed: a healthy child takes a few milliseconds, even with a megabyte still to write; one that ignores the request
 * (stuck in an `exit` handler, say) holds up the pool's close no longer than this.
 */
const STOP_GRACE = 2000

/**
 * The part of a worker thread's stack Node keeps for itself (`kStackBufferSize` in `node_worker.cc`): a thread with
 * `stackSizeMb` lets JavaScript use that much less. Subtracting it here gives a child the same depth of recursion
 * as a worker thread with the same `stackSizeMb`.
 */
const STACK_BUFFER_KB = 192
/** The smallest `stackSizeMb` a child takes: what is left for JavaScript must be more than nothing. */
const MIN_STACK_KB = 256

/** The soft limit of the main thread's stack that children inherit (`ulimit -s`), in KB; undefined if unknown. */
const osStackLimitKb = (): number | undefined => {
  try {
    const line = /^Max stack size\s+(\S+)/m.exec(fs.readFileSync("/proc/self/limits", "utf8"))
    return line === null || line[1] === "unlimited" ? undefined : Number(line[1]) / 1024
  } catch {
    return undefined
  }
}

/**
 * The V8 flags that give a child process the limits a worker thread gets from `resourceLimits`:
 * - `maxOldGenerationSizeMb` → `--max-old-space-size` (whole megabytes, rounded up: V8 rejects fractions);
 * - `maxYoungGenerationSizeMb` → `--max-semi-space-size` of a third of it, rounded up: V8's young generation is
 *   three semi-spaces (two for the scavenger, one for new large objects) and a worker's young-generation limit is
 *   divided the same way (both then round the semi-space up to a power of two);
 * - `stackSizeMb` → `--stack-size` in KB, less the 192 KB Node keeps on a worker's stack; it must fit in the OS's
 *   stack for the main thread, or a deep recursion would crash the child instead of throwing `RangeError`;
 * - `codeRangeSizeMb` has no flag: it is refused rather than ignored.
 *
 * Throws `InvalidOptions` for a limit a child cannot take.
 */
export const limitFlags = (limits: ResourceLimits | undefined, stackLimitKb = osStackLimitKb()): Array<string> => {
  if (limits === undefined) return []
  const flags: Array<string> = []
  if (limits.codeRangeSizeMb !== undefined) {
    throw new InvalidOptions({
      option: "resourceLimits.codeRangeSizeMb",
      expected: "unset for child processes (V8 has no flag for it; worker threads take it)",
      received: String(limits.codeRangeSizeMb)
    })
  }
  if (limits.maxOldGenerationSizeMb !== undefined) {
    flags.push(`--max-old-space-size=${Math.ceil(limits.maxOldGenerationSizeMb)}`)
  }
  if (limits.maxYoungGenerationSizeMb !== undefined) {
    flags.push(`--max-semi-space-size=${Math.ceil(limits.maxYoungGenerationSizeMb / 3)}`)
  }
  if (limits.stackSizeMb !== undefined) {
    const kb = Math.round(limits.stackSizeMb * 1024)
    if (kb < MIN_STACK_KB || (stackLimitKb !== undefined && kb > stackLimitKb)) {
      const most = stackLimitKb === undefined ? "" : ` and at most ${stackLimitKb / 1024} (the OS's stack limit)`
      throw new InvalidOptions({
        option: "resourceLimits.stackSizeMb",
        expected: `at least ${MIN_STACK_KB / 1024}${most} megabytes for a child process`,
        received: String(limits.stackSizeMb)
      })
    }
    flags.push(`--stack-size=${kb - STACK_BUFFER_KB}`)
  }
  return flags
}

export const make = (options: ProcessTransportOptions): Transport => {
  // As `child_process.fork` does by default, children inherit this process's Node flags (loaders such as
  // `--import tsx`, `--conditions`...), which a module of tasks may need to be imported at all. The options come
  // after them, so where a flag is given twice (`--max-old-space-size`, `--stack-size`...) the option's wins.
  const execArgv = [...process.execArgv, ...(options.execArgv ?? []), ...limitFlags(options.resourceLimits)]
  return {
    kind: "processes",
    sharedMemory: false,
    spawn: (init, events) => {
      const child = fork(entry, [`${options.name}-${init.workerId}`], {
        serialization: "advanced",
        execArgv,
        stdio: ["ignore", "inherit", "pipe", "ipc"],
        ...(options.env !== undefined ? { env: options.env } : {}),
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {})
      })
      let oom = false
      let error: unknown = undefined
      // The last error line the child printed: a child has no 'error' event for an uncaught exception.
      let lastError: string | undefined
      /** The end of the previous chunk, so that a message cut between two chunks is still recognised. */
      let previous = ""
      child.stderr?.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk)
        const text = chunk.toString()
        if (OUT_OF_MEMORY.test(previous + text)) oom = true
        previous = text.slice(-64)
        const lines = text.match(/^\w*Error\b.*$/gm)
        if (lines !== null) lastError = lines[lines.length - 1]
      })
      child.on("message", events.onMessage as (message: unknown) => void)
      child.on("error", (cause) => {
        error = cause
      })
      // The child's death is reported on 'close' (it has exited and its stderr and IPC pipes are closed), not on
      // 'exit': the last lines it printed (the error that killed it) may still be in the pipe at 'exit', and a pipe
      // still open would outlive the layer's scope. A grandchild that inherited stderr could hold the pipe open, so
      // after `CLOSE_AFTER_EXIT` the pipe is destroyed and the death reported anyway.
      let exited: { readonly exitCode: number | null; readonly signal: NodeJS.Signals | null } | undefined
      let closing: ReturnType<typeof setTimeout> | undefined
      /** The kill that follows a `stop` the child has not obeyed within `STOP_GRACE`. */
      let stopping: ReturnType<typeof setTimeout> | undefined
      let reported = false
      const kill = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      }
      const report = () => {
        if (reported || exited === undefined) return
        reported = true
        if (closing !== undefined) clearTimeout(closing)
        if (error === undefined && lastError !== undefined) {
          const [, name, message] = /^(\w*)[^:]*:?\s*(.*)$/.exec(lastError) ?? []
          error = Object.assign(new Error(message ?? lastError), { name: name ?? "Error" })
        }
        const { exitCode, signal } = exited
        // Out of memory only if it also died of it: a line that merely says so does not make a clean exit one.
        events.onExit({ exitCode, signal, error, oom: oom && (signal !== null || exitCode !== 0) })
      }
      child.on("exit", (exitCode, signal) => {
        exited = { exitCode, signal }
        if (stopping !== undefined) clearTimeout(stopping)
        closing = setTimeout(() => {
          child.stderr?.destroy()
          if (child.connected) child.disconnect()
          report()
        }, CLOSE_AFTER_EXIT)
      })
      child.on("close", report)
      const initMessage: InitMessage = { _tag: "Init", init }
      child.send(initMessage)
      return {
        send: (message) => {
          child.send(message)
        },
        terminate: kill,
        stop: () => {
          if (stopping !== undefined || exited !== undefined) return
          // Killing it at once would drop what it wrote and has not left it yet (writes to a pipe are asynchronous):
          // it exits on its own once flushed, and is killed only if it has not within the grace period.
          if (!child.connected) return kill()
          const stop: StopMessage = { _tag: "Stop" }
          child.send(stop)
          stopping = setTimeout(kill, STOP_GRACE)
          stopping.unref()
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
