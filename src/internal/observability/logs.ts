/**
 * Worker logs: `Effect.log` (and `logWarning`, …) inside a task running on a worker reaches the main process's
 * `Logger`, with the task's annotations, spans and log level, annotated `task`, `executor` and `worker`.
 *
 * On the worker, every task runs with one logger, {@link forwardingLogger}, in place of the console ones: a log line
 * becomes a `Log` message to the pool (so nothing a task logs interleaves raw on stdout), and costs nothing when the
 * task does not log. On the main side, {@link makeEmitter} replays the line through the executor's own loggers.
 * Plain `console.log` in a worker is untouched: it goes to the worker's stdout as before.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"

/**
 * The task a forwarded log line is charged to. The worker finds it in the async context its task runs in
 * (`AsyncLocalStorage`, which Effect's fibers carry, and their children inherit): a lookup made only when a line is
 * logged, so that a task that does not log pays nothing for it (a per-task service would cost every task).
 */
export interface TaskRun {
  readonly id: number
  readonly task: string
}

/** A log line as it crosses from a worker: plain data that survives structured clone. */
export interface LogEntry {
  readonly _tag: "Log"
  /** The job it belongs to, and the task's name (absent for a line logged outside any task). */
  readonly id: number | undefined
  readonly task: string | undefined
  readonly level: LogLevel.LogLevel
  readonly message: ReadonlyArray<unknown>
  readonly annotations: Readonly<Record<string, unknown>>
  readonly spans: ReadonlyArray<[label: string, timestamp: number]>
  /** The cause logged with the line, rendered (`Cause.pretty`), if it had one. */
  readonly cause: string | undefined
}

/** A value as it can cross: itself if structured clone takes it, else its rendering. */
const cloneable = (value: unknown): unknown => {
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) {
    return value
  }
  try {
    return structuredClone(value)
  } catch {
    return value instanceof Error ? (value.stack ?? String(value)) : String(value)
  }
}

const cloneableRecord = (record: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(record)) out[key] = cloneable(record[key])
  return out
}

/** The logger a worker's tasks run with: each line becomes a `Log` message to the pool. */
export const forwardingLogger = (
  post: (entry: LogEntry) => void,
  currentRun: () => TaskRun | undefined
): Logger.Logger<unknown, void> =>
  Logger.make(({ cause, fiber, logLevel, message }) => {
    const run = currentRun()
    const parts = Array.isArray(message) ? message : [message]
    post({
      _tag: "Log",
      id: run?.id,
      task: run?.task,
      level: logLevel,
      message: parts.map(cloneable),
      annotations: cloneableRecord(fiber.getRef(References.CurrentLogAnnotations)),
      spans: fiber.getRef(References.CurrentLogSpans),
      cause: cause.reasons.length > 0 ? Cause.pretty(cause) : undefined
    })
  })

/**
 * The services a worker runs its tasks with: the forwarding logger in place of the console ones (the tracer's
 * logger stays, so that a line still lands on the task's span as an event).
 */
export const workerContext = (
  post: (entry: LogEntry) => void,
  currentRun: () => TaskRun | undefined
): Context.Context<never> =>
  Context.make(Logger.CurrentLoggers, new Set([forwardingLogger(post, currentRun), Logger.tracerLogger]))

/** Replays a worker's log lines through the loggers of the executor that was built with `context`. */
export type Emitter = (workerId: number, entry: LogEntry) => void

/**
 * `context` is the executor's (captured where it is built: its loggers, its minimum log level and its `executor`
 * annotation); each line is logged on a short fiber with the worker's annotations and spans, then `task` and
 * `worker`.
 */
export const makeEmitter = (context: Context.Context<never>): Emitter => {
  const runFork = Effect.runForkWith(context)
  return (workerId, entry) => {
    const message = entry.cause === undefined ? entry.message : [...entry.message, entry.cause]
    const annotations: Record<string, unknown> = { ...entry.annotations, worker: workerId }
    if (entry.task !== undefined) annotations.task = entry.task
    runFork(
      Effect.logWithLevel(entry.level as LogLevel.Severity)(...message).pipe(
        Effect.annotateLogs(annotations),
        Effect.provideService(References.CurrentLogSpans, entry.spans)
      )
    )
  }
}
