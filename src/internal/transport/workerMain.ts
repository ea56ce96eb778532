/**
 * The worker side, shared by thread and process entries: import task modules by URL (once per module), run tasks
 * on fibers, interrupt them on request, and send back one encoded outcome per task (or per chunk).
 *
 * Each task runs in an async context that names it (`AsyncLocalStorage`), which Node keeps for whatever the task
 * leaves behind (timers, promises). A promise rejection left unhandled is then charged to the task it came from: if
 * that task has already settled, the worker reports it (`Unhandled`) and carries on — the task running now is not
 * at fault; otherwise it is thrown, as Node would, and the worker dies with its own task.
 *
 * @internal
 */
import { AsyncLocalStorage } from "node:async_hooks"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Task from "../../Task.ts"
import * as Bootstrap from "./bootstrap.ts"
import * as ModuleCache from "./moduleCache.ts"
import * as Priority from "./priority.ts"
import * as TaskModules from "./taskModules.ts"
import { claim, STARTED } from "../pool/claims.ts"
import * as Logs from "../observability/logs.ts"
import * as Progress from "../observability/progress.ts"
import { describeWireFailure } from "../wire/codec.ts"
import type { ChunkResult, FromWorker, ToWorker, WireExit, WorkerInit } from "../wire/protocol.ts"
import { runChunkEncoded, runEncoded } from "../wire/run.ts"
import { resultNotCloneable, transferablesOf } from "../wire/transfer.ts"

export interface Port {
  readonly post: (message: FromWorker, transfer?: ReadonlyArray<ArrayBuffer>) => void
  readonly onMessage: (handler: (message: ToWorker) => void) => void
}

type Loaded = TaskModules.TaskModule

const loadError = (module: string, task: string, message: string): WireExit => ({
  _tag: "ExecutorError",
  error: { _tag: "TaskLoadError", module, task, message }
})

/**
 * The task an async context belongs to (its job's id and its name), whether it has settled, and where its progress
 * goes: what an unhandled rejection, a log line or a progress value is charged to.
 */
interface Owner extends Logs.TaskRun {
  settled: boolean
  readonly progress: Progress.Target | undefined
}

const renderReason = (reason: unknown): string =>
  reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : String(reason)

type Work = Extract<ToWorker, { readonly _tag: "Run" | "RunChunk" }>

/** The task this worker runs now: its fiber is set once its module is in and it has started. */
interface Current {
  readonly id: number
  fiber: Fiber.Fiber<unknown> | undefined
}

/** Everything a worker keeps between messages: one record, written by the named steps below. */
interface WorkerState {
  readonly port: Port
  readonly owners: AsyncLocalStorage<Owner>
  readonly modules: Map<string, Loaded>
  readonly loading: Map<string, Promise<Loaded>>
  /** Interrupts that arrived while the task's module was still loading. */
  readonly interrupted: Set<number>
  /** Modules that started an executor while being imported (the bootstrapping guard), with the load error. */
  readonly tripped: Map<string, string>
  /** Tasks run one at a time, in the order they arrived: the parent knows the first unfinished one is running. */
  readonly waiting: Array<Work>
  readonly cells: Int32Array | undefined
  /** The services every task runs with (its logs go to the pool: `logs.ts`). */
  readonly context: Context.Context<never>
  current: Current | undefined
}

/**
 * Charges an unhandled rejection to the task whose async context it came from: one that has settled is reported
 * and the worker carries on; otherwise it is thrown, as Node would.
 */
const watchUnhandled = (self: WorkerState) => {
  process.on("unhandledRejection", (reason) => {
    const owner = self.owners.getStore()
    if (owner !== undefined && owner.settled) {
      return self.port.post({ _tag: "Unhandled", task: owner.task, reason: renderReason(reason) })
    }
    // Its task still runs (or it is nobody's we know): what Node does by default, unless the task code listens too.
    if (process.listenerCount("unhandledRejection") > 1) return
    throw reason instanceof Error ? reason : new Error(`A promise was rejected and not handled: ${String(reason)}`)
  })
}

