/**
 * Wiring Effect Cluster for `Cluster.layer` (a client) and `Cluster.layerRunner` (a runner): shared SQL storage,
 * sharding over `@effect/platform-node`'s cluster sockets, and the option parsing both share.
 *
 * The layers are put together here rather than with `NodeClusterSocket.layer`, which reads `ShardingConfig` from
 * the environment: an unrelated `PORT` or `HOST` variable would then change where a runner listens. Every setting
 * comes from the options, with defaults tuned for failover in seconds rather than Effect's ~30 (its defaults suit
 * runners whose event loop may stall; ours never run tasks on their event loop).
 *
 * @internal
 */
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import * as Sharding from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import { isIP } from "node:net"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as RpcClient from "effect/rpc/RpcClient"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as SqlClient from "effect/sql/SqlClient"
import type { ClusterStorageError } from "../../ExecutorError.ts"
import * as Options from "../executor/options.ts"
import * as Auth from "./auth.ts"
import type { ClientOptions, ClusterServices } from "./client.ts"
import * as Handshake from "./handshake.ts"
import * as Storage from "./storage.ts"

export interface Timings {
  readonly lockExpiration: number
  readonly lockRefreshInterval: number
  readonly healthCheckInterval: number
  readonly refreshAssignmentsInterval: number
  readonly messagePollInterval: number
  readonly replyPollInterval: number
}

const timingDefaults: Timings = {
  lockExpiration: 6_000,
  lockRefreshInterval: 2_000,
  healthCheckInterval: 2_000,
  refreshAssignmentsInterval: 1_000,
  messagePollInterval: 1_000,
  replyPollInterval: 100
}

export const parseTimings = (value: unknown): Timings => {
  if (value === undefined) return timingDefaults
  if (typeof value !== "object" || value === null) throw Options.invalid("timings", "an object of durations", value)
  const timings = value as Partial<Record<keyof Timings, unknown>>
  const result = {} as Record<keyof Timings, number>
  for (const key of Object.keys(timingDefaults) as Array<keyof Timings>) {
    const millis = Options.duration(`timings.${key}`, timings[key], timingDefaults[key])!
    if (millis <= 0) throw Options.invalid(`timings.${key}`, "a positive duration", timings[key])
    result[key] = millis
  }
  for (const key of Object.keys(timings)) {
    if (!(key in timingDefaults))
      throw Options.invalid("timings", `only ${Object.keys(timingDefaults).join(", ")}`, key)
  }
  if (result.lockRefreshInterval >= result.lockExpiration) {
    throw Options.invalid(
      "timings.lockRefreshInterval",
      "shorter than `timings.lockExpiration`",
      timings.lockRefreshInterval
    )
  }
  return result
}

export interface ShardingSettings {
  readonly shardsPerGroup: number
  readonly timings: Timings
}

const shardingConfig = (
  settings: ShardingSettings,
  address: { readonly host: string; readonly port: number; readonly listenHost: string | undefined } | undefined
): Partial<ShardingConfig.ShardingConfig["Service"]> => ({
  runnerAddress: address === undefined ? Option.none() : Option.some(RunnerAddress.make(address.host, address.port)),
  runnerListenAddress:
    address?.listenHost === undefined
      ? Option.none()
      : Option.some(RunnerAddress.make(address.listenHost, address.port)),
  shardsPerGroup: settings.shardsPerGroup,
  shardLockExpiration: settings.timings.lockExpiration,
  shardLockRefreshInterval: settings.timings.lockRefreshInterval,
  runnerHealthCheckInterval: settings.timings.healthCheckInterval,
  refreshAssignmentsInterval: settings.timings.refreshAssignmentsInterval,
  entityMessagePollInterval: settings.timings.messagePollInterval,
  entityReplyPollInterval: settings.timings.replyPollInterval,
  // The entity mailboxes only route to the local executor, which has its own queue.
  entityMailboxCapacity: "unbounded"
})

/** The most recent handshake a client's connections failed (a runner refused its secret), for its backend. */
export interface Refusals {
  last: { readonly at: number; readonly error: Handshake.HandshakeError } | undefined
}

/** TLS for the cluster's sockets, as parsed from the `tls` option. */
export interface TlsSettings {
  /** PEM CA certificates that sign the runners' certificates. */
  readonly ca: ReadonlyArray<string>
  /** PEM certificate chain and key of this process: a runner's server certificate (and its client certificate). */
  readonly cert: string | undefined
  readonly key: Redacted.Redacted<string> | undefined
  /** The name checked in runners' certificates, when it is not the host they are reached at. */
  readonly servername: string | undefined
}

/** How this process's sockets are secured: the handshake's secret, and TLS (or not). */
export interface Transport {
  readonly key: Auth.Key
  readonly tls: TlsSettings | undefined
}

const pem = (option: string, value: unknown): string => {
  const text = Redacted.isRedacted(value) ? Redacted.value(value) : value
  if (typeof text !== "string" || !text.includes("-----BEGIN ")) {
    throw Options.invalid(
      option,
      "PEM text (-----BEGIN …)",
      Redacted.isRedacted(value) ? "a Redacted value" : typeof text
    )
  }
  return text
}

