/**
 * What a child process's last stderr line says about its death: the error it had no 'error' event for.
 */
import { assert, describe, it } from "@effect/vitest"
import { errorFromLine } from "../../../src/internal/transport/processTransport.ts"

describe("a child's last error line", () => {
  it("becomes an Error with the line's name and message", () => {
    const error = errorFromLine("RangeError: Maximum call stack size exceeded")
    assert.instanceOf(error, Error)
    assert.strictEqual(error.name, "RangeError")
    assert.strictEqual(error.message, "Maximum call stack size exceeded")
  })

  it("keeps the name when the line carries a code in brackets after it", () => {
    const error = errorFromLine("TypeError [ERR_INVALID_ARG_TYPE]: The argument must be a string")
    assert.strictEqual(error.name, "TypeError")
    assert.strictEqual(error.message, "The argument must be a string")
  })

  it("takes a bare error name as the name, with an empty message", () => {
    const error = errorFromLine("Error")
    assert.strictEqual(error.name, "Error")
    assert.strictEqual(error.message, "")
  })
})
