/**
 * The package as an application installs it: `npm pack` (its `prepack` build), then the tarball and its peers
 * installed into a fresh project outside this repo, where the README's quick starts run (TypeScript and JavaScript,
 * worker threads and processes, a Bridge runner from plain `.mjs`), `tsc --noEmit` checks them under `strict` and
 * `module: nodenext`, `npm ls` shows a clean tree with one copy of Effect, and importing the root loads no cluster
 * or SQL module.
 *
 * The pack runs in a staged copy of the package, so this repo's own `dist/` is never touched while other suites
 * run (`EFFECT_FUTURES_CONSUMER_KEEP=1` keeps the project for a look). The peers are the versions this repo pins; `EFFECT_FUTURES_CONSUMER_EFFECT=latest npm run test:consumer`
 * runs the same against the newest Effect 4.x on the registry. npm's cache is reused (`--prefer-offline`).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { clusterOrSql } from "./fixtures/clusterModules.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
const effectVersion = process.env.EFFECT_FUTURES_CONSUMER_EFFECT ?? pkg.devDependencies.effect
const platformVersion = process.env.EFFECT_FUTURES_CONSUMER_EFFECT ?? pkg.devDependencies["@effect/platform-node"]

let work = ""
let app = ""
let packed: {
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<{ readonly path: string }>
}

const run = (
  command: string,
  args: ReadonlyArray<string>,
  cwd: string,
  timeout = 120_000,
  env: Record<string, string> = {}
) => {
  const result = spawnSync(command, [...args], {
    cwd,
    encoding: "utf8",
    timeout,
    env: { ...process.env, CI: "true", ...env }
  })
  return {
    code: result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? "",
    output: `${result.stdout}${result.stderr}`
  }
}

/** The README's code block whose first line is `// <file>`. */
const readmeBlock = (file: string): string => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const block = new RegExp("```(?:ts|js)\\n// " + file.replace(".", "\\.") + "\\b[^\\n]*\\n([\\s\\S]*?)```").exec(
    readme
  )
  assert.isNotNull(block, `README.md has a block starting with // ${file}`)
  return block![1]
}

const node = (args: ReadonlyArray<string>) => run(process.execPath, args, app)

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-consumer-"))
  // Stage the package (what `files` ships, plus what its build needs) and pack it there.
  const stage = path.join(work, "package")
  fs.mkdirSync(stage)
  for (const entry of ["package.json", "README.md", "tsconfig.json", "tsconfig.build.json", "src", "bin"]) {
    fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true })
  }
  fs.symlinkSync(path.join(root, "node_modules"), path.join(stage, "node_modules"), "dir")
  const pack = run("npm", ["pack", "--json", "--pack-destination", work], stage, 180_000)
  assert.strictEqual(pack.code, 0, pack.output)
  packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("[")))[0]

  app = path.join(work, "app")
  fs.mkdirSync(app)
  fs.writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify(
      {
        name: "consumer",
        private: true,
        type: "module",
        dependencies: {
          "effect-futures": `file:${path.join(work, packed.filename)}`,
          effect: effectVersion,
          "@effect/platform-node": platformVersion
        },
        devDependencies: { "@types/node": pkg.devDependencies["@types/node"] }
      },
      null,
      2
    )
  )
  const install = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], app, 240_000)
  assert.strictEqual(install.code, 0, install.output)
  for (const file of ["tasks.ts", "main.ts", "promise.ts", "tasks.mjs", "main.mjs", "runner.mjs"]) {
    fs.writeFileSync(path.join(app, file), readmeBlock(file))
  }
  fs.writeFileSync(
    path.join(app, "main-threads.mjs"),
    readmeBlock("main.mjs").replace("layerProcesses", "layerWorkerThreads")
  )
}, 420_000)

afterAll(() => {
  // EFFECT_FUTURES_CONSUMER_KEEP=1 keeps the project, to look into a failure.
  if (work !== "" && process.env.EFFECT_FUTURES_CONSUMER_KEEP === undefined)
    fs.rmSync(work, { recursive: true, force: true })
  else if (work !== "") console.log(`consumer project kept in ${work}`)
})

