/**
 * The wire protocol between an executor and its workers: one message each way per task (or per chunk).
 *
 * Messages are `_tag`-ged plain objects so they survive structured clone (worker_threads) and Node's advanced
 * serialization (child processes) alike. Values inside are already Schema-encoded.
 *
 * @internal
 */
import type { WorkerReportedError } from "./codec.ts"
import type { LogEntry } from "../observability/logs.ts"

/**
 * A batch of records of a `Schema.Struct` of primitives, one column per key in the Schema's order: numbers as a
 * `Float64Array`, strings and booleans as an array (see `Codecs.successColumns` in `codec.ts`). Structured clone
 * writes each record's keys again; columns cross ~3x cheaper.
 */
export interface ColumnBatch {
  readonly _tag: "Columns"
  readonly length: number
  readonly keys: ReadonlyArray<string>
  readonly columns: ReadonlyArray<ReadonlyArray<unknown> | Float64Array>
}

/**
 * How a chunk ended: the encoded values of the items that succeeded, in order, then the first that did not. Numbers
 * cross as one `Float64Array` (see `Codecs.successIsNumber` in `codec.ts`), records of primitives as columns.
 */
export interface ChunkResult {
  readonly values: ReadonlyArray<unknown> | Float64Array | ColumnBatch
  readonly failure: WireExit | undefined
  /** The spans the chunk's items ended in the worker, when it ran under a caller's span (see `WireExit`). */
  readonly spans?: ReadonlyArray<WireSpan> | undefined
}

/**
 * How a task ended, as it crosses the boundary. `value` and `error` are Schema-encoded. `spans`: the spans the task
 * opened and closed in the worker, when it ran under a caller's span (`Run.trace`), for the caller to re-emit.
 */
export type WireExit = (
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: unknown }
  | { readonly _tag: "ExecutorError"; readonly error: WireExecutorError }
  | { readonly _tag: "Interrupted" }
) & { readonly spans?: ReadonlyArray<WireSpan> | undefined }

/**
 * The caller's task span, as a worker needs it to parent the spans a task opens: a W3C `traceparent`
 * (`00-<trace id>-<span id>-<01 sampled | 00>`). One string, not an object: measured here, a nested object in the
 * `Run` message costs ~2 µs more per task to clone.
 */
export type TraceContext = string

/** A span a task opened and ended in a worker, as it crosses back (see `observability/tracing.ts`). */
export interface WireSpan {
  readonly name: string
  readonly spanId: string
  /** The span it nests under: the caller's task span or another span of this list. */
  readonly parentId: string | undefined
  readonly kind: "internal" | "server" | "client" | "producer" | "consumer"
  /** Epoch nanoseconds. */
  readonly startTime: bigint
  readonly endTime: bigint
  readonly attributes: ReadonlyArray<readonly [string, string | number | boolean | bigint]>
  readonly events: ReadonlyArray<readonly [string, bigint, Record<string, unknown>]>
  /** Why it ended in failure (the cause, rendered); absent when it succeeded. */
  readonly failure: string | undefined
}

/**
 * The executor-level errors a worker itself can report for a task, in their wire form: the encoded form of their
 * Schema (`WorkerReportedError` in `codec.ts`), not a hand-written copy.
 */
export type WireExecutorError = (typeof WorkerReportedError)["Encoded"]

/** A reference to a task: the module a worker imports, and the export's task name. */
export interface TaskRef {
  readonly module: string
  readonly task: string
}

/** Parent → worker. */
export type ToWorker =
  | {
      readonly _tag: "Run"
      readonly id: number
      readonly module: string
      readonly task: string
      readonly payload: unknown
      /** The claim cell (see `claims.ts`) the worker must win before starting; absent when not pre-queued. */
      readonly claim: number | undefined
      /** The caller's task span (a `traceparent`), when the caller traces: the task runs under it. Absent when off. */
      readonly trace?: TraceContext | undefined
    }
  | {
      readonly _tag: "RunChunk"
      readonly id: number
      readonly module: string
      readonly task: string
      /** The encoded payloads; numbers as one `Float64Array`, records of primitives as columns (see `codec.ts`). */
      readonly payloads: ArrayLike<unknown> | ColumnBatch
      readonly claim: number | undefined
      readonly trace?: TraceContext | undefined
    }
  | { readonly _tag: "Interrupt"; readonly id: number }

/** Worker → parent. */
export type FromWorker =
  /** Booted; `thread` is its OS thread id where the OS has one (see `priority.ts`). */
  | { readonly _tag: "Ready"; readonly thread?: number | undefined }
  /** An `Interrupt` for the running task arrived: the worker's event loop is free, the task is being interrupted. */
  | { readonly _tag: "Interrupting"; readonly id: number }
  | { readonly _tag: "InitFailed"; readonly message: string }
  | { readonly _tag: "Done"; readonly id: number; readonly exit: WireExit }
  | { readonly _tag: "ChunkDone"; readonly id: number; readonly result: ChunkResult }
  /** The task was taken back (cancelled or withdrawn through its claim cell) and never ran here. */
  | { readonly _tag: "Skipped"; readonly id: number }
  /**
   * A task module started an executor while this worker imported it (the bootstrapping guard, `bootstrap.ts`): its
   * tasks fail with `TaskLoadError { message }` from now on, on every worker, and it is not imported again.
   */
  | { readonly _tag: "ImportRefused"; readonly module: string; readonly message: string }
  /**
   * A promise rejection was left unhandled by a task that had already settled (in its async context): the worker
   * carries on, and the pool reports it against that task. `reason` is the rejection, rendered (its stack, if any).
   */
  | { readonly _tag: "Unhandled"; readonly task: string; readonly reason: string }
  /** A task logged a line (`Effect.log`, …): the pool replays it through the executor's loggers (`logs.ts`). */
  | LogEntry
  /** The running task `id` reported a progress value (`Task.progress`), encoded with its `progress` Schema. */
  | { readonly _tag: "Progress"; readonly id: number; readonly value: unknown }

/** The first message a child process receives: child processes have no `workerData`. */
export interface InitMessage {
  readonly _tag: "Init"
  readonly init: WorkerInit
}

/**
 * What a child process is sent when the pool stops it while it is idle (idle timeout, `maxTasksPerWorker`, closing):
 * exit once what it wrote to stdout and stderr has left it. Worker threads need no such message: terminating one
 * still delivers its output.
 */
export interface StopMessage {
  readonly _tag: "Stop"
}

/** What a worker is told when it starts (worker_threads `workerData`, or an env variable for child processes). */
export interface WorkerInit {
  readonly workerId: number
  readonly initializer: (TaskRef & { readonly payload: unknown }) | undefined
  /** The claim cells shared with the pool (worker threads only). */
  readonly claims: SharedArrayBuffer | undefined
  /** Task modules the worker will need: it imports them while it boots, not when the first task arrives. */
  readonly preload: ReadonlyArray<string>
}
