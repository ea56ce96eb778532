/**
 * A worker's module cache: what worker boots import from `node_modules` (Effect, mostly) and from this package,
 * resolved and read once, kept in one file next to Node's compile cache, and served to later workers by module hooks.
 * The same hooks reduce the roots of `effect` and of this package to what a task module names (`barrels.ts`).
 *
 * A worker's boot is mostly importing Effect, and with Node's compile cache on, about half of that is Node's loader
 * resolving and reading each module (measured: ~125 ms of CPU for the ~275 modules a README-style task module pulls
 * in, ~70 ms with this cache, ~47 ms with reduced barrels). Here every module keeps its own URL and its own module
 * record, exactly as without the cache: the hooks only answer "where does this specifier resolve?" and "what is this
 * file's source?" from memory. So a worker cannot hold a second copy of Effect because of the cache (a bundle would
 * need a resolution trick and a guarantee that it matches the installed `effect`; measured, it would save another
 * ~10 ms of CPU per boot); and anything the cache does not hold loads as usual.
 *
 * Only code that changes on install is cached: files under a `node_modules` folder and this package's `dist/` and
 * `src/`, never the application's own task modules. The file records each cached file's size and mtime, each
 * package's `package.json` and each `node_modules` folder (which an install touches): if any differs, the whole cache
 * is dropped and recorded again from plain imports, as is a cache for another Node or an unreadable file. A worker
 * records what it loaded that the cache lacked and, once its boot imports are done, writes the cache again
 * (atomically: a new file renamed over the old one), so the cache converges on what workers import. The file holds
 * code that workers run: it is used only if it belongs to this user and no one else can write to it, and it is always
 * written as a new file only its owner can read and write.
 *
 * `EFFECT_FUTURES_MODULE_CACHE`: unset, the file lives in Node's compile cache folder (`module.getCompileCacheDir()`);
 * `off` turns the hooks off (no cache, no reduced barrels); any other value is the folder to keep it in. The hooks
 * are off too when module hooks are installed by flags (`--import`, `--loader`), which a cached file would bypass.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as NodeModule from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { threadId } from "node:worker_threads"
import * as Barrels from "./barrels.ts"

/** Bumped when the file's layout changes. */
const FORMAT = 2

/**
 * The file's index, as JSON: URLs and condition lists are stored once and referred to by position, which keeps it
 * small (parsing it is part of every worker's boot).
 */
export interface Manifest {
  readonly format: number
  readonly node: string
  readonly urls: ReadonlyArray<string>
  readonly conditions: ReadonlyArray<string>
  /** parent URL's index → `specifier \0 conditions' index` → the index of the URL it resolved to. */
  readonly resolutions: Readonly<Record<number, Readonly<Record<string, number>>>>
  /** A cached module: its URL's index, its format (`module`, `module-typescript`), and where its source sits. */
  readonly sources: ReadonlyArray<readonly [url: number, format: string, offset: number, length: number]>
  /** A path and the size and mtime it had when cached (`-1, -1`: it did not exist). */
  readonly guards: ReadonlyArray<readonly [path: string, size: number, mtimeMs: number]>
}

/** What the cache served and recorded in this thread (tests read it from `globalThis`). */
export interface Stats {
  readonly enabled: boolean
  readonly file: string | undefined
  /** Why the cache file was not used: missing, stale, unreadable... */
  readonly dropped: string | undefined
  resolved: number
  loaded: number
  recorded: number
  written: number
  /** Imports of a package's root served a reduced barrel (see `barrels.ts`). */
  reduced: number
}

const statsKey = Symbol.for("effect-futures/moduleCache")

const stats: Stats = ((globalThis as { [statsKey]?: Stats })[statsKey] ??= {
  enabled: false,
  file: undefined,
  dropped: undefined,
  resolved: 0,
  loaded: 0,
  recorded: 0,
  written: 0,
  reduced: 0
})

/** This package's root (this file is in `<root>/src/internal/transport` or `<root>/dist/internal/transport`). */
const ownRoot = new URL("../../../", import.meta.url).href

const cacheable = (url: string): boolean =>
  url.startsWith("file:") &&
  (url.includes("/node_modules/") || url.startsWith(`${ownRoot}dist/`) || url.startsWith(`${ownRoot}src/`))

/** The package roots whose barrel a worker reduces to what the importer names (see `barrels.ts`). */
const isReducible = (url: string): boolean =>
  url.endsWith("/node_modules/effect/dist/index.js") ||
  url === `${ownRoot}dist/index.js` ||
  url === `${ownRoot}src/index.ts`

const barrels = new Map<string, Barrels.Barrel | undefined>()

const readText = (url: string): string | undefined => {
  try {
    return fs.readFileSync(fileURLToPath(url), "utf8")
  } catch {
    return undefined
  }
}

