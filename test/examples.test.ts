/**
 * Every example runs as a program of its own, exits 0 and prints what it promises.
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
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
  [
    "httpServer.ts",
    ["--self-test"],
    [
      /5 bytes -> sha256 2cf24dba5fb0a30e/,
      /stretch x1e12: running on a worker/,
      /client left: task cancelled/,
      /executor stats: \d+ completed, 1 cancelled/,
      /server closed, pool disposed/
    ]
  ]
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

/** The pids of every live descendant of `pid`, read from /proc (Linux); empty where there is no /proc. */
const descendants = (pid: number): ReadonlyArray<number> => {
  if (!fs.existsSync("/proc/self/stat")) return []
  const parents = new Map<number, Array<number>>()
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The command name (field 2) is parenthesised and may hold spaces; the parent pid is the 2nd field after it.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)])
    } catch {
      // the process exited while we listed it
    }
  }
  const found: Array<number> = []
  const visit = (parent: number) => {
    for (const child of parents.get(parent) ?? []) {
      found.push(child)
      visit(child)
    }
  }
  visit(pid)
  return found
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Starts the demo, sends it SIGINT as soon as its stdout matches `signalAfter` (the phase it announces has begun:
 * the line is written synchronously before that phase's work starts), and resolves when it has exited.
 */
const interruptDemo = (signalAfter: RegExp) =>
  new Promise<{
    code: number | null
    signal: NodeJS.Signals | null
    stdout: string
    stderr: string
    leftBehind: ReadonlyArray<number>
  }>((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL("../examples/demo.ts", import.meta.url))], {
      // Big enough that each phase lasts far longer than a signal takes to arrive, on any number of cores.
      env: { ...process.env, DEMO_LIMIT: "10000000" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let spawned: ReadonlyArray<number> = []
    let signalled = false
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      if (!signalled && signalAfter.test(stdout)) {
        signalled = true
        spawned = descendants(child.pid!)
        child.kill("SIGINT")
      }
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, leftBehind: [child.pid!, ...spawned].filter(isAlive) })
    )
  })

describe("demo.ts on Ctrl-C", () => {
  it("during the pool phase: interrupts the futures, shuts the pool down, exits 130", { timeout: 60_000 }, async () => {
    const { code, leftBehind, signal, stderr, stdout } = await interruptDemo(/Pool ready in/)
    expect({ code, signal }, stderr).toEqual({ code: 130, signal: null })
    expect(stdout).toMatch(/Ctrl-C: interrupting \d+ futures/)
    expect(stdout).toMatch(/Interrupted: pool shut down, exiting with code 130/)
    expect(stdout).not.toMatch(/primes in \d+ ms on the pool/)
    expect(leftBehind).toEqual([])
  })

  it("during the serial phase: stops between ranges, shuts the pool down, exits 130", { timeout: 60_000 }, async () => {
    const { code, leftBehind, signal, stderr, stdout } = await interruptDemo(/now serially on the main thread/)
    expect({ code, signal }, stderr).toEqual({ code: 130, signal: null })
    expect(stdout).toMatch(/Interrupted: pool shut down, exiting with code 130/)
    // Stopped mid-phase: a serial loop that blocked the event loop would see the signal only after its last range.
    expect(stdout).toMatch(/Ctrl-C: serial phase stopped after \d+\/\d+ ranges/)
    const [, counted, total] = /serial phase stopped after (\d+)\/(\d+) ranges/.exec(stdout) ?? []
    expect(Number(counted)).toBeLessThan(Number(total))
    expect(stdout).not.toMatch(/serial: \d+ ms/)
    expect(leftBehind).toEqual([])
  })
})
