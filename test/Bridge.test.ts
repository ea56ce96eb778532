/**
 * The bridge: runInExecutor from Effect, fromPromise / toPromise, and the Promise-facing runner, with cancellation
 * both ways, typed errors through Promises, dispose with work in flight, and a responsive event loop.
 */
import { assert, describe, it } from "@effect/vitest"
import { getEventListeners } from "node:events"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Cause, Context, Deferred, Effect, Fiber, Layer } from "effect"
import { Bridge, Executor, ExecutorError, Future } from "../src/index.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { fib, fibSync } from "../examples/tasks.ts"
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

/** An executor layer that counts how many times it was built. */
const counted = <E>(layer: Layer.Layer<Executor.Executor, E>) => {
  const builds = { count: 0 }
  const built = Layer.merge(
    layer,
    Layer.effectDiscard(
      Effect.sync(() => {
        builds.count++
      })
    )
  )
  return { builds, layer: built }
}

describe("Bridge.makeRunner (Promise code)", () => {
  it("runs tasks from plain async code, keeps error classes, and serves many concurrent callers", async () => {
    const { builds, layer } = counted(Executor.layerWorkerThreads({ maxWorkers: 2 }))
    await using runner = Bridge.makeRunner(layer)
    // Many requests arrive together on first use: the layer is built once and every caller gets its own result.
    const expected = Array.from({ length: 100 }, (_, i) => i * 2)
    const [ran, submitted] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, (_, i) => runner.run(double, i))),
      Promise.all(Array.from({ length: 50 }, (_, i) => runner.submit(double, 50 + i).done))
    ])
    assert.deepStrictEqual([...ran, ...submitted], expected)
    assert.strictEqual(builds.count, 1, "one executor serves every caller")
    const stats = await runner.stats()
    assert.strictEqual(stats.completed, 100)
    assert.isAtMost(stats.workers, 2)
    const error = await runner.run(failWith, 5).catch((e: unknown) => e)
    assert.instanceOf(error, Boom)
    assert.strictEqual((error as Boom).code, 5)
    const handled = await runner.submit(failWith, 6).done.catch((e: unknown) => e)
    assert.instanceOf(handled, Boom)
    assert.strictEqual((handled as Boom).code, 6)
    const encode = await runner.run(double, "x" as never).catch((e: unknown) => e)
    assert.instanceOf(encode, ExecutorError.EncodeError)
  })

  it("an aborted signal cancels the task, running or pending; submit returns a handle with cancel()", async () => {
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
          // Queued behind task 0 on the only worker: aborting it drops it before it ever runs.
          const queuedController = new AbortController()
          const queued = runner
            .run(gated, { board: board.address, index: 9 }, { signal: queuedController.signal })
            .catch((e: unknown) => e)
          assert.strictEqual((yield* Effect.promise(() => runner.stats())).queued, 1, "task 9 waits for the worker")
          queuedController.abort()
          assert.instanceOf(yield* Effect.promise(() => queued), ExecutorError.CancelledError)
          controller.abort()
          assert.instanceOf(yield* Effect.promise(() => running), ExecutorError.CancelledError)
          yield* board.interrupted(0)
          const early = yield* Effect.promise(() =>
            runner.run(double, 1, { signal: AbortSignal.abort() }).catch((e: unknown) => e)
          )
          assert.instanceOf(early, ExecutorError.CancelledError)
          const handle = runner.submit(gated, { board: board.address, index: 1 })
          yield* board.started(1)
          yield* Effect.promise(() => handle.cancel())
          assert.instanceOf(
            yield* Effect.promise(() => handle.done.catch((e: unknown) => e)),
            ExecutorError.CancelledError
          )
          yield* board.interrupted(1)
          // A handle cancelled before its submission has landed is still cancelled (queued or already running).
          const hasty = runner.submit(gated, { board: board.address, index: 2 })
          yield* Effect.promise(() => hasty.cancel())
          assert.instanceOf(
            yield* Effect.promise(() => hasty.done.catch((e: unknown) => e)),
            ExecutorError.CancelledError
          )
          assert.strictEqual(yield* Effect.promise(() => runner.run(double, 3)), 6)
          assert.isFalse(board.hasStarted(9), "the aborted queued task never ran")
          assert.strictEqual((yield* Effect.promise(() => runner.stats())).cancelled, 4)
        })
      )
    )
  })

  it("once its layer is built, run keeps every semantic: typed errors, abort while queued, running or waiting for room", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const board = yield* makeBoard
          const runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 1, maxQueue: 1 }))
          yield* Effect.addFinalizer(() => Effect.promise(() => runner.dispose()))
          // The first calls build the layer; these run after it, on the runner's per-task path.
          assert.strictEqual(yield* Effect.promise(() => runner.run(double, 2)), 4)
          const error = yield* Effect.promise(() => runner.run(failWith, 7).catch((e: unknown) => e))
          assert.instanceOf(error, Boom)
          assert.strictEqual((error as Boom).code, 7)
          const encode = yield* Effect.promise(() => runner.run(double, "x" as never).catch((e: unknown) => e))
          assert.instanceOf(encode, ExecutorError.EncodeError)

          const running = new AbortController()
          const queued = new AbortController()
          const waiting = new AbortController()
          const run = (index: number, controller: AbortController) =>
            runner.run(gated, { board: board.address, index }, { signal: controller.signal }).catch((e: unknown) => e)
          const ran = run(0, running)
          yield* board.started(0)
          const dropped = run(1, queued)
          // The queue holds one task: this one waits for room, still being submitted.
          const refused = run(2, waiting)
          const stats = yield* Effect.promise(() => runner.stats())
          assert.strictEqual(stats.queued, 1, "task 1 waits for the worker; task 2 waits for room in the queue")
          waiting.abort()
          assert.instanceOf(yield* Effect.promise(() => refused), ExecutorError.CancelledError)
          queued.abort()
          assert.instanceOf(yield* Effect.promise(() => dropped), ExecutorError.CancelledError)
          running.abort()
          assert.instanceOf(yield* Effect.promise(() => ran), ExecutorError.CancelledError)
          yield* board.interrupted(0)
          assert.isFalse(board.hasStarted(1), "the aborted queued task never ran")
          assert.isFalse(board.hasStarted(2), "the task aborted while waiting for room never ran")
          const after = yield* Effect.promise(() => runner.stats())
          assert.strictEqual(after.cancelled, 2, "task 2 never became a job; tasks 0 and 1 were cancelled")
        })
      )
    )
  })

  it("once built, run leaves no abort listener on a caller's long-lived signal, even when it settles at once", async () => {
    await using runner = Bridge.makeRunner(Executor.layerFibers())
    assert.strictEqual(await runner.run(double, 1), 2, "builds the layer")
    // One signal shared by many calls (a request's, a server's): each call must take its listener back.
    const shared = new AbortController()
    for (let i = 0; i < 3; i++) {
      const encode = await runner.run(double, "x" as never, { signal: shared.signal }).catch((e: unknown) => e)
      assert.instanceOf(encode, ExecutorError.EncodeError)
      assert.strictEqual(await runner.run(double, i, { signal: shared.signal }), i * 2)
    }
    assert.strictEqual(getEventListeners(shared.signal, "abort").length, 0)
  })

  it("dispose() waits for work in flight, then releases every worker; later calls reject with ExecutorShutdown", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const board = yield* makeBoard
          const before = active("MessagePort")
          const runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 1 }))
          const inFlight = runner.run(gated, { board: board.address, index: 0 })
          const queued = runner.submit(gated, { board: board.address, index: 1 })
          yield* board.started(0)
          const disposing = runner.dispose()
          assert.strictEqual(runner.dispose(), disposing, "dispose is idempotent")
          yield* board.release(0)
          assert.strictEqual(yield* Effect.promise(() => inFlight), 0)
          yield* board.started(1)
          yield* board.release(1)
          assert.strictEqual(yield* Effect.promise(() => queued.done), 1)
          yield* Effect.promise(() => disposing)
          assert.strictEqual(active("MessagePort"), before, "no worker port is left open")
          for (const late of [runner.run(double, 1), runner.submit(double, 1).done, runner.stats()]) {
            const error = yield* Effect.promise(() => late.catch((e: unknown) => e))
            assert.instanceOf(error, ExecutorError.ExecutorShutdown)
            assert.include((error as ExecutorError.ExecutorShutdown).message, "disposed")
          }
        })
      )
    )
  })

  it("dispose() on a runner that never ran a task does not build its executor", async () => {
    const { builds, layer } = counted(Executor.layerWorkerThreads({ maxWorkers: 1 }))
    const runner = Bridge.makeRunner(layer)
    await runner.dispose()
    assert.strictEqual(builds.count, 0)
    assert.instanceOf(await runner.run(double, 1).catch((e: unknown) => e), ExecutorError.ExecutorShutdown)
    assert.strictEqual(builds.count, 0)
  })

  it("keeps the event loop responsive while CPU-bound work runs on the pool, unlike running it inline", async () => {
    // Driven by latches, not by the clock. The histogram of `monitorEventLoopDelay` counts the event-loop turns it
    // samples; a turn cannot happen while the main thread is busy. Inline, a fixed amount of CPU work leaves the
    // count where it was. On the pool, a task burns CPU until the test sets a shared cell, and the test sets it only
    // once the loop has turned several more times while that task was still burning: were the work blocking the
    // main thread, those turns would never come and the test would not finish.
    const delay = monitorEventLoopDelay({ resolution: 1 })
    /** Resolves once the histogram has sampled `count` more event-loop turns. */
    const turns = async (count: number) => {
      const target = delay.count + count
      while (delay.count < target) await new Promise((resolve) => setImmediate(resolve))
    }
    await using runner = Bridge.makeRunner(Executor.layerWorkerThreads({ maxWorkers: 1 }))
    // Warm up: boot the worker and load the task module outside the measurement.
    assert.strictEqual(await runner.run(fib, 20), fibSync(20))
    delay.enable()
    try {
      await turns(1)
      const before = delay.count
      assert.strictEqual(fibSync(32), 2178309)
      assert.strictEqual(delay.count, before, "no event-loop turn happens while CPU work runs inline")

      const cells = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT))
      const burning = runner.run(burnUntilStopped, cells.buffer as SharedArrayBuffer)
      while (Atomics.load(cells, 1) !== 1) await new Promise((resolve) => setImmediate(resolve))
      await turns(5)
      assert.strictEqual(Atomics.load(cells, 0), 0, "the task was still burning CPU during those turns")
      Atomics.store(cells, 0, 1)
      assert.isAbove(await burning, 0, "the task burned at least one round before it was stopped")
    } finally {
      delay.disable()
    }
  })
})
