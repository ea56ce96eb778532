/**
 * How each local executor layer is built: its option keys, the parsing of its options, the bootstrapping guard, and
 * the core over its backend (fibers, or a worker pool over a thread or process transport). `Executor.ts` keeps the
 * public service, types and docs, and wraps each of these in a one-line `Layer.effect`.
 *
 * The option types are imported from `Executor.ts` as types only, so there is no import cycle at run time.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { BootstrapError, type InvalidOptions } from "../../ExecutorError.ts"
import type { Executor, FiberOptions, ProcessOptions, WorkerOptions } from "../../Executor.ts"
import * as WorkerPool from "../pool/workerPool.ts"
import * as Bootstrap from "../transport/bootstrap.ts"
import * as ProcessTransport from "../transport/processTransport.ts"
import * as ThreadTransport from "../transport/threadTransport.ts"
import type * as Transport from "../transport/transport.ts"
import * as Core from "./core.ts"
import * as FiberBackend from "./fiberBackend.ts"
import * as Options from "./options.ts"
import { commonKeys, coreOptions, makeService, parseCommon } from "./service.ts"

/** Every key each layer takes: exhaustive by type, so a new option cannot be forgotten here. */
export const fiberKeys = Object.keys({ ...commonKeys, concurrency: true } satisfies Record<keyof FiberOptions, true>)

const workerKeyRecord: Record<keyof WorkerOptions, true> = {
  ...commonKeys,
  maxWorkers: true,
  minWorkers: true,
  idleTimeout: true,
  maxTasksPerWorker: true,
  resourceLimits: true,
  interrupt: true,
  interruptGracePeriod: true,
  spareWorkers: true
}

export const workerKeys = Object.keys(workerKeyRecord)

export const processKeys = Object.keys({
  ...workerKeyRecord,
  execArgv: true,
  env: true,
  cwd: true
} satisfies Record<keyof ProcessOptions, true>)

/** The options of `layerFibers`, checked (throws `InvalidOptions`; run it inside `Options.parse`). */
export const parseFiberOptions = (options: FiberOptions) => {
  Options.knownKeys(Options.object(options), fiberKeys, "layerFibers")
  return {
    ...parseCommon(options, "fibers"),
    concurrency: Options.positiveInt("concurrency", options.concurrency, Options.defaultMaxWorkers())
  }
}

/** The options of a worker-backed layer, checked (throws `InvalidOptions`; run it inside `Options.parse`). */
export const parseWorkerOptions = (options: WorkerOptions, kind: string) => {
  Options.object(options)
  const maxWorkers = Options.positiveInt("maxWorkers", options.maxWorkers, Options.defaultMaxWorkers())
  const minWorkers = Options.nonNegativeInt("minWorkers", options.minWorkers, 0)
  if (minWorkers > maxWorkers) {
    throw Options.invalid("minWorkers", `at most \`maxWorkers\` (${maxWorkers})`, minWorkers)
  }
  return {
    ...parseCommon(options, kind),
    pool: {
      maxWorkers,
      minWorkers,
      idleTimeout: Options.duration("idleTimeout", options.idleTimeout, 30_000, true)!,
      maxTasksPerWorker: Options.limit("maxTasksPerWorker", options.maxTasksPerWorker, Infinity, 1),
      interrupt: Options.oneOf("interrupt", options.interrupt, ["cooperative", "terminate"] as const, "cooperative"),
      interruptGracePeriod: Options.duration("interruptGracePeriod", options.interruptGracePeriod, 1_000)!,
      spareWorkers: Options.intUpTo("spareWorkers", options.spareWorkers, 0, maxWorkers, "maxWorkers"),
      initializer: Options.initializer(options.initializer)
    } satisfies WorkerPool.PoolOptions,
    resourceLimits: Options.resourceLimits(options.resourceLimits)
  }
}

export type WorkerParsed = ReturnType<typeof parseWorkerOptions>

/** The bootstrapping guard (see `BootstrapError`): checked before anything else, so no worker is spawned. */
export const refuseWhileImporting = (layer: string): Effect.Effect<void, BootstrapError> =>
  Effect.suspend(() => {
    const refused = Bootstrap.refuseWhileImporting(layer)
    return refused === undefined ? Effect.void : Effect.fail(new BootstrapError(refused))
  })

/** The service of `layerFibers`: a core over fibers in this process, released with the scope. */
export const fibers = (options: FiberOptions): Effect.Effect<Executor["Service"], InvalidOptions, Scope.Scope> =>
  Effect.gen(function* () {
    const parsed = yield* Options.parse(() => parseFiberOptions(options))
    const core = yield* Core.make(coreOptions(parsed), FiberBackend.make(parsed.concurrency, parsed.initializer))
    return makeService("fibers", parsed.name, parsed.concurrency, core)
  })

const layerNames = { workerThreads: "layerWorkerThreads", processes: "layerProcesses" } as const

/** The service of a worker-backed layer: a core over a worker pool on the transport `makeTransport` builds. */
const pool = <O extends WorkerOptions>(
  kind: "workerThreads" | "processes",
  options: O,
  makeTransport: (parsed: WorkerParsed, options: O) => Transport.Transport
): Effect.Effect<Executor["Service"], InvalidOptions | BootstrapError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* refuseWhileImporting(layerNames[kind])
    const parsed = yield* Options.parse(() => {
      Options.knownKeys(Options.object(options), kind === "processes" ? processKeys : workerKeys, layerNames[kind])
      return parseWorkerOptions(options, kind)
    })
    const transport = yield* Options.parse(() => makeTransport(parsed, options))
    const core = yield* Core.make(coreOptions(parsed), WorkerPool.make(transport, parsed.pool))
    return makeService(kind, parsed.name, parsed.pool.maxWorkers, core)
  })

/** The service of `layerWorkerThreads`. */
export const workerThreads = (options: WorkerOptions) =>
  pool("workerThreads", options, (parsed) =>
    ThreadTransport.make({ name: parsed.name, resourceLimits: parsed.resourceLimits })
  )

/** The service of `layerProcesses`. */
export const processes = (options: ProcessOptions) =>
  pool("processes", options, (parsed, options) =>
    // `make` derives the children's flags now, so a limit no flag can give fails the layer, not every start.
    ProcessTransport.make({
      name: parsed.name,
      resourceLimits: parsed.resourceLimits,
      execArgv: Options.stringArray("execArgv", options.execArgv),
      env: Options.environment("env", options.env),
      cwd: Options.directory("cwd", options.cwd)
    })
  )
