/**
 * Task progress on every local executor: `Task.progress` values arrive in order through `Future.progress`, whose
 * stream ends with the task (success, failure, cancellation); an undeclared or invalid value is a clear defect.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import { Executor, Future, Task } from "../src/index.ts"
import { InvalidTask } from "../src/ExecutorError.ts"
import { remoteTask } from "../src/internal/cluster/remoteTask.ts"
import { invalidProgress, steps, stepsThenFail, stepThenWait, undeclaredProgress } from "./fixtures/observeTasks.ts"

const layers: ReadonlyArray<readonly [string, Layer.Layer<Executor.Executor, unknown>]> = [
  ["layerFibers", Executor.layerFibers({ concurrency: 2 })],
  ["layerWorkerThreads", Executor.layerWorkerThreads({ maxWorkers: 2 })],
  ["layerProcesses", Executor.layerProcesses({ maxWorkers: 2 })]
]

const collect = <A>(stream: Stream.Stream<A>): Effect.Effect<ReadonlyArray<A>> => Stream.runCollect(stream)

describe.each(layers)("%s: Future.progress", (_label, layer) => {
  it.live("gives the values a task reports, in order, and ends when it succeeds", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(steps, 5)
      // Subscribed while (or after) the task runs: the last 16 values are kept for a late reader.
      const values = yield* collect(Future.progress(future))
      assert.deepStrictEqual(
        values.map((value) => value.done),
        [1, 2, 3, 4, 5]
      )
      assert.isTrue(values.every((value) => value.total === 5))
      assert.strictEqual(yield* future, 5)
    }).pipe(Effect.provide(layer))
  )

  it.live("keeps the most recent 16 values for a reader that comes after 40 were reported", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(steps, 40)
      yield* Future.result(future)
      const values = yield* collect(Future.progress(future))
      assert.deepStrictEqual(
        values.map((value) => value.done),
        Array.from({ length: 16 }, (_, i) => 25 + i)
      )
    }).pipe(Effect.provide(layer))
  )

  it.live("ends when the task fails with its typed error, after the values it reported", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(stepsThenFail, 3)
      assert.deepStrictEqual(yield* collect(Future.progress(future)), [1, 2, 3])
      assert.deepStrictEqual(yield* Effect.flip(Future.result(future)), "failed after 3")
    }).pipe(Effect.provide(layer))
  )

  it.live("ends when the future is cancelled while the task runs", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(stepThenWait, 0)
      const reader = yield* Effect.forkChild(collect(Future.progress(future)))
      // The task has reported its first value: it is running.
      assert.deepStrictEqual(yield* collect(Stream.take(Future.progress(future), 1)), [1])
      // A running task cannot be cancelled (Python's `cancel` says false); interrupting its future stops it.
      assert.isFalse(yield* Future.cancel(future))
      yield* Future.interrupt(future)
      assert.deepStrictEqual(yield* Fiber.join(reader), [1])
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
    }).pipe(Effect.provide(layer))
  )

  it.live("map with a chunksize runs a task that reports progress: its values are checked, then dropped", () =>
    Effect.gen(function* () {
      // Chunks have no future to read progress from; the task must still run as it does when submitted alone.
      const values = yield* Stream.runCollect(Executor.map(steps, [1, 2, 3], { chunksize: 2 }))
      assert.deepStrictEqual(values, [1, 2, 3])
      const refused = yield* Effect.flip(Stream.runCollect(Executor.map(invalidProgress, [1, 2], { chunksize: 2 })))
      assert.strictEqual(refused._tag, "TaskDefect")
      if (refused._tag !== "TaskDefect") return
      assert.strictEqual(refused.errorName, "InvalidProgress")
    }).pipe(Effect.provide(layer))
  )

  it.live("Task.progress in a task that declares no progress: a TaskDefect naming InvalidProgress", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(undeclaredProgress, 1)
      assert.deepStrictEqual(yield* collect(Future.progress(future)), [])
      const error = yield* Effect.flip(Future.result(future))
      assert.strictEqual(error._tag, "TaskDefect")
      if (error._tag !== "TaskDefect") return
      assert.strictEqual(error.errorName, "InvalidProgress")
      assert.include(error.message, "declares a `progress` Schema")
    }).pipe(Effect.provide(layer))
  )

  it.live("a value the progress Schema refuses: a TaskDefect naming the task and the Schema's complaint", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.flatMap(Executor.submit(invalidProgress, 7), (future) => future))
      assert.strictEqual(error._tag, "TaskDefect")
      if (error._tag !== "TaskDefect") return
      assert.strictEqual(error.errorName, "InvalidProgress")
      assert.include(error.message, 'Task "invalidProgress" reported a progress value')
      assert.include(error.message, "7%", error.message)
    }).pipe(Effect.provide(layer))
  )
})

describe("Task.make: progress", () => {
  it("refuses a `progress` that is not a Schema, naming it", () => {
    try {
      Task.make("badProgress", {
        module: import.meta.url,
        payload: Schema.Number,
        success: Schema.Number,
        progress: "percent" as never,
        run: Effect.succeed
      })
      assert.fail("Task.make accepted a progress that is not a Schema")
    } catch (error) {
      assert.instanceOf(error, InvalidTask)
      assert.include((error as InvalidTask).message, "Expected `progress` to be a Schema")
    }
  })

  it.effect("Task.progress outside any task dies with InvalidProgress", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Task.progress(1))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), "InvalidProgress")
    })
  )
})

describe("a cluster runner", () => {
  const runRemote = (task: string, payload: number) =>
    remoteTask.run({ module: steps.module, task, payload, chunk: false }) as Effect.Effect<string>

  it.effect("runs a task that reports progress as it would locally: its values are checked, then dropped", () =>
    Effect.gen(function* () {
      const reply = yield* runRemote("steps", 3)
      assert.include(reply, "Success", reply)
      assert.notInclude(reply, "InvalidProgress", reply)
      const refused = yield* runRemote("invalidProgress", 7)
      assert.include(refused, "InvalidProgress", refused)
    })
  )
})
