/**
 * What a runner makes of a request before anything runs (`checkRequest`), check by check and in order: the tag, the
 * body, the request and entity the body names, replay, then the allowlist. Table-driven, no cluster.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "../../../src/internal/cluster/auth.ts"
import type { Allowlist } from "../../../src/internal/cluster/allowlist.ts"
import { checkRequest } from "../../../src/internal/cluster/runner.ts"

const key = Auth.keyOf("a secret of at least sixteen bytes") as Auth.SecretKey
const allowlist: Allowlist = {
  check: (module) => (module.startsWith("file:///app/") ? undefined : "not under the runner's modules"),
  entries: ["file:///app/"]
}
const now = 1_000_000
const address = { entityType: "Task", entityId: "3" }

const bodyOf = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "client-1",
    entityType: "Task",
    entityId: "3",
    issuedAt: now,
    module: "file:///app/tasks.js",
    task: "double",
    chunk: false,
    payload: 21,
    ...overrides
  })

const requestOf = (body: string, tag = Auth.signRequest(key, body), id = "client-1") =>
  ({ payload: { id, body, tag }, address }) as unknown as Parameters<typeof checkRequest>[2]

const check = (request: Parameters<typeof checkRequest>[2], withKey = true) =>
  checkRequest({ key: withKey ? key : undefined, allowlist }, Auth.makeReplayStore(60_000, 60_000), request, now)

describe("checkRequest", () => {
  it("admits a signed, well-addressed, fresh request for an allowed module", () => {
    const verdict = check(requestOf(bodyOf()))
    assert.strictEqual(verdict._tag, "Admitted")
  })

  it("refuses, in order, naming the task the body claims", () => {
    const cases: ReadonlyArray<readonly [string, Parameters<typeof checkRequest>[2], string, string]> = [
      ["a bad tag", requestOf(bodyOf(), "not-the-tag"), "double", "its tag does not verify with the runner's secret"],
      ["a body that is not JSON", requestOf("{"), "(unknown)", "its body is not JSON"],
      [
        "a body moved to another entity",
        requestOf(bodyOf({ entityId: "4" })),
        "double",
        "its body was addressed to another request or entity"
      ],
      [
        "a body of another request",
        requestOf(bodyOf(), undefined, "client-2"),
        "double",
        "its body was addressed to another request or entity"
      ]
    ]
    for (const [name, request, task, reason] of cases) {
      assert.deepStrictEqual(check(request), { _tag: "Refused", task, reason }, name)
    }
  })

  it("refuses a replayed id, and admits it again once forgotten", () => {
    const replays = Auth.makeReplayStore(60_000, 60_000)
    const request = requestOf(bodyOf())
    const options = { key, allowlist }
    assert.strictEqual(checkRequest(options, replays, request, now)._tag, "Admitted")
    assert.strictEqual(checkRequest(options, replays, request, now)._tag, "Refused")
    replays.forget("client-1")
    assert.strictEqual(checkRequest(options, replays, request, now)._tag, "Admitted")
  })

  it("checks the allowlist only after authentication, and not at all for a refused request", () => {
    const outside = bodyOf({ module: "file:///elsewhere/tasks.js" })
    const verdict = check(requestOf(outside))
    assert.strictEqual(verdict._tag, "NotAllowed")
    assert.strictEqual(verdict._tag === "NotAllowed" && verdict.reason, "not under the runner's modules")
    assert.strictEqual(check(requestOf(outside, "bad"))._tag, "Refused")
  })

  it("without a secret, checks neither tag nor replay", () => {
    const request = requestOf(bodyOf(), "")
    const replays = Auth.makeReplayStore(60_000, 60_000)
    const options = { key: undefined, allowlist }
    assert.strictEqual(checkRequest(options, replays, request, now)._tag, "Admitted")
    assert.strictEqual(checkRequest(options, replays, request, now)._tag, "Admitted")
  })
})
