/**
 * The child-process executor (its executor contract runs in `Executor.test.ts`, with every layer): the worker
 * contract, then what only processes can show.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Executor, ExecutorError, Future } from "../src/index.ts"
import { failureOf, invalidOptions } from "./contract.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { double } from "./fixtures/tasks.ts"
import {
  abort,
  environment,
  pidThenWait,
  readText,
  spin,
  stubborn,
  whichWorker,
  workerArgv
} from "./fixtures/workerTasks.ts"
import {
  alive,
  beats,
  docParagraphs,
  eventually,
  heartbeatFile,
  runKillerParent,
  spinnerPid,
  stuckForTheTest,
  workerSuite
} from "./workerContract.ts"

workerSuite("layerProcesses", (options) => Executor.layerProcesses(options))

const build = (options: Executor.ProcessOptions) =>
  Effect.flip(Effect.scoped(Layer.build(Executor.layerProcesses(options)))).pipe(Effect.map(invalidOptions))

/** Runs `effect` with a flag added to this process's `execArgv` while a layer is built (children copy it then). */
const withParentFlag = <A, E, R>(flag: string, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const original = process.execArgv
      process.execArgv = [...original, flag]
      return original
    }),
    () => effect,
    (original) =>
      Effect.sync(() => {
        process.execArgv = original
      })
  )

