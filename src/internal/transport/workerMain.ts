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
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Task from "../../Task.ts"
import * as Bootstrap from "./bootstrap.ts"
import * as ModuleCache from "./moduleCache.ts"
import * as Priority from "./priority.ts"
import * as TaskModules from "./taskModules.ts"
import { claim, STARTED } from "../pool/claims.ts"
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

/** The task an async context belongs to, and whether it has settled. */
interface Owner {
  readonly task: string
  settled: boolean
}

const renderReason = (reason: unknown): string =>
  reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : String(reason)

export const runWorker = (port: Port, init: WorkerInit): void => {
  const owners = new AsyncLocalStorage<Owner>()
  process.on("unhandledRejection", (reason) => {
    const owner = owners.getStore()
    if (owner !== undefined && owner.settled) {
      return port.post({ _tag: "Unhandled", task: owner.task, reason: renderReason(reason) })
    }
    // Its task still runs (or it is nobody's we know): what Node does by default, unless the task code listens too.
    if (process.listenerCount("unhandledRejection") > 1) return
    throw reason instanceof Error ? reason : new Error(`A promise was rejected and not handled: ${String(reason)}`)
  })
  const modules = new Map<string, Loaded>()
  const loading = new Map<string, Promise<Loaded>>()
  /** Interrupts that arrived while the task's module was still loading. */
  const interrupted = new Set<number>()
  /** Modules that started an executor while being imported (the bootstrapping guard), with the load error. */
  const tripped = new Map<string, string>()

  const resolve = (module: string, name: string): Task.Any | WireExit | Promise<Task.Any | WireExit> => {
    const pick = (loaded: Loaded): Task.Any | WireExit => {
      const found = TaskModules.findTask(loaded, name)
      return typeof found === "string" ? loadError(module, name, found) : found
    }
    const loaded = modules.get(module)
    if (loaded !== undefined) return pick(loaded)
    let promise = loading.get(module)
    if (promise === undefined) {
      promise = TaskModules.importTaskModule(module).then((imported) => {
        const trip = tripped.get(module)
        const result = trip === undefined ? imported : { loadError: trip }
        modules.set(module, result)
        loading.delete(module)
        // The worker's boot imports are done once its first task modules are in.
        if (loading.size === 0) ModuleCache.flush()
        return result
      })
      loading.set(module, promise)
    }
    return promise.then(pick)
  }

  type Work = Extract<ToWorker, { readonly _tag: "Run" | "RunChunk" }>
  /** Tasks run one at a time, in the order they arrived: the parent knows the first unfinished one is running. */
  const waiting: Array<Work> = []
  let current: { readonly id: number; fiber: Fiber.Fiber<unknown> | undefined } | undefined

  const next = () => {
    current = undefined
    const work = waiting.shift()
    if (work !== undefined) start(work)
  }

  const cells = init.claims === undefined ? undefined : new Int32Array(init.claims)

  // Tasks of a module that tripped the guard fail with its message once the import is over (`resolve`); if the
  // program that tripped it ends this worker first (its `runMain` exits on failure), the pool fails them with it.
  Bootstrap.onTrip((importing) => {
    for (const module of importing) {
      const message = Bootstrap.tripMessage(module)
      tripped.set(module, message)
      port.post({ _tag: "ImportRefused", module, message })
    }
  })

  const start = (work: Work) => {
    const { id } = work
    if (work.claim !== undefined && cells !== undefined && claim(cells, work.claim) !== STARTED) {
      // The pool took it back before it started: it never runs here.
      port.post({ _tag: "Skipped", id })
      return next()
    }
    const slot: { readonly id: number; fiber: Fiber.Fiber<unknown> | undefined } = { id, fiber: undefined }
    current = slot
    const run = (resolved: Task.Any | WireExit) => {
      if (interrupted.delete(id)) {
        port.post({ _tag: "Done", id, exit: { _tag: "Interrupted" } })
        return next()
      }
      if (!Task.isTask(resolved)) {
        port.post(
          work._tag === "Run"
            ? { _tag: "Done", id, exit: resolved }
            : { _tag: "ChunkDone", id, result: { values: [], failure: resolved } }
        )
        return next()
      }
      const effect: Effect.Effect<WireExit | ChunkResult> =
        work._tag === "Run" ? runEncoded(resolved, work.payload) : runChunkEncoded(resolved, work.payloads)
      const owner: Owner = { task: resolved.name, settled: false }
      const fiber = owners.run(owner, () => Effect.runFork(effect))
      slot.fiber = fiber
      fiber.addObserver((exit) => {
        owner.settled = true
        post(id, resolved.name, exit)
        next()
      })
    }
    const resolved = resolve(work.module, work.task)
    if (resolved instanceof Promise) resolved.then(run)
    else run(resolved)
  }

  const post = (id: number, task: string, exit: Exit.Exit<unknown>) => {
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

  const interrupt = (id: number) => {
    if (current?.id === id) {
      port.post({ _tag: "Interrupting", id })
      // Still loading its module: it is dropped once loaded.
      if (current.fiber === undefined) interrupted.add(id)
      else current.fiber.interruptUnsafe()
      return
    }
    const at = waiting.findIndex((work) => work.id === id)
    if (at >= 0) {
      waiting.splice(at, 1)
      port.post({ _tag: "Done", id, exit: { _tag: "Interrupted" } })
    }
  }

  port.onMessage((message) => {
    switch (message._tag) {
      case "Run":
      case "RunChunk":
        if (current === undefined) start(message)
        else waiting.push(message)
        return
      case "Interrupt":
        return interrupt(message.id)
    }
  })

  // Import the task modules the pool expects while booting; failures surface as TaskLoadError when used.
  for (const module of init.preload ?? []) void resolve(module, "")
  const ready = () => port.post({ _tag: "Ready", thread: Priority.currentThread() })
  const initializer = init.initializer
  if (initializer === undefined) return ready()
  const initialize = async () => {
    const resolved = await resolve(initializer.module, initializer.task)
    if (!Task.isTask(resolved)) return describeWireFailure(resolved)
    const exit = await Effect.runPromise(runEncoded(resolved, initializer.payload))
    return exit._tag === "Success" ? undefined : describeWireFailure(exit)
  }
  initialize().then(
    (failure) => (failure === undefined ? ready() : port.post({ _tag: "InitFailed", message: failure })),
    (cause) => port.post({ _tag: "InitFailed", message: String(cause) })
  )
}
