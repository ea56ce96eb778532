/**
 * Futures: the eventual outcome of work running elsewhere, as in Python's `concurrent.futures.Future`.
 *
 * A future is backed by exactly one fiber (`future.fiber`) and is itself an Effect: `yield* future` awaits its result,
 * failing with the typed `CancelledError` if it was cancelled. Its life follows CPython's four states:
 *
 * ```text
 *   PENDING ──(a worker picks it up)──▶ RUNNING ──(success / failure / defect / crash)──▶ FINISHED
 *      │                                   │
 *      └──(cancel / interrupt)──▶ CANCELLED ◀──(interrupt: the executor's interrupt policy)
 * ```
 *
 * `cancel` has Python's meaning (only a PENDING future can be cancelled); `interrupt` cancels wherever the future is.
 * `asCompleted` and `wait` observe futures and never cancel any.
 *
 * @since 0.1.0
 */
import "./internal/transport/nodeVersion.ts"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type * as Context from "effect/Context"
import { dual } from "effect/Function"
import type { CancelledError } from "./ExecutorError.ts"
import * as internal from "./internal/job/future.ts"
import * as ProgressChannel from "./internal/observability/progress.ts"

/**
 * The brand every future carries, so `isFuture` recognises futures from any copy of this library.
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * A future: one fiber's eventual outcome, with Python's states and queries. `yield* future` awaits it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = Future.fromFiber(yield* Effect.forkChild(Effect.succeed(42)))
 *   return yield* future // 42
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Future<A, E = never, P = unknown> extends Effect.Effect<A, E | CancelledError> {
  readonly [internal.TypeId]: internal.TypeId
  /** The fiber behind the future. `Fiber.join` keeps Effect's native interruption; `Fiber.interrupt` cancels. */
  readonly fiber: Fiber.Fiber<A, E>
  /** Type only: the progress values its task reports (see {@link progress}); `never` for a task that reports none. */
  readonly "~progress"?: ((_: never) => P) | undefined
}

/**
 * A future completed by hand, like a Python `Future()` settled with `set_result` / `set_exception`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settable<A, E = never> extends Future<A, E> {
  readonly deferred: Deferred.Deferred<A, E>
}

/**
 * `"PENDING" | "RUNNING" | "CANCELLED" | "FINISHED"`, as in CPython's `_base.py`.
 *
 * @since 0.1.0
 * @category models
 */
export type State = internal.State

/**
 * What `wait` waits for: the first future to finish or be cancelled, the first to fail (or all, when none fails),
 * or all of them.
 *
 * @since 0.1.0
 * @category models
 */
export type ReturnWhen = "FIRST_COMPLETED" | "FIRST_EXCEPTION" | "ALL_COMPLETED"

const impl = <A, E>(future: Future<A, E>): internal.FutureImpl<A, E> => future as internal.FutureImpl<A, E>

