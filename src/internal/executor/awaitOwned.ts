/**
 * Submitting and awaiting as one step that owns the future: if the awaiting fiber is interrupted, the future is
 * interrupted too. `Executor.map`, `Bridge.run` and the cluster runner all await this way.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Future } from "../../Future.ts"
import * as FutureModule from "../../Future.ts"

/**
 * Submits, then awaits the future's value (or its failure, `CancelledError` included); interrupting the caller
 * interrupts the future.
 */
export const awaitOwned = <A, E, E2, R>(submitting: Effect.Effect<Future<A, E>, E2, R>) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(submitting), (future) =>
      restore(future).pipe(Effect.onInterrupt(() => FutureModule.interrupt(future)))
    )
  )
