/**
 * Scheduling priority of a worker's thread, so that a task cancelled while stuck in synchronous code stops competing
 * for the CPU with the work that follows it (its replacement's boot first of all) while its grace period runs out.
 *
 * A worker reports its OS thread id when it is ready (Linux: `/proc/thread-self`; a child process's main thread id
 * is its pid). Lowering a thread's priority (raising its nice value) is always allowed; raising it back needs
 * privileges most processes lack, so a worker that was lowered and then stopped its task in time is only reused if
 * its priority could be restored. Elsewhere these are no-ops.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as os from "node:os"

/** The nice value of a thread in the background: the lowest priority there is. */
const BACKGROUND = 19

/** This thread's OS id, where the OS lets a process set one thread's priority by it (Linux). */
export const currentThread = (): number | undefined => {
  try {
    const id = Number(fs.readlinkSync("/proc/thread-self").split("/").pop())
    return Number.isInteger(id) && id > 0 ? id : undefined
  } catch {
    return undefined
  }
}

const set = (thread: number | undefined, priority: number): boolean => {
  if (thread === undefined) return false
  try {
    os.setPriority(thread, priority)
    return true
  } catch {
    return false
  }
}

/** Puts a thread in the background; false if it could not be done. */
export const background = (thread: number | undefined): boolean => set(thread, BACKGROUND)

/** Gives a thread the priority of this one again; false if it could not be done (no privilege to raise it). */
export const restore = (thread: number | undefined): boolean => {
  let own: number
  try {
    own = os.getPriority()
  } catch {
    return false
  }
  return set(thread, own)
}
