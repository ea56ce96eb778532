/**
 * How `Cluster.layer` and `Cluster.layerRunner` are built: their option keys and parsing, the executor core over the
 * cluster client backend (`client.ts`, through the backend SPI of `executor/backend.ts`), and a runner's entities
 * over a local `layerWorkerThreads` pool. `Cluster.ts` keeps the public types, docs and one-line exports.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ClusterStorageError, InvalidOptions, BootstrapError } from "../../ExecutorError.ts"
import type { Options, RunnerOptions } from "../../Cluster.ts"
import * as Executor from "../../Executor.ts"
import * as Core from "../executor/core.ts"
import * as Parse from "../executor/options.ts"
import { coreOptions, makeService, parseCommon } from "../executor/service.ts"
import * as Allowlist from "./allowlist.ts"
import * as ClusterClient from "./client.ts"
import * as ClusterLayers from "./layers.ts"
import { remoteTask } from "./remoteTask.ts"
import * as ClusterRunner from "./runner.ts"
import * as ClusterStorage from "./storage.ts"

const clientKeys: ReadonlyArray<keyof Options> = [
  "maxQueue",
  "onFull",
  "shutdownTimeout",
  "name",
  "storage",
  "secret",
  "tls",
  "durability",
  "entityIds",
  "maxInFlight",
  "submitDeadline",
  "shardsPerGroup",
  "timings"
]

const runnerKeys: ReadonlyArray<keyof RunnerOptions> = [
  "modules",
  "storage",
  "secret",
  "insecure",
  "replayWindow",
  "tls",
  "host",
  "port",
  "listenHost",
  "entityConcurrency",
  "workers",
  "shardsPerGroup",
  "timings"
]

/** Rejects an unknown key (a misspelt `secret` must not pass in silence) without showing any value. */
const knownKeys = (options: object, valid: ReadonlyArray<string>, layer: string) =>
  Parse.knownKeys(
    Object.fromEntries(Object.entries(options).map(([key, value]) => [key, value === undefined ? undefined : "…"])),
    valid,
    layer
  )

/** The options of `Cluster.layer`, checked (throws `InvalidOptions`; run it inside `Parse.parse`). */
export const parseClientOptions = (options: Options) => {
  Parse.object(options)
  if ((options as Executor.CommonOptions).initializer !== undefined) {
    throw Parse.invalid("initializer", "no initializer (give it to the runners' `workers`)", "an initializer")
  }
  knownKeys(options, clientKeys, "Cluster.layer")
  const storage = ClusterStorage.parseStorage(options.storage)
  return {
    ...parseCommon(options, "cluster"),
    client: ClusterLayers.parseClient(options, storage),
    tls: ClusterLayers.parseTls(options.tls, "client"),
    storage,
    sharding: {
      shardsPerGroup: Parse.positiveInt("shardsPerGroup", options.shardsPerGroup, 300),
      timings: ClusterLayers.parseTimings(options.timings)
    }
  }
}

/** The options of `Cluster.layerRunner`, checked (throws `InvalidOptions`; run it inside `Parse.parse`). */
export const parseRunnerOptions = (options: RunnerOptions) => {
  Parse.object(options)
  knownKeys(options, runnerKeys, "Cluster.layerRunner")
  const host = options.host ?? "localhost"
  if (typeof host !== "string" || host.length === 0) throw Parse.invalid("host", "a host name", host)
  if (options.listenHost !== undefined && (typeof options.listenHost !== "string" || options.listenHost === "")) {
    throw Parse.invalid("listenHost", "a host name", options.listenHost)
  }
  const port = Parse.nonNegativeInt("port", options.port, 34431)
  if (port < 1 || port > 65535) throw Parse.invalid("port", "a port number (1–65535)", port)
  const entityConcurrency =
    options.entityConcurrency === undefined || options.entityConcurrency === "unbounded"
      ? ("unbounded" as const)
      : Parse.positiveInt("entityConcurrency", options.entityConcurrency, 1)
  const modules = Allowlist.parse(options.modules, remoteTask.module)
  const key = ClusterLayers.parseSecret(options.secret)
  const insecure = ClusterLayers.parseInsecure(options.insecure)
  const listensOn = options.listenHost ?? host
  if (key === undefined && !insecure && !ClusterLayers.isLoopback(listensOn)) {
    throw Parse.invalid(
      "secret",
      `a secret for a runner that listens beyond loopback (on ${listensOn}), or \`insecure: true\` to run without one on purpose`,
      undefined
    )
  }
  const replayWindow = Parse.duration("replayWindow", options.replayWindow, 3_600_000)!
  if (replayWindow <= 0) throw Parse.invalid("replayWindow", "a positive duration", options.replayWindow)
  return {
    storage: ClusterStorage.parseStorage(options.storage),
    tls: ClusterLayers.parseTls(options.tls, "runner"),
    modules,
    key,
    replayWindow,
    address: { host, port, listenHost: options.listenHost },
    entityConcurrency,
    sharding: {
      shardsPerGroup: Parse.positiveInt("shardsPerGroup", options.shardsPerGroup, 300),
      timings: ClusterLayers.parseTimings(options.timings)
    }
  }
}

/** `Cluster.layer`: the `Executor` service over a core whose backend sends each job to the cluster. */
export const client = (options: Options): Layer.Layer<Executor.Executor, InvalidOptions | ClusterStorageError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const parsed = yield* Parse.parse(() => parseClientOptions(options))
      const refusals: ClusterLayers.Refusals = { last: undefined }
      return Layer.effect(
        Executor.Executor,
        Effect.gen(function* () {
          const services = yield* ClusterLayers.clusterServices(refusals)
          const core = yield* Core.make(coreOptions(parsed), ClusterClient.make(parsed.client, services))
          return makeService("cluster", parsed.name, parsed.client.maxInFlight, core)
        })
      ).pipe(
        Layer.provide(
          ClusterLayers.clientSharding(
            parsed.sharding,
            parsed.storage,
            { key: parsed.client.key, tls: parsed.tls },
            refusals
          )
        )
      )
    })
  )

/** `Cluster.layerRunner`: the task entities, handled on a local worker-thread pool, in the runner's sharding. */
export const runner = (
  options: RunnerOptions
): Layer.Layer<never, InvalidOptions | ClusterStorageError | BootstrapError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const parsed = yield* Parse.parse(() => parseRunnerOptions(options))
      const local = Executor.layerWorkerThreads({ name: "cluster-runner", ...options.workers })
      return Layer.unwrap(
        Effect.map(Executor.Executor, (executor) =>
          ClusterRunner.layerEntities(executor, {
            entityConcurrency: parsed.entityConcurrency,
            allowlist: parsed.modules,
            key: parsed.key,
            replayWindow: parsed.replayWindow,
            storage: parsed.storage.display
          })
        )
      ).pipe(
        Layer.provide(local),
        Layer.provide(
          ClusterLayers.runnerSharding(parsed.sharding, parsed.storage, parsed.address, {
            key: parsed.key,
            tls: parsed.tls
          })
        )
      )
    })
  )
