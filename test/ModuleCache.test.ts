/**
 * The workers' module cache (`src/internal/transport/moduleCache.ts`): a worker's imports are recorded once and served to the
 * next workers, with one copy of Effect in each worker; a missing, corrupt, stale or disabled cache falls back to
 * plain imports, and the tasks run the same. And the barrels a worker reduces to what a module names
 * (`src/internal/transport/barrels.ts`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Executor, Future } from "../src/index.ts"
import * as Barrels from "../src/internal/transport/barrels.ts"
import * as ModuleCache from "../src/internal/transport/moduleCache.ts"
import { OffGrid, Point, probe, swap } from "./fixtures/readmeTasks.ts"

const layers: Record<string, () => Layer.Layer<Executor.Executor, unknown>> = {
  layerWorkerThreads: () => Executor.layerWorkerThreads({ maxWorkers: 1 }),
  layerProcesses: () => Executor.layerProcesses({ maxWorkers: 1 })
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "ef-module-cache-"))

/** The cache file a test's folder holds (one per install of the package). */
const cacheFile = (dir: string) => {
  const files = fs.readdirSync(dir).filter((name) => name.endsWith(".bin"))
  assert.strictEqual(files.length, 1, `one cache file in ${dir}: ${files.join(", ")}`)
  return path.join(dir, files[0])
}

/**
 * Runs the README's tasks on a fresh executor whose workers keep their module cache in `setting` (a folder, or
 * `off`): workers read the variable when they start (threads copy this process's environment, children inherit it).
 */
const run = (makeLayer: () => Layer.Layer<Executor.Executor, unknown>, setting: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const previous = process.env.EFFECT_FUTURES_MODULE_CACHE
      process.env.EFFECT_FUTURES_MODULE_CACHE = setting
      return previous
    }),
    () =>
      Effect.gen(function* () {
        const swapped = yield* Effect.flatMap(Executor.submit(swap, new Point({ x: 1, y: 2 })), (f) => Future.result(f))
        assert.instanceOf(swapped, Point, "the result is an instance of the main program's class")
        assert.deepStrictEqual({ x: swapped.x, y: swapped.y }, { x: 2, y: 1 })
        const failure = yield* Effect.flatMap(Executor.submit(swap, new Point({ x: -1, y: 0 })), (f) =>
          Future.exception(f)
        )
        assert.isTrue(Option.isSome(failure))
        const error = (failure as Option.Some<unknown>).value
        assert.instanceOf(error, OffGrid, "the typed failure is an instance of the main program's class")
        assert.strictEqual((error as OffGrid).x, -1)
        const seen = yield* Effect.flatMap(Executor.submit(probe, new Point({ x: 0, y: 0 })), (f) => Future.result(f))
        assert.isTrue(seen.oneEffect, "`Effect` from `effect` is the module the worker's runtime runs")
        assert.isTrue(seen.oneSchema, "`Schema` from `effect` is the module the worker's runtime decodes with")
        assert.isTrue(seen.payloadIsPoint, "the worker decoded the payload into the task module's class")
        return seen.cache
      }).pipe(Effect.provide(makeLayer())),
    (previous) =>
      Effect.sync(() => {
        if (previous === undefined) delete process.env.EFFECT_FUTURES_MODULE_CACHE
        else process.env.EFFECT_FUTURES_MODULE_CACHE = previous
      })
  )

for (const [name, makeLayer] of Object.entries(layers)) {
  describe(`${name}: module cache`, () => {
    it.live(
      "a task module's Schemas and tagged errors are the same classes as the main program's after the trip, with the cache recorded and then served (one copy of Effect in a worker)",
      () =>
        Effect.gen(function* () {
          const dir = tempDir()
          const recorded = yield* run(makeLayer, dir)
          assert.isTrue(recorded.enabled)
          assert.strictEqual(recorded.dropped, "missing")
          assert.isAbove(recorded.recorded, 100, "the worker recorded Effect's modules")
          assert.strictEqual(recorded.reduced, 1, "`effect`, imported by name, was reduced to Effect and Schema")
          assert.strictEqual(recorded.written, 1)
          cacheFile(dir)
          const served = yield* run(makeLayer, dir)
          assert.isUndefined(served.dropped)
          assert.isAbove(served.loaded, 100, "the next worker was served Effect's modules from the cache")
          assert.isAbove(served.resolved, 100)
          assert.strictEqual(served.written, 0, "nothing new to write")
          assert.strictEqual(served.reduced, 1)
        })
    )

    it.live("a corrupt cache file is ignored: tasks run from plain imports and the cache is written again", () =>
      Effect.gen(function* () {
        const dir = tempDir()
        yield* run(makeLayer, dir)
        fs.writeFileSync(cacheFile(dir), "not a cache")
        const corrupt = yield* run(makeLayer, dir)
        assert.match(corrupt.dropped ?? "", /^unreadable/)
        assert.strictEqual(corrupt.loaded, 0)
        assert.strictEqual(corrupt.written, 1)
        const served = yield* run(makeLayer, dir)
        assert.isUndefined(served.dropped)
        assert.isAbove(served.loaded, 100)
      })
    )
  })
}

