/**
 * What every executor layer shares once its backend is chosen: parsing the common options, the core's options, and
 * the `Executor` service over a core. `Executor.ts` (the local layers) and `Cluster.ts` both build on it, so the
 * cluster reaches the core without `Executor.ts` importing anything of the cluster.
 *
 * @internal
 */
import type { CommonOptions, Executor } from "../../Executor.ts"
import type * as Core from "./core.ts"
import * as Options from "./options.ts"

/** Every key of `CommonOptions`: exhaustive by type, so a new option cannot be forgotten by any layer. */
export const commonKeys: Record<keyof CommonOptions, true> = {
  maxQueue: true,
  onFull: true,
  shutdownTimeout: true,
  initializer: true,
  name: true
}

export const parseCommon = (options: CommonOptions, kind: string) => ({
  maxQueue: Options.limit("maxQueue", options.maxQueue, Infinity),
  onFull: Options.oneOf("onFull", options.onFull, ["suspend", "fail"] as const, "suspend"),
  shutdownTimeout: Options.duration("shutdownTimeout", options.shutdownTimeout, 30_000, true),
  initializer: Options.initializer(options.initializer),
  name: Options.name(options.name, kind)
})

export type CommonParsed = ReturnType<typeof parseCommon>

/** The `Executor` service over a core (`Executor.of` is the identity, so this needs only the service's type). */
export const makeService = (
  kind: Executor["Service"]["kind"],
  name: string,
  concurrency: number,
  core: Core.Core
): Executor["Service"] => ({
  name,
  kind,
  concurrency,
  submit: core.submit as Executor["Service"]["submit"],
  submitBatch: core.submitChunk as unknown as Executor["Service"]["submitBatch"],
  shutdown: core.shutdown,
  stats: core.stats
})

export const coreOptions = (common: CommonParsed): Core.CoreOptions => ({
  name: common.name,
  maxQueue: common.maxQueue,
  onFull: common.onFull,
  shutdownTimeout: common.shutdownTimeout === Infinity ? undefined : common.shutdownTimeout
})
