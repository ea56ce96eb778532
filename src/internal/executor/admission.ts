/**
 * Admission to the executor's bounded queue (`maxQueue` with `onFull`): who may enqueue a task now, and who waits,
 * in what order.
 *
 * A submit that finds no room fails with `QueueFull` (`onFull: "fail"`) or waits (`"suspend"`) in a FIFO of
 * `Waiter`s. When room opens, waiters are let in oldest first, one place each; a place is set aside for each one let
 * in until it has enqueued its job, so nobody who came later takes it. A new submit waits behind existing waiters
 * even if there is room: they came first. Once the executor is shut down or broken, every waiter fails with that.
 *
 * A waiter's life:
 *
 * ```text
 *   waiting ──(room: a place is set aside for it)──▶ admitted ──(it enqueues its job)──▶ gone
 *      ├──(the executor shuts down or breaks)──▶ gone, failing with that error
 *      └──(its fiber is interrupted)──▶ gone
 * ```
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { QueueFull, type SubmitError } from "../../ExecutorError.ts"

interface Waiter {
  readonly resume: (effect: Effect.Effect<void, SubmitError>) => void
  state: "waiting" | "admitted" | "gone"
}

export interface AdmissionOptions {
  readonly maxQueue: number
  readonly onFull: "suspend" | "fail"
  /** Whether one more task may wait for a worker, given `reserved` places already set aside for admitted waiters. */
  readonly hasRoom: (reserved: number) => boolean
  /** Why no task is accepted any more (shut down, broken), if so. */
  readonly refusal: () => SubmitError | undefined
}

export interface Admission {
  /**
   * Runs `enter` (which enqueues a job) once there is room: at once if there is and nobody waits before it;
   * otherwise it fails with `QueueFull` or waits its turn. A waiter let in enqueues without interruption.
   */
  readonly admitThen: <A>(enter: () => A) => Effect.Effect<A, SubmitError>
  /** Room may have opened, or the executor closed: lets waiters in, oldest first, or fails them all. */
  readonly wake: () => void
}

export const make = (options: AdmissionOptions): Admission => {
  // Oldest first: an array with a moving head, as the core's queue. Interrupted waiters are skipped when reached, and
  // swept out if they pile up behind a head that cannot get in.
  let waiters: Array<Waiter | undefined> = []
  let head = 0
  let waiting = 0
  let gone = 0
  /** Places set aside for admitted waiters that have not enqueued their job yet. */
  let reserved = 0
  let waking = false

  /**
   * A woken waiter enqueues its job before `resume` returns, and that calls back here (through the core's `pump`):
   * the `waking` flag makes such a nested call a no-op, and this loop goes on with the next waiter, so each waiter
   * is visited once and the loop ends.
   */
  const wake = () => {
    if (waking || waiting === 0) return
    waking = true
    try {
      while (head < waiters.length) {
        const waiter = waiters[head]!
        if (waiter.state !== "waiting") {
          gone--
          waiters[head++] = undefined
          continue
        }
        const refused = options.refusal()
        if (refused === undefined && !options.hasRoom(reserved)) break
        waiting--
        waiters[head++] = undefined
        if (refused === undefined) {
          waiter.state = "admitted"
          reserved++
          waiter.resume(Effect.void)
        } else {
          waiter.state = "gone"
          waiter.resume(Effect.fail(refused))
        }
      }
      if (head === waiters.length) {
        waiters = []
        head = 0
      } else if (head > 1024 && head * 2 > waiters.length) {
        waiters = waiters.slice(head)
        head = 0
      }
    } finally {
      waking = false
    }
  }

  const waitForRoom = Effect.callback<void, SubmitError>((resume) => {
    const waiter: Waiter = { resume, state: "waiting" }
    waiters.push(waiter)
    waiting++
    return Effect.sync(() => {
      if (waiter.state !== "waiting") return
      waiter.state = "gone"
      waiting--
      if (++gone > 1024 && gone > waiting) {
        waiters = waiters.slice(head).filter((w) => w!.state === "waiting")
        head = 0
        gone = 0
      }
    })
  })

  const admitThen = <A>(enter: () => A): Effect.Effect<A, SubmitError> =>
    Effect.suspend(() => {
      const refused = options.refusal()
      if (refused !== undefined) return Effect.fail(refused)
      if (options.maxQueue === Infinity) return Effect.sync(enter)
      // Those already waiting go first: they are let in now if room has opened since.
      wake()
      if (waiting === 0 && options.hasRoom(reserved)) return Effect.sync(enter)
      if (options.onFull === "fail") return Effect.fail(new QueueFull({ maxQueue: options.maxQueue }))
      return Effect.uninterruptibleMask((restore) =>
        Effect.andThen(
          restore(waitForRoom),
          Effect.suspend(() => {
            reserved--
            const closed = options.refusal()
            return closed === undefined ? Effect.sync(enter) : Effect.fail(closed)
          })
        )
      )
    })

  return { admitThen, wake }
}
