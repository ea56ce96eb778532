/**
 * The bootstrapping guard, after Python's `ProcessPoolExecutor` ("An attempt has been made to start a new process
 * before the current process has finished its bootstrapping phase").
 *
 * A worker imports a task's module to find the task. If that module also runs the program that submits the task
 * (a task defined in the same file as `Effect.runPromise(program)`, with no `import.meta.main` guard), each worker
 * would start a pool of its own, whose workers import the module again: workers without end. So while a worker
 * imports task modules, building a worker-backed executor is refused, and the tasks waiting for that module fail
 * with a `TaskLoadError` that says how to fix the program. A pool started from inside a running task (a nested
 * pool on purpose) is not affected: by then the import is over.
 *
 * The state is per thread (on `globalThis`), because a worker thread has its own globals, and shared by every copy
 * of this module that a thread might load.
 *
 * @internal
 */

interface State {
  /** Task modules this thread is importing now. */
  readonly importing: Set<string>
  /** Called when a module being imported starts an executor, with the modules that were being imported. */
  onTrip: ((modules: ReadonlyArray<string>) => void) | undefined
}

const key = Symbol.for("effect-futures/bootstrap")

const state = (): State => {
  const holder = globalThis as { [key]?: State }
  return (holder[key] ??= { importing: new Set(), onTrip: undefined })
}

/** How to fix a program that trips the guard, in both of its messages. */
const fix =
  "Put tasks in a module of their own (the program imports them), or run the program only when its file is the " +
  "entry point: `if (import.meta.main) { ... }`."

/** What a task waiting for `module` fails with when the module started an executor while being imported. */
export const tripMessage = (module: string): string =>
  `the module started an executor while a worker was importing it to find a task, so every worker would start a ` +
  `pool of its own. ${fix} (Module: ${module})`

/** Imports a task module in a worker, marking the thread as bootstrapping meanwhile. */
export const importTaskModule = async (module: string): Promise<Record<string, unknown>> => {
  const { importing } = state()
  importing.add(module)
  try {
    return await import(module)
  } finally {
    importing.delete(module)
  }
}

/** Registers what a worker does when a module it imports starts an executor. */
export const onTrip = (handler: (modules: ReadonlyArray<string>) => void): void => {
  state().onTrip = handler
}

/**
 * `undefined` when an executor may start here; otherwise the modules being imported and the message of the error the
 * layer fails with, after the worker has been told which imports tripped the guard.
 */
export const refuseWhileImporting = (
  layer: string
): { readonly modules: ReadonlyArray<string>; readonly message: string } | undefined => {
  const current = state()
  if (current.importing.size === 0) return undefined
  const modules = [...current.importing]
  current.onTrip?.(modules)
  return {
    modules,
    message:
      `${layer} was built while a worker was importing ${modules.join(", ")} to find a task: that module runs the ` +
      `program at import time, so every worker would start its own pool. ${fix}`
  }
}
