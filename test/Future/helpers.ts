/**
 * Fixtures shared by the Future suites: one future per state, as CPython's PENDING_FUTURE, RUNNING_FUTURE,
 * CANCELLED_FUTURE, EXCEPTION_FUTURE and SUCCESSFUL_FUTURE, and small helpers.
 */
import { assert } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { Future } from "../../src/index.ts"

export type F = Future.Future<number, string>

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: one future per state, as CPython's PENDING_FUTURE, RUNNING_FUTURE, CANCELLED_FUTURE, EXCEPTION_FUTURE
// and SUCCESSFUL_FUTURE.
// ---------------------------------------------------------------------------------------------------------------

/** A future over a live fiber: RUNNING until `gate` is completed (or the future is interrupted). */
export const runningFuture = <A = number, E = string>() =>
  Effect.gen(function* () {
    const gate = yield* Deferred.make<A, E>()
    const fiber = yield* Effect.forkChild(Deferred.await(gate))
    yield* Effect.yieldNow
    return { future: Future.fromFiber(fiber), gate }
  })

export const pending = Future.make<number, string>()

export const running = Effect.map(runningFuture(), ({ future }) => future)

export const successful = (value: number = 42) =>
  Effect.gen(function* () {
    const future = yield* Future.make<number, string>()
    yield* Future.complete(future, value)
    return future
  })

export const failed = (error: string = "boom") =>
  Effect.gen(function* () {
    const future = yield* Future.make<number, string>()
    yield* Future.fail(future, error)
    return future
  })

/** PENDING, then cancelled: withdrawn before it ever ran. */
export const cancelledPending = Effect.gen(function* () {
  const future = yield* Future.make<number, string>()
  assert.isTrue(yield* Future.cancel(future))
  return future
})

/** RUNNING, then interrupted. */
export const interruptedRunning = Effect.gen(function* () {
  const future = yield* running
  yield* Future.interrupt(future)
  return future
})

/** PENDING, then interrupted (`interrupt`, not `cancel`). */
export const interruptedPending = Effect.gen(function* () {
  const future = yield* Future.make<number, string>()
  yield* Future.interrupt(future)
  return future
})

export class Bug extends Error {}

/** A future whose fiber died with a defect (the analogue of a task that threw). */
export const defected = Effect.gen(function* () {
  const fiber = yield* Effect.forkChild(Effect.die(new Bug("bug")) as Effect.Effect<number, string>)
  yield* Fiber.await(fiber)
  return Future.fromFiber(fiber)
})

/** A reference an Effect done-callback reads, to see whose references it runs with. */
export const Label = Context.Reference<string>("effect-futures/test/Label", { defaultValue: () => "default" })

/** Lets every other runnable fiber take a few turns (scheduler turns, not time) before asserting on what they did. */
export const letOthersRun = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

export const isCancelledExit = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

export const isTimeout = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Option.exists(Cause.findErrorOption(exit.cause), Cause.isTimeoutError)

export const errorOf = <A, E>(exit: Exit.Exit<A, E>): Option.Option<E> =>
  Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()

/** Collects what is logged while `effect` runs (done-callback failures are reported through the logger). */
export const capturingLogs = () => {
  const logs: Array<{ readonly level: string; readonly cause: Cause.Cause<unknown> }> = []
  const logger = Logger.make((options) => {
    logs.push({ level: options.logLevel, cause: options.cause })
  })
  const capture = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, Logger.CurrentLoggers, new Set([logger]))
  return { logs, capture }
}

// ---------------------------------------------------------------------------------------------------------------
