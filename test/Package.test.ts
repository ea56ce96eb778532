/**
 * The package as an application meets it, from source: what each entry loads, what an old Node says, and the
 * bootstrapping guard that stops a one-file program from starting pools without end. (The packed tarball itself is
 * tested by `scripts/consumerTest.ts`, run in `npm test`.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Executor, ExecutorError } from "../src/index.ts"
import * as NodeVersion from "../src/internal/transport/nodeVersion.ts"
import { clusterOrSql } from "./fixtures/clusterModules.ts"
import { doubleOnNestedPool } from "./fixtures/nestedTasks.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node` (the pinned one running this suite) with `args`; resolves however the process ends. */
const node = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.callback<Ran>((resume) => {
    const child = execFile(
      process.execPath,
      [...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(
          Effect.succeed({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr })
        )
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ef-package-")), name)

/** Every module URL that importing `entry` (a path under src/) resolves, in a fresh process. */
const modulesLoadedBy = (entry: string) =>
  Effect.gen(function* () {
    const record = tempFile("modules.txt")
    const url = new URL(`../src/${entry}`, import.meta.url).href
    const ran = yield* node(
      ["--import", fixture("recordModules.ts"), "--input-type=module", "-e", `await import(${JSON.stringify(url)})`],
      {
        RECORD_MODULES: record
      }
    )
    assert.strictEqual(ran.code, 0, ran.stderr)
    return fs.readFileSync(record, "utf8").split("\n")
  })

describe("entries", () => {
  for (const entry of ["index.ts", "Executor.ts", "Task.ts", "Future.ts", "Bridge.ts", "ExecutorError.ts"]) {
    it.live(`${entry} loads no cluster or SQL module`, () =>
      Effect.gen(function* () {
        const loaded = yield* modulesLoadedBy(entry)
        assert.isAbove(loaded.length, 10, "the hook saw the entry's imports")
        assert.deepStrictEqual(
          loaded.filter((url) => clusterOrSql.test(url)),
          []
        )
      })
    )
  }

  it.live("Cluster.ts is where the cluster loads (the check above can fail)", () =>
    Effect.gen(function* () {
      const loaded = yield* modulesLoadedBy("Cluster.ts")
      assert.isTrue(loaded.some((url) => /effect\/dist\/cluster\//.test(url)))
      // Storage clients load only when a cluster uses one.
      assert.isFalse(loaded.includes("node:sqlite"))
      assert.isFalse(loaded.some((url) => url.includes("@effect/sql-pg")))
    })
  )
})

describe("Node.js version", () => {
  it("engines.node in package.json names the minimum the import checks", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    assert.strictEqual(pkg.engines.node, `>=${NodeVersion.minimum.major}.${NodeVersion.minimum.minor}`)
    assert.isUndefined(NodeVersion.unsupported(process.versions.node))
    assert.isUndefined(NodeVersion.unsupported("22.19.0"))
    assert.isUndefined(NodeVersion.unsupported("23.0.0"))
    assert.isDefined(NodeVersion.unsupported("22.18.9"))
    assert.isDefined(NodeVersion.unsupported("18.20.0"))
  })

  it.live("importing any entry on an older Node fails with one message: found, required, what to do", () =>
    Effect.gen(function* () {
      for (const entry of ["index.ts", "Future.ts", "Cluster.ts"]) {
        const url = new URL(`../src/${entry}`, import.meta.url).href
        const ran = yield* node([
          "--import",
          fixture("oldNode.ts"),
          "--input-type=module",
          "-e",
          `await import(${JSON.stringify(url)})`
        ])
        assert.notStrictEqual(ran.code, 0)
        assert.include(ran.stderr, "effect-futures requires Node.js >= 22.19, but this is Node.js 20.11.1")
        assert.include(ran.stderr, "Upgrade Node.js")
      }
    })
  )
})

describe("bootstrapping guard", () => {
  for (const kind of ["threads", "processes"] as const) {
    for (const runner of ["runPromise", "runMain"] as const) {
      it.live(`a one-file program (${kind}, ${runner}) ends with the guard's error, not a cascade of pools`, () =>
        Effect.gen(function* () {
          const log = tempFile("imports.log")
          fs.writeFileSync(log, "")
          const ran = yield* node([fixture("oneFileProgram.ts")], {
            ONE_FILE_LOG: log,
            ONE_FILE_KIND: kind,
            ONE_FILE_RUNNER: runner
          })
          assert.notStrictEqual(ran.code, 0)
          const output = ran.stdout + ran.stderr
          assert.include(output, "TaskLoadError")
          assert.include(output, "import.meta.main")
          assert.notInclude(output, "results:")
          const imports = fs.readFileSync(log, "utf8").trim().split("\n")
          // The program itself, and at most its pool's 2 workers: no worker started a pool of its own.
          assert.isAtMost(imports.length, 3, imports.join("\n"))
        })
      )
    }
  }

  it.live("building a worker pool while a worker imports a module fails with BootstrapError", () =>
    Effect.gen(function* () {
      const Bootstrap = yield* Effect.promise(() => import("../src/internal/transport/bootstrap.ts"))
      const exit = yield* Effect.promise(() =>
        Bootstrap.importTaskModule(new URL("./fixtures/buildsPoolOnImport.ts", import.meta.url).href)
      ).pipe(Effect.flatMap((module) => Effect.promise(() => module.built as Promise<Exit.Exit<unknown, unknown>>)))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.strictEqual(error?._tag, "Fail")
      const failure = error?._tag === "Fail" ? error.error : undefined
      assert.instanceOf(failure, ExecutorError.BootstrapError)
      assert.include((failure as ExecutorError.BootstrapError).message, "import.meta.main")
      // Once the import is over, pools start again.
      const later = yield* Effect.exit(Layer.build(Executor.layerWorkerThreads({ maxWorkers: 1 })).pipe(Effect.scoped))
      assert.isTrue(Exit.isSuccess(later))
    })
  )

  it.live("a pool started on purpose inside a running task works", () =>
    Effect.gen(function* () {
      const future = yield* Executor.submit(doubleOnNestedPool, 21)
      assert.strictEqual(yield* future, 42)
    }).pipe(Effect.provide(Executor.layerWorkerThreads({ maxWorkers: 1 })))
  )
})
