/**
 * Generates docs/API.md, the API reference, from the JSDoc of the public modules (`src/*.ts`), and checks that every
 * export is documented: a summary, `@since`, `@category`, and an example for functions, classes and constants.
 *
 * `node scripts/apiDocs.ts` writes the file; `--check` fails (exit 1) when an export lacks documentation or a
 * signature, or the committed file is stale. TypeDoc cannot be used: it needs the TypeScript 5/6 compiler API, and
 * this project type-checks with TypeScript 7. Signatures come from TypeScript 7's own API instead
 * (`typescript/unstable/sync`, which parses and type-checks in the bundled `tsgo`): each export's declaration as
 * written, up to its initializer or body — a `dual`'s overloads, a multi-line parameter list, an interface's members.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import {
  isArrowFunction,
  isClassDeclaration,
  isFunctionDeclaration,
  isIdentifier,
  isInterfaceDeclaration,
  isTypeAliasDeclaration,
  isVariableStatement,
  skipTrivia,
  SyntaxKind
} from "typescript/unstable/ast"
import type { ModifiersBase, Node, SourceFile, Statement } from "typescript/unstable/ast"
import { API } from "typescript/unstable/sync"
import type { Checker, Program } from "typescript/unstable/sync"

const root = path.resolve(import.meta.dirname, "..")
const modules = ["Task", "Executor", "Future", "Bridge", "ExecutorError", "Cluster"]

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

const api = new API({ cwd: root })
const snapshot = api.updateSnapshot({ openProjects: [path.join(root, "tsconfig.json")] })
const project = snapshot.getProjects()[0]

/** The first character of a node's own text, past the comments and whitespace the parser counts as its start. */
const startOf = (text: string, node: Node): number => skipTrivia(text, node.pos)

const isExported = (statement: Statement): boolean =>
  ((statement as Partial<ModifiersBase>).modifiers ?? []).some((modifier) => modifier.kind === SyntaxKind.ExportKeyword)

const nameOf = (statement: Statement): string | undefined => {
  if (isVariableStatement(statement)) {
    const [declaration] = statement.declarationList.declarations
    return isIdentifier(declaration.name) ? declaration.name.text : undefined
  }
  if (
    isFunctionDeclaration(statement) ||
    isClassDeclaration(statement) ||
    isInterfaceDeclaration(statement) ||
    isTypeAliasDeclaration(statement)
  ) {
    return statement.name === undefined ? undefined : statement.name.text
  }
  return undefined
}

/**
 * The declaration as written, without its implementation: a `const` up to the end of its type annotation (all of a
 * `dual`'s overloads), or an arrow function up to its `=>`, or otherwise with the type the checker infers; a
 * function up to its body; a class up to its body (`{ … }` when it has members); an interface or a type alias whole.
 */
const signatureOf = (sourceFile: SourceFile, checker: Checker, statement: Statement): string => {
  const text = sourceFile.text
  const from = startOf(text, statement)
  if (isVariableStatement(statement)) {
    const [declaration] = statement.declarationList.declarations
    if (declaration.type !== undefined) return text.slice(from, declaration.type.end)
    const initializer = declaration.initializer
    if (initializer !== undefined && isArrowFunction(initializer)) {
      return text.slice(from, initializer.equalsGreaterThanToken.pos).trimEnd()
    }
    const symbol = checker.getSymbolAtLocation(declaration.name)
    const type = symbol === undefined ? undefined : checker.getTypeOfSymbol(symbol)
    if (type === undefined) return ""
    return `${text.slice(from, declaration.name.end)}: ${checker.typeToString(type, declaration)}`
  }
  if (isFunctionDeclaration(statement)) return text.slice(from, statement.body?.pos ?? statement.end).trimEnd()
  if (isClassDeclaration(statement)) {
    const head = statement.heritageClauses?.at(-1)?.end ?? statement.typeParameters?.end ?? statement.name?.end ?? from
    return `${text.slice(from, head)} ${statement.members.length > 0 ? "{ … }" : "{}"}`
  }
  if (isInterfaceDeclaration(statement) || isTypeAliasDeclaration(statement)) return text.slice(from, statement.end)
  return ""
}

