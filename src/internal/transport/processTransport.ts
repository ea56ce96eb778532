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
import { type ChildProcess, fork } from "node:child_process"
import * as fs from "node:fs"
import { InvalidOptions } from "../../ExecutorError.ts"
import type { InitMessage, StopMessage, WorkerInit } from "../wire/protocol.ts"
import { entryUrl, type ResourceLimits, type Transport, type WorkerEvents, type WorkerHandle } from "./transport.ts"

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

/** What the child printed to stderr that tells how it died. */
interface StderrWatch {
  /** It said it ran out of memory. */
  oom: boolean
  /** The last error line it printed: a child has no 'error' event for an uncaught exception. */
  lastError: string | undefined
  /** The end of the previous chunk, so that a message cut between two chunks is still recognised. */
  previous: string
}

/** Passes the child's stderr on to this process's, watching it for how the child dies. */
const watchStderr = (child: ChildProcess): StderrWatch => {
  const watch: StderrWatch = { oom: false, lastError: undefined, previous: "" }
  child.stderr?.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk)
    const text = chunk.toString()
    if (OUT_OF_MEMORY.test(watch.previous + text)) watch.oom = true
    watch.previous = text.slice(-64)
    const lines = text.match(/^\w*Error\b.*$/gm)
    if (lines !== null) watch.lastError = lines[lines.length - 1]
  })
  return watch
}

/** An error line such as `RangeError: too far` as an `Error` with that name and message. */
export const errorFromLine = (line: string): Error => {
  const [, name, message] = /^(\w*)[^:]*:?\s*(.*)$/.exec(line) ?? []
  return Object.assign(new Error(message ?? line), { name: name ?? "Error" })
}

/** One child's life, in one record: the functions below read and move it. */
interface ChildState {
  readonly child: ChildProcess
  readonly events: WorkerEvents
  readonly stderr: StderrWatch
  /** The child's 'error' event, if any. */
  error: unknown
  /** Set on 'exit'; the death is reported on 'close' (or `CLOSE_AFTER_EXIT` later). */
  exited: { readonly exitCode: number | null; readonly signal: NodeJS.Signals | null } | undefined
  closing: ReturnType<typeof setTimeout> | undefined
  /** The kill that follows a `stop` the child has not obeyed within `STOP_GRACE`. */
  stopping: ReturnType<typeof setTimeout> | undefined
  reported: boolean
}

const kill = ({ child }: ChildState) => {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

/** Reports the child's death once, with the error it printed if it had no 'error' event. */
const report = (self: ChildState) => {
  if (self.reported || self.exited === undefined) return
  self.reported = true
  if (self.closing !== undefined) clearTimeout(self.closing)
  const lastError = self.stderr.lastError
  if (self.error === undefined && lastError !== undefined) self.error = errorFromLine(lastError)
  const { exitCode, signal } = self.exited
  // Out of memory only if it also died of it: a line that merely says so does not make a clean exit one.
  self.events.onExit({
    exitCode,
    signal,
    error: self.error,
    oom: self.stderr.oom && (signal !== null || exitCode !== 0)
  })
}

/**
 * The child's death is reported on 'close' (it has exited and its stderr and IPC pipes are closed), not on 'exit':
 * the last lines it printed (the error that killed it) may still be in the pipe at 'exit', and a pipe still open
 * would outlive the layer's scope. A grandchild that inherited stderr could hold the pipe open, so after
 * `CLOSE_AFTER_EXIT` the pipe is destroyed and the death reported anyway.
 */
const observeDeath = (self: ChildState) => {
  const { child } = self
  child.on("error", (cause) => {
    self.error = cause
  })
  child.on("exit", (exitCode, signal) => {
    self.exited = { exitCode, signal }
    if (self.stopping !== undefined) clearTimeout(self.stopping)
    self.closing = setTimeout(() => {
      child.stderr?.destroy()
      if (child.connected) child.disconnect()
      report(self)
    }, CLOSE_AFTER_EXIT)
  })
  child.on("close", () => report(self))
}

/**
 * Asks an idle child to exit. Killing it at once would drop what it wrote and has not left it yet (writes to a pipe
 * are asynchronous): it exits on its own once flushed, and is killed only if it has not within the grace period.
 */
const stop = (self: ChildState) => {
  if (self.stopping !== undefined || self.exited !== undefined) return
  if (!self.child.connected) return kill(self)
  const message: StopMessage = { _tag: "Stop" }
  self.child.send(message)
  self.stopping = setTimeout(() => kill(self), STOP_GRACE)
  self.stopping.unref()
}

/** Whether the child (its process, IPC channel and stderr pipe) keeps this process alive. */
const setRef = (child: ChildProcess, ref: boolean) => {
  const stderr = child.stderr as { ref?: () => void; unref?: () => void } | null
  if (ref) {
    child.ref()
    child.channel?.ref()
    stderr?.ref?.()
  } else {
    child.unref()
    child.channel?.unref()
    stderr?.unref?.()
  }
}

const spawn = (
  options: ProcessTransportOptions,
  execArgv: ReadonlyArray<string>,
  init: WorkerInit,
  events: WorkerEvents
): WorkerHandle => {
  const child = fork(entry, [`${options.name}-${init.workerId}`], {
    serialization: "advanced",
    execArgv: [...execArgv],
    stdio: ["ignore", "inherit", "pipe", "ipc"],
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {})
  })
  const stderr = watchStderr(child)
  child.on("message", events.onMessage as (message: unknown) => void)
  const self: ChildState = {
    child,
    events,
    stderr,
    error: undefined,
    exited: undefined,
    closing: undefined,
    stopping: undefined,
    reported: false
  }
  observeDeath(self)
  const initMessage: InitMessage = { _tag: "Init", init }
  child.send(initMessage)
  return {
    send: (message) => {
      child.send(message)
    },
    terminate: () => kill(self),
    stop: () => stop(self),
    setRef: (ref) => setRef(child, ref)
  }
}

export const make = (options: ProcessTransportOptions): Transport => {
  // As `child_process.fork` does by default, children inherit this process's Node flags (loaders such as
  // `--import tsx`, `--conditions`...), which a module of tasks may need to be imported at all. The options come
  // after them, so where a flag is given twice (`--max-old-space-size`, `--stack-size`...) the option's wins.
  const execArgv = [...process.execArgv, ...(options.execArgv ?? []), ...limitFlags(options.resourceLimits)]
  return {
    kind: "processes",
    sharedMemory: false,
    spawn: (init, events) => spawn(options, execArgv, init, events)
  }
}
