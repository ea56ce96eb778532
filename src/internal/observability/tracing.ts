/**
 * A span per task, `effect_futures.task`, on the caller's side, and the spans a task opens inside `run` nested under
 * it wherever the task runs.
 *
 * - Caller side: `start` opens the task span when the task is submitted (under the submitting fiber's span, in its
 *   tracer), `dispatched` marks the end of its queue wait (an event, written by `end` when it closes the span with
 *   the task's outcome; `requeued` takes it back).
 * - In process (`layerFibers`): the task runs with the span as its parent and the caller's tracer (`runInProcess`).
 * - On a worker or child process: the span's ids cross in the `Run` message (`TraceContext`). The worker runs the
 *   task under it as an external parent, with a tracer that keeps every span the task ends (`runInWorker`); they
 *   travel back with the outcome (`WireExit.spans`) and the caller re-emits them in its own tracer under the task
 *   span (`reemit`), so they reach whatever exporter the caller installed, with the caller's trace id.
 *
 * Tracing is off when the submitting fiber's tracer is Effect's default (`Tracer.nativeTracer`: nobody collects
 * spans) or `References.TracerEnabled` is false, which is what Effect's own HTTP server checks: then `start` returns
 * `undefined` after a few property reads of the fiber's context cache, and nothing else here runs.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { TraceContext, WireSpan } from "../wire/protocol.ts"

export const TASK_SPAN = "effect_futures.task"

/** A task's span, with the tracer and clock it was opened with. */
export interface TaskTrace {
  readonly span: Tracer.Span
  readonly tracer: Tracer.Tracer
  readonly clock: Clock.Clock
  /**
   * When the job was last handed to a backend that kept it: written as it is dispatched, cleared when that dispatch
   * is undone (no room after all, or given back to the queue), and emitted as the event when the span ends. An event
   * written at dispatch could not be taken back, and a backend may end the job before `start` returns.
   */
  dispatchedAt: bigint | undefined
}

/**
 * Opens the task span under the current fiber's span, or returns `undefined` when that fiber does not trace. Called
 * synchronously from inside `submit`, where the current fiber is the submitter.
 */
export const start = (task: string, executor: string, clock: Clock.Clock, chunk: boolean): TaskTrace | undefined => {
  // The fiber's cache of its context (`fiber.cache`) holds the tracer only when one was provided: reading it costs
  // a few property reads per submit (`getRef` would look the tracer up in the context each time).
  const cache = Fiber.getCurrent()?.cache
  if (cache === undefined) return undefined
  const tracer = cache.tracer
  if (tracer === undefined || tracer === Tracer.nativeTracer || !cache.tracerEnabled) return undefined
  const parent = Option.fromUndefinedOr(cache.span)
  const span = tracer.span({
    name: TASK_SPAN,
    parent,
    annotations: Context.empty(),
    links: [],
    startTime: clock.currentTimeNanosUnsafe(),
    kind: "internal",
    root: false,
    sampled: Option.isSome(parent) ? parent.value.sampled : true
  })
  span.attribute("task", task)
  span.attribute("executor", executor)
  if (chunk) span.attribute("chunk", true)
  return { span, tracer, clock, dispatchedAt: undefined }
}

/** The task left the queue for a worker: the queue wait ends, the run begins (unless `requeued` undoes it). */
export const dispatched = (trace: TaskTrace): void => {
  trace.dispatchedAt = trace.clock.currentTimeNanosUnsafe()
}

/** The dispatch was undone: the task waits in the queue again. */
export const requeued = (trace: TaskTrace): void => {
  trace.dispatchedAt = undefined
}

/** Closes the task span with the task's outcome (once: later calls do nothing). */
export const end = (trace: TaskTrace, exit: Exit.Exit<unknown, unknown>): void => {
  if (trace.span.status._tag === "Ended") return
  guarded("ending a task span", () => {
    if (trace.dispatchedAt !== undefined) trace.span.event("effect_futures.dispatched", trace.dispatchedAt)
    trace.span.end(trace.clock.currentTimeNanosUnsafe(), exit)
  })
}

/**
 * Runs the user's tracer where the executor settles a task: a tracer that throws there must not keep the future
 * from settling (or shutdown from ending), so its error becomes a process warning instead.
 */
const guarded = (what: string, use: () => void): void => {
  try {
    use()
  } catch (cause) {
    process.emitWarning(`effect-futures: the tracer threw while ${what}: ${String(cause)}`, "TracerWarning")
  }
}

/** What a worker needs to parent the task's spans, as a W3C `traceparent`. */
export const contextOf = (trace: TaskTrace): TraceContext =>
  `00-${trace.span.traceId}-${trace.span.spanId}-${trace.span.sampled ? "01" : "00"}`

