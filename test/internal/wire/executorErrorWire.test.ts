/**
 * The wire form of executor errors comes from their Schema, both ways: what a worker (or a cluster runner, through
 * the client) reports per task is encoded by `executorErrorToWire` and restored as an instance of its class by
 * `decodeExit`. The errors a worker never reports per task have no wire form.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Exit from "effect/Exit"
import * as ExecutorError from "../../../src/ExecutorError.ts"
import { isExecutorError } from "../../../src/internal/cluster/remoteTask.ts"
import { decodeExit, executorErrorToWire } from "../../../src/internal/wire/codec.ts"
import { double } from "../../fixtures/tasks.ts"

const reported = [
  new ExecutorError.TaskDefect({ errorName: "RangeError", message: "too far", workerStack: "at f (x.ts:1)" }),
  new ExecutorError.EncodeError({ task: "double", which: "success", message: "Expected number" }),
  new ExecutorError.DecodeError({ task: "double", which: "payload", message: "Expected number" }),
  new ExecutorError.TaskLoadError({ module: "file:///x.ts", task: "double", message: "no such task" })
]

const notReported = [
  new ExecutorError.WorkerCrashed({ workerId: 1, exitCode: 1, signal: null, oom: false, message: "exited" }),
  new ExecutorError.BrokenExecutor({ message: "broken" }),
  new ExecutorError.ExecutorShutdown({ message: "shut down" }),
  new ExecutorError.ClusterUnavailable({ task: "double", waited: 5, message: "no runner" })
]

describe("executor errors on the wire", () => {
  it("encodes each error a worker reports as plain fields, and decodes it back to an instance of its class", () => {
    for (const error of reported) {
      const wire = executorErrorToWire(error)
      assert.isDefined(wire, error._tag)
      assert.deepStrictEqual(Object.getPrototypeOf(wire), Object.prototype, `${error._tag}: a plain object`)
      assert.strictEqual(wire!._tag, error._tag)
      const exit = decodeExit(double, { _tag: "ExecutorError", error: structuredClone(wire!) })
      assert.isTrue(Exit.isFailure(exit))
      const decoded = (exit as Exit.Failure<unknown, unknown>).cause.reasons[0]
      assert.strictEqual(decoded?._tag, "Fail")
      const back = (decoded as { readonly error: unknown }).error
      assert.instanceOf(back, error.constructor as new (...args: Array<never>) => unknown)
      assert.deepStrictEqual({ ...(back as object) }, { ...(error as object) })
    }
  })

  it("has no wire form for the errors a worker never reports per task", () => {
    for (const error of notReported) assert.isUndefined(executorErrorToWire(error), error._tag)
  })

  it("recognises every executor error by its Schema, and nothing that only looks like one", () => {
    for (const error of [...reported, ...notReported]) assert.isTrue(isExecutorError(error), error._tag)
    assert.isFalse(isExecutorError({ _tag: "TaskDefect", errorName: "E", message: "m", workerStack: "" }))
    assert.isFalse(isExecutorError(new Error("plain")))
    assert.isFalse(isExecutorError(new ExecutorError.QueueFull({ maxQueue: 1 })))
  })
})
