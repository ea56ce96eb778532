/**
 * The executor contract: behaviour every executor layer must keep, run against each layer by its own test file.
 * Ported from CPython's test_concurrent_futures (executor, wait, as_completed, shutdown) plus our own guarantees.
 * Workers are driven by latches on a SharedArrayBuffer; nothing sleeps on the real clock.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Option, Schedule, Stream } from "effect"
import { Executor, ExecutorError, Future } from "../src/index.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { halveOrBoom, pointFlip, pointSum, syncBadResult, syncMark, syncUndeclared } from "./fixtures/syncTasks.ts"
import { badResult, Boom, double, failWith, gated, record, throws } from "./fixtures/tasks.ts"

/** Options every layer understands; each suite maps `workers` to its own option (`maxWorkers` or `concurrency`). */
export interface ContractOptions {
  readonly workers: number
  readonly maxQueue?: number
  readonly onFull?: "suspend" | "fail"
}

/** A layer's build error that must be `InvalidOptions` (not the bootstrapping guard's `BootstrapError`). */
export const invalidOptions = (error: unknown): ExecutorError.InvalidOptions => {
  assert.instanceOf(error, ExecutorError.InvalidOptions)
  return error as ExecutorError.InvalidOptions
}

export type MakeLayer = (
  options: ContractOptions
) => Layer.Layer<Executor.Executor, ExecutorError.InvalidOptions | ExecutorError.BootstrapError>

/** The typed failure of an exit, failing the test if there is none. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Cause.findErrorOption((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(
    Option.isSome(error),
    `expected a typed failure, got ${Cause.pretty((exit as Exit.Failure<A, E>).cause)}`
  )
  return (error as Option.Some<E>).value
}

let marks = 0

/** Waits (polling) until the executor's counters satisfy `condition`: waiting for an event, not for time. */
const statsUntil = (condition: (stats: Executor.Stats) => boolean) =>
  Executor.stats.pipe(Effect.repeat({ until: condition, schedule: Schedule.spaced(5) }), Effect.asVoid)

