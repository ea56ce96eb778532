import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Worker-backed suites spawn real threads and processes; on a 2-core machine running every file in parallel only
    // adds contention, so files run two at a time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
