/**
 * The typed errors: messages a person can act on, Schema round trips (they cross worker boundaries), and defects
 * rendered with their name, message and stack.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { ExecutorError } from "../src/index.ts"

describe("ExecutorError", () => {
  it("InvalidOptions names the option, what was expected and what was received", () => {
    const error = new ExecutorError.InvalidOptions({
      option: "maxWorkers",
      expected: "a positive integer",
      received: "0"
    })
    assert.strictEqual(error.message, "Expected `maxWorkers` to be a positive integer, got 0")
    assert.strictEqual(error._tag, "InvalidOptions")
  })

  it("QueueFull says which limit was reached", () => {
    assert.include(new ExecutorError.QueueFull({ maxQueue: 8 }).message, "maxQueue: 8")
  })

  it("every executor error survives a Schema round trip as an instance of its class", () => {
    const samples: ReadonlyArray<ExecutorError.ExecutorError> = [
      new ExecutorError.TaskDefect({ errorName: "RangeError", message: "too far", workerStack: "RangeError: too far" }),
      new ExecutorError.WorkerCrashed({
        workerId: 2,
        exitCode: null,
        signal: "SIGKILL",
        oom: false,
        message: "killed"
      }),
      new ExecutorError.BrokenExecutor({ message: "initializer failed" }),
      new ExecutorError.ExecutorShutdown({ message: "shut down" }),
      new ExecutorError.CancelledError({ message: "cancelled" }),
      new ExecutorError.EncodeError({ task: "fib", which: "payload", message: "Expected number" }),
      new ExecutorError.DecodeError({ task: "fib", which: "success", message: "Expected number" }),
      new ExecutorError.TaskLoadError({ module: "file:///x.ts", task: "fib", message: "no such module" })
    ]
    const encode = Schema.encodeUnknownSync(ExecutorError.ExecutorErrorSchema)
    const decode = Schema.decodeUnknownSync(ExecutorError.ExecutorErrorSchema)
    for (const error of samples) {
      const back = decode(structuredClone(encode(error)))
      assert.strictEqual(back.constructor, error.constructor)
      assert.deepStrictEqual({ ...back }, { ...error })
    }
  })

  it("taskDefectFrom keeps an Error's name, message and stack, and renders anything else", () => {
    const fromError = ExecutorError.taskDefectFrom(new TypeError("not a function"))
    assert.strictEqual(fromError.errorName, "TypeError")
    assert.strictEqual(fromError.message, "not a function")
    assert.include(fromError.workerStack, "ExecutorError.test.ts")
    const fromString = ExecutorError.taskDefectFrom("plain")
    assert.deepStrictEqual([fromString.errorName, fromString.message], ["string", "plain"])
    const fromObject = ExecutorError.taskDefectFrom({ code: 7 })
    assert.strictEqual(fromObject.message, '{"code":7}')
    const circular: Record<string, unknown> = {}
    circular.self = circular
    assert.strictEqual(ExecutorError.taskDefectFrom(circular).message, "[object Object]")
  })
})
