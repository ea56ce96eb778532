/**
 * `Executor.map`: a task over a lazy input, results streamed in input order, one submission per item or per chunk.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import type * as Take from "effect/Take"
import type { ExecutorError, InvalidOptions, SubmitError } from "../../ExecutorError.ts"
import type { Batch, Executor, MapOptions } from "../../Executor.ts"
import type * as Task from "../../Task.ts"
import { awaitOwned } from "./awaitOwned.ts"
import * as Options from "./options.ts"

/**
 * Chunks (or items) submitted ahead per worker by default. A worker thread holds up to four (`Policy.PREFETCH`); the
 * next four wait encoded in the executor's queue, so a result that comes back is answered by a dispatch at once,
 * without waiting for the caller to pull, slice and encode the next chunk. Measured on 2 workers, chunks of 1,000
 * numbers (bench/mapCpu.ts): 4 per worker ran ~7-9M items/s with the workers ~65% idle, 8 per worker ~11-13M.
 */
const AHEAD_PER_WORKER = 8

/** The stream `Executor.map` returns, over one executor. */
export const make = <T extends Task.Any, EI, RI>(
  executor: Executor["Service"],
  task: T,
  inputs: Iterable<Task.Payload<T>> | Stream.Stream<Task.Payload<T>, EI, RI>,
  options: MapOptions = {}
): Stream.Stream<
  Task.Success<T>,
  Task.Error<T> | ExecutorError | SubmitError | Cause.TimeoutError | InvalidOptions | EI,
  RI
> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const { chunksize, buffersize, timeout } = yield* Options.parse(() => {
        const chunksize = Options.positiveInt("chunksize", options.chunksize, 1)
        return {
          chunksize,
          buffersize: Options.positiveInt(
            "buffersize",
            options.buffersize,
            AHEAD_PER_WORKER * executor.concurrency * chunksize
          ),
          timeout: Options.duration("timeout", options.timeout, undefined, true)
        }
      })
      const source: Stream.Stream<Task.Payload<T>, EI, RI> = Stream.isStream(inputs)
        ? (inputs as Stream.Stream<Task.Payload<T>, EI, RI>)
        : Array.isArray(inputs)
          ? Stream.fromArray(inputs as ReadonlyArray<Task.Payload<T>>)
          : // An arbitrary iterable may be endless or expensive: pull it one chunk of work at a time.
            Stream.fromIterable(inputs as Iterable<Task.Payload<T>>, { chunkSize: chunksize })
      const concurrency = Math.max(1, Math.ceil(buffersize / chunksize))
      // An array is cut into chunks by slicing, lazily (one slice per pull): regrouping it through the stream cost
      // 14-44 ns per item here, slicing 2-5 ns.
      const chunks: Stream.Stream<ReadonlyArray<Task.Payload<T>>, EI, RI> = Array.isArray(inputs)
        ? Stream.fromIterable(slices(inputs as ReadonlyArray<Task.Payload<T>>, chunksize), { chunkSize: 1 })
        : Stream.grouped(source, chunksize)
      // Each item (or chunk) runs ahead as an `Exit`, so that a failure waits for its turn: the stream fails at
      // the failing item's position, as Python's `map` raises there, and a consumer that stops before it never
      // sees it. (Failing inside `mapEffect` would end the stream as soon as any item failed.)
      const results =
        chunksize === 1
          ? source.pipe(
              Stream.mapEffect((input) => Effect.exit(awaitOwned(executor.submit(task, input))), { concurrency }),
              Stream.mapEffect((exit) => exit)
            )
          : chunks.pipe(
              Stream.mapEffect((chunk) => Effect.exit(awaitOwned(executor.submitBatch(task, chunk))), {
                concurrency
              }),
              // One array per chunk, not one step per item, and no inner stream per chunk: each batch becomes its
              // `Take`s (the values up to the first failure, then the failure), which the stream emits as they are.
              Stream.map(batchToTakes),
              Stream.flattenIterable,
              Stream.flattenTake
            )
      return timeout === undefined || timeout === Infinity
        ? results
        : results.pipe(
            Stream.interruptWhen(Effect.andThen(Effect.sleep(timeout), Effect.fail(new Cause.TimeoutError())))
          )
    })
  )

function* slices<A>(array: ReadonlyArray<A>, size: number): Generator<ReadonlyArray<A>> {
  for (let start = 0; start < array.length; start += size) yield array.slice(start, start + size)
}

const batchToTakes = <A, E, E2>(exit: Exit.Exit<Batch<A, E>, E2>): ReadonlyArray<Take.Take<A, E | E2>> => {
  if (exit._tag === "Failure") return [exit]
  const { failure, values } = exit.value
  const takes: Array<Take.Take<A, E | E2>> = []
  if (Arr.isReadonlyArrayNonEmpty(values)) takes.push(values)
  if (failure !== undefined) takes.push(Exit.failCause(failure))
  return takes
}
