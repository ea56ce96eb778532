/**
 * The bad-input matrix: each bad input gets a typed error that names what was wrong, and the executor is unaffected
 * — the same worker serves the next task (nothing was restarted), nothing counts as a crash, and a fresh task runs.
 * Cases run on every layer they apply to: module loading and structured clone only exist across a worker boundary.
 */
import { assert, describe, it } from "@effect/vitest"
import * as os from "node:os"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Executor, ExecutorError, Future, Task } from "../../src/index.ts"
import { failureOf } from "../contract.ts"
import { anything, notAnEffect, throwsInRun, wrongError } from "../fixtures/faultTasks.ts"
import { makeBoard } from "../fixtures/latch.ts"
import { badResult, double, gated } from "../fixtures/tasks.ts"
import { missingModule, notExported, whichWorker } from "../fixtures/workerTasks.ts"
import { childProcesses } from "./faultInjection.ts"

type LayerName = "layerWorkerThreads" | "layerProcesses" | "layerFibers"

const layers: Record<LayerName, (options?: Executor.WorkerOptions) => Layer.Layer<Executor.Executor, unknown>> = {
  layerWorkerThreads: (options) => Executor.layerWorkerThreads({ maxWorkers: 1, ...options }),
  layerProcesses: (options) => Executor.layerProcesses({ maxWorkers: 1, ...options }),
  layerFibers: (options) => Executor.layerFibers({ concurrency: 1, ...options })
}
const ALL: ReadonlyArray<LayerName> = ["layerWorkerThreads", "layerProcesses", "layerFibers"]
const WORKERS: ReadonlyArray<LayerName> = ["layerWorkerThreads", "layerProcesses"]

/** A task the test process defines, pointing at a module (never imported here) that defines its name twice. */
const duplicated = Task.make("twice", {
  module: new URL("./fixtures/duplicateTasks.ts", import.meta.url).href,
  payload: Schema.Number,
  success: Schema.Number,
  run: (n) => Effect.succeed(n)
})

const submitAndFail = <E>(submitting: Effect.Effect<Future.Future<unknown, E>, unknown, Executor.Executor>) =>
  Effect.flatMap(submitting, (future) => Effect.map(Future.await(future), failureOf))

/**
 * Runs `bad` between two look-ups of which worker serves tasks: the bad input must not have cost the worker, nor
 * counted as a crash, and a fresh task must still run.
 */
const unaffected = <A, E, R>(bad: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const before = yield* Future.result(yield* Executor.submit(whichWorker, 0))
    const result = yield* bad
    assert.strictEqual(yield* Future.result(yield* Executor.submit(double, 4)), 8, "a fresh task runs")
    assert.strictEqual(
      yield* Future.result(yield* Executor.submit(whichWorker, 0)),
      before,
      "the same worker serves tasks"
    )
    const stats = yield* Executor.stats
    assert.strictEqual(stats.crashed, 0, "nothing crashed")
    assert.strictEqual(stats.queued + stats.busy, 0, "nothing left queued or running")
    return result
  })

interface Case {
  readonly name: string
  readonly on: ReadonlyArray<LayerName>
  readonly options?: Executor.WorkerOptions
  readonly run: Effect.Effect<void, unknown, Executor.Executor | import("effect/Scope").Scope>
}

