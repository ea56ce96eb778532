#!/usr/bin/env node
// The runner CLI (src/internal/cluster/cli.ts): the built file when the package is installed, the source in a
// checkout (Node >= 22.18 runs TypeScript; npm scripts and npx put the pinned Node 24 on the PATH).
import { existsSync } from "node:fs"

const built = new URL("../dist/internal/cluster/cli.js", import.meta.url)
const cli = await import(
  existsSync(built) ? built.href : new URL("../src/internal/cluster/cli.ts", import.meta.url).href
)
cli.main(process.argv.slice(2))
