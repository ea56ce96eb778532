/**
 * Extracts every ```ts example from the JSDoc of the public modules into `doc-examples/`, one file per example, so
 * `tsc -p tsconfig.docs.json` type-checks them: examples in the docs cannot rot.
 *
 * Run by `npm run typecheck`.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const out = path.join(root, "doc-examples")
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })

let count = 0
for (const file of fs.readdirSync(path.join(root, "src"))) {
  if (!file.endsWith(".ts")) continue
  const source = fs.readFileSync(path.join(root, "src", file), "utf8")
  const fence = /\* ```ts\n([\s\S]*?)\* ```/g
  let match: RegExpExecArray | null
  while ((match = fence.exec(source)) !== null) {
    const line = source.slice(0, match.index).split("\n").length
    const body = match[1]
      .split("\n")
      .map((l) => l.replace(/^\s*\* ?/, ""))
      .join("\n")
    const name = `${path.basename(file, ".ts")}_${line}.ts`
    // Each example is a module of its own; top-level await and exports are allowed.
    fs.writeFileSync(path.join(out, name), `// ${file}:${line}\n${body}\nexport {}\n`)
    count++
  }
}
console.log(`${count} JSDoc examples extracted to doc-examples/`)