export const contractSuite = (label: string, makeLayer: MakeLayer) => {
  const withExecutor =
    (options: ContractOptions) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.provide(effect, makeLayer(options))

  describe(`${label}: results and errors`, () => {
    it.live("submit runs the task and the future holds its value", () =>
      Effect.gen(function* () {
        const future = yield* Executor.submit(double, 21)
        assert.strictEqual(yield* future, 42)
        assert.strictEqual(yield* Future.state(future), "FINISHED")
        assert.strictEqual(yield* Future.result(future), 42)
        assert.isTrue(Option.isNone(yield* Future.exception(future)))
      }).pipe(withExecutor({ workers: 2 }))
    )

    it.live("a typed failure arrives as an instance of its own class", () =>
      Effect.gen(function* () {
        const future = yield* Executor.submit(failWith, 7)
        const error = failureOf(yield* Future.await(future))
        assert.instanceOf(error, Boom)
        assert.strictEqual((error as Boom).code, 7)
        const caught = yield* Effect.flip(Future.result(future))
        assert.instanceOf(caught, Boom)
        assert.strictEqual(yield* Future.state(future), "FINISHED")
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("a thrown exception becomes TaskDefect with name, message and the worker's stack", () =>
      Effect.gen(function* () {
        const future = yield* Executor.submit(throws, "out of range")
        const error = failureOf(yield* Future.await(future))
        assert.instanceOf(error, ExecutorError.TaskDefect)
        const defect = error as ExecutorError.TaskDefect
        assert.strictEqual(defect.errorName, "RangeError")
        assert.strictEqual(defect.message, "out of range")
        assert.include(defect.workerStack, "tasks.ts")
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("a payload that fails its Schema fails that future with EncodeError and never runs", () =>
      Effect.gen(function* () {
        const future = yield* Executor.submit(double, "twenty" as unknown as number)
        const error = failureOf(yield* Future.await(future))
        assert.instanceOf(error, ExecutorError.EncodeError)
        assert.strictEqual((error as ExecutorError.EncodeError).which, "payload")
        assert.strictEqual((error as ExecutorError.EncodeError).task, "double")
        // The executor is unaffected.
        assert.strictEqual(yield* yield* Executor.submit(double, 1), 2)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("a result that fails its Schema fails with EncodeError naming the success", () =>
      Effect.gen(function* () {
        const error = failureOf(yield* Future.await(yield* Executor.submit(badResult, 1)))
        assert.instanceOf(error, ExecutorError.EncodeError)
        assert.strictEqual((error as ExecutorError.EncodeError).which, "success")
        assert.strictEqual(yield* yield* Executor.submit(double, 2), 4)
      }).pipe(withExecutor({ workers: 1 }))
    )
  })

  describe(`${label}: queue and states`, () => {
    it.live("tasks start in FIFO order", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const blocker = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        const futures = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (value) => Executor.submit(record, { board: board.address, value })
        )
        yield* board.release(0)
        yield* blocker
        yield* Effect.forEach(futures, (f) => f)
        assert.deepStrictEqual(
          board.records(),
          Array.from({ length: 20 }, (_, i) => i)
        )
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("a future is PENDING while queued, RUNNING once started, FINISHED when done", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const first = yield* Executor.submit(gated, { board: board.address, index: 0 })
        const second = yield* Executor.submit(gated, { board: board.address, index: 1 })
        yield* board.started(0)
        assert.strictEqual(yield* Future.state(first), "RUNNING")
        assert.isTrue(yield* Future.running(first))
        assert.strictEqual(yield* Future.state(second), "PENDING")
        assert.isFalse(yield* Future.done(second))
        yield* board.release(0)
        assert.strictEqual(yield* first, 0)
        assert.strictEqual(yield* Future.state(first), "FINISHED")
        yield* board.started(1)
        assert.strictEqual(yield* Future.state(second), "RUNNING")
        yield* board.release(1)
        assert.strictEqual(yield* second, 1)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("cancel: true for a pending future (never runs), false for running and finished ones", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const running = yield* Executor.submit(gated, { board: board.address, index: 0 })
        const pending = yield* Executor.submit(gated, { board: board.address, index: 1 })
        const after = yield* Executor.submit(gated, { board: board.address, index: 2 })
        yield* board.started(0)
        assert.isFalse(yield* Future.cancel(running))
        assert.isTrue(yield* Future.cancel(pending))
        assert.isTrue(yield* Future.cancel(pending), "cancelling twice is still true")
        assert.strictEqual(yield* Future.state(pending), "CANCELLED")
        assert.isTrue(yield* Future.done(pending))
        const cancelled = yield* Effect.flip(Future.result(pending))
        assert.instanceOf(cancelled, ExecutorError.CancelledError)
        const joined = yield* Effect.exit(Fiber.join(pending.fiber))
        assert.isTrue(Exit.isFailure(joined) && Cause.hasInterruptsOnly(joined.cause))
        yield* board.release(0)
        yield* board.release(2)
        assert.strictEqual(yield* running, 0)
        assert.strictEqual(yield* after, 2)
        assert.isFalse(yield* Future.cancel(running))
        assert.isFalse(board.hasStarted(1), "a cancelled pending task never runs")
        const stats = yield* Executor.stats
        assert.strictEqual(stats.cancelled, 1)
        assert.strictEqual(stats.completed, 2)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("interrupt stops a running task and frees its slot for the next one", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const running = yield* Executor.submit(gated, { board: board.address, index: 0 })
        const next = yield* Executor.submit(gated, { board: board.address, index: 1 })
        yield* board.started(0)
        yield* Future.interrupt(running)
        assert.strictEqual(yield* Future.state(running), "CANCELLED")
        yield* board.started(1)
        yield* board.release(1)
        assert.strictEqual(yield* next, 1)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("Fiber.interrupt on the future's fiber means the same as Future.interrupt", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const running = yield* Executor.submit(gated, { board: board.address, index: 0 })
        const queued = yield* Executor.submit(gated, { board: board.address, index: 1 })
        yield* board.started(0)
        yield* Fiber.interrupt(queued.fiber)
        yield* Fiber.interrupt(running.fiber)
        assert.strictEqual(yield* Future.state(queued), "CANCELLED")
        assert.strictEqual(yield* Future.state(running), "CANCELLED")
        assert.isFalse(board.hasStarted(1))
        assert.strictEqual(yield* yield* Executor.submit(double, 5), 10)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("a future outlives the fiber that submitted it", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const submitter = yield* Effect.forkChild(Executor.submit(gated, { board: board.address, index: 0 }))
        const future = yield* Fiber.join(submitter)
        yield* board.started(0)
        yield* board.release(0)
        assert.strictEqual(yield* future, 0)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live('maxQueue with onFull: "fail" fails submit with QueueFull; only waiting tasks count', () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const running = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        const queued = yield* Executor.submit(gated, { board: board.address, index: 1 })
        const refused = yield* Effect.flip(Executor.submit(gated, { board: board.address, index: 2 }))
        assert.instanceOf(refused, ExecutorError.QueueFull)
        assert.strictEqual((refused as ExecutorError.QueueFull).maxQueue, 1)
        yield* board.release(0)
        yield* board.release(1)
        assert.deepStrictEqual([yield* running, yield* queued], [0, 1])
        assert.isFalse(board.hasStarted(2))
      }).pipe(withExecutor({ workers: 1, maxQueue: 1, onFull: "fail" }))
    )

    it.live('maxQueue with onFull: "suspend" makes submit wait for room', () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const running = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        const queued = yield* Executor.submit(gated, { board: board.address, index: 1 })
        const third = yield* Effect.forkChild(Executor.submit(gated, { board: board.address, index: 2 }))
        yield* Effect.yieldNow
        assert.isUndefined(third.pollUnsafe(), "submit is suspended while the queue is full")
        yield* board.release(0)
        yield* running
        const future = yield* Fiber.join(third)
        yield* board.release(1)
        yield* board.release(2)
        assert.deepStrictEqual([yield* queued, yield* future], [1, 2])
      }).pipe(withExecutor({ workers: 1, maxQueue: 1, onFull: "suspend" }))
    )

    it.live('maxQueue with onFull: "suspend": thousands of suspended submitters all get in, in FIFO order', () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const running = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        // The worker is busy and the queue (one place) full: every submitter from here on waits for room.
        const first = yield* Executor.submit(record, { board: board.address, value: -1 })
        const submitters = yield* Effect.forEach(
          Array.from({ length: 2000 }, (_, value) => value),
          (value) => Effect.forkChild(Executor.submit(record, { board: board.address, value }))
        )
        yield* Effect.yieldNow
        assert.isTrue(
          submitters.every((fiber) => fiber.pollUnsafe() === undefined),
          "every submit is suspended while the queue is full"
        )
        // One gives up while it waits: it never gets in, and the others do not wait for it.
        yield* Fiber.interrupt(submitters[1000])
        yield* board.release(0)
        assert.strictEqual(yield* running, 0)
        const futures = yield* Effect.forEach(
          submitters.filter((_, value) => value !== 1000),
          Fiber.join
        )
        yield* Effect.forEach([first, ...futures], (future) => Future.result(future), { discard: true })
        // Each got in, and so ran, in the order it started waiting.
        assert.deepStrictEqual(board.records(), [
          -1,
          ...Array.from({ length: 2000 }, (_, value) => value).filter((value) => value !== 1000)
        ])
        const stats = yield* Executor.stats
        assert.strictEqual(stats.completed, 2001)
        assert.strictEqual(stats.queued, 0)
      }).pipe(withExecutor({ workers: 1, maxQueue: 1, onFull: "suspend" }))
    )

    it.live("maxQueue 0 admits a task a free worker can take, and refuses one that would have to wait", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const first = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        const refused = yield* Effect.flip(Executor.submit(gated, { board: board.address, index: 1 }))
        assert.instanceOf(refused, ExecutorError.QueueFull)
        yield* board.release(0)
        assert.strictEqual(yield* first, 0)
      }).pipe(withExecutor({ workers: 1, maxQueue: 0, onFull: "fail" }))
    )

    it.live("stats count outcomes", () =>
      Effect.gen(function* () {
        yield* Effect.forEach([1, 2, 3], (n) => Effect.flatMap(Executor.submit(double, n), Future.await))
        yield* Future.await(yield* Executor.submit(failWith, 1))
        yield* Future.await(yield* Executor.submit(throws, "x"))
        const stats = yield* Executor.stats
        assert.strictEqual(stats.completed, 3)
        assert.strictEqual(stats.failed, 2)
        assert.strictEqual(stats.queued, 0)
        assert.strictEqual(stats.busy, 0)
        assert.isTrue(stats.workers >= 1)
      }).pipe(withExecutor({ workers: 2 }))
    )
  })

  describe(`${label}: map`, () => {
    it.live("returns results in input order, with and without chunks", () =>
      Effect.gen(function* () {
        const inputs = Array.from({ length: 50 }, (_, i) => i)
        const plain = yield* Stream.runCollect(Executor.map(double, inputs))
        assert.deepStrictEqual(
          Array.from(plain),
          inputs.map((n) => n * 2)
        )
        const chunked = yield* Stream.runCollect(Executor.map(double, inputs, { chunksize: 7 }))
        assert.deepStrictEqual(
          Array.from(chunked),
          inputs.map((n) => n * 2)
        )
        const fromStream = yield* Stream.runCollect(Executor.map(double, Stream.range(1, 5), { chunksize: 2 }))
        assert.deepStrictEqual(Array.from(fromStream), [2, 4, 6, 8, 10])
      }).pipe(withExecutor({ workers: 2 }))
    )

    it.live("stops at the first failure with its typed error", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Stream.runCollect(Executor.map(failWith, [1, 2, 3], { chunksize: 2 })))
        assert.instanceOf(error, Boom)
        assert.strictEqual((error as Boom).code, 1)
        const encode = yield* Effect.flip(Stream.runCollect(Executor.map(double, [1, "x" as unknown as number, 3])))
        assert.instanceOf(encode, ExecutorError.EncodeError)
      }).pipe(withExecutor({ workers: 2 }))
    )

    it.live("fails at the failing item's position, as Python's map raises: earlier results come first", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const inputs = (first: number) => [first, first + 1].map((index) => ({ board: board.address, index }))
        /** Item `first` is still running when item `first + 1` (run ahead of it) fails; then item `first` succeeds. */
        const failAhead = (first: number) =>
          Effect.gen(function* () {
            yield* Effect.forEach([first, first + 1], board.started, { discard: true })
            const failed = (yield* Executor.stats).failed
            yield* board.reject(first + 1)
            yield* statsUntil((stats) => stats.failed > failed)
            yield* board.release(first)
          })
        // A consumer that stops after the first result never sees the later failure.
        const taking = yield* Effect.forkChild(Stream.runCollect(Executor.map(gated, inputs(0)).pipe(Stream.take(1))))
        yield* failAhead(0)
        assert.deepStrictEqual(Array.from(yield* Fiber.join(taking)), [0])
        // One that reads on gets the first result, then the failure.
        const collected: Array<number> = []
        const reading = yield* Effect.forkChild(
          Effect.flip(Stream.runForEach(Executor.map(gated, inputs(2)), (n) => Effect.sync(() => collected.push(n))))
        )
        yield* failAhead(2)
        const error = yield* Fiber.join(reading)
        assert.instanceOf(error, Boom)
        assert.strictEqual((error as Boom).code, 3)
        assert.deepStrictEqual(collected, [2])
        // With chunks too, when a later chunk fails as a whole (here its payload does not encode) before the first ends.
        const failedBefore = (yield* Executor.stats).failed
        const chunked = yield* Effect.forkChild(
          Stream.runCollect(
            Executor.map(gated, [...inputs(4), { board: 42 as unknown as string, index: 6 }], { chunksize: 2 }).pipe(
              Stream.take(2)
            )
          )
        )
        yield* board.started(4)
        yield* statsUntil((stats) => stats.failed > failedBefore)
        yield* Effect.forEach([4, 5], board.release, { discard: true })
        assert.deepStrictEqual(Array.from(yield* Fiber.join(chunked)), [4, 5])
      }).pipe(withExecutor({ workers: 2 }))
    )

    it.live("pulls an endless input lazily, at most buffersize ahead", () =>
      Effect.gen(function* () {
        let pulled = 0
        const naturals = {
          *[Symbol.iterator]() {
            for (let i = 0; ; i++) {
              pulled++
              yield i
            }
          }
        }
        const firstFive = yield* Stream.runCollect(
          Executor.map(double, naturals, { buffersize: 4 }).pipe(Stream.take(5))
        )
        assert.deepStrictEqual(Array.from(firstFive), [0, 2, 4, 6, 8])
        assert.isBelow(pulled, 5 + 4 + 4)
      }).pipe(withExecutor({ workers: 2 }))
    )

    it.live("closing the stream early cancels what it submitted and has not finished", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const inputs = [0, 1, 2, 3].map((index) => ({ board: board.address, index }))
        const fiber = yield* Effect.forkChild(Stream.runCollect(Executor.map(gated, inputs, { buffersize: 4 })))
        yield* board.started(0)
        yield* Fiber.interrupt(fiber)
        // Every submitted task was cancelled: the single worker is free for new work at once.
        assert.strictEqual(yield* yield* Executor.submit(double, 4), 8)
        assert.isFalse(board.hasStarted(1) || board.hasStarted(2) || board.hasStarted(3))
        const stats = yield* Executor.stats
        // How many the stream had submitted ahead depends on scheduling; all of them were cancelled, none completed.
        assert.isAtLeast(stats.cancelled, 1)
        assert.strictEqual(stats.completed, 1)
        assert.strictEqual(stats.queued + stats.busy, 0)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("rejects a bad chunksize with InvalidOptions", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Stream.runCollect(Executor.map(double, [1], { chunksize: 0 })))
        assert.instanceOf(error, ExecutorError.InvalidOptions)
        assert.strictEqual((error as ExecutorError.InvalidOptions).option, "chunksize")
      }).pipe(withExecutor({ workers: 1 }))
    )
  })

  describe(`${label}: asCompleted and wait over executor futures`, () => {
    it.live("asCompleted yields futures as they finish; wait FIRST_COMPLETED returns the first", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const futures = yield* Effect.forEach([0, 1, 2], (index) =>
          Executor.submit(gated, { board: board.address, index })
        )
        yield* Effect.forEach([0, 1, 2], board.started)
        const first = yield* Effect.forkChild(Future.wait(futures, { returnWhen: "FIRST_COMPLETED" }))
        const order = yield* Effect.forkChild(
          Future.asCompleted(futures).pipe(
            Stream.mapEffect((f) => Future.result(f)),
            Stream.runCollect
          )
        )
        yield* board.release(2)
        const { done, notDone } = yield* Fiber.join(first)
        assert.deepStrictEqual(done, [futures[2]])
        assert.strictEqual(notDone.length, 2)
        yield* board.release(0)
        yield* futures[0]
        yield* board.release(1)
        assert.deepStrictEqual(Array.from(yield* Fiber.join(order)), [2, 0, 1])
      }).pipe(withExecutor({ workers: 3 }))
    )

    it.live("wait FIRST_EXCEPTION returns at the first failure", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const futures = yield* Effect.forEach([0, 1], (index) =>
          Executor.submit(gated, { board: board.address, index })
        )
        yield* Effect.forEach([0, 1], board.started)
        const waiting = yield* Effect.forkChild(Future.wait(futures, { returnWhen: "FIRST_EXCEPTION" }))
        yield* board.reject(1)
        const { done, notDone } = yield* Fiber.join(waiting)
        assert.deepStrictEqual(done, [futures[1]])
        assert.deepStrictEqual(notDone, [futures[0]])
        yield* board.release(0)
      }).pipe(withExecutor({ workers: 2 }))
    )
  })

  describe(`${label}: shutdown`, () => {
    it.live("submit after shutdown fails with ExecutorShutdown; shutdown twice is harmless", () =>
      Effect.gen(function* () {
        yield* Executor.shutdown()
        yield* Executor.shutdown()
        const error = yield* Effect.flip(Executor.submit(double, 1))
        assert.instanceOf(error, ExecutorError.ExecutorShutdown)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("shutdown({ wait: true }) lets queued and running tasks finish", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const futures = yield* Effect.forEach([0, 1], (index) =>
          Executor.submit(gated, { board: board.address, index })
        )
        yield* board.started(0)
        const shutting = yield* Effect.forkChild(Executor.shutdown({ wait: true }))
        yield* board.release(0)
        yield* board.started(1)
        yield* board.release(1)
        yield* Fiber.join(shutting)
        assert.deepStrictEqual(yield* Effect.forEach(futures, (f) => Future.result(f)), [0, 1])
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("shutdown({ cancelFutures: true }) cancels queued tasks and lets the running one finish", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const futures = yield* Effect.forEach([0, 1, 2], (index) =>
          Executor.submit(gated, { board: board.address, index })
        )
        yield* board.started(0)
        const shutting = yield* Effect.forkChild(Executor.shutdown({ wait: true, cancelFutures: true }))
        yield* Effect.yieldNow
        assert.strictEqual(yield* Future.state(futures[1]), "CANCELLED")
        assert.strictEqual(yield* Future.state(futures[2]), "CANCELLED")
        assert.strictEqual(yield* Future.state(futures[0]), "RUNNING")
        yield* board.release(0)
        yield* Fiber.join(shutting)
        assert.strictEqual(yield* futures[0], 0)
        assert.isFalse(board.hasStarted(1) || board.hasStarted(2))
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("shutdown({ wait: false }) returns at once; running work still completes", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const future = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        yield* Executor.shutdown({ wait: false })
        assert.strictEqual(yield* Future.state(future), "RUNNING")
        yield* board.release(0)
        assert.strictEqual(yield* future, 0)
      }).pipe(withExecutor({ workers: 1 }))
    )

    it.live("closing the layer's scope waits for submitted work", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const futures = yield* Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(makeLayer({ workers: 1 }))
            const submitted = yield* Effect.forEach([0, 1], (index) =>
              Executor.submit(gated, { board: board.address, index })
            ).pipe(Effect.provideContext(context))
            yield* board.started(0)
            yield* board.release(0)
            yield* board.release(1)
            return submitted
          })
        )
        assert.deepStrictEqual(yield* Effect.forEach(futures, (f) => Future.result(f)), [0, 1])
      })
    )

    it.live("an interrupted scope cancels pending work and interrupts running work", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        let futures: ReadonlyArray<Future.Future<number, unknown>> = []
        const fiber = yield* Effect.forkChild(
          Effect.scoped(
            Effect.gen(function* () {
              const context = yield* Layer.build(makeLayer({ workers: 1 }))
              futures = yield* Effect.forEach([0, 1], (index) =>
                Executor.submit(gated, { board: board.address, index })
              ).pipe(Effect.provideContext(context))
              return yield* Effect.never
            })
          )
        )
        yield* board.started(0)
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* Effect.forEach(futures, Future.state), ["CANCELLED", "CANCELLED"])
        assert.isFalse(board.hasStarted(1))
      })
    )
  })

  describe(`${label}: Task.sync`, () => {
    /** A fresh file the `syncMark` task appends to, and what it holds (one number a line). */
    const markFile = Effect.acquireRelease(
      Effect.sync(() => {
        const file = path.join(os.tmpdir(), `effect-futures-marks-${process.pid}-${marks++}.txt`)
        fs.writeFileSync(file, "")
        return file
      }),
      (file) => Effect.sync(() => fs.rmSync(file, { force: true }))
    )
    const marked = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number)

    it.live("a sync task's value, typed failure, defect and bad result, one by one and in a batch", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* yield* Executor.submit(halveOrBoom, 8), 4)
        const typed = failureOf(yield* Future.await(yield* Executor.submit(halveOrBoom, -3)))
        assert.instanceOf(typed, Boom, "a thrown instance of the error Schema is the typed failure")
        assert.strictEqual((typed as Boom).code, -3)
        const defect = failureOf(yield* Future.await(yield* Executor.submit(halveOrBoom, NaN)))
        assert.instanceOf(defect, ExecutorError.TaskDefect)
        assert.strictEqual((defect as ExecutorError.TaskDefect).errorName, "RangeError")
        assert.strictEqual((defect as ExecutorError.TaskDefect).message, "not a number")
        const undeclared = failureOf(yield* Future.await(yield* Executor.submit(syncUndeclared, 1)))
        assert.instanceOf(undeclared, ExecutorError.TaskDefect, "a throw the error Schema does not accept is a defect")
        const bad = failureOf(yield* Future.await(yield* Executor.submit(syncBadResult, 1)))
        assert.instanceOf(bad, ExecutorError.EncodeError)
        assert.strictEqual((bad as ExecutorError.EncodeError).which, "success")
        // A batch stops at the first item that does not succeed, with its typed error and the values before it.
        const executor = yield* Executor.Executor
        const batch = yield* yield* executor.submitBatch(halveOrBoom, [2, 4, -6, 8])
        assert.deepStrictEqual(batch.values, [1, 2])
        assert.isDefined(batch.failure)
        const failure = Cause.findErrorOption(batch.failure!)
        assert.isTrue(Option.isSome(failure) && failure.value instanceof Boom && failure.value.code === -6)
      }).pipe(withExecutor({ workers: 2 }))
    )

    it.live("map over a sync task: input order, chunks, a Stream input, objects, failure at its position", () =>
      Effect.gen(function* () {
        const inputs = Array.from({ length: 100 }, (_, i) => i)
        const halves = inputs.map((n) => n / 2)
        for (const chunksize of [1, 7, 100]) {
          const out = yield* Stream.runCollect(Executor.map(halveOrBoom, inputs, { chunksize }))
          assert.deepStrictEqual(Array.from(out), halves, `chunksize ${chunksize}`)
        }
        const lazy = yield* Stream.runCollect(
          Executor.map(halveOrBoom, Stream.range(0, 99), { chunksize: 10, buffersize: 20 })
        )
        assert.deepStrictEqual(Array.from(lazy), halves)
        const points = inputs.map((i) => ({ label: `p${i}`, x: i, y: 1 }))
        const sums = yield* Stream.runCollect(Executor.map(pointSum, Stream.fromIterable(points), { chunksize: 16 }))
        assert.deepStrictEqual(
          Array.from(sums),
          points.map(({ label, x, y }) => ({ label, sum: x + y }))
        )
        const records = inputs.map((i) => ({ label: `r${i}`, x: i + 0.5, on: i % 3 === 0, dropped: i }))
        const flipped = yield* Stream.runCollect(Executor.map(pointFlip, records, { chunksize: 32 }))
        assert.deepStrictEqual(
          Array.from(flipped),
          records.map(({ label, on, x }) => ({ label: label.toUpperCase(), x: -x, on: !on })),
          "records of primitives cross as columns and come back as records, keys the Schema does not know dropped"
        )
        const badPoint = yield* Effect.flip(
          Stream.runCollect(Executor.map(pointSum, [{ label: "p", x: 1, y: Infinity }], { chunksize: 4 }))
        )
        assert.instanceOf(badPoint, ExecutorError.EncodeError, "the object Schema's check runs on the caller")
        const seen: Array<number> = []
        const error = yield* Effect.flip(
          Stream.runForEach(Executor.map(halveOrBoom, [2, 4, 6, -1, 10, 12], { chunksize: 2 }), (n) =>
            Effect.sync(() => seen.push(n))
          )
        )
        assert.instanceOf(error, Boom)
        assert.deepStrictEqual(seen, [1, 2, 3], "the results before the failing item arrive, then its failure")
      }).pipe(withExecutor({ workers: 2 }))
    )

    // (-0 is checked for worker pools in test/internal/codec.test.ts: the cluster's JSON cannot carry it.)
    it.live(
      "numbers cross a batch packed, and arrive as a plain array with NaN, infinities and large values intact",
      () =>
        Effect.gen(function* () {
          const executor = yield* Executor.Executor
          // (`halveOrBoom` throws for NaN and negative numbers.)
          const cases = [
            [halveOrBoom, [0.25, 1.5, 2 ** 53, Infinity], (n: number) => n / 2],
            [double, [1e-300, NaN, 1.5, 2 ** 53, -Infinity], (n: number) => n * 2]
          ] as const
          for (const [task, inputs, expected] of cases) {
            const batch = yield* yield* executor.submitBatch(task, inputs)
            assert.isTrue(Array.isArray(batch.values), `${task.name}: Batch.values is an array`)
            assert.isUndefined(batch.failure)
            assert.strictEqual(batch.values.length, inputs.length)
            inputs.forEach((n, i) => assert.isTrue(Object.is(batch.values[i], expected(n)), `${task.name}[${i}]: ${n}`))
          }
          const out = yield* Stream.runCollect(Executor.map(halveOrBoom, [0, 3, Infinity], { chunksize: 3 }))
          assert.deepStrictEqual(Array.from(out), [0, 1.5, Infinity])
        }).pipe(withExecutor({ workers: 2 }))
    )

    it.live("a queued sync task that is cancelled, or whose map is interrupted, never runs", () =>
      Effect.gen(function* () {
        const board = yield* makeBoard
        const file = yield* markFile
        const blocker = yield* Executor.submit(gated, { board: board.address, index: 0 })
        yield* board.started(0)
        const pending = yield* Executor.submit(syncMark, { file, value: 1 })
        assert.isTrue(yield* Future.cancel(pending))
        const mapping = yield* Effect.forkChild(
          Stream.runCollect(
            Executor.map(
              syncMark,
              [2, 3, 4, 5].map((value) => ({ file, value })),
              { chunksize: 2 }
            )
          )
        )
        yield* statsUntil((stats) => stats.queued >= 2)
        yield* Fiber.interrupt(mapping)
        yield* board.release(0)
        assert.strictEqual(yield* blocker, 0)
        // The single worker is free and runs the next sync task; nothing cancelled ran before it.
        assert.strictEqual(yield* yield* Executor.submit(syncMark, { file, value: 6 }), 6)
        assert.deepStrictEqual(marked(file), [6])
        assert.strictEqual(yield* Future.state(pending), "CANCELLED")
      }).pipe(withExecutor({ workers: 1 }), Effect.scoped)
    )
  })

  describe(`${label}: options`, () => {
    it.live("an invalid option fails the layer with InvalidOptions naming it", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Layer.build(makeLayer({ workers: 0 })).pipe(Effect.scoped))
        assert.instanceOf(error, ExecutorError.InvalidOptions)
        assert.match(error.message, /Expected `\w+` to be a positive integer, got 0/)
        const queue = yield* Effect.flip(Layer.build(makeLayer({ workers: 1, maxQueue: -1 })).pipe(Effect.scoped))
        assert.strictEqual(invalidOptions(queue).option, "maxQueue")
      })
    )
  })
}