/**
 * Tells whether a value is a future.
 *
 * @example
 * ```ts
 * import { Future } from "effect-futures"
 *
 * Future.isFuture(42) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isFuture: (u: unknown) => u is Future<unknown, unknown> = internal.isFuture

/**
 * Wraps a running fiber as a future. Its state is RUNNING until the fiber ends, so `cancel` returns false for it;
 * `interrupt` interrupts the fiber.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const fiber = yield* Effect.forkChild(Effect.succeed("done"))
 *   const future = Future.fromFiber(fiber)
 *   return yield* Future.result(future)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFiber = <A, E>(fiber: Fiber.Fiber<A, E>): Future<A, E> =>
  new internal.FutureImpl(fiber, internal.runningControl)

/**
 * Creates a future that is settled by hand with {@link complete} or {@link fail}, like Python's `Future()`. It is
 * PENDING until settled, so `cancel` succeeds on it until then.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<number, string>()
 *   yield* Future.complete(future, 1)
 *   return yield* future // 1
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A, E = never>(): Effect.Effect<Settable<A, E>> =>
  Effect.suspend(() => {
    const deferred = Deferred.makeUnsafe<A, E>()
    return Effect.map(Effect.forkDetach(Deferred.await(deferred)), (fiber) => {
      const future = new internal.FutureImpl(fiber, {
        phase: () => "PENDING",
        cancelPending: () => Deferred.isDoneUnsafe(deferred) === false
      }) as internal.FutureImpl<A, E> & { deferred: Deferred.Deferred<A, E> }
      future.deferred = deferred
      return future as Settable<A, E>
    })
  })

const settle = <A, E>(future: Settable<A, E>, exit: Exit.Exit<A, E>): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    if (future.fiber.pollUnsafe() !== undefined || impl(future).cancelRequested) return Effect.succeed(false)
    return Effect.flatMap(Deferred.done(future.deferred, exit), (settled) =>
      // Waiting for the fiber makes the new state visible as soon as this call returns.
      settled ? Effect.as(Fiber.await(future.fiber), true) : Effect.succeed(false)
    )
  })

/**
 * Settles a future made by {@link make} with a value. Returns true when this call settled it; false when it was
 * already settled or cancelled (the first outcome wins).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<string>()
 *   const first = yield* Future.complete(future, "a") // true
 *   const second = yield* Future.complete(future, "b") // false: "a" stays
 *   return [first, second]
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const complete: {
  <A>(value: A): <E>(future: Settable<A, E>) => Effect.Effect<boolean>
  <A, E>(future: Settable<A, E>, value: A): Effect.Effect<boolean>
} = dual(2, <A, E>(future: Settable<A, E>, value: A) => settle(future, Exit.succeed(value)))

/**
 * Settles a future made by {@link make} with a typed failure. Returns true when this call settled it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<number, string>()
 *   yield* Future.fail(future, "boom")
 *   return yield* Future.exception(future) // Option.some("boom")
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const fail: {
  <E>(error: E): <A>(future: Settable<A, E>) => Effect.Effect<boolean>
  <A, E>(future: Settable<A, E>, error: E): Effect.Effect<boolean>
} = dual(2, <A, E>(future: Settable<A, E>, error: E) => settle(future, Exit.fail(error)))

/**
 * The future's state now: `"PENDING" | "RUNNING" | "CANCELLED" | "FINISHED"`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<number>()
 *   return yield* Future.state(future) // "PENDING"
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const state = <A, E>(future: Future<A, E>): Effect.Effect<State> => Effect.sync(() => impl(future).stateUnsafe())

/**
 * The future's state, read synchronously. Prefer {@link state} inside Effect code.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const future = Future.fromFiber(Effect.runFork(Effect.never))
 * Future.stateUnsafe(future) // "RUNNING"
 * ```
 *
 * @since 0.1.0
 * @category unsafe
 */
export const stateUnsafe = <A, E>(future: Future<A, E>): State => impl(future).stateUnsafe()

/**
 * The outcome if the future has ended, read synchronously; `undefined` while it is pending or running.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const future = Future.fromFiber(Effect.runFork(Effect.never))
 * Future.pollUnsafe(future) // undefined
 * ```
 *
 * @since 0.1.0
 * @category unsafe
 */
export const pollUnsafe = <A, E>(future: Future<A, E>): Exit.Exit<A, E> | undefined => future.fiber.pollUnsafe()