/** Every top-level declaration of the module by name, and a way to print the signature of one. */
const declarationsOf = (program: Program, checker: Checker, file: string) => {
  const sourceFile = program.getSourceFile(path.join(root, file))
  if (sourceFile === undefined) throw new Error(`${file} is not part of the project in tsconfig.json`)
  const byName = new Map<string, Statement>()
  for (const statement of sourceFile.statements) {
    const name = nameOf(statement)
    if (name !== undefined) byName.set(name, statement)
  }
  return {
    exported: (name: string): string => {
      const statement = byName.get(name)
      return statement !== undefined && isExported(statement) ? signatureOf(sourceFile, checker, statement) : ""
    },
    /** `export { local as name }`: the local declaration's signature, then the re-export itself. */
    renamed: (local: string, name: string): string => {
      const statement = byName.get(local)
      if (statement === undefined) return ""
      const signature = signatureOf(sourceFile, checker, statement)
      return signature === "" ? "" : `${signature}\n\nexport { ${local} as ${name} }`
    }
  }
}

const parseModule = (module: string): { header: string; entries: Array<Entry> } => {
  const file = `src/${module}.ts`
  const source = fs.readFileSync(path.join(root, file), "utf8")
  const declarations = declarationsOf(project.program, project.checker, file)
  const header = /^\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? ""
  const entries: Array<Entry> = []
  const declaration =
    /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n(export (?:declare )?(const|class|interface|type|function) (\w+)[^\n]*)/g
  const documented = new Set<string>()
  let match: RegExpExecArray | null
  while ((match = declaration.exec(source)) !== null) {
    const [, doc, , kind, name] = match
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
      signature: declarations.exported(name)
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
      signature: declarations.renamed(local, name)
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

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-")

const inlineLink = /\{@link(?:code|plain)?\s+([^\s|}]+)(?:\s*\|\s*|\s+)?([^}]*)\}/g

/**
 * `{@link X}` (or `{@link X | text}`) in prose: a link to X's entry when X is one of ours (`name` in this module,
 * `Module.name`, or a name exported by exactly one module), otherwise X as code.
 */
const linkify = (module: string, known: ReadonlyMap<string, ReadonlyArray<string>>, prose: string): string =>
  prose.replace(inlineLink, (_, target: string, label: string) => {
    const qualified = target.includes(".") ? [target] : [`${module}.${target}`]
    const candidates = known.get(target) ?? []
    const resolved =
      qualified.find((name) => [...known.values()].some((list) => list.includes(name))) ??
      (candidates.length === 1 ? candidates[0] : undefined)
    const text = label.trim() === "" ? `\`${target}\`` : label.trim()
    return resolved === undefined ? text : `[${text}](#${anchor(resolved)})`
  })

/** `{@link X}` inside a code block (a member's comment in a signature): just X. */
const unlink = (code: string): string =>
  code.replace(inlineLink, (_, target: string, label: string) => (label.trim() === "" ? target : label.trim()))

const render = (): string => {
  const parsed = modules.map((module) => ({ module, ...parseModule(module) }))
  // Short name -> the qualified names (`Module.name`) that carry it, for resolving `{@link name}`.
  const known = new Map<string, Array<string>>()
  for (const { entries, module } of parsed) {
    for (const entry of entries) known.set(entry.name, [...(known.get(entry.name) ?? []), `${module}.${entry.name}`])
  }
  const parts = [
    "# API reference",
    "",
    "Generated from the JSDoc in `src/` by `node scripts/apiDocs.ts`; do not edit by hand.",
    ""
  ]
  for (const { entries, header, module } of parsed) {
    parts.push(`## ${module}`, "", linkify(module, known, header), "")
    const byCategory = new Map<string, Array<Entry>>()
    for (const entry of entries) byCategory.set(entry.category, [...(byCategory.get(entry.category) ?? []), entry])
    for (const [category, list] of [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      parts.push(`### ${category}`, "")
      for (const entry of list) {
        if (entry.signature.trim() === "") problems.push(`src/${module}.ts: ${entry.name} has no signature`)
        parts.push(
          `#### \`${module}.${entry.name}\``,
          "",
          linkify(module, known, entry.summary),
          "",
          "```ts",
          unlink(entry.signature),
          "```",
          ""
        )
        if (entry.example !== undefined) parts.push("Example:", "", "```ts", entry.example.trimEnd(), "```", "")
        if (entry.since !== undefined) parts.push(`Since ${entry.since}`, "")
      }
    }
  }
  return parts.join("\n")
}

const target = path.join(root, "docs", "API.md")
let rendered: string
try {
  rendered = render()
} finally {
  api.close()
}
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
