/**
 * The executor across machines, on Effect Cluster: `Cluster.layer` provides the same `Executor` service as the local
 * layers (the same tasks, futures, `map`, `asCompleted`, `wait` and `Bridge`), with the work done by runners
 * (`Cluster.layerRunner`, or the `effect-futures-runner` CLI) that share one storage: a SQLite file on one machine,
 * Postgres across several.
 *
 * It is its own entry, `effect-futures/Cluster`, as `@effect/platform-node/NodeClusterSocket` stands apart from the
 * core: importing `effect-futures` never loads Effect Cluster, `node:sqlite` or a SQL client. Postgres storage needs
 * the optional peer `@effect/sql-pg`.
 *
 * Safe by default: a runner runs only the task modules in its `modules`, imports them only in its workers and only
 * once allowed, and refuses to listen beyond loopback without a `secret`; with a `secret`, every request and reply is
 * authenticated (HMAC-SHA256), including the rows in storage. See `docs/security.md` for the threat model.
 *
 * @since 0.2.0
 */
import "./internal/transport/nodeVersion.ts"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { BootstrapError, ClusterStorageError, InvalidOptions } from "./ExecutorError.ts"
import type * as Executor from "./Executor.ts"
import * as Build from "./internal/cluster/build.ts"

/**
 * Timings of the cluster's failure detection, shared by {@link layer} and {@link layerRunner} (give
 * every runner the same values). Each is a duration (a number means milliseconds). The defaults re-run a killed
 * runner's tasks elsewhere in a few seconds; Effect Cluster's own defaults take ~30 s.
 *
 * @since 0.2.0
 * @category models
 */
export interface Timings {
  /** How long a runner's claim on its shards lasts without a refresh: a dead runner's shards move after it. Default `"6 seconds"`. */
  readonly lockExpiration?: Duration.Input | undefined
  /** How often a runner refreshes its shard claims. Default `"2 seconds"`; shorter than `lockExpiration`. */
  readonly lockRefreshInterval?: Duration.Input | undefined
  /** How often runners check that the others answer. Default `"2 seconds"`. */
  readonly healthCheckInterval?: Duration.Input | undefined
  /** How often shard assignments are read from storage. Default `"1 second"`. */
  readonly refreshAssignmentsInterval?: Duration.Input | undefined
  /** How often a runner looks in storage for persisted tasks it has not been told about. Default `"1 second"`. */
  readonly messagePollInterval?: Duration.Input | undefined
  /** How often a client looks in storage for replies it has not been sent. Default `"100 millis"`. */
  readonly replyPollInterval?: Duration.Input | undefined
}

/**
 * TLS for the cluster's sockets ({@link Options}'s and {@link RunnerOptions}'s `tls`): PEM texts. The secret's
 * handshake still runs inside it; TLS adds encryption and the runners' identity.
 *
 * @since 0.2.0
 * @category models
 */
export interface Tls {
  /** The CA certificates that sign the runners' certificates. */
  readonly ca: string | ReadonlyArray<string>
  /** This process's certificate chain: required for a runner, optional for a client. */
  readonly cert?: string | undefined
  /** This process's private key (a `Redacted` keeps it out of logs). */
  readonly key?: string | Redacted.Redacted<string> | undefined
  /** The name checked in runners' certificates, when it differs from the host they are reached at. */
  readonly servername?: string | undefined
}

