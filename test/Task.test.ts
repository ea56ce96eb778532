/**
 * Task definitions: what `Task.make` accepts and the clear errors it throws for what it does not.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ExecutorError, Task } from "../src/index.ts"

const module = "file:///virtual/tasks.ts"

const invalid = (define: () => unknown): ExecutorError.InvalidTask => {
  try {
    define()
  } catch (error) {
    assert.instanceOf(error, ExecutorError.InvalidTask)
    return error as ExecutorError.InvalidTask
  }
  assert.fail("expected Task.make to throw InvalidTask")
}

describe("Task.make", () => {
  it("builds a task that carries its name, module and Schemas", () => {
    const task = Task.make("square", {
      module,
      payload: Schema.Number,
      success: Schema.Number,
      run: (n) => Effect.succeed(n * n)
    })
    assert.isTrue(Task.isTask(task))
    assert.strictEqual(task.name, "square")
    assert.strictEqual(task.module, module)
    assert.strictEqual(task.error, Schema.Never, "a task without `error` cannot fail with a typed error")
    assert.strictEqual(String(task), `Task(square @ ${module})`)
    assert.deepStrictEqual(JSON.parse(JSON.stringify(task)), { _id: "Task", name: "square", module })
    assert.strictEqual(
      task.pipe((t) => t.name),
      "square"
    )
  })

  it("rejects a task without a module, naming the fix", () => {
    const error = invalid(() =>
      Task.make("nomodule", { module: "", payload: Schema.Number, success: Schema.Number, run: Effect.succeed })
    )
    assert.strictEqual(error.task, "nomodule")
    assert.include(error.message, "import.meta.url")
  })

  it("rejects a duplicate name within one module", () => {
    Task.make("twice", { module, payload: Schema.Number, success: Schema.Number, run: Effect.succeed })
    const error = invalid(() =>
      Task.make("twice", { module, payload: Schema.Number, success: Schema.Number, run: Effect.succeed })
    )
    assert.include(error.message, "already defined")
    // The same name in another module is a different task.
    Task.make("twice", {
      module: "file:///virtual/other.ts",
      payload: Schema.Number,
      success: Schema.Number,
      run: Effect.succeed
    })
  })

  it("rejects fields that are not Schemas, a missing run and an empty name", () => {
    assert.include(
      invalid(() => Task.make("p", { module, payload: Number as never, success: Schema.Number, run: Effect.succeed }))
        .message,
      "`payload` to be a Schema"
    )
    assert.include(
      invalid(() =>
        Task.make("s", { module, payload: Schema.Number, success: {} as never, run: Effect.succeed as never })
      ).message,
      "`success` to be a Schema"
    )
    assert.include(
      invalid(() =>
        Task.make("e", {
          module,
          payload: Schema.Number,
          success: Schema.Number,
          error: "Boom" as never,
          run: Effect.succeed
        })
      ).message,
      "`error` to be a Schema"
    )
    assert.include(
      invalid(() => Task.make("r", { module, payload: Schema.Number, success: Schema.Number, run: 42 as never }))
        .message,
      "`run` to be a function"
    )
    assert.include(
      invalid(() => Task.make("", { module, payload: Schema.Number, success: Schema.Number, run: Effect.succeed }))
        .message,
      "non-empty string"
    )
  })

  it("isTask tells tasks from look-alikes", () => {
    assert.isFalse(Task.isTask({ name: "fib", module }))
    assert.isFalse(Task.isTask(null))
    assert.isFalse(Task.isTask("fib"))
  })
})

class Negative extends Schema.TaggedError<Negative>()("Negative", { n: Schema.Number }) {}

describe("Task.sync", () => {
  const squareRoot = Task.sync("syncSquareRoot", {
    module,
    payload: Schema.Number,
    success: Schema.Number,
    error: Negative,
    run: (n) => {
      if (n < 0) throw new Negative({ n })
      if (Number.isNaN(n)) throw new RangeError("NaN")
      return Math.sqrt(n)
    }
  })

  it("is a task like any other, and says it is synchronous", () => {
    assert.isTrue(Task.isTask(squareRoot))
    assert.isTrue(Task.isSync(squareRoot))
    assert.strictEqual(squareRoot.name, "syncSquareRoot")
    assert.strictEqual(squareRoot.error, Negative)
    assert.strictEqual(squareRoot.runSync(9), 3)
    assert.strictEqual(String(squareRoot), `Task(syncSquareRoot @ ${module})`)
    assert.isTrue(Object.isFrozen(squareRoot))
    const effectful = Task.make("notSync", {
      module,
      payload: Schema.Number,
      success: Schema.Number,
      run: Effect.succeed
    })
    assert.isFalse(Task.isSync(effectful))
  })

  it.effect("its Effect form (what the cluster and other paths run) keeps typed failures typed", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* squareRoot.run(16), 4)
      const typed = yield* Effect.flip(squareRoot.run(-1))
      assert.instanceOf(typed, Negative)
      const defect = yield* Effect.exit(squareRoot.run(NaN))
      assert.isTrue(defect._tag === "Failure" && String(defect.cause).includes("NaN"))
      let calls = 0
      const counted = Task.sync("syncCounted", {
        module,
        payload: Schema.Number,
        success: Schema.Number,
        run: (n) => (calls++, n)
      })
      const effect = counted.run(1)
      assert.strictEqual(calls, 0, "the body runs when the Effect runs, not when it is built")
      yield* effect
      yield* effect
      assert.strictEqual(calls, 2)
    })
  )

  it("rejects what Task.make rejects, and a run that is not a function", () => {
    assert.include(
      invalid(() => Task.sync("syncRun", { module, payload: Schema.Number, success: Schema.Number, run: 1 as never }))
        .message,
      "`run` to be a function returning the success value"
    )
    assert.include(invalid(() => Task.sync("syncNull", null as never)).message, "options object")
    assert.include(
      invalid(() =>
        Task.sync("syncBadError", {
          module,
          payload: Schema.Number,
          success: Schema.Number,
          error: "Boom" as never,
          run: (n) => n
        })
      ).message,
      "`error` to be a Schema"
    )
    assert.include(
      invalid(() =>
        Task.sync("syncNoModule", { module: "", payload: Schema.Number, success: Schema.Number, run: (n) => n })
      ).message,
      "import.meta.url"
    )
    assert.include(
      invalid(() =>
        Task.sync("syncSquareRoot", { module, payload: Schema.Number, success: Schema.Number, run: (n) => n })
      ).message,
      "already defined"
    )
  })
})
