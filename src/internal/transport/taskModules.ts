/**
 * Loading tasks by reference, inside a worker: import a task module by URL and find a task in it by name. The one
 * loader of the library — a pool's worker (`workerMain.ts`) and a cluster runner's worker (`cluster/remoteTask.ts`)
 * both load tasks through it, so both import under the bootstrapping guard (`bootstrap.ts`) and fail a task that
 * cannot be loaded with the same `TaskLoadError` message.
 *
 * @internal
 */
import * as Task from "../../Task.ts"
import * as Bootstrap from "./bootstrap.ts"

/** A task module's tasks by name, or why it could not be imported. */
export type TaskModule = ReadonlyMap<string, Task.Any> | { readonly loadError: string }

/** The tasks a module's exports hold (only those that name this module: a re-exported task belongs to another). */
export const tasksOf = (module: string, exports: Record<string, unknown>): ReadonlyMap<string, Task.Any> => {
  const tasks = new Map<string, Task.Any>()
  for (const value of Object.values(exports)) {
    if (Task.isTask(value) && value.module === module) tasks.set(value.name, value)
  }
  return tasks
}

/** Imports a task module (marking the thread as bootstrapping meanwhile); a failed import is a value, not a throw. */
export const importTaskModule = async (module: string): Promise<TaskModule> => {
  try {
    return tasksOf(module, await Bootstrap.importTaskModule(module))
  } catch (cause) {
    const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    return { loadError: `the module failed to import: ${message}` }
  }
}

/** The task named `name` in a loaded module, or the message of the `TaskLoadError` that says why there is none. */
export const findTask = (loaded: TaskModule, name: string): Task.Any | string => {
  if (!(loaded instanceof Map)) return (loaded as { readonly loadError: string }).loadError
  return (
    loaded.get(name) ??
    `the module exports no task named "${name}" (tasks found: ${[...loaded.keys()].join(", ") || "none"})`
  )
}
