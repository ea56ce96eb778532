/**
 * Every example runs as a program of its own, exits 0 and prints what it promises.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const run = (file: string, args: ReadonlyArray<string> = []) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [fileURLToPath(new URL(`../examples/${file}`, import.meta.url)), ...args],
      { timeout: 60_000, env: { ...process.env, DEMO_LIMIT: "300000" } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    )
  })

const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<RegExp>]> = [
  ["demo.ts", [], [/speedup \d+\.\d+x/]],
  ["submit.ts", [], [/fib\(30\) = 832040/, /refused n = -1/]],
  ["map.ts", [], [/same results: true/, /speedup/]],
  ["futureBasics.ts", [], [/cancel\(pending\) = true/, /cancel\(running\) = false/, /after interrupt: CANCELLED/]],
  [
    "asCompletedAndWait.ts",
    [],
    [/done after 100 ms[\s\S]*done after 200 ms[\s\S]*done after 300 ms/, /FIRST_EXCEPTION/]
  ],
  ["callbacksAndChaining.ts", [], [/fib\(25\) = 75025, doubled = 150050/, /complete: true, again: false/]],
  ["runInExecutor.ts", [], [/Effect: fib\(27\) = 196418/, /TimeoutError/, /aborted -> CancelledError/]],
  [
    "responsiveness.ts",
    [],
    [/inline {2}: \d+ ms of work, 0 heartbeat ticks/, /on pool : \d+ ms of work, [1-9]\d* heartbeat ticks/]
  ],
  ["httpServer.ts", ["--self-test"], [/5 bytes -> sha256 2cf24dba5fb0a30e/, /server closed, pool disposed/]]
]

describe("examples", () => {
  for (const [file, args, expected] of cases) {
    it(`${file} runs and exits 0`, async () => {
      const { code, stdout, stderr } = await run(file, args)
      expect(code, stderr).toBe(0)
      for (const pattern of expected) expect(stdout).toMatch(pattern)
    })
  }
})
