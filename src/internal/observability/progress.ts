/**
 * Task progress: `Task.progress(value)` inside `run` reports a value of the task's `progress` Schema; the caller
 * reads them with `Future.progress(future)`, a `Stream` that ends when the task ends, whatever its outcome.
 *
 * - In the task: {@link report} reads the {@link CurrentReporter} its runner provided (only for a task that declares
 *   `progress`), encodes the value with the Schema and hands it on; on a worker, as a `Progress` message. Called in a
 *   task that declares no `progress`, or with a value the Schema refuses, it dies with {@link InvalidProgress},
 *   which the caller sees as the task's `TaskDefect`.
 * - On the caller's side: the job's {@link Channel} (made with the future) decodes each value and keeps the most
 *   recent {@link CAPACITY}: progress is a latest-wins signal, so a reader slower than the task loses the oldest
 *   values, never the newest, and the task is never slowed by a reader. Each reader first receives the values still
 *   kept, then every new one; all readers end when the future ends.
 *
 * This module only holds the reporting side and the channel's data; the `Stream` is built in `Future.ts`, so that
 * defining a task loads no streaming code.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Task from "../../Task.ts"

/** How many progress values a channel keeps for a reader that has not read them yet (the oldest go first). */
export const CAPACITY = 16

/**
 * `Task.progress` was called in a task that declares no `progress` Schema, or with a value that Schema refuses.
 */
export class InvalidProgress extends Data.TaggedError("InvalidProgress")<{
  readonly task: string | undefined
  readonly message: string
}> {}

/** Where a running task's progress goes: the task (for its Schema) and what sends an encoded value on. */
export interface Target {
  readonly task: Task.Any
  readonly send: (encoded: unknown) => void
}

/**
 * Finds the running task's target (undefined when it declares no `progress`). A function rather than a value, so
 * that a worker provides one for all its tasks (it looks the task up in its async context) and no task pays for a
 * service of its own.
 */
export type Reporter = () => Target | undefined

export const CurrentReporter = Context.Reference<Reporter | undefined>("effect-futures/observability/CurrentReporter", {
  defaultValue: () => undefined
})

/** The task's `progress` Schema, if it declares one. */
export const schemaOf = (task: Task.Any): Task.AnySchema | undefined =>
  (task as { readonly progress?: Task.AnySchema | undefined }).progress

const render = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** The Effect behind `Task.progress(value)`. */
export const report = (value: unknown): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const reporter = fiber.getRef(CurrentReporter)?.()
    const schema = reporter === undefined ? undefined : schemaOf(reporter.task)
    if (reporter === undefined || schema === undefined) {
      return Effect.die(
        new InvalidProgress({
          task: undefined,
          message:
            "Task.progress was called outside a task that declares a `progress` Schema: add `progress: <Schema>` " +
            "to its Task.make options (and call it only inside its `run`)"
        })
      )
    }
    const encoded = Schema.encodeUnknownExit(schema)(value)
    if (Exit.isFailure(encoded)) {
      const issue = Cause.squash(encoded.cause)
      return Effect.die(
        new InvalidProgress({
          task: reporter.task.name,
          message: `Task "${reporter.task.name}" reported a progress value its \`progress\` Schema refuses (got ${render(value)}): ${issue instanceof Error ? issue.message : String(issue)}`
        })
      )
    }
    reporter.send(encoded.value)
    return Effect.void
  })

/** A reader's inbox: what the channel offers it values through, and ends when the future ends. */
export interface Reader {
  readonly offer: (value: unknown) => void
  readonly end: () => void
}

/** The caller's side of one job's progress. */
export interface Channel {
  readonly task: Task.Any
  /** The most recent values, oldest first (at most {@link CAPACITY}). */
  readonly recent: Array<unknown>
  readonly readers: Set<Reader>
  ended: boolean
}

const channels = new WeakMap<object, Channel>()

/** The channel of a job whose task declares `progress` (made with its future); undefined for any other job. */
export const open = (job: object, task: Task.Any): Channel | undefined => {
  if (schemaOf(task) === undefined) return undefined
  const channel: Channel = { task, recent: [], readers: new Set(), ended: false }
  channels.set(job, channel)
  return channel
}

/**
 * A value a job reported, still encoded: decoded and handed to the readers. One that does not decode (it was
 * encoded by the same Schema, so only a task module that differs between the caller and the worker could do this)
 * is dropped.
 */
export const publish = (job: object, encoded: unknown): void => {
  const channel = channels.get(job)
  if (channel === undefined || channel.ended) return
  const decoded = Schema.decodeUnknownExit(schemaOf(channel.task)!)(encoded)
  if (Exit.isFailure(decoded)) return
  channel.recent.push(decoded.value)
  if (channel.recent.length > CAPACITY) channel.recent.shift()
  for (const reader of channel.readers) reader.offer(decoded.value)
}

/** Adds a reader: it gets the values still kept, then the new ones; ended at once if the job has ended. */
export const subscribe = (channel: Channel, reader: Reader): (() => void) => {
  for (const value of channel.recent) reader.offer(value)
  if (channel.ended) {
    reader.end()
    return () => {}
  }
  channel.readers.add(reader)
  return () => channel.readers.delete(reader)
}

/** The job has ended: every reader ends after the values it has. */
export const end = (channel: Channel): void => {
  if (channel.ended) return
  channel.ended = true
  for (const reader of channel.readers) reader.end()
  channel.readers.clear()
}