/**
 * Options of {@link layer}. `maxQueue`, `onFull`, `shutdownTimeout` and `name` mean what they mean for the
 * local layers; there is no `initializer` (give it to the runners' `workers`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends Omit<Executor.CommonOptions, "initializer"> {
  /**
   * Where the cluster keeps its state, shared by every runner and client: a `postgres://` URL (for runners on
   * several machines), or a SQLite file path (one machine only: every process opens the same file; a relative path
   * is resolved against the working directory). Default `~/.effect-futures/cluster.db` (in the user's home
   * directory). Give a URL that holds a password as `Redacted.make(url)`: errors and logs name it with the password
   * replaced by `***` either way. A new SQLite file is created with mode 0600.
   */
  readonly storage?: string | Redacted.Redacted<string> | undefined
  /**
   * The secret shared by the cluster's clients and runners (at least 16 bytes; a string or, better, a `Redacted`):
   * every request is signed with it and every reply must verify with it, so a runner runs nothing a holder of the
   * secret did not send, and this client accepts no reply a runner with the secret did not write. Default: none
   * (only for runners that listen on loopback). Give every client and runner the same one.
   */
  readonly secret?: string | Redacted.Redacted<string> | undefined
  /**
   * TLS to the runners (default: none, traffic in clear): `ca`, the PEM certificates that sign the runners'
   * certificates (which must name the host or IP the runners are reached at, or `servername`); with `cert` and `key`
   * this client also presents a certificate. Give it when the runners have `tls`.
   */
  readonly tls?: Tls | undefined
  /**
   * `"persisted"` (default): each task is stored until a runner has answered it, so a runner's death re-runs its
   * tasks on the others (at least once), at ~2.3 ms a no-op round trip here (bench/CLUSTER.md); its rows are deleted
   * once it has settled (see {@link layer}). `"volatile"`: tasks go straight to a runner's socket (~1.6 ms), and a
   * task whose runner dies is re-sent once its shard has moved.
   */
  readonly durability?: "persisted" | "volatile" | undefined
  /**
   * How many entity ids tasks are dealt over, round robin (default `256`). The ids map to shards, and shards to
   * runners: too few ids (16 did not, here) leave runners idle.
   */
  readonly entityIds?: number | undefined
  /**
   * How many tasks may be out on the cluster at once (default `256`); the rest wait, PENDING, in this process's
   * FIFO queue. A task sent to the cluster counts as RUNNING even while it waits in a runner's local queue.
   */
  readonly maxInFlight?: number | undefined
  /**
   * How long a task may wait for a runner to answer (default `"30 seconds"`): a task submitted while no runner
   * answers for that long fails with `ClusterUnavailable` instead of waiting forever. Running tasks are not
   * limited by it: a task runs as long as it takes while its runner is alive.
   */
  readonly submitDeadline?: Duration.Input | undefined
  /** Shards per group (default `300`): the same on every runner and client. */
  readonly shardsPerGroup?: number | undefined
  /** Failure-detection timings; see {@link Timings}. */
  readonly timings?: Timings | undefined
}