/** The `tls` option; a runner needs its certificate and key. Key material never appears in an error. */
export const parseTls = (value: unknown, role: "client" | "runner"): TlsSettings | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "object" || value === null)
    throw Options.invalid("tls", "an object { ca, cert, key }", typeof value)
  const tls = value as Record<string, unknown>
  for (const name of Object.keys(tls)) {
    if (!["ca", "cert", "key", "servername"].includes(name) && tls[name] !== undefined) {
      throw Options.invalid("tls", "only ca, cert, key, servername", name)
    }
  }
  const ca = Array.isArray(tls.ca) ? tls.ca : [tls.ca]
  if (tls.ca === undefined || ca.length === 0)
    throw Options.invalid("tls.ca", "the PEM CA certificates that sign the runners' certificates", undefined)
  const cert = tls.cert === undefined ? undefined : pem("tls.cert", tls.cert)
  const key = tls.key === undefined ? undefined : Redacted.make(pem("tls.key", tls.key))
  if (role === "runner" && (cert === undefined || key === undefined)) {
    throw Options.invalid("tls", "a runner's certificate and key (`cert` and `key`) with `ca`", "no certificate or key")
  }
  if ((cert === undefined) !== (key === undefined))
    throw Options.invalid("tls", "both `cert` and `key`, or neither", "one of them")
  if (tls.servername !== undefined && (typeof tls.servername !== "string" || tls.servername === "")) {
    throw Options.invalid("tls.servername", "a host name", tls.servername)
  }
  return {
    ca: ca.map((item, index) => pem(`tls.ca[${index}]`, item)),
    cert,
    key,
    servername: tls.servername as string | undefined
  }
}

/**
 * Effect Cluster's client protocol over TCP (as `NodeClusterSocket.layerClientProtocol`), with each connection
 * authenticated by the handshake before Effect's protocol uses it.
 */
const layerClientProtocol = (
  { key, tls }: Transport,
  refusals: Refusals
): Layer.Layer<Runners.RpcClientProtocol, never, RpcSerialization.RpcSerialization> =>
  Layer.effect(
    Runners.RpcClientProtocol,
    Effect.gen(function* () {
      const serialization = yield* RpcSerialization.RpcSerialization
      const onRefused = (error: Handshake.HandshakeError) =>
        error.refused
          ? Effect.andThen(
              Effect.sync(() => {
                refusals.last = { at: Date.now(), error }
              }),
              Effect.logWarning(`effect-futures refused a cluster connection: ${error.reason}`).pipe(
                Effect.annotateLogs({ peer: error.peer })
              )
            )
          : Effect.logDebug(`effect-futures cluster connection failed: ${error.reason}`).pipe(
              Effect.annotateLogs({ peer: error.peer })
            )
      return {
        codecFor: serialization.codecFor,
        make: Effect.fnUntraced(function* (address: RunnerAddress.RunnerAddress) {
          const connect = { openTimeout: 1000, timeout: 5500, host: address.host, port: address.port }
          const socket = yield* tls === undefined
            ? NodeSocket.makeNet(connect)
            : NodeSocket.makeTls({
                ...connect,
                ca: [...tls.ca],
                ...(tls.cert !== undefined && tls.key !== undefined
                  ? { cert: tls.cert, key: Redacted.value(tls.key) }
                  : {}),
                ...(tls.servername !== undefined
                  ? { servername: tls.servername }
                  : isIP(address.host) === 0
                    ? { servername: address.host }
                    : {})
              })
          const peer = `runner ${address.host}:${address.port}`
          return yield* RpcClient.makeProtocolSocket().pipe(
            Effect.provideService(Socket.Socket, Handshake.client(socket, key, peer, onRefused)),
            Effect.provideService(RpcSerialization.RpcSerialization, serialization)
          )
        }, Effect.orDie)
      }
    })
  )

/**
 * The runner's TCP (or TLS) server (as `NodeClusterSocket.layerSocketServer`), accepting only authenticated
 * connections.
 */
const layerSocketServer = ({
  key,
  tls
}: Transport): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, ShardingConfig.ShardingConfig> =>
  Layer.effect(
    SocketServer.SocketServer,
    Effect.gen(function* () {
      const config = yield* ShardingConfig.ShardingConfig
      const listen = Option.getOrThrow(Option.orElse(config.runnerListenAddress, () => config.runnerAddress))
      const inner =
        tls === undefined
          ? yield* NodeSocketServer.make({ host: listen.host, port: listen.port })
          : yield* NodeSocketServer.makeTls({
              host: listen.host,
              port: listen.port,
              ca: [...tls.ca],
              cert: tls.cert!,
              key: Redacted.value(tls.key!)
            })
      const peerOf = Effect.map(Effect.serviceOption(NodeSocket.NetSocket), (socket) =>
        Option.isSome(socket) ? `${socket.value.remoteAddress}:${socket.value.remotePort}` : "an unknown peer"
      )
      return Handshake.server(inner, key, peerOf, (error) =>
        Effect.logWarning(`effect-futures runner refused a connection: ${error.reason}`).pipe(
          Effect.annotateLogs({ peer: error.peer })
        )
      )
    })
  )