const cases: ReadonlyArray<Case> = [
  {
    name: "a payload that fails its Schema: EncodeError (payload) naming the task, never run",
    on: ALL,
    run: Effect.gen(function* () {
      const error = yield* submitAndFail(Executor.submit(double, "twenty" as unknown as number))
      assert.instanceOf(error, ExecutorError.EncodeError)
      assert.deepInclude(error, { task: "double", which: "payload" })
      assert.include(error.message, "Expected number")
      const nested = yield* submitAndFail(Executor.submit(gated, { board: 42, index: 0 } as never))
      assert.instanceOf(nested, ExecutorError.EncodeError)
      assert.deepInclude(nested, { task: "gated", which: "payload" })
      assert.include(nested.message, `["board"]`, "the message names the field")
      // A batch with one bad payload fails as a whole before it is sent. (Without chunks, map would also cancel the
      // items it had submitted ahead, and interrupting a running task costs its worker.)
      const inMap = yield* Effect.flip(
        Stream.runCollect(Executor.map(double, [1, "2" as unknown as number, 3], { chunksize: 3 }))
      )
      assert.instanceOf(inMap, ExecutorError.EncodeError)
      assert.deepInclude(inMap, { task: "double", which: "payload" })
      // A hole in an array of numbers is `undefined`, not a number: the batch fast path must not skip over it.
      const holey = new Array<number>(3)
      holey[0] = 1
      holey[2] = 3
      const withHole = yield* Effect.flip(Stream.runCollect(Executor.map(double, holey, { chunksize: 3 })))
      assert.instanceOf(withHole, ExecutorError.EncodeError)
      assert.include(withHole.message, "Expected number")
      const executor = yield* Executor.Executor
      const inBatch = yield* submitAndFail(executor.submitBatch(double, [1, 2, undefined as unknown as number]))
      assert.instanceOf(inBatch, ExecutorError.EncodeError)
    })
  },
  {
    name: "a result that fails its Schema in the worker: EncodeError (success)",
    on: ALL,
    run: Effect.gen(function* () {
      const error = yield* submitAndFail(Executor.submit(badResult, 1))
      assert.instanceOf(error, ExecutorError.EncodeError)
      assert.deepInclude(error, { task: "badResult", which: "success" })
      assert.include(error.message, "Expected number")
    })
  },
  {
    name: "a typed failure that is not the task's error Schema: EncodeError (error)",
    on: ALL,
    run: Effect.gen(function* () {
      const error = yield* submitAndFail(Executor.submit(wrongError, 1))
      assert.instanceOf(error, ExecutorError.EncodeError)
      assert.deepInclude(error, { task: "wrongError", which: "error" })
      assert.include(error.message, "Boom")
    })
  },
  {
    name: "a run function that throws, or returns no Effect: TaskDefect naming it",
    on: ALL,
    run: Effect.gen(function* () {
      const thrown = yield* submitAndFail(Executor.submit(throwsInRun, "no input today"))
      assert.instanceOf(thrown, ExecutorError.TaskDefect)
      assert.deepInclude(thrown, { errorName: "TypeError", message: "no input today" })
      const notEffect = yield* submitAndFail(Executor.submit(notAnEffect, 1))
      assert.instanceOf(notEffect, ExecutorError.TaskDefect)
      assert.include(notEffect.message, `Task "notAnEffect" must return an Effect`)
    })
  },
  {
    name: "a task whose module URL does not exist: TaskLoadError naming the module and the task",
    on: WORKERS,
    run: Effect.gen(function* () {
      const error = yield* submitAndFail(Executor.submit(missingModule, 1))
      assert.instanceOf(error, ExecutorError.TaskLoadError)
      assert.deepInclude(error, { module: missingModule.module, task: "missingModule" })
      assert.include(error.message, "failed to import")
      assert.include(error.message, "does-not-exist.ts")
    })
  },
  {
    name: "a module without that export: TaskLoadError saying which tasks it has",
    on: WORKERS,
    run: Effect.gen(function* () {
      const error = yield* submitAndFail(Executor.submit(notExported, 1))
      assert.instanceOf(error, ExecutorError.TaskLoadError)
      assert.deepInclude(error, { module: notExported.module, task: "notExported" })
      assert.include(error.message, `no task named "notExported"`)
    })
  },
  {
    name: "a module that defines a task name twice: TaskLoadError carrying InvalidTask's message",
    on: WORKERS,
    run: Effect.gen(function* () {
      const error = yield* submitAndFail(Executor.submit(duplicated, 1))
      assert.instanceOf(error, ExecutorError.TaskLoadError)
      assert.deepInclude(error, { module: duplicated.module, task: "twice" })
      assert.include(error.message, `A task named "twice" is already defined`)
    })
  },
  {
    // On layerFibers too: a payload nothing else would refuse must not pass a test suite run on fibers and then
    // fail in production on workers.
    name: "a payload that cannot be cloned (a function, a symbol, a promise): EncodeError (payload)",
    on: ALL,
    run: Effect.gen(function* () {
      let deep: unknown = { callback: () => 1 }
      for (let i = 0; i < 40; i++) deep = { next: deep }
      for (const value of [{ callback: () => 1 }, Symbol("token"), Promise.resolve(1), deep]) {
        const error = yield* submitAndFail(Executor.submit(anything, value))
        assert.instanceOf(error, ExecutorError.EncodeError)
        assert.deepInclude(error, { task: "anything", which: "payload" })
        assert.include(error.message, "cannot be sent to a worker")
      }
      // Objects that are not plain data are judged as structured clone judges them, refused or taken.
      const refused = [
        new Proxy({ a: 1 }, {}),
        new WeakMap(),
        new Map([["f", () => 1]]),
        new (class {
          f = () => 1
        })()
      ]
      for (const value of refused) {
        const error = yield* submitAndFail(Executor.submit(anything, value))
        assert.instanceOf(error, ExecutorError.EncodeError, String(value))
      }
      const cyclic: Record<string, unknown> = { a: 1 }
      cyclic.self = cyclic
      for (const value of [
        new Date(0),
        new Uint8Array(3),
        new Map([["a", 1]]),
        new (class {
          x = 1
        })(),
        cyclic
      ]) {
        yield* Effect.flatMap(Executor.submit(anything, value), (f) => Future.result(f))
      }
      // In a batch too.
      const inMap = yield* Effect.flip(
        Stream.runCollect(Executor.map(anything, [1, { callback: () => 1 }, 3], { chunksize: 3 }))
      )
      assert.instanceOf(inMap, ExecutorError.EncodeError)
    })
  },
  {
    name: "a result that cannot be cloned: EncodeError (success)",
    on: ALL,
    run: Effect.gen(function* () {
      const error = yield* submitAndFail(Executor.submit(anything, "return a function"))
      assert.instanceOf(error, ExecutorError.EncodeError)
      assert.deepInclude(error, { task: "anything", which: "success" })
      assert.include(error.message, "cannot be sent back from the worker")
    })
  },
  {
    name: 'a full queue with onFull: "fail": QueueFull naming maxQueue; queued work still runs',
    on: ALL,
    options: { maxQueue: 1, onFull: "fail" },
    run: Effect.gen(function* () {
      const board = yield* makeBoard
      const running = yield* Executor.submit(gated, { board: board.address, index: 0 })
      yield* board.started(0)
      const queued = yield* Executor.submit(gated, { board: board.address, index: 1 })
      const refused = yield* Effect.flip(Executor.submit(gated, { board: board.address, index: 2 }))
      assert.instanceOf(refused, ExecutorError.QueueFull)
      assert.strictEqual((refused as ExecutorError.QueueFull).maxQueue, 1)
      assert.include(refused.message, "maxQueue: 1")
      yield* Effect.forEach([0, 1], board.release, { discard: true })
      assert.deepStrictEqual(yield* Effect.forEach([running, queued], (f) => Future.result(f)), [0, 1])
      assert.isFalse(board.hasStarted(2), "the refused task never ran")
    })
  }
]

