/**
 * Shutdown under fire: `shutdown` is called while tasks are queued, running, crashing and being cancelled, for every
 * combination of `wait` and `cancelFutures`, on every layer. It returns (a generous `Effect.timeout` guards against a
 * hang; nothing asserts on durations), every future settles with the outcome its situation calls for, and the
 * executor refuses new work.
 *
 * The workers are held by latched tasks, so which tasks are running and which are pending when shutdown begins is
 * certain: one finishes normally during shutdown, one crashes its worker (fails, on fibers), one is interrupted
 * while waiting and one (on workers) while spinning in a synchronous loop, and the queue behind them holds plain
 * tasks, a task that would crash, a task the test cancels itself, and a latched task.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import { Executor, ExecutorError, Future } from "../../src/index.ts"
import { failureOf } from "../contract.ts"
import { gatedExit } from "../fixtures/faultTasks.ts"
import { makeBoard } from "../fixtures/latch.ts"
import { Boom, double, failWith, gated } from "../fixtures/tasks.ts"
import { exitWith, spin } from "../fixtures/workerTasks.ts"
import { childProcesses } from "./faultInjection.ts"

type LayerName = "layerWorkerThreads" | "layerProcesses" | "layerFibers"

const layers: Record<
  LayerName,
  () => Layer.Layer<Executor.Executor, ExecutorError.InvalidOptions | ExecutorError.BootstrapError>
> = {
  layerWorkerThreads: () => Executor.layerWorkerThreads({ maxWorkers: 4, interruptGracePeriod: 50 }),
  layerProcesses: () => Executor.layerProcesses({ maxWorkers: 4, interruptGracePeriod: 50 }),
  layerFibers: () => Executor.layerFibers({ concurrency: 3 })
}

const combinations = [
  { wait: true, cancelFutures: false },
  { wait: true, cancelFutures: true },
  { wait: false, cancelFutures: false },
  { wait: false, cancelFutures: true }
] as const

/** A hang guard, not a timing assertion. */
const guard = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  effect.pipe(
    Effect.timeoutOrElse({
      duration: "60 seconds",
      orElse: () => Effect.die(new Error(`${what} did not return: it hangs`))
    })
  )

type AnyFuture = Future.Future<unknown, unknown>