/** The URL of the barrel at `url` reduced to what `parent` names, when it can be. */
const reduceBarrel = (url: string, specifier: string, parent: string): string | undefined => {
  // Only a package imported by its name, from a module with a source to read.
  if (!isReducible(url) || /^[./]|^file:/.test(specifier) || !parent.startsWith("file:")) return undefined
  if (!barrels.has(url)) {
    const source = readText(url)
    barrels.set(url, source === undefined ? undefined : Barrels.parse(source))
  }
  const barrel = barrels.get(url)
  const importer = barrel === undefined ? undefined : readText(parent)
  const names = importer === undefined ? undefined : Barrels.namesUsed(importer, specifier, barrel!)
  if (names === undefined) return undefined
  stats.reduced++
  return `${url}${Barrels.QUERY}${names.join(",")}`
}

const guardOf = (file: string): readonly [number, number] => {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  return stat === undefined ? [-1, -1] : [stat.size, stat.mtimeMs]
}

/** The first guarded path that changed since the cache was written, if any. */
export const staleGuard = (guards: Manifest["guards"]): string | undefined => {
  for (const [file, size, mtime] of guards) {
    const [now, nowMtime] = guardOf(file)
    if (now !== size || nowMtime !== mtime) return file
  }
  return undefined
}

/** The file's layout: a 4-byte length, the manifest as JSON, then every source back to back. */
export const encode = (manifest: Manifest, blob: ReadonlyArray<Uint8Array>): Buffer => {
  const json = Buffer.from(JSON.stringify(manifest))
  const head = Buffer.alloc(4)
  head.writeUInt32LE(json.length)
  return Buffer.concat([head, json, ...blob])
}

export const decode = (file: Buffer): { readonly manifest: Manifest; readonly blob: Buffer } => {
  const length = file.readUInt32LE(0)
  const manifest = JSON.parse(file.subarray(4, 4 + length).toString()) as Manifest
  return { manifest, blob: file.subarray(4 + length) }
}

/** What a cache file holds, indexed for the hooks. */
interface Loaded {
  readonly manifest: Manifest
  readonly blob: Buffer
  readonly urlIndex: ReadonlyMap<string, number>
  readonly conditionIndex: ReadonlyMap<string, number>
  readonly sources: ReadonlyMap<string, Manifest["sources"][number]>
}

const index = (manifest: Manifest, blob: Buffer): Loaded => ({
  manifest,
  blob,
  urlIndex: new Map(manifest.urls.map((url, i) => [url, i])),
  conditionIndex: new Map(manifest.conditions.map((list, i) => [list, i])),
  sources: new Map(manifest.sources.map((source) => [manifest.urls[source[0]], source]))
})

/**
 * Why a cache file may not be trusted, if it may not: it holds code that workers run, so it must belong to this user
 * and be writable by no one else (where the OS has users and modes; the check is made on the file as opened).
 */
export const untrusted = (stat: fs.Stats): string | undefined => {
  if (process.getuid === undefined) return undefined
  if (stat.uid !== process.getuid()) return "owned by another user"
  return (stat.mode & 0o022) === 0 ? undefined : "writable by other users"
}

