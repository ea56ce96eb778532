/**
 * Which task modules a runner may run: its `modules` option, module URLs or directory URLs ending in `/`.
 *
 * A request's module URL is checked as text, before anything is imported: it must be a `file:` URL with no query or
 * fragment (a `data:`, `http:`, `https:`, `blob:` or `node:` URL, or any other scheme, is refused always), and its
 * path, with `.` and `..` resolved, must be one of the allowed modules or lie under one of the allowed directories.
 * When the file exists, its real path (symbolic links followed) must pass the same test against the real paths of the
 * allowed entries, so a link inside an allowed directory cannot lead out of it. The runner's own task
 * (`remoteTask.ts`, which imports what it is told) is never allowed.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { InvalidOptions } from "../../ExecutorError.ts"
import * as Options from "../executor/options.ts"

export interface Allowlist {
  /** The reason the module may not run, or undefined when it may. */
  readonly check: (module: string) => string | undefined
  /** The allowed entries, as file URLs (for logs). */
  readonly entries: ReadonlyArray<string>
}

interface Entry {
  readonly directory: boolean
  /** The lexical path (directories end with the separator). */
  readonly path: string
  /** The real path (directories end with the separator). */
  readonly real: string
}

const refusedSchemes = new Set(["data:", "http:", "https:", "blob:", "node:"])

const withSep = (p: string) => (p.endsWith(path.sep) ? p : p + path.sep)

const matches = (entries: ReadonlyArray<Entry>, key: "path" | "real", file: string) =>
  entries.some((entry) => (entry.directory ? file.startsWith(entry[key]) : file === entry[key]))

/** A `modules` entry (a file URL, a URL object, or an absolute path) as a file URL, or throws `InvalidOptions`. */
const toFileUrl = (value: unknown, at: string): URL => {
  const expected = "file: URLs of task modules, or of directories ending in `/`"
  if (value instanceof URL) value = value.href
  if (typeof value !== "string" || value.length === 0) throw Options.invalid(at, expected, value)
  let url: URL
  if (path.isAbsolute(value)) url = pathToFileURL(value.endsWith("/") ? withSep(value) : value)
  else {
    try {
      url = new URL(value)
    } catch {
      throw Options.invalid(at, `${expected} (a relative path is ambiguous)`, value)
    }
  }
  if (url.protocol !== "file:" || url.search !== "" || url.hash !== "") throw Options.invalid(at, expected, value)
  return url
}

/** Parses `modules`; every entry must exist, so that a typo fails the runner at start rather than every task. */
export const parse = (value: unknown, selfModule: string): Allowlist => {
  if (value === undefined) {
    throw Options.invalid(
      "modules",
      "the task modules this runner may run (a runner with no `modules` runs nothing, so it does not start)",
      value
    )
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw Options.invalid("modules", "a non-empty array of file: URLs of task modules or directories", value)
  }
  const entries = value.map((item, index): Entry => {
    const at = `modules[${index}]`
    const url = toFileUrl(item, at)
    const directory = url.pathname.endsWith("/")
    const lexical = fileURLToPath(url)
    let real: string
    try {
      real = fs.realpathSync(lexical)
      if (fs.statSync(real).isDirectory() !== directory) {
        throw Options.invalid(at, directory ? "a directory" : "a module file (a directory URL ends in `/`)", item)
      }
    } catch (cause) {
      if (cause instanceof InvalidOptions) throw cause
      throw Options.invalid(at, "a module or directory that exists", item)
    }
    return {
      directory,
      path: directory ? withSep(lexical) : lexical,
      real: directory ? withSep(real) : real
    }
  })
  let self: string | undefined
  try {
    self = fs.realpathSync(fileURLToPath(selfModule))
  } catch {
    self = undefined
  }
  const cache = new Map<string, string | undefined>()
  const decide = (module: string): string | undefined => {
    let url: URL
    try {
      url = new URL(module)
    } catch {
      return "it is not a URL"
    }
    if (refusedSchemes.has(url.protocol)) return `a runner never imports ${url.protocol} URLs`
    if (url.protocol !== "file:") return "a runner imports only file: URLs"
    if (url.search !== "" || url.hash !== "") return "a module URL may not carry a query or fragment"
    let file: string
    try {
      file = fileURLToPath(url)
    } catch {
      return "it is not a file path"
    }
    if (!matches(entries, "path", file)) return "it is not among the runner's allowed modules"
    let real: string
    try {
      real = fs.realpathSync(file)
    } catch {
      // Allowed by name but not there: the worker's import fails with TaskLoadError.
      return undefined
    }
    if (real === self) return "it is the runner's own module"
    if (!matches(entries, "real", real)) return "its real path (links followed) is not among the allowed modules"
    return undefined
  }
  return {
    entries: entries.map((entry) => pathToFileURL(entry.path).href),
    check: (module) => {
      if (cache.has(module)) return cache.get(module)
      const verdict = decide(module)
      if (cache.size >= 1_000) cache.delete(cache.keys().next().value!)
      cache.set(module, verdict)
      return verdict
    }
  }
}