describe("layerWorkerThreads: module cache, fallbacks", () => {
  const makeLayer = layers.layerWorkerThreads

  it.live("a cache whose guarded file changed is dropped whole, then recorded again", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      yield* run(makeLayer, dir)
      const file = cacheFile(dir)
      const { manifest, blob } = ModuleCache.decode(fs.readFileSync(file))
      // As if a package had been reinstalled: one file's mtime differs from the one recorded.
      const [changed, size, mtime] = manifest.guards[0]
      const guards = [[changed, size, mtime + 1] as const, ...manifest.guards.slice(1)]
      fs.writeFileSync(file, ModuleCache.encode({ ...manifest, guards }, [blob]))
      const stale = yield* run(makeLayer, dir)
      assert.strictEqual(stale.dropped, `${changed} changed`)
      assert.strictEqual(stale.loaded, 0, "nothing was served from the stale cache")
      assert.isAbove(stale.recorded, 100)
      assert.strictEqual(stale.written, 1)
      const served = yield* run(makeLayer, dir)
      assert.isUndefined(served.dropped)
      assert.isAbove(served.loaded, 100)
    })
  )

  it.live.skipIf(process.getuid === undefined)(
    "a cache file others could have written is not trusted (it holds code): it is replaced by one only its owner can write",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        yield* run(makeLayer, dir)
        const file = cacheFile(dir)
        assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600)
        fs.chmodSync(file, 0o666)
        const refused = yield* run(makeLayer, dir)
        assert.strictEqual(refused.dropped, "untrusted: writable by other users")
        assert.strictEqual(refused.loaded, 0)
        assert.strictEqual(refused.written, 1)
        assert.strictEqual(fs.statSync(cacheFile(dir)).mode & 0o777, 0o600)
        const served = yield* run(makeLayer, dir)
        assert.isUndefined(served.dropped)
      })
  )

  it.live("EFFECT_FUTURES_MODULE_CACHE=off: no hooks, plain imports", () =>
    Effect.gen(function* () {
      const off = yield* run(makeLayer, "off")
      assert.isFalse(off.enabled)
      assert.strictEqual(off.loaded + off.resolved + off.recorded + off.written, 0)
    })
  )

  it("staleGuard names a guarded file that changed or vanished", () => {
    const dir = tempDir()
    const file = path.join(dir, "guarded.js")
    fs.writeFileSync(file, "export {}")
    const stat = fs.statSync(file)
    const guards = [[file, stat.size, stat.mtimeMs] as const]
    assert.isUndefined(ModuleCache.staleGuard(guards))
    fs.writeFileSync(file, "export const changed = true")
    assert.strictEqual(ModuleCache.staleGuard(guards), file)
    fs.rmSync(file)
    assert.strictEqual(ModuleCache.staleGuard([[file, -1, -1]]), undefined, "recorded as missing, still missing")
    assert.strictEqual(ModuleCache.staleGuard(guards), file)
  })
})

describe("barrels reduced to what a module names", () => {
  const effectBarrel = Barrels.parse(fs.readFileSync(new URL(import.meta.resolve("effect")), "utf8"))
  const ownBarrel = Barrels.parse(fs.readFileSync(new URL("../src/index.ts", import.meta.url), "utf8"))

  it("reads effect's root and this package's as barrels", () => {
    assert.isDefined(effectBarrel)
    assert.includeMembers([...effectBarrel!.parts.keys()], ["Effect", "Schema", "Stream", "pipe", "flow"])
    assert.deepStrictEqual(effectBarrel!.effects, [])
    assert.deepStrictEqual([...ownBarrel!.parts.keys()].sort(), [
      "Bridge",
      "Executor",
      "ExecutorError",
      "Future",
      "Task"
    ])
    assert.deepStrictEqual(
      ownBarrel!.effects,
      ['import "./internal/transport/nodeVersion.ts";'],
      "its side-effect import kept"
    )
  })

  it("refuses a module with anything but re-exports and bare imports", () => {
    assert.isUndefined(Barrels.parse('export * as A from "./a.js";\nexport const b = 1;'))
    assert.isUndefined(Barrels.parse('import { a } from "./a.js";\nexport { a };'))
    assert.isUndefined(Barrels.parse(""))
  })

  it("takes the names an importer mentions, and the whole barrel when it may need more", () => {
    const names = (importer: string) => Barrels.namesUsed(importer, "effect", effectBarrel!)
    assert.deepStrictEqual(names('import { Effect, Schema } from "effect"\nEffect.succeed(1)'), ["Effect", "Schema"])
    assert.deepStrictEqual(names('import { Effect as E } from "effect"'), ["Effect"])
    assert.deepStrictEqual(names('export { Stream } from "effect"'), ["Stream"])
    assert.isUndefined(names('import * as All from "effect"'), "a namespace import")
    assert.isUndefined(names('export * from "effect"'))
    assert.isUndefined(names('import "effect"'), "a bare import")
    assert.isUndefined(names('import { Effect } from "effect"\nconst more = await import("effect")'), "dynamic import")
    assert.isUndefined(names('import { Nothing } from "effect"'), "no name of the barrel")
  })

  it("a reduced barrel holds the named re-exports and the side-effect imports", () => {
    assert.strictEqual(
      Barrels.reduce(effectBarrel!, ["Effect", "pipe"]),
      'export * as Effect from "./Effect.js";\nexport { pipe as pipe } from "./Function.js";'
    )
    assert.strictEqual(
      Barrels.reduce(ownBarrel!, ["Task"]),
      'import "./internal/transport/nodeVersion.ts";\nexport * as Task from "./Task.ts";'
    )
  })
})