/**
 * True when the future is FINISHED or CANCELLED (as Python's `done()`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<number>()
 *   yield* Future.complete(future, 1)
 *   return yield* Future.done(future) // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const done = <A, E>(future: Future<A, E>): Effect.Effect<boolean> =>
  Effect.sync(() => isDoneState(impl(future).stateUnsafe()))

const isDoneState = (s: State) => s === "FINISHED" || s === "CANCELLED"

/**
 * True while the future's work is running (as Python's `running()`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = Future.fromFiber(yield* Effect.forkChild(Effect.never))
 *   return yield* Future.running(future) // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const running = <A, E>(future: Future<A, E>): Effect.Effect<boolean> =>
  Effect.sync(() => impl(future).stateUnsafe() === "RUNNING")

/**
 * True when the future was cancelled (as Python's `cancelled()`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<number>()
 *   yield* Future.cancel(future)
 *   return yield* Future.cancelled(future) // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const cancelled = <A, E>(future: Future<A, E>): Effect.Effect<boolean> =>
  Effect.sync(() => impl(future).stateUnsafe() === "CANCELLED")

/**
 * Cancels a future with Python's meaning: if it is PENDING it is withdrawn (it will never run) and this returns true;
 * if it was already cancelled this returns true; if it is RUNNING or FINISHED nothing happens and this returns false.
 * Use {@link interrupt} to stop a running future.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<number>()
 *   return yield* Future.cancel(future) // true: it was pending
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const cancel = <A, E>(future: Future<A, E>): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const self = impl(future)
    const exit = self.fiber.pollUnsafe()
    if (exit !== undefined) return Effect.succeed(internal.isCancelledExit(exit))
    if (self.cancelRequested) return Effect.succeed(true)
    if (self.control.phase() !== "PENDING" || !self.control.cancelPending()) return Effect.succeed(false)
    self.cancelRequested = true
    return Effect.as(Fiber.interrupt(self.fiber), true)
  })

/**
 * Cancels a future wherever it is: a PENDING one is dropped from the queue; a RUNNING one is stopped by its
 * executor's interrupt policy (cooperative interruption inside the worker, then terminating that worker after the
 * grace period). Returns when the future has ended. Same as `Fiber.interrupt(future.fiber)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = Future.fromFiber(yield* Effect.forkChild(Effect.never))
 *   yield* Future.interrupt(future)
 *   return yield* Future.cancelled(future) // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const interrupt = <A, E>(future: Future<A, E>): Effect.Effect<void> => Fiber.interrupt(future.fiber)

/**
 * Awaits the future's value. Fails with its typed error, with `CancelledError` if it was cancelled, and with
 * `Cause.TimeoutError` if `timeout` (a `Duration.Input`; a number means milliseconds) passes first. A timeout does
 * not cancel the future.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = Future.fromFiber(yield* Effect.forkChild(Effect.succeed(1)))
 *   return yield* Future.result(future, { timeout: "1 second" })
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const result: {
  (options?: {
    readonly timeout?: Duration.Input | undefined
  }): <A, E>(future: Future<A, E>) => Effect.Effect<A, E | CancelledError | Cause.TimeoutError>
  <A, E>(
    future: Future<A, E>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): Effect.Effect<A, E | CancelledError | Cause.TimeoutError>
} = dual(
  (args) => isFuture(args[0]),
  <A, E>(future: Future<A, E>, options?: { readonly timeout?: Duration.Input | undefined }) =>
    withTimeout(internal.joinTyped(future.fiber), options?.timeout)
)

const withTimeout = <A, E>(
  effect: Effect.Effect<A, E>,
  timeout: Duration.Input | undefined
): Effect.Effect<A, E | Cause.TimeoutError> => (timeout === undefined ? effect : Effect.timeout(effect, timeout))

/**
 * Awaits the future and returns its typed error, or `Option.none()` if it succeeded (as Python's `exception()`).
 * Fails with `CancelledError` if it was cancelled and `Cause.TimeoutError` if `timeout` passes first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = Future.fromFiber(yield* Effect.forkChild(Effect.fail("boom")))
 *   return yield* Future.exception(future) // Option.some("boom")
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const exception: {
  (options?: {
    readonly timeout?: Duration.Input | undefined
  }): <A, E>(future: Future<A, E>) => Effect.Effect<Option.Option<E>, CancelledError | Cause.TimeoutError>
  <A, E>(
    future: Future<A, E>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): Effect.Effect<Option.Option<E>, CancelledError | Cause.TimeoutError>
} = dual(
  (args) => isFuture(args[0]),
  <A, E>(future: Future<A, E>, options?: { readonly timeout?: Duration.Input | undefined }) =>
    withTimeout(
      Effect.flatMap(Fiber.await(future.fiber), (exit): Effect.Effect<Option.Option<E>, CancelledError> => {
        if (Exit.isSuccess(exit)) return Effect.succeed(Option.none())
        if (internal.isCancelledExit(exit)) return Effect.fail(internal.cancelledError())
        const error = Cause.findErrorOption(exit.cause)
        // A defect is not a typed exception: it stays a defect, as Effect treats it everywhere else.
        return Option.isSome(error) ? Effect.succeed(error) : Effect.failCause(exit.cause as Cause.Cause<never>)
      }),
      options?.timeout
    )
)

const await_ = <A, E>(future: Future<A, E>): Effect.Effect<Exit.Exit<A, E>> => Fiber.await(future.fiber)

export {
  /**
   * Awaits the future's outcome as an `Exit`, never failing: a cancelled future gives Effect's interrupt `Exit`.
   *
   * @example
   * ```ts
   * import { Effect, Exit } from "effect"
   * import { Future } from "effect-futures"
   *
   * const program = Effect.gen(function*() {
   *   const future = Future.fromFiber(yield* Effect.forkChild(Effect.fail("boom")))
   *   const exit = yield* Future.await(future)
   *   return Exit.isFailure(exit) // true
   * })
   * ```
   *
   * @since 0.1.0
   * @category getters
   */
  await_ as await
}

