/**
 * Submitting and awaiting as one step that owns the future: if the awaiting fiber is interrupted, the future is
 * interrupted too. `Executor.map`, `Bridge.run` and the cluster runner all await this way.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { Future } from "../../Future.ts"
import * as FutureModule from "../../Future.ts"

/** Submits, then waits on the future with `wait`; interrupting the caller interrupts the future. */
const owning = <A, E, E2, R, B, E3>(
  submitting: Effect.Effect<Future<A, E>, E2, R>,
  wait: (future: Future<A, E>) => Effect.Effect<B, E3>
): Effect.Effect<B, E2 | E3, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(submitting), (future) =>
      restore(wait(future)).pipe(Effect.onInterrupt(() => FutureModule.interrupt(future)))
    )
  )

/**
 * Submits, then awaits the future's value (or its failure, `CancelledError` included); interrupting the caller
 * interrupts the future.
 */
export const awaitOwned = <A, E, E2, R>(submitting: Effect.Effect<Future<A, E>, E2, R>) =>
  owning(submitting, (future) => future)

/**
 * Submits, then awaits the future's outcome as an `Exit` (failing only if the submit does); interrupting the caller
 * interrupts the future. For a caller that answers every outcome itself, as the cluster runner does.
 */
export const awaitOwnedExit = <A, E, E2, R>(
  submitting: Effect.Effect<Future<A, E>, E2, R>
): Effect.Effect<Exit.Exit<A, E>, E2, R> => owning(submitting, FutureModule.await)
