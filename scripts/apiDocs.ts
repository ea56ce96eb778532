/**
 * Generates docs/API.md, the API reference, from the JSDoc of the public modules (`src/*.ts`), and checks that every
 * export is documented: a summary, `@since`, `@category`, and an example for functions, classes and constants.
 *
 * `node scripts/apiDocs.ts` writes the file; `--check` fails (exit 1) when an export lacks documentation or the
 * committed file is stale. TypeDoc cannot be used: it needs the TypeScript 5/6 compiler API, and this project
 * type-checks with TypeScript 7.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const modules = ["Task", "Executor", "Future", "Bridge", "ExecutorError"]

interface Entry {
  readonly name: string
  readonly kind: string
  readonly summary: string
  readonly example: string | undefined
  readonly since: string | undefined
  readonly category: string
  readonly signature: string
}

const problems: Array<string> = []

/** The declaration's head: its lines up to the one that opens the body, at most 12. */
const signatureAt = (source: string, start: number): string => {
  const lines = source.slice(start).split("\n")
  const head: Array<string> = []
  for (const line of lines.slice(0, 12)) {
    head.push(line)
    if (/(=>|[^=!<>]=|\{)\s*$/.test(line) && !/^\s*[{(<]\s*$/.test(line)) break
  }
  return head.join("\n").replace(/\s*(=>|=|\{)\s*$/, "")
}

const parseModule = (module: string): { header: string; entries: Array<Entry> } => {
  const file = `src/${module}.ts`
  const source = fs.readFileSync(path.join(root, file), "utf8")
  const header = /^\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? ""
  const entries: Array<Entry> = []
  const declaration =
    /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n(export (?:declare )?(const|class|interface|type|function) (\w+)[^\n]*)/g
  const documented = new Set<string>()
  let match: RegExpExecArray | null
  while ((match = declaration.exec(source)) !== null) {
    const [, doc, signature, kind, name] = match
    documented.add(name)
    const lines = doc.split("\n").map((l) => l.replace(/^\s*\* ?/, ""))
    const text = lines.join("\n")
    const summary = text.split(/\n@|\n```/)[0].trim()
    const example = /```ts\n([\s\S]*?)```/.exec(text)?.[1]
    const since = /@since (\S+)/.exec(text)?.[1]
    const category = /@category (.+)/.exec(text)?.[1]?.trim() ?? "other"
    if (summary.length === 0) problems.push(`${file}: ${name} has no summary`)
    if (since === undefined) problems.push(`${file}: ${name} has no @since`)
    if (!/@category/.test(text)) problems.push(`${file}: ${name} has no @category`)
    const needsExample = (kind === "const" || kind === "class" || kind === "function") && category !== "type ids"
    if (needsExample && example === undefined && !/^(.*Schema|ExecutorErrorSchema)$/.test(name)) {
      problems.push(`${file}: ${name} has no example`)
    }
    entries.push({
      name,
      kind,
      summary,
      example,
      since,
      category,
      signature: signatureAt(source, match.index + match[0].length - signature.length)
    })
  }
  // Re-exports under another name (`export { await_ as await }`) carry their JSDoc inside the braces.
  const renamed = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n\s*(\w+) as (\w+)/g
  while ((match = renamed.exec(source)) !== null) {
    const [, doc, local, name] = match
    const text = doc
      .split("\n")
      .map((l) => l.replace(/^\s*\* ?/, ""))
      .join("\n")
    entries.push({
      name,
      kind: "const",
      summary: text.split(/\n@|\n```/)[0].trim(),
      example: /```ts\n([\s\S]*?)```/.exec(text)?.[1],
      since: /@since (\S+)/.exec(text)?.[1],
      category: /@category (.+)/.exec(text)?.[1]?.trim() ?? "other",
      signature: `export { ${local} as ${name} }`
    })
  }
  for (const exported of source.matchAll(/^export (?:declare )?(?:const|class|interface|type|function) (\w+)/gm)) {
    if (!documented.has(exported[1])) problems.push(`${file}: ${exported[1]} is exported without JSDoc`)
  }
  return {
    header: header
      .split("\n")
      .map((l) => l.replace(/^\s*\* ?/, ""))
      .join("\n")
      .replace(/@since.*/, "")
      .trim(),
    entries
  }
}

const render = (): string => {
  const parts = [
    "# API reference",
    "",
    "Generated from the JSDoc in `src/` by `node scripts/apiDocs.ts`; do not edit by hand.",
    ""
  ]
  for (const module of modules) {
    const { header, entries } = parseModule(module)
    parts.push(`## ${module}`, "", header, "")
    const byCategory = new Map<string, Array<Entry>>()
    for (const entry of entries) byCategory.set(entry.category, [...(byCategory.get(entry.category) ?? []), entry])
    for (const [category, list] of [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      parts.push(`### ${category}`, "")
      for (const entry of list) {
        parts.push(`#### \`${module}.${entry.name}\``, "", entry.summary, "", "```ts", entry.signature, "```", "")
        if (entry.example !== undefined) parts.push("Example:", "", "```ts", entry.example.trimEnd(), "```", "")
        if (entry.since !== undefined) parts.push(`Since ${entry.since}`, "")
      }
    }
  }
  return parts.join("\n")
}

const target = path.join(root, "docs", "API.md")
const rendered = render()
if (problems.length > 0) {
  console.error(`API documentation problems:\n${problems.map((p) => `- ${p}`).join("\n")}`)
  process.exit(1)
}
if (process.argv.includes("--check")) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : ""
  if (current !== rendered) {
    console.error("docs/API.md is stale: run `npm run docs` and commit it")
    process.exit(1)
  }
  console.log("docs/API.md is up to date; every export is documented")
} else {
  fs.mkdirSync(path.dirname(target), { recursive: true })
  fs.writeFileSync(target, rendered)
  console.log(`wrote docs/API.md`)
}
