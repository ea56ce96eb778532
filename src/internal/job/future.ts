/**
 * The Future representation shared by `Future.ts` and the executors.
 *
 * A future is one fiber plus a small `Control` that knows what the fiber cannot tell by itself: whether the work is
 * still waiting for a worker (PENDING) or has started (RUNNING), and how to withdraw it while it is still waiting.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Effectable from "effect/Effectable"
import { CancelledError } from "../../ExecutorError.ts"
import type * as Progress from "../observability/progress.ts"

export const TypeId: unique symbol = Symbol.for("effect-futures/Future") as never
export type TypeId = typeof TypeId

/** The four states of CPython's `concurrent.futures._base`. */
export type State = "PENDING" | "RUNNING" | "CANCELLED" | "FINISHED"

/** What the owner of a future's work tells the future about it before the fiber ends. */
export interface Control {
  /** PENDING while the work waits to start; RUNNING once it has started. Only read while the fiber is alive. */
  readonly phase: () => "PENDING" | "RUNNING"
  /**
   * If the work has not started, withdraws it for good (it will never run) and returns true; otherwise returns
   * false. Synchronous, so that no worker can pick the work up between the check and the withdrawal.
   */
  readonly cancelPending: () => boolean
  /** Where the task's progress values go (`Future.progress` reads them): only for a task that declares `progress`. */
  readonly progress?: Progress.Channel | undefined
}

export const runningControl: Control = { phase: () => "RUNNING", cancelPending: () => false }

export const isCancelledExit = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

export const cancelledError = () => new CancelledError({ message: "The future was cancelled" })

/** Awaits a fiber, turning a cancellation of the fiber into a typed `CancelledError`. */
export const joinTyped = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<A, E | CancelledError> =>
  Effect.flatMap(Fiber.await(fiber), (exit): Effect.Effect<A, E | CancelledError> =>
    isCancelledExit(exit) ? Effect.fail(cancelledError()) : exit
  )

export class FutureImpl<A, E> extends Effectable.Class<A, E | CancelledError> {
  readonly [TypeId]: TypeId = TypeId
  readonly control: Control
  /** Set when `cancel` withdrew pending work, so the state reads CANCELLED before the fiber has ended. */
  cancelRequested = false
  #fiber: Fiber.Fiber<A, E> | undefined
  readonly #startFiber: (() => Fiber.Fiber<A, E>) | undefined

  /**
   * `fiber` may be given lazily: an executor's future starts its fiber only when something asks for it (awaiting,
   * a query, a callback). A fiber is most of a future's memory, and a burst of queued tasks needs none until then;
   * since forking is synchronous, a fiber started after its task ended is already done when returned.
   */
  constructor(fiber: Fiber.Fiber<A, E> | (() => Fiber.Fiber<A, E>), control: Control) {
    super()
    if (typeof fiber === "function") this.#startFiber = fiber
    else this.#fiber = fiber
    this.control = control
  }

  get fiber(): Fiber.Fiber<A, E> {
    if (this.#fiber === undefined) this.#fiber = this.#startFiber!()
    return this.#fiber
  }

  asEffect(): Effect.Effect<A, E | CancelledError> {
    return joinTyped(this.fiber)
  }

  stateUnsafe(): State {
    const exit = this.fiber.pollUnsafe()
    if (exit !== undefined) return isCancelledExit(exit) ? "CANCELLED" : "FINISHED"
    if (this.cancelRequested) return "CANCELLED"
    return this.control.phase()
  }

  override toJSON() {
    return { _id: "Future", fiber: this.fiber.id, state: this.stateUnsafe() }
  }

  override toString() {
    return `Future(#${this.fiber.id}, ${this.stateUnsafe()})`
  }
}

export const isFuture = (u: unknown): u is FutureImpl<unknown, unknown> =>
  typeof u === "object" && u !== null && TypeId in u
