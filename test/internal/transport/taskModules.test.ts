/**
 * The one task loader (workers of local pools and of cluster runners): which exports count as a module's tasks, and
 * the `TaskLoadError` messages for a module that does not import or has no such task.
 */
import { assert, describe, it } from "@effect/vitest"
import * as TaskModules from "../../../src/internal/transport/taskModules.ts"
import * as Tasks from "../../fixtures/tasks.ts"
import { double } from "../../fixtures/tasks.ts"

const tasksUrl = new URL("../../fixtures/tasks.ts", import.meta.url).href

describe("task modules", () => {
  it("finds a module's own tasks by name, and not a task it re-exports from another module", () => {
    const foreign = { ...double, module: "file:///elsewhere.ts", name: "foreign" }
    const tasks = TaskModules.tasksOf(double.module, { double, foreign, notATask: 1 })
    assert.deepStrictEqual([...tasks.keys()], ["double"])
    assert.strictEqual(TaskModules.findTask(tasks, "double"), double)
  })

  it("names the tasks it found when the one asked for is missing", () => {
    const tasks = TaskModules.tasksOf(double.module, { double })
    assert.strictEqual(
      TaskModules.findTask(tasks, "triple"),
      `the module exports no task named "triple" (tasks found: double)`
    )
    assert.strictEqual(
      TaskModules.findTask(new Map(), "triple"),
      `the module exports no task named "triple" (tasks found: none)`
    )
  })

  it("imports a module by URL, and reports a module that fails to import as a message", async () => {
    const loaded = await TaskModules.importTaskModule(tasksUrl)
    assert.strictEqual(TaskModules.findTask(loaded, "double"), Tasks.double)
    const missing = await TaskModules.importTaskModule("file:///no/such/module.ts")
    const message = TaskModules.findTask(missing, "double")
    assert.isString(message)
    assert.match(message as string, /^the module failed to import: Error: Cannot find module/)
  })
})
