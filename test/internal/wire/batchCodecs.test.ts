/**
 * The batch codecs' fast paths (`wire/codec.ts`): each must give exactly what the Schema's own parser gives, or step
 * aside and let the parser decide.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ExecutorError, Task } from "../../../src/index.ts"
import {
  codecsOf,
  decodeChunk,
  encodePayloads,
  packPayloads,
  unpackPayloads
} from "../../../src/internal/wire/codec.ts"
import { runChunkEncoded } from "../../../src/internal/wire/run.ts"

const module = "file:///virtual/codecTasks.ts"
const Point = Schema.Struct({ name: Schema.String, x: Schema.Number, y: Schema.Number })
const points = Task.sync("codecPoints", { module, payload: Point, success: Point, run: (p) => p })
const numbers = Task.sync("codecNumbers", { module, payload: Schema.Finite, success: Schema.Number, run: (n) => n })

class PointClass {
  readonly name: string
  readonly x: number
  readonly y: number
  constructor(name: string, x: number, y: number) {
    this.name = name
    this.x = x
    this.y = y
  }
}

describe("batch codecs", () => {
  it("a struct of bare primitives is copied as the parser would encode it, or left to the parser", () => {
    const { payloadCopy, encodePayload } = codecsOf(points)
    assert.isDefined(payloadCopy)
    const inputs: Array<unknown> = [
      { name: "a", x: 1, y: 2 },
      { y: -0, x: NaN, name: "", extra: "dropped" },
      { name: "a", x: "1", y: 2 },
      { name: "a", x: 1 },
      new PointClass("c", 1, 2),
      Object.assign(Object.create({ y: 3 }), { name: "d", x: 1 }),
      null,
      [1, 2, 3]
    ]
    for (const input of inputs) {
      const parsed = encodePayload(input)
      const copied = payloadCopy!(input)
      if (copied !== undefined) {
        assert.isTrue(Exit.isSuccess(parsed), `the parser accepts what the copy accepts: ${JSON.stringify(input)}`)
        assert.deepStrictEqual(copied, (parsed as Exit.Success<unknown>).value)
        assert.deepStrictEqual(Object.keys(copied), ["name", "x", "y"], "the Schema's keys, in its order")
        assert.notStrictEqual(copied, input)
      }
    }
    assert.isDefined(payloadCopy!(inputs[0]))
    assert.isDefined(payloadCopy!(inputs[1]))
    for (const refused of inputs.slice(2)) assert.isUndefined(payloadCopy!(refused), JSON.stringify(refused))
    // A struct with a check, an optional key or a transformation gets no copy: the parser does it all.
    for (const schema of [
      Schema.Struct({ x: Schema.Finite }),
      Schema.Struct({ x: Schema.optional(Schema.Number) }),
      Schema.Struct({ x: Schema.NumberFromString })
    ]) {
      const task = Task.sync(`codecNoCopy${schema.ast.propertySignatures[0].type._tag}${Math.random()}`, {
        module,
        payload: schema,
        success: Schema.Number,
        run: () => 1
      })
      assert.isUndefined(codecsOf(task).payloadCopy)
    }
  })

  it("a batch with an object the copy refuses fails with the parser's EncodeError", () => {
    const encoded = encodePayloads(points, [
      { name: "a", x: 1, y: 2 },
      { name: "b", x: "2", y: 3 }
    ])
    assert.isTrue(Result.isFailure(encoded))
    const error = (encoded as Result.Failure<unknown, ExecutorError.EncodeError>).failure
    assert.instanceOf(error, ExecutorError.EncodeError)
    assert.include(error.message, "Expected number")
  })

  it.effect(
    "a record whose field throws when read is the parser's EncodeError both ways, not a throw or a defect",
    () =>
      Effect.gen(function* () {
        // A plain object (a getter, or a Proxy over one) whose read throws: the parser reports it as an EncodeError.
        const throwing = (): { name: string; x: number; y: number } =>
          Object.defineProperty({ name: "a", x: 0, y: 2 }, "x", {
            enumerable: true,
            get: () => {
              throw new Error("unreadable x")
            }
          })
        const encoded = encodePayloads(points, [{ name: "ok", x: 1, y: 2 }, throwing()])
        assert.isTrue(Result.isFailure(encoded))
        assert.instanceOf((encoded as Result.Failure<unknown, unknown>).failure, ExecutorError.EncodeError)
        const unreadable = Task.sync("codecUnreadable", {
          module,
          payload: Schema.Number,
          success: Point,
          run: throwing
        })
        const result = yield* Effect.exit(runChunkEncoded(unreadable, [1]))
        assert.isTrue(Exit.isSuccess(result), "the chunk answers; it does not die (a worker would answer Interrupted)")
        const failure = (result as Exit.Success<{ failure: unknown }>).value.failure
        assert.deepInclude(failure, { _tag: "ExecutorError" })
        assert.deepInclude((failure as { error: unknown }).error, { _tag: "EncodeError", which: "success" })
      })
  )

  it("numbers (checked ones too) are packed into a Float64Array and unpacked into a plain array", () => {
    const encoded = encodePayloads(numbers, [1, -0, 2.5])
    assert.isTrue(Result.isSuccess(encoded))
    const packed = (encoded as Result.Success<ArrayLike<unknown>, unknown>).success
    assert.instanceOf(packed, Float64Array)
    assert.isTrue(Result.isFailure(encodePayloads(numbers, [1, Infinity])), "the check still runs")
    const batch = decodeChunk(numbers, { values: new Float64Array([3, -0]), failure: undefined })
    assert.isTrue(Array.isArray(batch.values))
    assert.isTrue(Object.is(batch.values[1], -0))
  })

  it.effect("a chunk of numbers runs from a Float64Array and answers one, -0 kept both ways", () =>
    Effect.gen(function* () {
      const encoded = encodePayloads(numbers, [-0, 7])
      assert.isTrue(Result.isSuccess(encoded))
      const result = yield* runChunkEncoded(numbers, (encoded as Result.Success<ArrayLike<unknown>, unknown>).success)
      assert.instanceOf(result.values, Float64Array)
      assert.isUndefined(result.failure)
      const batch = decodeChunk(numbers, result)
      assert.deepStrictEqual(batch.values, [-0, 7])
      assert.isTrue(Object.is(batch.values[0], -0))
    })
  )

  it.effect("records of primitives cross as columns: payloads to the worker, results back, records again", () =>
    Effect.gen(function* () {
      const inputs = [
        { name: "a", x: -0, y: NaN },
        { name: "b", x: 2, y: 3 }
      ]
      const encoded = encodePayloads(points, inputs)
      assert.isTrue(Result.isSuccess(encoded))
      const packed = packPayloads(points, (encoded as Result.Success<ArrayLike<unknown>, unknown>).success)
      assert.deepInclude(packed, { _tag: "Columns", length: 2, keys: ["name", "x", "y"] })
      assert.deepStrictEqual(unpackPayloads(packed), inputs)
      const result = yield* runChunkEncoded(points, packed)
      assert.deepInclude(result.values, { _tag: "Columns", length: 2 })
      const batch = decodeChunk(points, result)
      assert.deepStrictEqual(batch.values, inputs)
      assert.isTrue(Object.is((batch.values[0] as { x: number }).x, -0))
      // Any other Schema's payloads go as they are.
      const plain = [1, 2]
      assert.strictEqual(
        packPayloads(
          Task.sync("codecPlain", { module, payload: Schema.Unknown, success: Schema.Unknown, run: (u) => u }),
          plain
        ),
        plain
      )
    })
  )
})
