/**
 * The child-process executor: the shared executor and worker contracts, then what only processes can show.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import { Executor, ExecutorError, Future } from "../src/index.ts"
import { contractSuite } from "./contract.ts"
import { makeBoard } from "./fixtures/latch.ts"
import { double } from "./fixtures/tasks.ts"
import { environment, pidThenWait, stubborn } from "./fixtures/workerTasks.ts"
import { beats, eventually, heartbeatFile, spinnerPid, workerSuite } from "./workerContract.ts"

contractSuite("layerProcesses", (options) =>
  Executor.layerProcesses({
    maxWorkers: options.workers,
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.onFull !== undefined ? { onFull: options.onFull } : {})
  })
)

workerSuite("layerProcesses", (options) => Executor.layerProcesses(options))

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie (exited, not yet reaped by whoever adopted it) counts as gone.
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

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

  it.live("env, execArgv and cwd reach the children", () =>
    Effect.gen(function* () {
      const seen = yield* yield* Executor.submit(environment, "EFFECT_FUTURES_PROBE")
      assert.strictEqual(seen.value, "probe")
      assert.strictEqual(seen.cwd, os.tmpdir())
      assert.include(seen.execArgv, "--stack-size=900")
      assert.include(seen.execArgv, "--max-old-space-size=64")
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

  it.live("a child that ignores SIGTERM and hangs on exit does not hold up shutdown", () =>
    Effect.gen(function* () {
      yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(Executor.layerProcesses({ maxWorkers: 1 }))
          const future = yield* Executor.submit(stubborn, 1).pipe(Effect.provideContext(context))
          assert.strictEqual(yield* future, 1)
        })
      )
    })
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
      yield* eventually(Effect.sync(() => beats(heartbeat) > 0))
      const spinningPid = spinnerPid(heartbeat)
      assert.isTrue(alive(waitingPid) && alive(spinningPid))
      parent.kill("SIGKILL")
      yield* eventually(Effect.sync(() => !alive(waitingPid) && !alive(spinningPid)))
    })
  )

  it.live("rejects bad process options with InvalidOptions", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(Executor.layerProcesses({ execArgv: "--inspect" as never })))
      )
      assert.strictEqual(error.option, "execArgv")
    })
  )
})
