/**
 * Claim cells: how a worker and its pool agree, without a round trip, on whether a pre-queued job starts.
 *
 * Each job sent ahead to a worker gets a cell in a SharedArrayBuffer the two share. The worker claims the cell
 * (`WAITING → STARTED`) just before it starts the job; the pool may instead take the job back (`WAITING → CANCELLED`
 * for `Future.cancel`, `WAITING → WITHDRAWN` to run it on another worker). Both sides use compare-and-exchange, so
 * exactly one wins: a cancelled pre-queued job never runs, and a job that started is never run twice.
 *
 * Child processes share no memory, so the process transport pre-queues nothing and needs no cells.
 *
 * @internal
 */

export const WAITING = 0
export const STARTED = 1
export const CANCELLED = 2
export const WITHDRAWN = 3

/** Cells per worker: the jobs in flight plus those taken back and not yet acknowledged. */
export const CELLS = 16

export const makeCells = (): SharedArrayBuffer => new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT)

/** The worker's side: claims `cell` to start its job; returns what the pool decided if it took the job back. */
export const claim = (cells: Int32Array, cell: number): typeof STARTED | typeof CANCELLED | typeof WITHDRAWN => {
  const prior = Atomics.compareExchange(cells, cell, WAITING, STARTED)
  return prior === WAITING ? STARTED : (prior as typeof CANCELLED | typeof WITHDRAWN)
}

/** The pool's side: takes a job back if it has not started; false when the worker already claimed it. */
export const takeBack = (cells: Int32Array, cell: number, as: typeof CANCELLED | typeof WITHDRAWN): boolean =>
  Atomics.compareExchange(cells, cell, WAITING, as) === WAITING

export const hasStarted = (cells: Int32Array, cell: number): boolean => Atomics.load(cells, cell) === STARTED