type ShardingOut = Sharding.Sharding | Runners.Runners | RunnerStorage.RunnerStorage | SqlClient.SqlClient

/**
 * Sharding over the storage: the storage is checked first (its failures are typed), then Effect Cluster's message
 * and runner storage run on it (their migrations have run already).
 */
const withStorage = (
  socket: Layer.Layer<Sharding.Sharding | Runners.Runners, unknown, any>,
  config: Partial<ShardingConfig.ShardingConfig["Service"]>,
  storage: Storage.Storage
): Layer.Layer<ShardingOut, ClusterStorageError> =>
  Layer.orDie(
    socket.pipe(
      Layer.provideMerge(
        SqlMessageStorage.layerStorage({ prefix: Storage.storagePrefix }).pipe(Layer.provide(NodeCrypto.layerDigest))
      ),
      Layer.provideMerge(SqlRunnerStorage.layerStorage({ prefix: Storage.storagePrefix })),
      Layer.provide(ShardingConfig.layer(config)),
      Layer.provide(RpcSerialization.layerSchemaBinary())
    ) as Layer.Layer<Exclude<ShardingOut, SqlClient.SqlClient>, unknown, SqlClient.SqlClient>
  ).pipe(Layer.provideMerge(Storage.layer(storage)))

/** Sharding for a client: it sends to runners and hosts no shards. */
export const clientSharding = (
  settings: ShardingSettings,
  storage: Storage.Storage,
  transport: Transport,
  refusals: Refusals
): Layer.Layer<ShardingOut, ClusterStorageError> =>
  withStorage(
    Layer.provide(SocketRunner.layerClientOnly, layerClientProtocol(transport, refusals)),
    shardingConfig(settings, undefined),
    storage
  )

/** Sharding for a runner: it listens on its address, takes shards and checks the other runners' health. */
export const runnerSharding = (
  settings: ShardingSettings,
  storage: Storage.Storage,
  address: { readonly host: string; readonly port: number; readonly listenHost: string | undefined },
  transport: Transport
): Layer.Layer<ShardingOut, ClusterStorageError> => {
  const refusals: Refusals = { last: undefined }
  return withStorage(
    Layer.provide(SocketRunner.layer, [layerSocketServer(transport), layerClientProtocol(transport, refusals)]).pipe(
      Layer.provide(
        RunnerHealth.layerPing.pipe(
          Layer.provide(Runners.layerRpc),
          Layer.provide(layerClientProtocol(transport, refusals))
        )
      )
    ),
    shardingConfig(settings, address),
    storage
  )
}

/** The services the client backend uses, from the client's sharding layer. */
export const clusterServices = (refusals: Refusals): Effect.Effect<ClusterServices, never, ShardingOut> =>
  Effect.gen(function* () {
    return {
      refusals,
      sharding: yield* Sharding.Sharding,
      runners: yield* Runners.Runners,
      runnerStorage: yield* RunnerStorage.RunnerStorage,
      sql: yield* SqlClient.SqlClient,
      storagePrefix: Storage.storagePrefix
    }
  })

export const parseClient = (
  options: {
    readonly durability?: unknown
    readonly entityIds?: unknown
    readonly maxInFlight?: unknown
    readonly submitDeadline?: unknown
    readonly secret?: unknown
  },
  storage: Storage.Storage
): ClientOptions => {
  const submitDeadline = Options.duration("submitDeadline", options.submitDeadline, 30_000, true)!
  return {
    durability: Options.oneOf("durability", options.durability, ["persisted", "volatile"] as const, "persisted"),
    entityIds: Options.positiveInt("entityIds", options.entityIds, 256),
    maxInFlight: Options.positiveInt("maxInFlight", options.maxInFlight, 256),
    submitDeadline,
    probeInterval: Math.max(50, Math.min(1_000, submitDeadline / 4)),
    key: parseSecret(options.secret),
    storage: storage.display,
    scrub: storage.scrub
  }
}

/** The `secret` option: a string or a `Redacted` string of at least 16 bytes. Its value never appears in an error. */
export const parseSecret = (value: unknown): Auth.Key => {
  if (value === undefined) return undefined
  const expected = `a string or a Redacted string of at least ${Auth.minSecretBytes} bytes`
  if (typeof value !== "string" && !Redacted.isRedacted(value)) throw Options.invalid("secret", expected, typeof value)
  const key = Auth.keyOf(value as string | Redacted.Redacted<string>)
  if (typeof key === "string") throw Options.invalid("secret", expected, "a secret that is not (value not shown)")
  return key
}

export const parseInsecure = (value: unknown): boolean => {
  if (value === undefined) return false
  if (typeof value !== "boolean") throw Options.invalid("insecure", "a boolean", value)
  return value
}

/** Whether a host to listen on reaches only this machine. */
export const isLoopback = (host: string): boolean => {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase()
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare) || bare === "::ffff:127.0.0.1"
}
