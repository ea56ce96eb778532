/**
 * The bridge: runInExecutor from Effect, fromPromise / toPromise, and the Promise-facing runner, with cancellation
 * both ways, typed errors through Promises, dispose with work in flight, and a responsive event loop.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Fiber, Layer } from "effect"
import { Bridge, Executor, ExecutorError, Future } from "../src/index.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { Boom, double, failWith, gated } from "./fixtures/tasks.ts"
import { burnUntilStopped } from "./fixtures/workerTasks.ts"

class IsolatedPool extends Context.Service<IsolatedPool, Executor.Executor["Service"]>()("test/IsolatedPool") {}

describe("Bridge.runInExecutor", () => {
  it.live("submits and awaits; interrupting the caller cancels a pending task and interrupts a running one", () =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      assert.strictEqual(yield* Bridge.runInExecutor(double, 4), 8)
      const running = yield* Effect.forkChild(Bridge.runInExecutor(gated, { board: board.address, index: 0 }))
      const pending = yield* Effect.forkChild(Bridge.runInExecutor(gated, { board: board.address, index: 1 }))
      yield* board.started(0)
      yield* Fiber.interrupt(pending)
      yield* Fiber.interrupt(running)
      yield* board.interrupted(0)
      assert.isFalse(board.hasStarted(1), "the pending task never ran")
      const stats = yield* Executor.stats
      assert.strictEqual(stats.cancelled, 2)
    }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 1 })))
  )

  it.live("runs on a named executor when an application has several", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Bridge.runInExecutor(double, 5, { executor: IsolatedPool }), 10)
      const isolated = yield* IsolatedPool
      assert.strictEqual(isolated.kind, "fibers")
      assert.strictEqual((yield* isolated.stats).completed, 1)
      assert.strictEqual((yield* Executor.stats).completed, 0)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          Executor.layerAs(IsolatedPool, Executor.layerFibers({ concurrency: 1 })),
          Executor.layerFibers({ concurrency: 1, name: "default" })
        )
      )
    )
  )
})

describe("Bridge.fromPromise and toPromise", () => {
  it.live("fromPromise: the future holds the value; cancelling it aborts the signal", () =>
    Effect.gen(function* () {
      const ok = yield* Bridge.fromPromise(() => Promise.resolve(3))
      assert.strictEqual(yield* ok, 3)
      let aborted = false
      const called = yield* Deferred.make<void>()
      const hanging = yield* Bridge.fromPromise(
        (signal) =>
          new Promise<number>((_, reject) => {
            Deferred.doneUnsafe(called, Effect.void)
            signal.addEventListener("abort", () => {
              aborted = true
              reject(signal.reason)
            })
          })
      )
      yield* Deferred.await(called)
      yield* Future.interrupt(hanging)
      assert.isTrue(aborted)
      assert.strictEqual(yield* Future.state(hanging), "CANCELLED")
    })
  )

  it.live("fromPromise: a rejection becomes a typed failure through catch", () =>
    Effect.gen(function* () {
      const future = yield* Bridge.fromPromise(() => Promise.reject(new Error("nope")), {
        catch: (reason) => new Boom({ code: String(reason).length })
      })
      const error = yield* Effect.flip(Future.result(future))
      assert.instanceOf(error, Boom)
      const unknown = yield* Bridge.fromPromise(() => Promise.reject("plain"))
      const wrapped = yield* Effect.flip(Future.result(unknown))
      assert.isTrue(Cause.isUnknownError(wrapped))
    })
  )

  it.live("toPromise resolves with the value and rejects with the typed error instance", () =>
    Effect.gen(function* () {
      const value = yield* Effect.promise(() =>
        Effect.runPromise(
          Executor.submit(double, 2).pipe(
            Effect.provide(Executor.layerFibers({ concurrency: 1 })),
            Effect.flatMap((future) => Effect.promise(() => Bridge.toPromise(future)))
          )
        )
      )
      assert.strictEqual(value, 4)
      const future = yield* Executor.submit(failWith, 11)
      const rejection = yield* Effect.promise(() =>
        Bridge.toPromise(future).then(
          () => undefined,
          (e: unknown) => e
        )
      )
      assert.instanceOf(rejection, Boom)
      assert.strictEqual((rejection as Boom).code, 11)
    }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 1 })))
  )

  it.live("aborting toPromise's signal cancels the future; the Promise rejects with CancelledError", () =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      const future = yield* Executor.submit(gated, { board: board.address, index: 0 })
      yield* board.started(0)
      const controller = new AbortController()
      const promise = Bridge.toPromise(future, { signal: controller.signal }).then(
        () => undefined,
        (e: unknown) => e
      )
      controller.abort()
      const rejection = yield* Effect.promise(() => promise)
      assert.instanceOf(rejection, ExecutorError.CancelledError)
      yield* board.interrupted(0)
      assert.strictEqual(yield* Future.state(future), "CANCELLED")
      const already = yield* Effect.promise(() =>
        Bridge.toPromise(future, { signal: AbortSignal.abort() }).then(
          () => undefined,
          (e: unknown) => e
        )
      )
      assert.instanceOf(already, ExecutorError.CancelledError)
    }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 1 })))
  )
})

const active = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length

describe("Bridge.makeRunner (Promise code)", () => {
  it("runs tasks from plain async code, keeps error classes, and serves many concurrent callers", async () => {
    await using runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 2 }))
    assert.strictEqual(await runner.run(double, 21), 42)
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => runner.run(double, i)))
    assert.deepStrictEqual(
      results,
      Array.from({ length: 100 }, (_, i) => i * 2)
    )
    const error = await runner.run(failWith, 5).catch((e: unknown) => e)
    assert.instanceOf(error, Boom)
    assert.strictEqual((error as Boom).code, 5)
    const encode = await runner.run(double, "x" as never).catch((e: unknown) => e)
    assert.instanceOf(encode, ExecutorError.EncodeError)
  })

  it("an aborted signal cancels the task; submit returns a handle with cancel()", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const board = yield* makeBoard
          const runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 1 }))
          yield* Effect.addFinalizer(() => Effect.promise(() => runner.dispose()))
          const controller = new AbortController()
          const running = runner
            .run(gated, { board: board.address, index: 0 }, { signal: controller.signal })
            .catch((e: unknown) => e)
          yield* board.started(0)
          controller.abort()
          assert.instanceOf(yield* Effect.promise(() => running), ExecutorError.CancelledError)
          yield* board.interrupted(0)
          const handle = runner.submit(gated, { board: board.address, index: 1 })
          yield* board.started(1)
          yield* Effect.promise(() => handle.cancel())
          assert.instanceOf(
            yield* Effect.promise(() => handle.done.catch((e: unknown) => e)),
            ExecutorError.CancelledError
          )
          yield* board.interrupted(1)
        })
      )
    )
  })

  it("dispose() waits for work in flight, then releases every worker; later calls reject", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const board = yield* makeBoard
          const before = active("MessagePort")
          const runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 1 }))
          const inFlight = runner.run(gated, { board: board.address, index: 0 })
          yield* board.started(0)
          const disposing = runner.dispose()
          yield* board.release(0)
          assert.strictEqual(yield* Effect.promise(() => inFlight), 0)
          yield* Effect.promise(() => disposing)
          assert.strictEqual(active("MessagePort"), before, "no worker port is left open")
          const late = yield* Effect.promise(() => runner.run(double, 1).catch((e: unknown) => e))
          assert.instanceOf(late, Error)
          assert.include((late as Error).message, "disposed")
        })
      )
    )
  })

  it("keeps the event loop responsive while CPU-bound work runs on the pool, unlike running it inline", async () => {
    let ticks = 0
    const heartbeat = setInterval(() => ticks++, 1)
    try {
      // Inline: a synchronous CPU loop blocks the event loop, so no tick can happen during it.
      const inlineStart = ticks
      let sink = 0
      for (let i = 0; i < 30_000_000; i++) sink += Math.sqrt(i)
      const inlineTicks = ticks - inlineStart
      assert.isAbove(sink, 0)
      assert.strictEqual(inlineTicks, 0)

      // On the pool: the same kind of loop runs in a worker while the heartbeat keeps ticking.
      await using runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 1 }))
      const board = new SharedArrayBuffer(8)
      const cells = new Int32Array(board)
      const burning = runner.run(burnUntilStopped, board)
      while (Atomics.load(cells, 1) !== 1) await new Promise((resolve) => setTimeout(resolve, 1))
      const pooledStart = ticks
      while (ticks - pooledStart < 10) await new Promise((resolve) => setTimeout(resolve, 1))
      Atomics.store(cells, 0, 1)
      assert.isAbove(await burning, 0)
    } finally {
      clearInterval(heartbeat)
    }
  })
})