/** The caller's task span on the worker's side: an external parent, from its `traceparent`. */
const parentOf = (context: TraceContext): Tracer.ExternalSpan => {
  const [, traceId, spanId, flags] = context.split("-")
  return Tracer.externalSpan({ traceId, spanId, sampled: flags === "01" })
}

/**
 * Runs `effect` with `parent` as its parent span and `tracer` as its tracer, in one change of its context (each
 * change costs the fiber a new context cache). Unlike `Effect.withParentSpan`, no stack trace is captured (an
 * `Error` per call, measured here at ~5 µs a task, more than the rest of tracing together).
 */
const underSpan = <A, E>(effect: Effect.Effect<A, E>, parent: Tracer.AnySpan, tracer: Tracer.Tracer) =>
  Effect.updateContext(effect, (context: Context.Context<never>) =>
    Context.add(Context.add(context, Tracer.ParentSpan, parent), Tracer.Tracer, tracer)
  )

/** Runs a task in process under its span, in the caller's tracer. */
export const runInProcess = <A, E>(effect: Effect.Effect<A, E>, trace: TaskTrace): Effect.Effect<A, E> =>
  underSpan(effect, trace.span, trace.tracer)

// ---------------------------------------------------------------------------------------------------------------
// The worker's side
// ---------------------------------------------------------------------------------------------------------------

type Primitive = string | number | boolean | bigint

const toPrimitive = (value: unknown): Primitive => {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "bigint":
      return value
    default:
      try {
        return JSON.stringify(value) ?? String(value)
      } catch {
        return String(value)
      }
  }
}

const primitives = (record: Record<string, unknown>): Record<string, Primitive> => {
  const out: Record<string, Primitive> = {}
  for (const key in record) out[key] = toPrimitive(record[key])
  return out
}

/** A span that, when it ends, is kept as a `WireSpan` for the caller. */
class ForwardedSpan extends Tracer.NativeSpan {
  readonly #ended: Array<WireSpan>

  constructor(options: ConstructorParameters<typeof Tracer.NativeSpan>[0], ended: Array<WireSpan>) {
    super(options)
    this.#ended = ended
  }

  override end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    super.end(endTime, exit)
    const parent = Option.getOrUndefined(this.parent)
    this.#ended.push({
      name: this.name,
      spanId: this.spanId,
      parentId: parent?.spanId,
      kind: this.kind,
      startTime: this.startTime,
      endTime,
      attributes: Array.from(this.attributes, ([key, value]) => [key, toPrimitive(value)] as const),
      events: this.events.map(([name, time, attributes]) => [name, time, primitives(attributes)] as const),
      failure: Exit.isFailure(exit) ? Cause.pretty(exit.cause) : undefined
    })
  }
}

/**
 * Runs a task on a worker under the caller's task span (an external parent), with a tracer that keeps the spans the
 * task ends in `ended`, for the outcome to carry back.
 */
export const runInWorker = <A, E>(
  effect: Effect.Effect<A, E>,
  context: TraceContext,
  ended: Array<WireSpan>
): Effect.Effect<A, E> =>
  underSpan(effect, parentOf(context), Tracer.make({ span: (options) => new ForwardedSpan(options, ended) }))

// ---------------------------------------------------------------------------------------------------------------
// Back on the caller's side
// ---------------------------------------------------------------------------------------------------------------

const byStart = (a: WireSpan, b: WireSpan) => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : 0)

/**
 * Re-emits a worker's spans in the caller's tracer, nested as they were: under the task span, or under the span of
 * the list they had as parent. Parents start before their children, so spans are opened in start order; they are
 * ended in the order they ended in the worker.
 */
export const reemit = (trace: TaskTrace, spans: ReadonlyArray<WireSpan>): void =>
  guarded("making a worker's spans again", () => reemitUnguarded(trace, spans))

const reemitUnguarded = (trace: TaskTrace, spans: ReadonlyArray<WireSpan>): void => {
  const opened = new Map<string, Tracer.Span>()
  for (const wire of spans.slice().sort(byStart)) {
    // A span the task ended twice came back twice: make it once.
    if (opened.has(wire.spanId)) continue
    const parent = (wire.parentId === undefined ? undefined : opened.get(wire.parentId)) ?? trace.span
    const span = trace.tracer.span({
      name: wire.name,
      parent: Option.some(parent),
      annotations: Context.empty(),
      links: [],
      startTime: wire.startTime,
      kind: wire.kind,
      root: false,
      sampled: trace.span.sampled
    })
    for (const [key, value] of wire.attributes) span.attribute(key, value)
    for (const [name, time, attributes] of wire.events) span.event(name, time, attributes)
    opened.set(wire.spanId, span)
  }
  for (const wire of spans) {
    const span = opened.get(wire.spanId)!
    if (span.status._tag === "Ended") continue
    span.end(wire.endTime, wire.failure === undefined ? Exit.void : Exit.fail(wire.failure))
  }
}