const pickTask = (loaded: Loaded, module: string, name: string): Task.Any | WireExit => {
  const found = TaskModules.findTask(loaded, name)
  return typeof found === "string" ? loadError(module, name, found) : found
}

/** Imports a module once (later calls share the import in flight), refusing it if it tripped the guard meanwhile. */
const loadOnce = (self: WorkerState, module: string): Promise<Loaded> => {
  let promise = self.loading.get(module)
  if (promise === undefined) {
    promise = TaskModules.importTaskModule(module).then((imported) => {
      const trip = self.tripped.get(module)
      const result = trip === undefined ? imported : { loadError: trip }
      self.modules.set(module, result)
      self.loading.delete(module)
      // The worker's boot imports are done once its first task modules are in.
      if (self.loading.size === 0) ModuleCache.flush()
      return result
    })
    self.loading.set(module, promise)
  }
  return promise
}

/** The task a module exports under a name: synchronously once the module is in, else once it is imported. */
const resolve = (
  self: WorkerState,
  module: string,
  name: string
): Task.Any | WireExit | Promise<Task.Any | WireExit> => {
  const loaded = self.modules.get(module)
  if (loaded !== undefined) return pickTask(loaded, module, name)
  return loadOnce(self, module).then((loaded) => pickTask(loaded, module, name))
}

const next = (self: WorkerState) => {
  self.current = undefined
  const work = self.waiting.shift()
  if (work !== undefined) start(self, work)
}

const start = (self: WorkerState, work: Work) => {
  const { id } = work
  if (work.claim !== undefined && self.cells !== undefined && claim(self.cells, work.claim) !== STARTED) {
    // The pool took it back before it started: it never runs here.
    self.port.post({ _tag: "Skipped", id })
    return next(self)
  }
  const current: Current = { id, fiber: undefined }
  self.current = current
  const resolved = resolve(self, work.module, work.task)
  if (resolved instanceof Promise) resolved.then((task) => runResolved(self, work, current, task))
  else runResolved(self, work, current, resolved)
}

/** Runs a task whose module is in, or answers at once if it was interrupted meanwhile or could not be found. */
const runResolved = (self: WorkerState, work: Work, current: Current, resolved: Task.Any | WireExit) => {
  const { id } = work
  if (self.interrupted.delete(id)) {
    self.port.post({ _tag: "Done", id, exit: { _tag: "Interrupted" } })
    return next(self)
  }
  if (!Task.isTask(resolved)) {
    self.port.post(
      work._tag === "Run"
        ? { _tag: "Done", id, exit: resolved }
        : { _tag: "ChunkDone", id, result: { values: [], failure: resolved } }
    )
    return next(self)
  }
  const effect: Effect.Effect<WireExit | ChunkResult> =
    work._tag === "Run"
      ? runEncoded(resolved, work.payload, work.trace)
      : runChunkEncoded(resolved, work.payloads, work.trace)
  const owner: Owner = { id, task: resolved.name, settled: false, progress: progressTarget(self, id, resolved) }
  const fiber = self.owners.run(owner, () => Effect.runForkWith(self.context)(effect))
  current.fiber = fiber
  fiber.addObserver((exit) => {
    owner.settled = true
    postOutcome(self.port, id, resolved.name, exit)
    next(self)
  })
}

/** Where a task's progress values go (a `Progress` message), if it declares `progress`. */
const progressTarget = (self: WorkerState, id: number, task: Task.Any): Progress.Target | undefined =>
  Progress.schemaOf(task) === undefined
    ? undefined
    : { task, send: (value) => self.port.post({ _tag: "Progress", id, value }) }

/**
 * The services every task of this worker runs with, the same for all (a context per task would cost every task):
 * its logs go to the pool, and its progress to its target, both found through the task's async context.
 */
const workerContext = (port: Port, owners: AsyncLocalStorage<Owner>): Context.Context<never> =>
  Context.add(
    Logs.workerContext(
      (entry) => port.post(entry),
      () => owners.getStore()
    ),
    Progress.CurrentReporter,
    () => owners.getStore()?.progress
  )