/**
 * An executor that runs tasks across machines on Effect Cluster: the same tasks, futures, `asCompleted`, `wait`,
 * `map` and `Bridge` as the local layers, with the work done by runners ({@link layerRunner}, or
 * `npx effect-futures-runner`) that share its `storage`. Swap it in for `layerWorkerThreads` when one machine is
 * not enough; nothing else changes.
 *
 * **At least once.** A runner that dies takes no task with it: with `durability: "persisted"` (the default) its
 * unanswered tasks run again on the other runners, and the caller sees only latency. So a task may run more than
 * once (and a task whose future failed with `ClusterUnavailable` may still run later, until its rows are pruned):
 * tasks on a cluster must be idempotent — write results under a key derived from the input, check before charging a
 * card, and so on.
 *
 * Runners must be able to import each task's module at the same URL (deploy the same code at the same path), and
 * must list it in their `modules`: a task whose module a runner does not allow fails with `TaskNotAllowed`. With a
 * `secret` (the same on every client and runner), requests and replies are authenticated; a reply that does not
 * verify, or a request a runner refused, fails the future with `Unauthenticated`. A storage that cannot be used fails
 * the layer with `ClusterStorageError`.
 * Submitting while no runner answers fails the future with `ClusterUnavailable` after `submitDeadline`.
 * Interrupting a future interrupts its task on the runner. In `stats`, `workers` is `maxInFlight` and `busy` the
 * tasks out on the cluster.
 *
 * **Storage holds only tasks in flight.** A persisted task's rows (its request and its reply) are deleted once its
 * call has settled: as soon as the client has read the final reply (in batches, at most a round every ~100 ms);
 * for a task that was interrupted, cancelled or failed with `ClusterUnavailable`, once a runner has stored its
 * final reply (for an interrupt, within a second or so of the runner stopping it), or after 60 seconds without
 * one, after which the task no longer runs. Tasks still in flight when the client's layer closes past its
 * shutdown keep their rows, and may still run. (`durability: "volatile"` stores nothing.)
 *
 * @example
 * ```ts
 * import { Effect, Redacted, Schema } from "effect"
 * import { Executor, Task } from "effect-futures"
 * import * as Cluster from "effect-futures/Cluster"
 *
 * export const square = Task.make("square", {
 *   module: import.meta.url,
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => Effect.succeed(n * n)
 * })
 *
 * // Runners, on each machine, with EFFECT_FUTURES_CLUSTER_SECRET and EFFECT_FUTURES_CLUSTER_STORAGE set:
 * //   npx effect-futures-runner --modules file:///srv/app/dist/tasks/ --host 10.0.0.7 --port 34431
 * const cluster = Cluster.layer({
 *   storage: Redacted.make(process.env.EFFECT_FUTURES_CLUSTER_STORAGE ?? ""),
 *   secret: Redacted.make(process.env.EFFECT_FUTURES_CLUSTER_SECRET ?? "")
 * })
 * const program = Effect.gen(function*() {
 *   const futures = yield* Effect.forEach([1, 2, 3], (n) => Executor.submit(square, n))
 *   return yield* Effect.all(futures)
 * }).pipe(Effect.provide(cluster))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Executor.Executor, InvalidOptions | ClusterStorageError> =>
  Build.client(options)

/**
 * Options of {@link layerRunner}.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunnerOptions {
  /**
   * The task modules this runner may run: `file:` URLs of modules (`new URL("./tasks.js", import.meta.url)`,
   * `import.meta.resolve("./tasks.js")`) or of directories, ending in `/`, whose modules it may all run (absolute
   * paths are accepted too). Required: a runner with no `modules` does not start. A task whose module is elsewhere
   * fails its future with `TaskNotAllowed`, and nothing of it is imported; `data:`, `http:`, `https:`, `blob:` and
   * `node:` URLs are refused always. Modules are matched on their resolved path, symbolic links followed, and are
   * imported only in the runner's workers, once allowed.
   */
  readonly modules?: ReadonlyArray<string | URL> | undefined
  /** The cluster's storage, as in {@link Options}: the same for every runner and client. */
  readonly storage?: string | Redacted.Redacted<string> | undefined
  /**
   * The secret shared by the cluster, as in {@link Options}: the runner runs only requests signed with it, refuses
   * replays, and signs its replies. Required when the runner listens beyond loopback (`listenHost`, else `host`,
   * is not `localhost`, `127.x.x.x` or `::1`), unless `insecure` is true.
   */
  readonly secret?: string | Redacted.Redacted<string> | undefined
  /**
   * Lets a runner listen beyond loopback without a `secret` (default `false`): anyone who reaches its port, or can
   * write to the storage, can then run any allowed task with any input. Only for a network you trust entirely.
   */
  readonly insecure?: boolean | undefined
  /**
   * How long a request stays acceptable after its client issued it (default `"1 hour"`; with a `secret` only).
   * Within it a request id runs once (a replay is refused); after it, a request is refused as out of date. Set it
   * above the longest a task may wait for a runner plus run before its runner dies: a persisted task delivered to a
   * survivor later than this fails with `Unauthenticated` instead of running again. The runner remembers each
   * request for this long (~130 bytes each: at 100 tasks a second, ~47 MB for the default hour).
   */
  readonly replayWindow?: Duration.Input | undefined
  /**
   * TLS on the runner's socket (default: none, traffic in clear): its PEM `cert` (naming the host or IP it is reached
   * at) and `key`, and `ca`, the certificates that sign the runners' certificates (to reach the other runners).
   * Give every runner `tls`, and every client `tls: { ca }`.
   */
  readonly tls?: Tls | undefined
  /** The host other runners and clients reach this runner at. Default `"localhost"`. */
  readonly host?: string | undefined
  /** The port it listens on. Default `34431`. */
  readonly port?: number | undefined
  /** The interface to listen on, when it differs from `host` (`"0.0.0.0"` in a container). Default: `host`. */
  readonly listenHost?: string | undefined
  /**
   * How many tasks one entity id runs at once. Default `"unbounded"`: the local executor queues and bounds the
   * work, so an entity never holds a task back. (Effect Cluster's own default, 1, runs one task per id at a time.)
   */
  readonly entityConcurrency?: number | "unbounded" | undefined
  /** The local worker-thread pool that runs the tasks: options of `Executor.layerWorkerThreads`. */
  readonly workers?: Executor.WorkerOptions | undefined
  /** Shards per group (default `300`): the same on every runner and client. */
  readonly shardsPerGroup?: number | undefined
  /** Failure-detection timings, the same on every runner; see {@link Timings}. */
  readonly timings?: Timings | undefined
}

/**
 * A cluster runner: joins the cluster at `storage`, takes its share of the shards and runs the tasks that arrive
 * on a local `Executor.layerWorkerThreads` pool, so its event loop stays free for the cluster's health checks. Launch
 * it with `Layer.launch`, or run `npx effect-futures-runner --modules … --port …`. Closing it (SIGTERM) hands its
 * shards to the other runners.
 *
 * It runs only tasks from its `modules` (required), imported only in its workers; with a `secret`, only requests
 * signed with it, each id once. It refuses to start (`InvalidOptions`) when it would listen beyond loopback without a
 * secret, unless `insecure: true`. See `docs/security.md`.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Layer, Redacted } from "effect"
 * import * as Cluster from "effect-futures/Cluster"
 *
 * Cluster.layerRunner({
 *   modules: ["file:///srv/app/dist/tasks/"],
 *   storage: Redacted.make(process.env.EFFECT_FUTURES_CLUSTER_STORAGE ?? ""),
 *   secret: Redacted.make(process.env.EFFECT_FUTURES_CLUSTER_SECRET ?? ""),
 *   host: "10.0.0.7",
 *   port: 34431,
 *   workers: { maxWorkers: 8 }
 * }).pipe(Layer.launch, NodeRuntime.runMain)
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerRunner = (
  options: RunnerOptions = {}
): Layer.Layer<never, InvalidOptions | ClusterStorageError | BootstrapError> => Build.runner(options)
