/**
 * The Node.js this package needs, checked when any public module is first imported: on an older Node the import
 * fails with one message that names the version found, the version required and what to do, instead of a
 * `SyntaxError` or a missing built-in deep inside Effect. Every public module imports this file first, and it
 * imports nothing, so it runs before any other module of the package is evaluated.
 *
 * @internal
 */

/** The oldest supported Node.js; `engines.node` in package.json says the same (a test keeps them equal). */
export const minimum = { major: 22, minor: 19 } as const

/** `undefined` when `version` (as `process.versions.node`) is supported, else the message to fail with. */
export const unsupported = (version: string): string | undefined => {
  const [major = 0, minor = 0] = version.split(".").map(Number)
  if (major > minimum.major || (major === minimum.major && minor >= minimum.minor)) return undefined
  return (
    `effect-futures requires Node.js >= ${minimum.major}.${minimum.minor}, but this is Node.js ${version}. ` +
    `Upgrade Node.js (any 22.x from ${minimum.major}.${minimum.minor}, or 24 and later), or add the npm package ` +
    `\`node\` (24.x) as a devDependency so that npm scripts run it.`
  )
}

const message = unsupported(globalThis.process?.versions?.node ?? "0.0.0")
if (message !== undefined) throw new Error(message)