/** Sends a task's (or chunk's) encoded outcome, moving its transferables; one that cannot be cloned fails it. */
const postOutcome = (port: Port, id: number, task: string, exit: Exit.Exit<unknown>) => {
  if (Exit.isFailure(exit)) return port.post({ _tag: "Done", id, exit: { _tag: "Interrupted" } })
  const value = exit.value as WireExit | ChunkResult
  if ("values" in value) {
    const transfer = transferablesOf(value.values)
    try {
      return port.post({ _tag: "ChunkDone", id, result: value }, transfer)
    } catch (cause) {
      return port.post({ _tag: "ChunkDone", id, result: { values: [], failure: resultNotCloneable(task, cause) } })
    }
  }
  const wire = value
  const transfer = wire._tag === "Success" ? transferablesOf(wire.value) : undefined
  try {
    port.post({ _tag: "Done", id, exit: wire }, transfer)
  } catch (cause) {
    port.post({ _tag: "Done", id, exit: resultNotCloneable(task, cause) })
  }
}

const interrupt = (self: WorkerState, id: number) => {
  const current = self.current
  if (current?.id === id) {
    self.port.post({ _tag: "Interrupting", id })
    // Still loading its module: it is dropped once loaded.
    if (current.fiber === undefined) self.interrupted.add(id)
    else current.fiber.interruptUnsafe()
    return
  }
  const at = self.waiting.findIndex((work) => work.id === id)
  if (at >= 0) {
    self.waiting.splice(at, 1)
    self.port.post({ _tag: "Done", id, exit: { _tag: "Interrupted" } })
  }
}

const onMessage = (self: WorkerState, message: ToWorker) => {
  switch (message._tag) {
    case "Run":
    case "RunChunk":
      if (self.current === undefined) start(self, message)
      else self.waiting.push(message)
      return
    case "Interrupt":
      return interrupt(self, message.id)
  }
}

/** Runs the initializer, if any, then tells the pool the worker is ready (or why it is not). */
const boot = (self: WorkerState, init: WorkerInit) => {
  const ready = () => self.port.post({ _tag: "Ready", thread: Priority.currentThread() })
  const initializer = init.initializer
  if (initializer === undefined) return ready()
  const initialize = async () => {
    const resolved = await resolve(self, initializer.module, initializer.task)
    if (!Task.isTask(resolved)) return describeWireFailure(resolved)
    // With the tasks' services: its log lines go to the caller's Logger too, not to this worker's stdout.
    const exit = await Effect.runPromiseWith(self.context)(runEncoded(resolved, initializer.payload))
    return exit._tag === "Success" ? undefined : describeWireFailure(exit)
  }
  initialize().then(
    (failure) => (failure === undefined ? ready() : self.port.post({ _tag: "InitFailed", message: failure })),
    (cause) => self.port.post({ _tag: "InitFailed", message: String(cause) })
  )
}

export const runWorker = (port: Port, init: WorkerInit): void => {
  const owners = new AsyncLocalStorage<Owner>()
  const self: WorkerState = {
    port,
    owners,
    modules: new Map(),
    loading: new Map(),
    interrupted: new Set(),
    tripped: new Map(),
    waiting: [],
    cells: init.claims === undefined ? undefined : new Int32Array(init.claims),
    context: workerContext(port, owners),
    current: undefined
  }
  watchUnhandled(self)
  // Tasks of a module that tripped the guard fail with its message once the import is over (`resolve`); if the
  // program that tripped it ends this worker first (its `runMain` exits on failure), the pool fails them with it.
  Bootstrap.onTrip((importing) => {
    for (const module of importing) {
      const message = Bootstrap.tripMessage(module)
      self.tripped.set(module, message)
      port.post({ _tag: "ImportRefused", module, message })
    }
  })
  port.onMessage((message) => onMessage(self, message))
  // Import the task modules the pool expects while booting; failures surface as TaskLoadError when used.
  for (const module of init.preload ?? []) void resolve(self, module, "")
  boot(self, init)
}