/** Reads the cache file; `dropped` says why it cannot be used. */
const read = (file: string): Loaded | { readonly dropped: string } => {
  let decoded: ReturnType<typeof decode>
  let fd: number | undefined
  try {
    fd = fs.openSync(file, "r")
    const refused = untrusted(fs.fstatSync(fd))
    if (refused !== undefined) return { dropped: `untrusted: ${refused}` }
    decoded = decode(fs.readFileSync(fd))
  } catch (cause) {
    return { dropped: (cause as { code?: unknown }).code === "ENOENT" ? "missing" : `unreadable: ${String(cause)}` }
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
  const { manifest, blob } = decoded
  if (manifest.format !== FORMAT || manifest.node !== process.version) return { dropped: "written by another version" }
  const changed = staleGuard(manifest.guards)
  return changed === undefined ? index(manifest, blob) : { dropped: `${changed} changed` }
}

/** What a worker loaded that the cache lacked. */
interface Recorded {
  readonly resolutions: Array<readonly [specifier: string, parent: string, conditions: string, url: string]>
  readonly sources: Map<string, { readonly format: string; readonly source: Uint8Array }>
  readonly guards: Map<string, readonly [number, number]>
}

/** The cache's next content: what it held and what was recorded, with every URL stored once. */
export const merge = (
  previous: Loaded | undefined,
  recorded: Recorded
): { readonly manifest: Manifest; readonly blob: ReadonlyArray<Uint8Array> } => {
  const urls: Array<string> = []
  const urlIndex = new Map<string, number>()
  const url = (href: string) => {
    let at = urlIndex.get(href)
    if (at === undefined) {
      at = urls.push(href) - 1
      urlIndex.set(href, at)
    }
    return at
  }
  const conditions: Array<string> = []
  const condition = (list: string) => {
    const at = conditions.indexOf(list)
    return at >= 0 ? at : conditions.push(list) - 1
  }
  const resolutions: Record<number, Record<string, number>> = {}
  const resolution = (specifier: string, parent: string, list: string, target: string) => {
    ;(resolutions[url(parent)] ??= {})[`${specifier}\0${condition(list)}`] = url(target)
  }
  const sources: Array<readonly [number, string, number, number]> = []
  const blob: Array<Uint8Array> = []
  let offset = 0
  const source = (href: string, format: string, bytes: Uint8Array) => {
    sources.push([url(href), format, offset, bytes.length])
    blob.push(bytes)
    offset += bytes.length
  }
  const guards = new Map<string, readonly [number, number]>()
  if (previous !== undefined) {
    const { manifest } = previous
    for (const [parent, entries] of Object.entries(manifest.resolutions)) {
      for (const [key, target] of Object.entries(entries)) {
        const [specifier, list] = key.split("\0")
        resolution(specifier, manifest.urls[Number(parent)], manifest.conditions[Number(list)], manifest.urls[target])
      }
    }
    for (const [at, format, start, length] of manifest.sources) {
      source(manifest.urls[at], format, previous.blob.subarray(start, start + length))
    }
    for (const [file, size, mtime] of manifest.guards) guards.set(file, [size, mtime])
  }
  for (const [specifier, parent, list, target] of recorded.resolutions) resolution(specifier, parent, list, target)
  for (const [href, { format, source: bytes }] of recorded.sources) {
    if (previous?.sources.has(href) !== true) source(href, format, bytes)
  }
  for (const [file, guard] of recorded.guards) guards.set(file, guard)
  return {
    manifest: {
      format: FORMAT,
      node: process.version,
      urls,
      conditions,
      resolutions,
      sources,
      guards: [...guards].map(([file, [size, mtime]]) => [file, size, mtime] as const)
    },
    blob
  }
}

const flagsInstallHooks = (): boolean =>
  /(^|\s)--(import|loader|experimental-loader)\b/.test(
    `${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`
  )

/** The cache file for this package's install, in `folder`. */
const fileIn = (folder: string) => {
  // One file per install of this package: two applications on one machine do not overwrite each other's.
  let hash = 2166136261
  for (let i = 0; i < ownRoot.length; i++) hash = Math.imul(hash ^ ownRoot.charCodeAt(i), 16777619)
  return path.join(folder, `effect-futures-modules-${(hash >>> 0).toString(16)}.bin`)
}

/** Set by `install`: writes what this worker recorded and releases the cached sources. */
let pending: (() => void) | undefined

/** One worker's hooks: the cache they serve from and what they record, in one record. */
interface HookState {
  readonly folder: string
  readonly file: string
  /** What the cache file held; dropped once the boot is over (its sources are megabytes). */
  cache: Loaded | undefined
  /** Whether modules the cache lacks are still recorded (only during the boot). */
  recording: boolean
  readonly recorded: Recorded
}

/** Where the cache file lives: the setting's folder, else Node's compile cache folder for this Node version. */
const cacheFolder = (setting: string | undefined): string =>
  setting !== undefined && setting !== ""
    ? setting
    : (NodeModule.getCompileCacheDir?.() ?? path.join(os.tmpdir(), "node-compile-cache"))

/** Records the file (and its package's and `node_modules` folder's guards) if not already recorded. */
const guard = (self: HookState, target: string) => {
  if (!self.recorded.guards.has(target)) self.recorded.guards.set(target, guardOf(target))
}

const resolveHook =
  (self: HookState): NodeModule.ResolveHookSync =>
  (specifier, context, nextResolve) => {
    const parent = context.parentURL
    if (parent === undefined || Object.keys(context.importAttributes ?? {}).length > 0) {
      return nextResolve(specifier, context)
    }
    const conditions = context.conditions?.join(",") ?? ""
    const cache = self.cache
    if (cache !== undefined) {
      const from = cache.urlIndex.get(parent)
      const list = cache.conditionIndex.get(conditions)
      const target = from === undefined ? undefined : cache.manifest.resolutions[from]?.[`${specifier}\0${list}`]
      if (target !== undefined) {
        stats.resolved++
        const url = cache.manifest.urls[target]
        return { url: reduceBarrel(url, specifier, parent) ?? url, shortCircuit: true }
      }
    }
    const resolved = nextResolve(specifier, context)
    if (self.recording && cacheable(parent) && (resolved.url.startsWith("node:") || cacheable(resolved.url))) {
      self.recorded.resolutions.push([specifier, parent, conditions, resolved.url])
    }
    const reduced = reduceBarrel(resolved.url, specifier, parent)
    return reduced === undefined ? resolved : { ...resolved, url: reduced }
  }

/** Loads a module the cache lacks, recording its source and guards if it is an ES module. */
const loadAndRecord = (
  self: HookState,
  url: string,
  load: () => ReturnType<NodeModule.LoadHookSync>
): ReturnType<NodeModule.LoadHookSync> => {
  // The guard is taken before reading: a file changed meanwhile fails it next time rather than hiding.
  const target = fileURLToPath(url)
  const before = guardOf(target)
  const loaded = load()
  if ((loaded.format === "module" || loaded.format === "module-typescript") && loaded.source != null) {
    const source = loaded.source
    self.recorded.guards.set(target, before)
    const pkg = NodeModule.findPackageJSON?.(url)
    if (pkg !== undefined) guard(self, pkg)
    const at = target.lastIndexOf(`${path.sep}node_modules${path.sep}`)
    if (at >= 0) guard(self, target.slice(0, at + 13))
    self.recorded.sources.set(url, {
      format: loaded.format,
      source: typeof source === "string" ? Buffer.from(source) : new Uint8Array(source as ArrayBuffer)
    })
    stats.recorded++
  }
  return loaded
}

const loadHook =
  (self: HookState): NodeModule.LoadHookSync =>
  (url, context, nextLoad) => {
    const only = url.indexOf(Barrels.QUERY)
    const barrel = only < 0 ? undefined : barrels.get(url.slice(0, only))
    if (barrel !== undefined) {
      const names = url.slice(only + Barrels.QUERY.length).split(",")
      return { format: "module", source: Barrels.reduce(barrel, names), shortCircuit: true }
    }
    const cached = self.cache?.sources.get(url)
    if (cached !== undefined) {
      stats.loaded++
      const [, format, offset, length] = cached
      return {
        format: format as NodeModule.ModuleFormat,
        source: self.cache!.blob.subarray(offset, offset + length),
        shortCircuit: true
      }
    }
    if (!self.recording || !cacheable(url) || self.recorded.sources.has(url)) return nextLoad(url, context)
    return loadAndRecord(self, url, () => nextLoad(url, context))
  }

/** Ends the recording and writes the cache again if this worker recorded anything it lacked. */
const writeRecorded = (self: HookState) => {
  self.recording = false
  const previous = self.cache
  // Later imports load as usual: the sources (megabytes) are not kept for the worker's life.
  self.cache = undefined
  if (self.recorded.sources.size === 0 && self.recorded.resolutions.length === 0) return
  const next = merge(previous, self.recorded)
  // Written at once, not in the background: a short-lived program may end its workers right after their first
  // task. Another worker may write the same file meanwhile: each writes its own and renames it over the cache.
  // The file is created afresh (never through a link someone left in its place) and only its owner may touch it.
  const temporary = `${self.file}.${process.pid}-${threadId}.tmp`
  try {
    fs.mkdirSync(self.folder, { recursive: true, mode: 0o700 })
    fs.writeFileSync(temporary, encode(next.manifest, next.blob), { flag: "wx", mode: 0o600 })
    fs.renameSync(temporary, self.file)
    stats.written++
  } catch {
    fs.rmSync(temporary, { force: true })
  }
}

/**
 * Enables Node's compile cache, then serves cached modules and records the others. Called once per worker, before
 * it imports anything else. Never throws: without a usable cache, modules load as they always do.
 */
export const install = (): void => {
  const setting = process.env.EFFECT_FUTURES_MODULE_CACHE
  NodeModule.enableCompileCache?.()
  if (setting === "off" || NodeModule.registerHooks === undefined || flagsInstallHooks()) return
  const folder = cacheFolder(setting)
  const file = fileIn(folder)
  const found = read(file)
  Object.assign(stats, { enabled: true, file, dropped: "dropped" in found ? found.dropped : undefined })
  const self: HookState = {
    folder,
    file,
    cache: "dropped" in found ? undefined : found,
    recording: true,
    recorded: { resolutions: [], sources: new Map(), guards: new Map() }
  }
  NodeModule.registerHooks({ resolve: resolveHook(self), load: loadHook(self) })
  pending = () => writeRecorded(self)
}

/**
 * Ends the boot: writes what this worker recorded into the cache, if anything (only when the cache lacked it), and
 * releases the cached sources. Called once the worker's boot imports are done: its runtime and the task modules it
 * imports first.
 */
export const flush = (): void => {
  const write = pending
  if (write === undefined) return
  pending = undefined
  try {
    write()
  } catch {
    // The cache is an optimisation: a worker never fails for it.
  }
}