describe("layerProcesses: process-specific", () => {
  it.live("a child killed by a signal from outside fails its task with WorkerCrashed naming the signal", () =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      const future = yield* Executor.submit(pidThenWait, { board: board.address, index: 0 })
      yield* board.started(0)
      const [pid] = board.records()
      process.kill(pid, "SIGKILL")
      const exit = yield* Future.await(future)
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.findErrorOption((exit as Exit.Failure<number, unknown>).cause)
      assert.isTrue(Option.isSome(error))
      const crashed = (error as Option.Some<ExecutorError.WorkerCrashed>).value
      assert.instanceOf(crashed, ExecutorError.WorkerCrashed)
      assert.strictEqual(crashed.signal, "SIGKILL")
      assert.strictEqual(yield* yield* Executor.submit(double, 2), 4)
    }).pipe(Effect.provide(Executor.layerProcesses({ maxWorkers: 1 })))
  )

  it.live("a child that aborts is reported as what happened, SIGABRT, not as out of memory", () =>
    Effect.gen(function* () {
      const crashed = failureOf(yield* Future.await(yield* Executor.submit(abort, 0)))
      assert.instanceOf(crashed, ExecutorError.WorkerCrashed)
      assert.deepInclude(crashed, { exitCode: null, signal: "SIGABRT", oom: false })
      assert.include(crashed.message, "SIGABRT")
      assert.notInclude(crashed.message, "memory")
      assert.strictEqual(yield* yield* Executor.submit(double, 2), 4)
      // (In the temporary directory, so that a core dump, where the OS writes one, lands there.)
    }).pipe(Effect.provide(Executor.layerProcesses({ maxWorkers: 1, cwd: os.tmpdir() })))
  )

  it.live("env, execArgv and cwd reach the children; execArgv comes after this process's flags", () =>
    Effect.gen(function* () {
      const seen = yield* yield* Executor.submit(environment, "EFFECT_FUTURES_PROBE")
      assert.strictEqual(seen.value, "probe")
      assert.strictEqual(seen.cwd, os.tmpdir())
      assert.deepStrictEqual(seen.execArgv, [...process.execArgv, "--stack-size=900", "--max-old-space-size=64"])
    }).pipe(
      Effect.provide(
        Executor.layerProcesses({
          maxWorkers: 1,
          env: { ...process.env, EFFECT_FUTURES_PROBE: "probe" },
          execArgv: ["--stack-size=900"],
          cwd: os.tmpdir(),
          resourceLimits: { maxOldGenerationSizeMb: 64 }
        })
      )
    )
  )

  it.live("children inherit this process's Node flags by default, and keep them when execArgv adds more", () =>
    Effect.gen(function* () {
      const flagsOf = (options: Executor.ProcessOptions) =>
        withParentFlag(
          "--no-deprecation",
          Effect.scoped(
            Effect.gen(function* () {
              const context = yield* Layer.build(Executor.layerProcesses({ maxWorkers: 1, ...options }))
              return yield* Effect.flatMap(Executor.submit(environment, "PATH"), (f) => Future.result(f)).pipe(
                Effect.provideContext(context)
              )
            })
          )
        ).pipe(Effect.map((seen) => seen.execArgv))
      const inherited = yield* flagsOf({})
      assert.deepStrictEqual(inherited, [...process.execArgv, "--no-deprecation"])
      const added = yield* flagsOf({ execArgv: ["--stack-size=900"] })
      assert.deepStrictEqual(added, [...process.execArgv, "--no-deprecation", "--stack-size=900"])
    })
  )

  it.live("resourceLimits become V8 flags after execArgv, so they win; codeRangeSizeMb is refused", () =>
    Effect.gen(function* () {
      const seen = yield* yield* Executor.submit(environment, "PATH")
      assert.deepStrictEqual(seen.execArgv.slice(process.execArgv.length), [
        "--max-old-space-size=100",
        "--max-old-space-size=65",
        "--max-semi-space-size=5",
        "--stack-size=320"
      ])
      const code = yield* build({ resourceLimits: { codeRangeSizeMb: 16 } })
      assert.strictEqual(code.option, "resourceLimits.codeRangeSizeMb")
      assert.include(code.expected, "unset for child processes")
      const tiny = yield* build({ resourceLimits: { stackSizeMb: 0.1 } })
      assert.strictEqual(tiny.option, "resourceLimits.stackSizeMb")
      if (fs.existsSync("/proc/self/limits")) {
        // Deeper than the OS lets the main thread grow (8 MB by default): a recursion would crash, not throw.
        const huge = yield* build({ resourceLimits: { stackSizeMb: 1024 * 1024 } })
        assert.strictEqual(huge.option, "resourceLimits.stackSizeMb")
        assert.include(huge.expected, "the OS's stack limit")
      }
    }).pipe(
      Effect.provide(
        Executor.layerProcesses({
          maxWorkers: 1,
          execArgv: ["--max-old-space-size=100"],
          // Fractions are rounded up: V8's flags take whole megabytes.
          resourceLimits: { maxOldGenerationSizeMb: 64.5, maxYoungGenerationSizeMb: 14, stackSizeMb: 0.5 }
        })
      )
    )
  )

  it.live("each child is started with <name>-<workerId> as its argument, so ps tells the pools apart", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* yield* Executor.submit(workerArgv, 0), ["isolated-1"])
    }).pipe(Effect.provide(Executor.layerProcesses({ maxWorkers: 1, name: "isolated" })))
  )

  it.live("a child that ignores SIGTERM and hangs on exit does not hold up shutdown, and is gone after it", () =>
    Effect.gen(function* () {
      const pid = yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(Executor.layerProcesses({ maxWorkers: 1 }))
          const worker = yield* Effect.flatMap(Executor.submit(whichWorker, 0), (f) => Future.result(f)).pipe(
            Effect.provideContext(context)
          )
          const future = yield* Executor.submit(stubborn, 1).pipe(Effect.provideContext(context))
          assert.strictEqual(yield* future, 1)
          const pid = Number(worker.split(":")[0])
          assert.isTrue(alive(pid))
          return pid
        })
      )
      // The scope closed only once the child had exited (and was reaped): its pid is dead now, not eventually.
      assert.isFalse(alive(pid), `child ${pid} is still alive`)
    })
  )

  it.live.each(["close", "idle"] as const)(
    "a child stopped (%s) exits on its own: all it wrote just before reaches the parent's stdout and stderr",
    (mode) =>
      Effect.gen(function* () {
        // 1 MB each way: far more than a pipe holds, so it is still being written when the child is stopped.
        const size = 1_000_000
        const { stdout, stderr, code } = yield* Effect.callback<{
          stdout: string
          stderr: string
          code: number | null
        }>((resume) => {
          const parent = spawn(
            process.execPath,
            [fileURLToPath(new URL("./fixtures/lastWordsParent.ts", import.meta.url)), mode, String(size)],
            { stdio: ["ignore", "pipe", "pipe"] }
          )
          let stdout = ""
          let stderr = ""
          parent.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
          parent.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
          parent.on("close", (code) => resume(Effect.succeed({ stdout, stderr, code })))
          return Effect.sync(() => parent.kill("SIGKILL"))
        })
        assert.strictEqual(code, 0, stderr.slice(-2000))
        /** How much of what the child wrote to a stream arrived: its run of `char`s, and its last line or not. */
        const arrived = (text: string, char: string, line: string) => ({
          bytes: Math.max(0, ...(text.match(new RegExp(`${char}+`, "g")) ?? []).map((run) => run.length)),
          lastLine: text.includes(`\n${line}\n`)
        })
        assert.deepStrictEqual(arrived(stdout, "o", "last words on stdout"), { bytes: size, lastLine: true }, "stdout")
        assert.deepStrictEqual(arrived(stderr, "e", "last words on stderr"), { bytes: size, lastLine: true }, "stderr")
      }),
    30_000
  )

  it.live("children exit when the application is SIGKILLed, even one stuck in a synchronous loop", () =>
    Effect.gen(function* () {
      const board = yield* makeBoard
      const heartbeat = heartbeatFile()
      const parent = spawn(
        process.execPath,
        [fileURLToPath(new URL("./fixtures/orphanParent.ts", import.meta.url)), board.address, heartbeat],
        { stdio: ["ignore", "ignore", "inherit"] }
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => parent.kill("SIGKILL")))
      yield* board.started(0)
      const [waitingPid] = board.records()
      // Each read of the heartbeat may catch a write halfway (no pid): wait for one that names the spinner.
      let spinningPid = 0
      yield* eventually(Effect.sync(() => (spinningPid = spinnerPid(heartbeat)) > 0))
      assert.isTrue(alive(waitingPid), `the waiting child ${waitingPid} runs`)
      assert.isTrue(alive(spinningPid), `the spinning child ${spinningPid} runs`)
      parent.kill("SIGKILL")
      yield* eventually(Effect.sync(() => !alive(waitingPid) && !alive(spinningPid)))
    })
  )

  it.live(
    "is crash and memory isolation, not a sandbox: a task reads files and can kill its parent; the docs say so",
    () =>
      Effect.gen(function* () {
        const secret = path.join(os.tmpdir(), `effect-futures-secret-${process.pid}`)
        fs.writeFileSync(secret, "the parent's data")
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(secret, { force: true })))
        const read = yield* Effect.flatMap(Executor.submit(readText, secret), (f) => Future.result(f)).pipe(
          Effect.provide(Executor.layerProcesses({ maxWorkers: 1 }))
        )
        assert.strictEqual(read, "the parent's data")
        assert.deepStrictEqual(yield* runKillerParent("processes", "parent"), { code: null, signal: "SIGTERM" })
        // So the docs must not offer it for untrusted code: wherever they speak of untrusted code, they say it is not a
        // sandbox, and what to use instead.
        const paragraphs = docParagraphs()
        const untrusted = paragraphs.filter((paragraph) => /untrusted/i.test(paragraph))
        assert.isNotEmpty(untrusted)
        for (const paragraph of untrusted) assert.match(paragraph, /not a sandbox/i, paragraph)
        assert.isTrue(
          untrusted.some((paragraph) => /container|virtual machine|\bVM\b/.test(paragraph)),
          "the docs say what to use for untrusted code"
        )
      })
  )

  it.live("rejects bad process options with InvalidOptions", () =>
    Effect.gen(function* () {
      const execArgv = yield* build({ execArgv: "--inspect" as never })
      assert.strictEqual(execArgv.option, "execArgv")
      const notStrings = yield* build({ execArgv: ["--inspect", 9229] as never })
      assert.strictEqual(notStrings.option, "execArgv")
      const env = yield* build({ env: "NODE_ENV=production" as never })
      assert.strictEqual(env.option, "env")
      const envValue = yield* build({ env: { PATH: process.env.PATH, WORKERS: 4 } as never })
      assert.strictEqual(envValue.option, "env.WORKERS")
      assert.strictEqual(envValue.expected, "a string")
      assert.strictEqual(envValue.received, "4")
      const missing = path.join(os.tmpdir(), `effect-futures-no-such-dir-${process.pid}`)
      const cwd = yield* build({ cwd: missing })
      assert.strictEqual(cwd.option, "cwd")
      assert.strictEqual(
        cwd.message,
        `Expected \`cwd\` to be an existing directory, got "${missing}", which does not exist`
      )
      const file = yield* build({ cwd: fileURLToPath(import.meta.url) })
      assert.strictEqual(file.option, "cwd")
      assert.include(file.received, "which is not a directory")
      const empty = yield* build({ cwd: "" })
      assert.strictEqual(empty.option, "cwd")
      const misspelled = yield* build({ maxWorkers: 1, execArg: ["--no-warnings"] } as never)
      assert.strictEqual(misspelled.option, "execArg")
      assert.include(misspelled.expected, "an option of layerProcesses (did you mean `execArgv`?)")
      assert.include(misspelled.expected, "cwd")
    })
  )
})

describe("layerProcesses: a cancelled task stuck in synchronous code", () => {
  /** A process's nice value (Linux). */
  const nice = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[16])

  it.live.skipIf(!fs.existsSync("/proc/thread-self"))(
    "its child goes to the background until the grace period ends; the next task runs on a replacement",
    () =>
      Effect.gen(function* () {
        const heartbeat = heartbeatFile()
        const spinning = yield* Executor.submit(spin, heartbeat)
        yield* eventually(Effect.sync(() => beats(heartbeat) > 0))
        const pid = spinnerPid(heartbeat)
        assert.strictEqual(nice(pid), 0)
        yield* Future.interrupt(spinning)
        yield* eventually(Effect.sync(() => nice(pid) === 19))
        assert.isTrue(alive(pid), "still within its grace period")
        const next = yield* Effect.flatMap(Executor.submit(whichWorker, 0), (f) => Future.result(f))
        assert.notInclude(next, `${pid}:`)
      }).pipe(Effect.provide(Executor.layerProcesses({ maxWorkers: 1, interruptGracePeriod: stuckForTheTest })))
  )
})
