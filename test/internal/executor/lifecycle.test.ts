/**
 * The lifecycle union shared by the core and the pool (`internal/executor/lifecycle.ts`): each transition from each state.
 */
import { assert, describe, it } from "@effect/vitest"
import { BrokenExecutor } from "../../../src/ExecutorError.ts"
import * as Lifecycle from "../../../src/internal/executor/lifecycle.ts"

type L = Lifecycle.Lifecycle<string>

const first = new BrokenExecutor({ message: "first" })
const second = new BrokenExecutor({ message: "second" })

const open: L = Lifecycle.open
const draining: L = { _tag: "Draining", waiter: "w" }
const broken: L = { _tag: "Broken", error: first, waiter: undefined }
const closed: L = { _tag: "Closed", error: undefined }
const closedBroken: L = { _tag: "Closed", error: first }

describe("Lifecycle", () => {
  it("only Open takes work; brokenBy survives closing", () => {
    assert.deepStrictEqual(
      [open, draining, broken, closed, closedBroken].map((s) => [Lifecycle.isOpen(s), Lifecycle.brokenBy(s)]),
      [
        [true, undefined],
        [false, undefined],
        [false, first],
        [false, undefined],
        [false, first]
      ]
    )
  })

  const cases: ReadonlyArray<readonly [string, L, (s: L) => L | undefined, L | undefined]> = [
    ["drain from Open", open, (s) => Lifecycle.drain(s, "w"), { _tag: "Draining", waiter: "w" }],
    [
      "drain from Broken keeps the error, takes the waiter",
      broken,
      (s) => Lifecycle.drain(s, "w"),
      { _tag: "Broken", error: first, waiter: "w" }
    ],
    ["drain from Closed: unchanged", closed, (s) => Lifecycle.drain(s, "w"), closed],
    [
      "breakWith from Open",
      open,
      (s) => Lifecycle.breakWith(s, second),
      { _tag: "Broken", error: second, waiter: undefined }
    ],
    [
      "breakWith from Draining keeps the waiter",
      draining,
      (s) => Lifecycle.breakWith(s, second),
      { _tag: "Broken", error: second, waiter: "w" }
    ],
    [
      "breakWith from Broken: refused, the first cause counts",
      broken,
      (s) => Lifecycle.breakWith(s, second),
      undefined
    ],
    [
      "breakWith from Closed remembers the error",
      closed,
      (s) => Lifecycle.breakWith(s, second),
      { _tag: "Closed", error: second }
    ],
    ["breakWith from Closed after breaking: refused", closedBroken, (s) => Lifecycle.breakWith(s, second), undefined],
    ["close from Draining", draining, Lifecycle.close, closed],
    ["close from Broken keeps why", broken, Lifecycle.close, closedBroken],
    ["close from Closed: unchanged", closedBroken, Lifecycle.close, closedBroken]
  ]
  for (const [name, from, run, to] of cases) {
    it(name, () => assert.deepStrictEqual(run(from), to))
  }

  it("waiter: only Draining and Broken have one", () => {
    assert.strictEqual(Lifecycle.waiter(draining), "w")
    assert.strictEqual(Lifecycle.waiter({ _tag: "Broken", error: first, waiter: "x" }), "x")
    assert.isUndefined(Lifecycle.waiter(open))
    assert.isUndefined(Lifecycle.waiter(closed))
  })
})