describe("the packed tarball, installed into a fresh project", () => {
  it("ships compiled ESM, declarations and maps for every export, and no tests", () => {
    const files = new Set(packed.files.map((file) => file.path))
    for (const [subpath, target] of Object.entries(
      pkg.exports as Record<string, string | { types: string; default: string }>
    )) {
      if (typeof target === "string") continue
      for (const file of [target.default, target.types, `${target.default}.map`, `${target.types}.map`]) {
        assert.isTrue(files.has(file.replace(/^\.\//, "")), `${subpath}: ${file} is in the tarball`)
      }
    }
    assert.isTrue(
      files.has("dist/internal/transport/threadEntry.js") && files.has("dist/internal/transport/processEntry.js")
    )
    assert.isTrue(files.has("bin/effect-futures-runner.mjs"))
    assert.deepStrictEqual(
      [...files].filter((file) => /^(test|bench|examples|scripts|node_modules)\//.test(file)),
      []
    )
    // Declaration maps lead back to the shipped sources.
    const map = JSON.parse(
      fs.readFileSync(path.join(app, "node_modules/effect-futures/dist/Executor.d.ts.map"), "utf8")
    )
    assert.isTrue(fs.existsSync(path.join(app, "node_modules/effect-futures/dist", map.sources[0])))
    console.log(
      `tarball ${(packed.size / 1024).toFixed(0)} kB, unpacked ${(packed.unpackedSize / 1024).toFixed(0)} kB, ${files.size} files`
    )
  })

  it("npm ls: a clean tree with one copy of effect, and no SQL client for a local-pool user", () => {
    const ls = run("npm", ["ls", "--all"], app)
    assert.strictEqual(ls.code, 0, ls.output)
    const tree = JSON.parse(run("npm", ["ls", "effect", "--all", "--json"], app).stdout)
    const versions = new Set<string>()
    const walk = (node: { version?: string; dependencies?: Record<string, unknown> }, name?: string) => {
      if (name === "effect" && node.version !== undefined) versions.add(node.version)
      for (const [child, value] of Object.entries(node.dependencies ?? {})) walk(value as typeof node, child)
    }
    walk(tree)
    assert.strictEqual(versions.size, 1, [...versions].join(", "))
    assert.strictEqual(fs.readdirSync(path.join(app, "node_modules")).filter((name) => name === "effect").length, 1)
    assert.isFalse(fs.existsSync(path.join(app, "node_modules/@effect/sql-pg")))
    assert.isFalse(fs.existsSync(path.join(app, "node_modules/pg")))
  })

  it("the TypeScript quick start runs", () => {
    const ran = node(["main.ts"])
    assert.strictEqual(ran.code, 0, ran.output)
    assert.include(ran.output, "FibError: n = -1")
    assert.include(ran.output, "832040")
    assert.include(ran.output, "6765")
    assert.include(ran.output, "17711")
  })

  it("the JavaScript quick start runs, on child processes and on worker threads", () => {
    for (const file of ["main.mjs", "main-threads.mjs"]) {
      const ran = node([file])
      assert.strictEqual(ran.code, 0, ran.output)
      assert.include(ran.stdout, "[ 6765, 10946, 17711, 28657 ]")
      assert.include(ran.stdout, "FibError -1")
    }
  })

  it("a Bridge runner from plain JavaScript and the Promise example run", () => {
    const runner = node(["runner.mjs"])
    assert.strictEqual(runner.code, 0, runner.output)
    assert.strictEqual(runner.stdout, "75025\ntrue\n")
    const promise = node(["promise.ts"])
    assert.strictEqual(promise.code, 0, promise.output)
  })

  it("tsc --noEmit passes under strict and module nodenext, the Cluster entry included", () => {
    fs.writeFileSync(
      path.join(app, "cluster.ts"),
      [
        `import { Effect, Layer } from "effect"`,
        `import * as Cluster from "effect-futures/Cluster"`,
        `import { Executor } from "effect-futures"`,
        `const client: Layer.Layer<Executor.Executor, unknown> = Cluster.layer({ storage: "/tmp/cluster.db" })`,
        `export const stats = Executor.stats.pipe(Effect.provide(client))`
      ].join("\n")
    )
    fs.writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2024",
          lib: ["ES2024", "ESNext.Disposable"],
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          erasableSyntaxOnly: true,
          verbatimModuleSyntax: true,
          types: ["node"]
        },
        include: ["*.ts"]
      })
    )
    const tsc = run(path.join(root, "node_modules/.bin/tsc"), ["--noEmit", "-p", "tsconfig.json"], app)
    assert.strictEqual(tsc.code, 0, tsc.output)
  })

  it("importing effect-futures loads no cluster or SQL module", () => {
    const record = path.join(work, "modules.txt")
    const hook = fileURLToPath(new URL("./fixtures/recordModules.ts", import.meta.url))
    const ran = run(
      process.execPath,
      ["--import", hook, "--input-type=module", "-e", `await import("effect-futures")`],
      app,
      undefined,
      { RECORD_MODULES: record }
    )
    assert.strictEqual(ran.code, 0, ran.output)
    const loaded = fs.readFileSync(record, "utf8").split("\n")
    assert.isTrue(loaded.some((url) => url.includes("/node_modules/effect-futures/dist/index.js")))
    assert.deepStrictEqual(
      loaded.filter((url) => clusterOrSql.test(url)),
      []
    )
  })

  it("the runner CLI works from the tarball", () => {
    const ran = run(path.join(app, "node_modules/.bin/effect-futures-runner"), ["--help"], app)
    assert.strictEqual(ran.code, 0, ran.output)
    assert.include(ran.output, "Usage: effect-futures-runner")
  })
})