describe.each(ALL)("bad input on %s", (layer) => {
  for (const testCase of cases) {
    if (!testCase.on.includes(layer)) continue
    it.live(testCase.name, () => unaffected(testCase.run).pipe(Effect.provide(layers[layer](testCase.options))))
  }

  it.live("submit after shutdown: ExecutorShutdown, for submit and map; work submitted before still finishes", () =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      const before = yield* Executor.submit(gated, { board: board.address, index: 0 })
      yield* board.started(0)
      const shutting = yield* Effect.forkChild(Executor.shutdown({ wait: true }))
      yield* Effect.yieldNow
      const refused = yield* Effect.flip(Executor.submit(double, 1))
      assert.instanceOf(refused, ExecutorError.ExecutorShutdown)
      assert.include(refused.message, "shut down")
      const mapped = yield* Effect.flip(Stream.runCollect(Executor.map(double, [1, 2], { chunksize: 2 })))
      assert.instanceOf(mapped, ExecutorError.ExecutorShutdown)
      yield* board.release(0)
      yield* Fiber.join(shutting)
      assert.strictEqual(yield* Future.result(before), 0)
      assert.instanceOf(yield* Effect.flip(Executor.submit(double, 2)), ExecutorError.ExecutorShutdown)
    }).pipe(Effect.provide(layers[layer]()))
  )

  it.live("submit to an executor whose scope has closed: ExecutorShutdown", () =>
    Effect.gen(function* () {
      const executor = yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(layers[layer]())
          const executor = yield* Effect.service(Executor.Executor).pipe(Effect.provideContext(context))
          assert.strictEqual(yield* Future.result(yield* executor.submit(double, 1)), 2)
          return executor
        })
      )
      const refused = yield* Effect.flip(executor.submit(double, 1))
      assert.instanceOf(refused, ExecutorError.ExecutorShutdown)
      assert.strictEqual((yield* executor.stats).workers <= 1, true)
    })
  )
})

