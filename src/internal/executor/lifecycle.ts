/**
 * Whether an executor, or its pool of workers, still takes work: one `_tag` union, as Effect's `Queue.State`, instead
 * of `closed` / `closing` / `broken` booleans that must agree.
 *
 * ```text
 *   Open ──drain──▶ Draining ──close──▶ Closed
 *     │                │                  ▲
 *     └──breakWith──▶ Broken ──close──────┘
 * ```
 *
 * - `Open`: takes work.
 * - `Draining`: shut down; takes nothing new and runs what it holds. `waiter` is whoever waits for it to empty (the
 *   pool's close), if anyone.
 * - `Broken`: cannot run tasks any more (`error` says why); what was pending failed with `error`. A broken executor
 *   is closing too: it keeps the waiter of a close that came before or after it broke.
 * - `Closed`: its resources are released; `error` is kept if it broke, so a late submit still learns why.
 *
 * Each transition is a function from a state to the next one, refusing (returning `undefined`) where it does not
 * apply; the owner stores the result.
 *
 * @internal
 */
import type { BrokenExecutor } from "../../ExecutorError.ts"

export type Lifecycle<W = undefined> =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Draining"; readonly waiter: W | undefined }
  | { readonly _tag: "Broken"; readonly error: BrokenExecutor; readonly waiter: W | undefined }
  | { readonly _tag: "Closed"; readonly error: BrokenExecutor | undefined }

export const open: Lifecycle<never> = { _tag: "Open" }

export const isOpen = <W>(self: Lifecycle<W>): boolean => self._tag === "Open"

/** Why it cannot run tasks, if it broke (before or after it closed). */
export const brokenBy = <W>(self: Lifecycle<W>): BrokenExecutor | undefined =>
  self._tag === "Broken" || self._tag === "Closed" ? self.error : undefined

/** `Open → Draining` (and a waiter for a `Broken` one); unchanged otherwise. */
export const drain = <W>(self: Lifecycle<W>, waiter?: W): Lifecycle<W> => {
  switch (self._tag) {
    case "Open":
      return { _tag: "Draining", waiter }
    case "Draining":
      return waiter === undefined ? self : { _tag: "Draining", waiter }
    case "Broken":
      return waiter === undefined ? self : { _tag: "Broken", error: self.error, waiter }
    case "Closed":
      return self
  }
}

/**
 * `Open | Draining → Broken`, and `Closed` (not broken) remembers `error`. `undefined` if it had already broken:
 * only the first cause counts.
 */
export const breakWith = <W>(self: Lifecycle<W>, error: BrokenExecutor): Lifecycle<W> | undefined => {
  switch (self._tag) {
    case "Open":
      return { _tag: "Broken", error, waiter: undefined }
    case "Draining":
      return { _tag: "Broken", error, waiter: self.waiter }
    case "Broken":
      return undefined
    case "Closed":
      return self.error === undefined ? { _tag: "Closed", error } : undefined
  }
}

/** Any state `→ Closed`, keeping why it broke. */
export const close = <W>(self: Lifecycle<W>): Lifecycle<W> =>
  self._tag === "Closed" ? self : { _tag: "Closed", error: brokenBy(self) }

/** Whoever waits for it to empty, if anyone. */
export const waiter = <W>(self: Lifecycle<W>): W | undefined =>
  self._tag === "Draining" || self._tag === "Broken" ? self.waiter : undefined
