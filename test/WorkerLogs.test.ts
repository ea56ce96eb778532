/**
 * Worker logs: a task's `Effect.log` reaches the caller's Logger, annotated `task`, `executor` (and `worker` on a
 * worker), with the task's own annotations, spans and level, on every local executor.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, References } from "effect"
import { Executor } from "../src/index.ts"
import { logsFromChild, logsInside } from "./fixtures/observeTasks.ts"

interface Line {
  readonly message: ReadonlyArray<unknown>
  readonly level: string
  readonly annotations: Record<string, unknown>
  readonly spans: ReadonlyArray<string>
}

const recording = () => {
  const lines: Array<Line> = []
  const logger = Logger.make((options) => {
    lines.push({
      message: Array.isArray(options.message) ? options.message : [options.message],
      level: options.logLevel,
      annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) },
      spans: options.fiber.getRef(References.CurrentLogSpans).map(([label]) => label)
    })
  })
  return { lines, loggers: Logger.layer([logger]) }
}

const layers: ReadonlyArray<readonly [string, Layer.Layer<Executor.Executor, unknown>, string, boolean]> = [
  ["layerFibers", Executor.layerFibers({ name: "logs-fibers", concurrency: 1 }), "logs-fibers", false],
  ["layerWorkerThreads", Executor.layerWorkerThreads({ name: "logs-threads", maxWorkers: 1 }), "logs-threads", true],
  ["layerProcesses", Executor.layerProcesses({ name: "logs-processes", maxWorkers: 1 }), "logs-processes", true]
]

describe.each(layers)("%s: a task's logs", (_label, layer, executor, onWorker) => {
  it.live(
    "reach the caller's Logger, annotated with task, executor (and worker), its annotations, span and level",
    () =>
      Effect.gen(function* () {
        const { lines, loggers } = recording()
        const length = yield* Effect.flatMap(Executor.submit(logsInside, "abc"), (future) => future).pipe(
          Effect.provide(Layer.provide(layer, loggers))
        )
        assert.strictEqual(length, 3)
        const fromTask = lines.filter((line) => line.message[0] === "hello from the task")
        assert.strictEqual(fromTask.length, 1, JSON.stringify(lines))
        const [line] = fromTask
        assert.deepStrictEqual(line.message, ["hello from the task", "abc", { n: 1 }])
        assert.strictEqual(line.level, "Warn")
        assert.strictEqual(line.annotations.task, "logsInside")
        assert.strictEqual(line.annotations.executor, executor)
        assert.strictEqual(line.annotations.request, "r-7")
        if (onWorker) assert.strictEqual(line.annotations.worker, 1)
        else assert.isUndefined(line.annotations.worker)
        assert.deepStrictEqual(line.spans, ["inside"])
        assert.isFalse(
          lines.some((line) => line.message[0] === "not shown at the default level"),
          "a line below the minimum level is not logged"
        )
      })
  )

  it.live("logged from a fiber the task forked, after an asynchronous step, still carry the task's name", () =>
    Effect.gen(function* () {
      const { lines, loggers } = recording()
      const results = yield* Effect.forEach([1, 2], (n) =>
        Effect.flatMap(Executor.submit(logsFromChild, n), (future) => future)
      ).pipe(Effect.provide(Layer.provide(layer, loggers)))
      assert.deepStrictEqual(results, [1, 2])
      const fromChild = lines.filter((line) => line.message[0] === "from a child fiber")
      assert.deepStrictEqual(
        fromChild.map((line) => [line.message[1], line.annotations.task, line.annotations.executor]),
        [
          [1, "logsFromChild", executor],
          [2, "logsFromChild", executor]
        ]
      )
    })
  )
})

const withInitializer: ReadonlyArray<readonly [string, Layer.Layer<Executor.Executor, unknown>]> = [
  ["layerFibers", Executor.layerFibers({ initializer: { task: logsInside, input: "init" } })],
  [
    "layerWorkerThreads",
    Executor.layerWorkerThreads({ maxWorkers: 1, initializer: { task: logsInside, input: "init" } })
  ],
  ["layerProcesses", Executor.layerProcesses({ maxWorkers: 1, initializer: { task: logsInside, input: "init" } })]
]

describe.each(withInitializer)("%s: an initializer's logs", (_label, layer) => {
  it.live("reach the caller's Logger too, not the worker's stdout", () =>
    Effect.gen(function* () {
      const { lines, loggers } = recording()
      // A task that ran means the initializer is done, and its lines (sent before it said so) have arrived.
      const length = yield* Effect.flatMap(Executor.submit(logsInside, "ab"), (future) => future).pipe(
        Effect.provide(Layer.provide(layer, loggers))
      )
      assert.strictEqual(length, 2)
      const fromInit = lines.filter((line) => line.message[0] === "hello from the task" && line.message[1] === "init")
      assert.strictEqual(fromInit.length, 1, JSON.stringify(lines))
      assert.strictEqual(fromInit[0].level, "Warn")
    })
  )
})