describe("bad task definitions: Task.make throws InvalidTask naming the problem", () => {
  const schemas = { payload: Schema.Number, success: Schema.Number }
  it.each([
    [
      "a duplicate name in one module",
      () => Task.make("double", { ...schemas, module: double.module, run: Effect.succeed }),
      "already defined"
    ],
    [
      "an empty name",
      () => Task.make("", { ...schemas, module: import.meta.url, run: Effect.succeed }),
      "non-empty string"
    ],
    ["no module URL", () => Task.make("noModule", { ...schemas, module: "", run: Effect.succeed }), "import.meta.url"],
    [
      "a payload that is not a Schema",
      () =>
        Task.make("noSchema", { ...schemas, payload: Number as never, module: import.meta.url, run: Effect.succeed }),
      "`payload` to be a Schema"
    ],
    [
      "a run that is not a function",
      () => Task.make("noRun", { ...schemas, module: import.meta.url, run: 42 as never }),
      "`run` to be a function"
    ]
  ] as const)("%s", (_, make, message) => {
    let thrown: unknown
    try {
      make()
    } catch (error) {
      thrown = error
    }
    assert.instanceOf(thrown, ExecutorError.InvalidTask)
    assert.include((thrown as ExecutorError.InvalidTask).message, message)
  })

  it("the duplicate's error names the task and its module", () => {
    try {
      Task.make("double", {
        payload: Schema.Number,
        success: Schema.Number,
        module: double.module,
        run: Effect.succeed
      })
      assert.fail("Task.make accepted a duplicate name")
    } catch (error) {
      assert.instanceOf(error, ExecutorError.InvalidTask)
      assert.strictEqual((error as ExecutorError.InvalidTask).task, "double")
      assert.include((error as ExecutorError.InvalidTask).message, double.module)
    }
  })
})

/** [options, option named, expected (a substring), received] */
type OptionCase = readonly [Record<string, unknown>, string, string, string]

/**
 * What a duration option accepts: Node's timers wait at most 2^31 - 1 ms (a longer delay fires after 1 ms), so a
 * longer duration is refused rather than silently shortened.
 */
const DURATION = "a duration from 0 to 2147483647 milliseconds"
const OR_INFINITY = "or Infinity"

/** Bad values every duration option refuses, with how they are shown. */
const badDurations = (option: string, expected: string): ReadonlyArray<OptionCase> => [
  [{ [option]: NaN }, option, expected, "NaN"],
  [{ [option]: -1 }, option, expected, "-1"],
  [{ [option]: -Infinity }, option, expected, "-Infinity"],
  [{ [option]: "30 days" }, option, expected, '"30 days"'],
  [{ [option]: 2 ** 31 }, option, expected, "2147483648"],
  [{ [option]: [1, NaN] }, option, expected, "[1,null]"]
]

/**
 * Bad values every count refuses: not a number, not an integer, not finite (unless `infinite`, which means no
 * limit), and too large to count exactly (unless `huge` is false: a count of workers started at once is bounded
 * lower, and a build that accepted 2^53 of them would never end).
 */
const badCounts = (
  option: string,
  expected: string,
  { huge = true, infinite = false }: { readonly huge?: boolean; readonly infinite?: boolean } = {}
): ReadonlyArray<OptionCase> => [
  [{ [option]: NaN }, option, expected, "NaN"],
  [{ [option]: -1 }, option, expected, "-1"],
  [{ [option]: 1.5 }, option, expected, "1.5"],
  [{ [option]: "2" }, option, expected, '"2"'],
  [{ [option]: -Infinity }, option, expected, "-Infinity"],
  ...(huge ? [[{ [option]: 2 ** 53 }, option, expected, "9007199254740992"] as const] : []),
  ...(infinite ? [] : [[{ [option]: Infinity }, option, expected, "Infinity"] as const])
]

const common: ReadonlyArray<OptionCase> = [
  [{ maxQueue: 2.5 }, "maxQueue", "a non-negative integer", "2.5"],
  ...badCounts("maxQueue", `a non-negative integer ${OR_INFINITY}`, { infinite: true }),
  [{ onFull: "drop" }, "onFull", 'one of "suspend", "fail"', '"drop"'],
  ...badDurations("shutdownTimeout", `${DURATION}, ${OR_INFINITY}`),
  [{ shutdownTimeout: "whenever" }, "shutdownTimeout", "a duration", '"whenever"'],
  [{ initializer: { task: "setup", input: 1 } }, "initializer", "{ task, input }", '{"task":"setup","input":1}'],
  [{ name: "" }, "name", "a non-empty string", '""']
]