/**
 * A function run once when a future ends (finished, failed or cancelled). It may return an Effect, which is run
 * with the services of the fiber that registered it.
 *
 * @since 0.1.0
 * @category models
 */
export type DoneCallback<A, E> = (future: Future<A, E>) => void | Effect.Effect<unknown, unknown>

/**
 * Registers `callback` to run once when the future ends — at once if it already has. Callbacks run in registration
 * order; one that throws or fails is logged and affects neither the future nor the other callbacks.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const future = yield* Future.make<number>()
 *   yield* Future.addDoneCallback(future, (f) => Effect.log(`done: ${Future.stateUnsafe(f)}`))
 *   yield* Future.complete(future, 1)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const addDoneCallback: {
  <A, E>(callback: DoneCallback<A, E>): (future: Future<A, E>) => Effect.Effect<void>
  <A, E>(future: Future<A, E>, callback: DoneCallback<A, E>): Effect.Effect<void>
} = dual(2, <A, E>(future: Future<A, E>, callback: DoneCallback<A, E>): Effect.Effect<void> =>
  Effect.withFiber((parent) => {
    const context = parent.context
    if (future.fiber.pollUnsafe() !== undefined) return invokeCallback(future, callback, context)
    future.fiber.addObserver(() => {
      Effect.runForkWith(context)(invokeCallback(future, callback, context))
    })
    return Effect.void
  })
)

const invokeCallback = <A, E>(
  future: Future<A, E>,
  callback: DoneCallback<A, E>,
  context: Context.Context<never>
): Effect.Effect<void> => {
  const report = (cause: Cause.Cause<unknown>) =>
    Effect.logError("A done-callback of a future failed; the future and other callbacks are unaffected", cause)
  let returned: unknown
  try {
    returned = callback(future)
  } catch (defect) {
    return report(Cause.die(defect))
  }
  if (!Effect.isEffect(returned)) return Effect.void
  return (returned as Effect.Effect<unknown, unknown>).pipe(
    Effect.provideContext(context),
    Effect.asVoid,
    Effect.catchCause(report)
  )
}

const derived = <B, E2>(source: Future<unknown, unknown>, fiber: Fiber.Fiber<B, E2>): Future<B, E2> =>
  new internal.FutureImpl(fiber, {
    phase: () => (impl(source).stateUnsafe() === "PENDING" ? "PENDING" : "RUNNING"),
    cancelPending: () => impl(source).stateUnsafe() === "PENDING"
  })

/**
 * A new future with the source's value transformed by `f`. The new future is cancelled if the source is; cancelling
 * the new future leaves the source alone.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const source = Future.fromFiber(yield* Effect.forkChild(Effect.succeed(20)))
 *   const doubled = yield* Future.map(source, (n) => n * 2)
 *   return yield* doubled // 40
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const map: {
  <A, B>(f: (a: A) => B): <E>(future: Future<A, E>) => Effect.Effect<Future<B, E>>
  <A, E, B>(future: Future<A, E>, f: (a: A) => B): Effect.Effect<Future<B, E>>
} = dual(2, <A, E, B>(future: Future<A, E>, f: (a: A) => B): Effect.Effect<Future<B, E>> =>
  Effect.map(Effect.forkDetach(Effect.map(Fiber.join(future.fiber), f)), (fiber) => derived(future, fiber))
)

/**
 * Chains a future: when the source succeeds, `f` starts the next future (it may return a Future, or an Effect of
 * one such as `Executor.submit(...)`), and the new future ends as that one does.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const source = Future.fromFiber(yield* Effect.forkChild(Effect.succeed(2)))
 *   const next = yield* Future.flatMap(source, (n) => Effect.map(Effect.forkChild(Effect.succeed(n + 1)), Future.fromFiber))
 *   return yield* next // 3
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const flatMap: {
  <A, B, E2, E3 = never, R = never>(
    f: (a: A) => Future<B, E2> | Effect.Effect<Future<B, E2>, E3, R>
  ): <E>(future: Future<A, E>) => Effect.Effect<Future<B, E | E2 | E3>, never, R>
  <A, E, B, E2, E3 = never, R = never>(
    future: Future<A, E>,
    f: (a: A) => Future<B, E2> | Effect.Effect<Future<B, E2>, E3, R>
  ): Effect.Effect<Future<B, E | E2 | E3>, never, R>
} = dual(
  2,
  <A, E, B, E2, E3, R>(
    future: Future<A, E>,
    f: (a: A) => Future<B, E2> | Effect.Effect<Future<B, E2>, E3, R>
  ): Effect.Effect<Future<B, E | E2 | E3>, never, R> =>
    Effect.map(
      Effect.forkDetach(
        Effect.gen(function* () {
          const value = yield* Fiber.join(future.fiber)
          const next = f(value)
          const nextFuture: Future<B, E2> = isFuture(next) ? (next as Future<B, E2>) : yield* next
          return yield* Fiber.join(nextFuture.fiber)
        })
      ),
      (fiber) => derived(future, fiber)
    )
)

const unique = <F extends Future<any, any>>(futures: Iterable<F>): Array<F> => Array.from(new Set(futures))

/**
 * Yields each distinct future once, as it ends: those already ended first (in the order given), then the rest in the
 * order they end. With `timeout`, the stream fails with `Cause.TimeoutError` once that much time has passed since it
 * started, after yielding every future that ended in time. It never cancels anything.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const a = Future.fromFiber(yield* Effect.forkChild(Effect.succeed("a")))
 *   const b = Future.fromFiber(yield* Effect.forkChild(Effect.succeed("b")))
 *   yield* Future.asCompleted([a, b]).pipe(
 *     Stream.runForEach((future) => Effect.flatMap(Future.result(future), Effect.log))
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const asCompleted = <F extends Future<any, any>>(
  futures: Iterable<F>,
  options?: { readonly timeout?: Duration.Input | undefined }
): Stream.Stream<F, Cause.TimeoutError> =>
  Stream.callback<F, Cause.TimeoutError>((queue) =>
    Effect.gen(function* () {
      const all = unique(futures)
      const pending: Array<F> = []
      for (const future of all) {
        if (future.fiber.pollUnsafe() === undefined) pending.push(future)
        else Queue.offerUnsafe(queue, future)
      }
      let remaining = pending.length
      if (remaining === 0) return yield* Queue.end(queue)
      // Observers are registered synchronously after the poll above, so no future can end unseen in between.
      const removers = pending.map((future) =>
        future.fiber.addObserver(() => {
          Queue.offerUnsafe(queue, future)
          if (--remaining === 0) Queue.endUnsafe(queue)
        })
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => removers.forEach((remove) => remove())))
      if (options?.timeout !== undefined) {
        yield* Effect.forkScoped(
          Effect.sleep(options.timeout).pipe(Effect.andThen(Queue.fail(queue, new Cause.TimeoutError())))
        )
      }
    })
  )

/**
 * Waits until the condition in `returnWhen` holds (default `"ALL_COMPLETED"`), or until `timeout` passes, and returns
 * the distinct futures split into `done` (finished or cancelled) and `notDone`. A timeout is not an error: it returns
 * what is done so far. `"FIRST_EXCEPTION"` returns at the first future that fails (a cancelled one does not count),
 * or when all are done. It never cancels anything.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Future } from "effect-futures"
 *
 * const program = Effect.gen(function*() {
 *   const fast = Future.fromFiber(yield* Effect.forkChild(Effect.succeed(1)))
 *   const slow = Future.fromFiber(yield* Effect.forkChild(Effect.never))
 *   const { done, notDone } = yield* Future.wait([fast, slow], { returnWhen: "FIRST_COMPLETED" })
 *   return [done.length, notDone.length] // [1, 1]
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const wait = <F extends Future<any, any>>(
  futures: Iterable<F>,
  options?: { readonly returnWhen?: ReturnWhen | undefined; readonly timeout?: Duration.Input | undefined }
): Effect.Effect<{ readonly done: Array<F>; readonly notDone: Array<F> }> =>
  Effect.suspend(() => {
    const all = unique(futures)
    const returnWhen = options?.returnWhen ?? "ALL_COMPLETED"
    const satisfied = () => {
      let doneCount = 0
      for (const future of all) {
        const exit = future.fiber.pollUnsafe()
        if (exit === undefined) {
          if (returnWhen === "ALL_COMPLETED" || returnWhen === "FIRST_EXCEPTION") continue
        } else {
          doneCount++
          if (returnWhen === "FIRST_COMPLETED") return true
          if (returnWhen === "FIRST_EXCEPTION" && Exit.isFailure(exit) && !internal.isCancelledExit(exit)) return true
        }
      }
      return doneCount === all.length
    }
    const partition = () => {
      const done: Array<F> = []
      const notDone: Array<F> = []
      for (const future of all) (future.fiber.pollUnsafe() === undefined ? notDone : done).push(future)
      return { done, notDone }
    }
    if (satisfied()) return Effect.succeed(partition())
    const trigger = Deferred.makeUnsafe<void>()
    const removers = all.map((future) =>
      future.fiber.addObserver(() => {
        if (satisfied()) Deferred.doneUnsafe(trigger, Exit.void)
      })
    )
    const waiting =
      options?.timeout === undefined
        ? Deferred.await(trigger)
        : Effect.asVoid(Effect.timeoutOption(Deferred.await(trigger), options.timeout))
    return waiting.pipe(
      Effect.ensuring(Effect.sync(() => removers.forEach((remove) => remove()))),
      Effect.map(partition)
    )
  })

/**
 * The progress values a future's task reports with `Task.progress`, in order, as a `Stream` that ends when the task
 * ends, whatever its outcome (success, failure, cancellation, a crash).
 *
 * Works on every local executor (`layerFibers`, `layerWorkerThreads`, `layerProcesses`); a future whose task
 * declares no `progress` (or one not made by an executor, or a cluster task's) gives a stream that emits nothing and
 * ends with the future.
 *
 * Buffering is bounded and never slows the task: each reader first receives the most recent values the future
 * still keeps (up to 16, so a reader that subscribes late still sees where the task is), then every new one; a
 * reader that falls more than 16 values behind loses the oldest unread ones, never the newest (progress is a
 * latest-wins signal). Several readers each get the whole stream.
 *
 * @example
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { Executor, Future, Task } from "effect-futures"
 *
 * export const countTo = Task.make("countTo", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   progress: Schema.Number,
 *   run: (total) =>
 *     Effect.gen(function* () {
 *       for (let done = 1; done <= total; done++) yield* Task.progress(done)
 *       return total
 *     })
 * })
 *
 * const program = Effect.gen(function* () {
 *   const future = yield* Executor.submit(countTo, 3)
 *   yield* Future.progress(future).pipe(Stream.runForEach((done) => Effect.log(`${done}/3`)))
 *   return yield* future
 * })
 * ```
 *
 * @since 0.2.0
 * @category progress
 */
export const progress = <A, E, P>(future: Future<A, E, P>): Stream.Stream<P> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const queue = yield* Queue.sliding<P, Cause.Done>(ProgressChannel.CAPACITY)
      const reader: ProgressChannel.Reader = {
        offer: (value) => Queue.offerUnsafe(queue, value as P),
        end: () => Queue.endUnsafe(queue)
      }
      const channel = impl(future).control?.progress
      let unsubscribe = () => {}
      if (channel === undefined) {
        future.fiber.addObserver(reader.end)
      } else {
        unsubscribe = ProgressChannel.subscribe(channel, reader)
        // The channel ends once the task has: every value it reported has arrived before its outcome did.
        future.fiber.addObserver(() => ProgressChannel.end(channel))
      }
      return Stream.fromQueue(queue).pipe(Stream.ensuring(Effect.sync(unsubscribe)))
    })
  )
