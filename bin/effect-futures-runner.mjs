#!/usr/bin/env node
// The runner CLI (src/internal/cluster/cli.ts). Installed as a dependency (under node_modules, where Node does not
// strip TypeScript) it runs the compiled dist/; in a checkout it runs the source, so a stale dist/ is never used
// (Node >= 22.18 runs TypeScript; npm scripts and npx put the pinned Node 24 on the PATH).
import { fileURLToPath } from "node:url"

const installed = fileURLToPath(import.meta.url)
  .split(/[\\/]/)
  .includes("node_modules")
const cli = await import(
  installed ? "../dist/internal/cluster/cli.js" : new URL("../src/internal/cluster/cli.ts", import.meta.url).href
)
cli.main(process.argv.slice(2))