const workerOptions: ReadonlyArray<OptionCase> = [
  ...common,
  [{ maxWorkers: 0 }, "maxWorkers", "a positive integer", "0"],
  [{ maxWorkers: -2 }, "maxWorkers", "a positive integer", "-2"],
  [{ maxWorkers: 1.5 }, "maxWorkers", "a positive integer", "1.5"],
  [{ maxWorkers: "4" }, "maxWorkers", "a positive integer", '"4"'],
  ...badCounts("maxWorkers", "a positive integer"),
  [{ minWorkers: -1 }, "minWorkers", "a non-negative integer", "-1"],
  ...badCounts("minWorkers", "a non-negative integer"),
  [{ minWorkers: 3, maxWorkers: 2 }, "minWorkers", "at most `maxWorkers` (2)", "3"],
  // Spares boot at once and stand in for workers lost: more than `maxWorkers` of them would never be used, and an
  // unbounded number would start workers without end.
  ...badCounts("spareWorkers", "an integer from 0 to `maxWorkers`", { huge: false }),
  [{ spareWorkers: 2, maxWorkers: 1 }, "spareWorkers", "an integer from 0 to `maxWorkers` (1)", "2"],
  [
    { spareWorkers: os.availableParallelism() + 1 },
    "spareWorkers",
    `an integer from 0 to \`maxWorkers\` (${os.availableParallelism()})`,
    String(os.availableParallelism() + 1)
  ],
  ...badDurations("idleTimeout", `${DURATION}, ${OR_INFINITY}`),
  ...badDurations("interruptGracePeriod", DURATION),
  [{ interruptGracePeriod: Infinity }, "interruptGracePeriod", DURATION, "Infinity"],
  [{ maxTasksPerWorker: 0 }, "maxTasksPerWorker", "a positive integer", "0"],
  ...badCounts("maxTasksPerWorker", `a positive integer ${OR_INFINITY}`, { infinite: true }),
  ...["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"].flatMap(
    (key): ReadonlyArray<OptionCase> =>
      [NaN, -1, 0, Infinity, "64"].map((bad) => [
        { resourceLimits: { [key]: bad } },
        `resourceLimits.${key}`,
        "a positive number of megabytes",
        typeof bad === "string" ? `"${bad}"` : String(bad)
      ])
  ),
  [{ interrupt: "kill" }, "interrupt", 'one of "cooperative", "terminate"', '"kill"'],
  [{ resourceLimits: { heapMb: 10 } }, "resourceLimits", "an object with any of", '"heapMb"'],
  [{ resourceLimits: 64 }, "resourceLimits", "an object with any of", "64"],
  [
    { resourceLimits: { maxOldGenerationSizeMb: 0 } },
    "resourceLimits.maxOldGenerationSizeMb",
    "a positive number of megabytes",
    "0"
  ],
  [
    { resourceLimits: { maxOldGenerationSizeMb: -64 } },
    "resourceLimits.maxOldGenerationSizeMb",
    "a positive number of megabytes",
    "-64"
  ]
]

const optionCases: Record<LayerName, ReadonlyArray<OptionCase>> = {
  layerWorkerThreads: workerOptions,
  layerProcesses: [
    ...workerOptions,
    [{ execArgv: "--inspect" }, "execArgv", "an array of strings", '"--inspect"'],
    [{ execArgv: [1] }, "execArgv", "an array of strings", "[1]"],
    [{ cwd: "" }, "cwd", "a directory path", '""'],
    [{ env: "PATH=/bin" }, "env", "an object of environment variables", '"PATH=/bin"']
  ],
  layerFibers: [
    ...common,
    [{ concurrency: 0 }, "concurrency", "a positive integer", "0"],
    ...badCounts("concurrency", "a positive integer")
  ]
}