describe.each(["layerWorkerThreads", "layerProcesses", "layerFibers"] as const)(
  "shutdown under fire on %s",
  (layer) => {
    const workers = layer !== "layerFibers"

    it.live.each(combinations)(
      "shutdown(%o) returns and settles every future",
      (options) =>
        Effect.gen(function* () {
          const childrenBefore = childProcesses()
          const board = yield* makeBoard
          const heartbeat = `${board.address}.beat`

          // Running: one will finish, one will crash (fail on fibers), one will be interrupted while waiting, and on
          // workers one spins in a synchronous loop and will be interrupted too.
          const finishing = yield* Executor.submit(gated, { board: board.address, index: 0 })
          const crashing: AnyFuture = workers
            ? yield* Executor.submit(gatedExit, { board: board.address, index: 1, code: 9 })
            : yield* Executor.submit(gated, { board: board.address, index: 1 })
          const interrupted = yield* Executor.submit(gated, { board: board.address, index: 2 })
          const spinning = workers ? yield* Executor.submit(spin, heartbeat) : undefined
          yield* Effect.forEach([0, 1, 2], board.started, { discard: true })
          if (workers) {
            yield* Effect.sync(() => fs.existsSync(heartbeat)).pipe(
              Effect.repeat({ until: (beating) => beating, schedule: Schedule.spaced(10) })
            )
          }

          // Queued behind them.
          const plain = yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(double, n))
          const wouldCrash: AnyFuture = workers
            ? yield* Executor.submit(exitWith, 5)
            : yield* Executor.submit(failWith, 5)
          const cancelledByTest = yield* Executor.submit(gated, { board: board.address, index: 3 })
          const latched = yield* Executor.submit(gated, { board: board.address, index: 4 })
          const queued: Array<AnyFuture> = [...plain, wouldCrash, cancelledByTest, latched]
          assert.deepStrictEqual(
            yield* Effect.forEach(queued, Future.state),
            queued.map(() => "PENDING"),
            "the queue is pending when shutdown begins"
          )
          // If the latched task ever runs, let it finish.
          const releaser = yield* Effect.forkChild(Effect.andThen(board.started(4), board.release(4)))

          // Shutdown begins. With wait: false it returns at once, although tasks are still running.
          const shutting = yield* Effect.forkChild(Executor.shutdown(options))
          const acceptedBefore: Array<AnyFuture> = []
          if (!options.wait) {
            yield* guard(Fiber.join(shutting), "shutdown({ wait: false })")
            assert.strictEqual(yield* Future.state(finishing), "RUNNING", "wait: false returned with work running")
          } else {
            // It has begun once it refuses new work; what it accepted before that must settle like the rest.
            yield* Effect.exit(Executor.submit(double, 0)).pipe(
              Effect.tap((exit) =>
                Exit.isSuccess(exit) ? Effect.sync(() => acceptedBefore.push(exit.value)) : Effect.void
              ),
              Effect.repeat({ until: Exit.isFailure, schedule: Schedule.spaced(5) })
            )
          }
          assert.instanceOf(yield* Effect.flip(Executor.submit(double, 0)), ExecutorError.ExecutorShutdown)

          // Under fire: cancel a queued task, interrupt two running ones, crash one worker, let one task finish.
          assert.isTrue(yield* Future.cancel(cancelledByTest), "a pending task can be cancelled during shutdown")
          assert.isFalse(yield* Future.cancel(finishing), "a running task cannot be cancelled, only interrupted")
          yield* Future.interrupt(interrupted)
          if (spinning !== undefined) yield* Fiber.interrupt(spinning.fiber)
          yield* workers ? board.release(1) : board.reject(1)
          if (options.wait) {
            yield* Effect.yieldNow
            assert.isUndefined(shutting.pollUnsafe(), "wait: true waits for the running task")
          }
          yield* board.release(0)

          if (options.wait) yield* guard(Fiber.join(shutting), `shutdown(${JSON.stringify(options)})`)
          const all: Array<AnyFuture> = [
            finishing,
            crashing,
            interrupted,
            ...(spinning ? [spinning] : []),
            ...queued,
            ...acceptedBefore
          ]
          if (options.wait) {
            // wait: true returns only once every task has ended.
            const states = yield* Effect.forEach(all, Future.state)
            assert.isTrue(
              states.every((state) => state === "FINISHED" || state === "CANCELLED"),
              `states when shutdown returned: ${states.join()}`
            )
          }
          yield* guard(
            Effect.forEach(all, (future) => Future.await(future), { discard: true }),
            "settling every future"
          )
          yield* Fiber.interrupt(releaser)

          // Running tasks: as their situation says.
          assert.strictEqual(yield* Future.result(finishing), 0)
          const crash = failureOf(yield* Future.await(crashing))
          if (workers) {
            assert.instanceOf(crash, ExecutorError.WorkerCrashed)
            assert.strictEqual((crash as ExecutorError.WorkerCrashed).exitCode, 9)
          } else {
            assert.instanceOf(crash, Boom)
          }
          assert.strictEqual(yield* Future.state(interrupted), "CANCELLED")
          if (spinning !== undefined) assert.strictEqual(yield* Future.state(spinning), "CANCELLED")
          assert.instanceOf(yield* Effect.flip(Future.result(interrupted)), ExecutorError.CancelledError)

          // Queued tasks: cancelled by shutdown, or run to their end.
          assert.strictEqual(yield* Future.state(cancelledByTest), "CANCELLED")
          assert.isFalse(board.hasStarted(3), "a task cancelled while pending never runs")
          if (options.cancelFutures) {
            assert.deepStrictEqual(
              yield* Effect.forEach(queued, Future.state),
              queued.map(() => "CANCELLED"),
              "cancelFutures cancels everything pending"
            )
            assert.isFalse(board.hasStarted(4), "nothing pending ran")
          } else {
            assert.deepStrictEqual(yield* Effect.forEach(plain, (f) => Future.result(f)), [2, 4, 6])
            const late = failureOf(yield* Future.await(wouldCrash))
            if (workers) {
              assert.instanceOf(late, ExecutorError.WorkerCrashed)
              assert.strictEqual((late as ExecutorError.WorkerCrashed).exitCode, 5)
            } else {
              assert.instanceOf(late, Boom)
            }
            assert.strictEqual(yield* Future.result(latched), 4)
          }

          const stats = yield* Executor.stats
          const crashes = workers ? (options.cancelFutures ? 1 : 2) : 0
          assert.strictEqual(stats.crashed, crashes, "crashes counted")
          assert.strictEqual(
            stats.cancelled,
            (workers ? 3 : 2) + (options.cancelFutures ? queued.length - 1 + acceptedBefore.length : 0),
            "cancellations counted"
          )
          assert.instanceOf(yield* Effect.flip(Executor.submit(double, 1)), ExecutorError.ExecutorShutdown)

          if (options.wait && layer === "layerProcesses") {
            // The workers are released: their processes exit (and are reaped) without anything else happening.
            yield* Effect.sync(childProcesses).pipe(
              Effect.repeat({ until: (n) => n <= childrenBefore, schedule: Schedule.spaced(10), times: 500 })
            )
            assert.isAtMost(childProcesses(), childrenBefore, "child processes left after shutdown")
          }
          fs.rmSync(heartbeat, { force: true })
        }).pipe(
          Effect.provide(layers[layer]()),
          // The layer's own scope closes afterwards (a second shutdown): that must return too.
          (test) => guard(test, "closing the layer's scope"),
          Effect.exit,
          Effect.flatMap((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.failCause(exit.cause)))
        ),
      90_000
    )
  }
)
