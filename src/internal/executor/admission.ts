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

/** Everything admission knows, in one record: the functions below read and move it. */
interface AdmissionState {
  readonly options: AdmissionOptions
  /**
   * Oldest first: an array with a moving head, as the core's queue. Interrupted waiters are skipped when reached,
   * and swept out if they pile up behind a head that cannot get in.
   */
  waiters: Array<Waiter | undefined>
  head: number
  waiting: number
  gone: number
  /** Places set aside for admitted waiters that have not enqueued their job yet. */
  reserved: number
  waking: boolean
}

/**
 * A woken waiter enqueues its job before `resume` returns, and that calls back here (through the core's `pump`):
 * the `waking` flag makes such a nested call a no-op, and this loop goes on with the next waiter, so each waiter
 * is visited once and the loop ends.
 */
const wake = (self: AdmissionState) => {
  if (self.waking || self.waiting === 0) return
  self.waking = true
  try {
    while (self.head < self.waiters.length) {
      const waiter = self.waiters[self.head]!
      if (waiter.state !== "waiting") {
        self.gone--
        self.waiters[self.head++] = undefined
        continue
      }
      const refused = self.options.refusal()
      if (refused === undefined && !self.options.hasRoom(self.reserved)) break
      self.waiting--
      self.waiters[self.head++] = undefined
      if (refused === undefined) {
        waiter.state = "admitted"
        self.reserved++
        waiter.resume(Effect.void)
      } else {
        waiter.state = "gone"
        waiter.resume(Effect.fail(refused))
      }
    }
    compact(self)
  } finally {
    self.waking = false
  }
}

const compact = (self: AdmissionState) => {
  if (self.head === self.waiters.length) {
    self.waiters = []
    self.head = 0
  } else if (self.head > 1024 && self.head * 2 > self.waiters.length) {
    self.waiters = self.waiters.slice(self.head)
    self.head = 0
  }
}

const waitForRoom = (self: AdmissionState) =>
  Effect.callback<void, SubmitError>((resume) => {
    const waiter: Waiter = { resume, state: "waiting" }
    self.waiters.push(waiter)
    self.waiting++
    return Effect.sync(() => {
      if (waiter.state !== "waiting") return
      waiter.state = "gone"
      self.waiting--
      if (++self.gone > 1024 && self.gone > self.waiting) {
        self.waiters = self.waiters.slice(self.head).filter((w) => w!.state === "waiting")
        self.head = 0
        self.gone = 0
      }
    })
  })

const admitThen = <A>(self: AdmissionState, enter: () => A): Effect.Effect<A, SubmitError> =>
  Effect.suspend(() => {
    const { options } = self
    const refused = options.refusal()
    if (refused !== undefined) return Effect.fail(refused)
    if (options.maxQueue === Infinity) return Effect.sync(enter)
    // Those already waiting go first: they are let in now if room has opened since.
    wake(self)
    if (self.waiting === 0 && options.hasRoom(self.reserved)) return Effect.sync(enter)
    if (options.onFull === "fail") return Effect.fail(new QueueFull({ maxQueue: options.maxQueue }))
    return Effect.uninterruptibleMask((restore) =>
      Effect.andThen(
        restore(waitForRoom(self)),
        Effect.suspend(() => {
          self.reserved--
          const closed = options.refusal()
          return closed === undefined ? Effect.sync(enter) : Effect.fail(closed)
        })
      )
    )
  })

export const make = (options: AdmissionOptions): Admission => {
  const self: AdmissionState = { options, waiters: [], head: 0, waiting: 0, gone: 0, reserved: 0, waking: false }
  return { admitThen: (enter) => admitThen(self, enter), wake: () => wake(self) }
}
