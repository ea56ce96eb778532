/**
 * Barrels reduced to what a module names: in a worker, a task module that does `import { Effect, Schema } from
 * "effect"` gets a barrel holding only `Effect` and `Schema`, and so does not evaluate the ~100 other modules the
 * root of `effect` re-exports (a third of a worker's boot). The bindings are the real module namespaces: `Effect`
 * from the reduced barrel is the very `effect/Effect` module, as from the whole one.
 *
 * This is what a bundler's tree-shaking does with the same barrel, and it rests on the same promise: the package
 * declares its modules free of side effects (`effect`'s `package.json` lists only a module no barrel re-exports; this
 * package's own root keeps its one side-effect import, the Node version check). It applies only to those two roots,
 * only when the barrel is made of nothing but re-exports, and only for an importer that names what it takes: a
 * namespace import (`import * as E from "effect"`), `export *`, a bare or default import, or any dynamic `import()`
 * in the importer gets the whole barrel. A name the importer's text mentions anywhere counts as named (the reduced
 * barrel may hold more than needed, never less). A reduced barrel's URL carries the names it holds as a query, which
 * is what `import.meta.resolve("effect")` returns in such a module.
 *
 * @internal
 */

/** A barrel's exports, each with the statement that provides it, and the imports it runs for their effects. */
export interface Barrel {
  readonly parts: ReadonlyMap<string, string>
  readonly effects: ReadonlyArray<string>
}

/** One statement of a barrel: `export * as A from "…"`, `export { a, b as c } from "…"` or `import "…"`. */
const STATEMENT =
  /\s*(?:export\s*\*\s*as\s+([\w$]+)\s+from\s*("[^"]+"|'[^']+')|export\s*\{([^}]*)\}\s*from\s*("[^"]+"|'[^']+')|import\s*("[^"]+"|'[^']+'))\s*;?/y

/** Reads a barrel; undefined if its source holds anything but re-exports and bare imports. */
export const parse = (source: string): Barrel | undefined => {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "")
  const parts = new Map<string, string>()
  const effects: Array<string> = []
  let at = 0
  while (/\S/.test(code.slice(at))) {
    STATEMENT.lastIndex = at
    const match = STATEMENT.exec(code)
    if (match === null) return undefined
    at = STATEMENT.lastIndex
    const [, name, from, list, listFrom, bare] = match
    if (name !== undefined) {
      parts.set(name, `export * as ${name} from ${from};`)
    } else if (list !== undefined) {
      for (const item of list.split(",")) {
        const [local, exported = local] = item.trim().split(/\s+as\s+/)
        if (local === "") continue
        if (!/^[\w$]+$/.test(local) || !/^[\w$]+$/.test(exported)) return undefined
        parts.set(exported, `export { ${local} as ${exported} } from ${listFrom};`)
      }
    } else {
      effects.push(`import ${bare};`)
    }
  }
  return parts.size === 0 ? undefined : { parts, effects }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * The names of `barrel` that a module whose source is `importer` may import through `specifier`; undefined when it
 * may need all of them.
 */
export const namesUsed = (importer: string, specifier: string, barrel: Barrel): ReadonlyArray<string> | undefined => {
  if (/\bimport\s*\(/.test(importer)) return undefined
  const quoted = `["']${escape(specifier)}["']`
  // `import * as E from`, `export * from`, `export * as E from`, `import "effect"`, `import E from "effect"`.
  if (new RegExp(`\\*\\s*(?:as\\s+[\\w$]+\\s*)?from\\s*${quoted}`).test(importer)) return undefined
  if (new RegExp(`import\\s*${quoted}`).test(importer)) return undefined
  if (new RegExp(`import\\s+[\\w$]+\\s*(?:,[^;]*)?from\\s*${quoted}`).test(importer)) return undefined
  const words = new Set(importer.match(/[A-Za-z_$][\w$]*/g))
  const names = [...barrel.parts.keys()].filter((name) => words.has(name))
  return names.length === 0 ? undefined : names
}

/** The source of `barrel` reduced to `names` (its side-effect imports kept). */
export const reduce = (barrel: Barrel, names: ReadonlyArray<string>): string =>
  [...barrel.effects, ...names.map((name) => barrel.parts.get(name) ?? "")].join("\n")

/** The query that marks a reduced barrel's URL, followed by the names it holds. */
export const QUERY = "?effect-futures-only="
