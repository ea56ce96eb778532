/**
 * The runner CLI's flags to `RunnerOptions`: what each flag becomes, and the usage errors (which exit with code 2;
 * `process.exit` is replaced here by a throw).
 */
import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { optionsFromArgs } from "../../../src/internal/cluster/cli.ts"

const usageErrorOf = (args: ReadonlyArray<string>): string => {
  const written: Array<string> = []
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    written.push(String(chunk))
    return true
  })
  vi.spyOn(process, "exit").mockImplementation((code) => {
    throw new Error(`exit ${code}`)
  })
  assert.throws(() => optionsFromArgs(args), "exit 2")
  return written.join("")
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("runner CLI flags", () => {
  it("turns flags into runner options: modules as file URLs, numbers, workers and timings", () => {
    const options = optionsFromArgs([
      "--modules",
      "/app/tasks.js,/app/lib/",
      "--port",
      "4000",
      "--workers",
      "3",
      "--lock-expiration",
      "5000",
      "--storage",
      "/var/lib/runner.db"
    ])
    assert.deepStrictEqual(options.modules, [pathToFileURL("/app/tasks.js").href, `${pathToFileURL("/app/lib").href}/`])
    assert.strictEqual(options.port, 4000)
    assert.deepStrictEqual(options.workers, { maxWorkers: 3 })
    assert.strictEqual(options.timings?.lockExpiration, 5000)
    assert.strictEqual(options.timings?.messagePollInterval, undefined)
    assert.strictEqual(Redacted.value(options.storage as Redacted.Redacted<string>), "/var/lib/runner.db")
    assert.isUndefined(options.tls)
  })

  it("reads the TLS files, all three together", () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "runner-cli-"))
    const file = (name: string) => {
      fs.writeFileSync(path.join(folder, name), `${name} text\n`)
      return path.join(folder, name)
    }
    const options = optionsFromArgs(["--tls-cert", file("cert"), "--tls-key", file("key"), "--tls-ca", file("ca")])
    assert.strictEqual(options.tls?.cert, "cert text")
    assert.strictEqual(Redacted.value(options.tls!.key as Redacted.Redacted<string>), "key text")
    assert.strictEqual(options.tls?.ca, "ca text")
    fs.rmSync(folder, { recursive: true })
  })

  it("refuses TLS files given in part, a password on the command line, and a number that is not one", () => {
    assert.include(usageErrorOf(["--tls-cert", "/x/cert"]), "TLS needs --tls-cert, --tls-key and --tls-ca together")
    assert.include(usageErrorOf(["--storage", "postgres://user:pw@db/cluster"]), "--storage holds a password")
    assert.include(usageErrorOf(["--port", "many"]), '--port expects a number, got "many"')
  })
})