/** Every numeric option of each layer: the tables above must refuse bad values of each. */
const workerNumeric = [
  "maxQueue",
  "shutdownTimeout",
  "maxWorkers",
  "minWorkers",
  "spareWorkers",
  "idleTimeout",
  "interruptGracePeriod",
  "maxTasksPerWorker",
  "resourceLimits.maxOldGenerationSizeMb",
  "resourceLimits.maxYoungGenerationSizeMb",
  "resourceLimits.codeRangeSizeMb",
  "resourceLimits.stackSizeMb"
]
const numericOptions: Record<LayerName, ReadonlyArray<string>> = {
  layerFibers: ["maxQueue", "shutdownTimeout", "concurrency"],
  layerWorkerThreads: workerNumeric,
  layerProcesses: workerNumeric
}
const numericMapOptions = ["chunksize", "buffersize", "timeout"]

/** [options, option named, expected (a substring), received] for `Executor.map`. */
const mapOptionCases: ReadonlyArray<OptionCase> = [
  [{ chunksize: 0 }, "chunksize", "a positive integer", "0"],
  ...badCounts("chunksize", "a positive integer"),
  [{ buffersize: 0 }, "buffersize", "a positive integer", "0"],
  ...badCounts("buffersize", "a positive integer"),
  ...badDurations("timeout", `${DURATION}, ${OR_INFINITY}`)
]

const rawLayer = (layer: LayerName, options: unknown) =>
  (Executor[layer] as (options: unknown) => Layer.Layer<Executor.Executor, ExecutorError.InvalidOptions>)(options)

describe("numeric options", () => {
  it("every numeric option has bad values in the tables: NaN, negative, fractional or too large", () => {
    const covered = (cases: ReadonlyArray<OptionCase>, option: string) => {
      const values = cases.filter(([, named]) => named === option).map(([, , , received]) => received)
      return values.includes("NaN") && values.includes("-1")
    }
    for (const layer of ALL) {
      for (const option of numericOptions[layer]) {
        assert.isTrue(covered(optionCases[layer], option), `${layer}: ${option}`)
      }
    }
    for (const option of numericMapOptions) assert.isTrue(covered(mapOptionCases, option), `map: ${option}`)
  })

  it.live.each(ALL)(
    "%s accepts the edges of each range: Infinity where it means no limit, the longest timer",
    (layer) =>
      Effect.gen(function* () {
        const edges: Record<string, unknown> =
          layer === "layerFibers"
            ? { concurrency: 1, maxQueue: Infinity, shutdownTimeout: 2 ** 31 - 1 }
            : {
                maxWorkers: 1,
                minWorkers: 0,
                spareWorkers: 1,
                maxQueue: Infinity,
                shutdownTimeout: Infinity,
                idleTimeout: "24 days",
                interruptGracePeriod: 2 ** 31 - 1,
                maxTasksPerWorker: Infinity
              }
        const result = yield* Effect.scoped(
          Effect.flatMap(Layer.build(rawLayer(layer, edges)), (context) =>
            Effect.flatMap(Executor.submit(double, 21), (f) => Future.result(f)).pipe(Effect.provideContext(context))
          )
        )
        assert.strictEqual(result, 42)
      })
  )
})

describe.each(ALL)("invalid options on %s", (layer) => {
  it.live.each(optionCases[layer])("%o: InvalidOptions naming %s", ([options, option, expected, received]) =>
    Effect.gen(function* () {
      const children = childProcesses()
      const error = yield* Effect.flip(Effect.scoped(Layer.build(rawLayer(layer, options))))
      assert.instanceOf(error, ExecutorError.InvalidOptions)
      assert.strictEqual(error.option, option)
      assert.include(error.expected, expected)
      assert.strictEqual(error.received, received)
      assert.strictEqual(error.message, `Expected \`${option}\` to be ${error.expected}, got ${received}`)
      assert.strictEqual(childProcesses(), children, "no worker was started")
    })
  )

  it.live("options that are not an object: InvalidOptions naming options", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(rawLayer(layer, 42))))
      assert.deepInclude(error, { option: "options", received: "42" })
    })
  )

  it.live.each(mapOptionCases)(
    "map options %o: InvalidOptions naming %s; the executor is unaffected",
    ([options, option, expected, received]) =>
      unaffected(
        Effect.gen(function* () {
          const error = yield* Effect.flip(Stream.runCollect(Executor.map(double, [1, 2], options)))
          assert.instanceOf(error, ExecutorError.InvalidOptions)
          assert.deepInclude(error, { option, received })
          assert.include(error.expected, expected)
        })
      ).pipe(Effect.provide(layers[layer]()))
  )
})
