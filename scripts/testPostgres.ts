/**
 * `npm run test:postgres`: the cluster suite (test/Cluster.test.ts) against a real Postgres.
 *
 * It starts a private Postgres from Debian's `postgresql` package (`initdb` + `pg_ctl` from
 * /usr/lib/postgresql/<version>/bin, or on the PATH) in a temporary directory, on a free local port, with trust
 * authentication and no other listeners; creates one database per cluster the suite starts; runs the suite with
 * `EFFECT_FUTURES_POSTGRES_URL` pointing at it; then stops the server and removes the directory, whatever the
 * outcome. One role, `effect_futures_pw`, must log in with a password (SCRAM), for the tests that check a password
 * never shows: its URL is in `EFFECT_FUTURES_POSTGRES_PASSWORD_URL`. As root it runs the server as the `postgres` user (Postgres refuses to run as root).
 *
 * Without Postgres installed it says so and exits 0: this is not part of `npm test`.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

const findBin = (): string | undefined => {
  const versions = fs.existsSync("/usr/lib/postgresql")
    ? fs
        .readdirSync("/usr/lib/postgresql")
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : []
  for (const version of versions) {
    const dir = `/usr/lib/postgresql/${version}/bin`
    if (fs.existsSync(`${dir}/initdb`) && fs.existsSync(`${dir}/pg_ctl`)) return dir
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" })
  return which.status === 0 ? path.dirname(which.stdout.trim()) : undefined
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const bin = findBin()
if (bin === undefined) {
  console.log("test:postgres: Postgres is not installed (no initdb/pg_ctl found): skipping.")
  console.log("  Install Debian's package to run it: apt-get install -y postgresql")
  process.exit(0)
}

const asRoot = process.getuid?.() === 0
/** Runs a Postgres program, as the `postgres` user when we are root. */
const pg = (program: string, args: ReadonlyArray<string>) => {
  const command = asRoot ? "runuser" : path.join(bin, program)
  const argv = asRoot ? ["-u", "postgres", "--", path.join(bin, program), ...args] : [...args]
  return execFileSync(command, argv, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" })
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-futures-pg-"))
const data = path.join(dir, "data")
if (asRoot) execFileSync("chown", ["-R", "postgres", dir])
fs.chmodSync(dir, 0o755)

let started = false
const stop = () => {
  if (started) {
    started = false
    try {
      pg("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
    } catch (cause) {
      console.error("test:postgres: stopping Postgres failed:", cause)
    }
  }
  fs.rmSync(dir, { recursive: true, force: true })
}
process.on("SIGINT", () => {
  stop()
  process.exit(130)
})
process.on("SIGTERM", () => {
  stop()
  process.exit(143)
})

let status = 1
try {
  const port = await freePort()
  console.log(`test:postgres: starting a private Postgres (${bin}) on 127.0.0.1:${port}`)
  pg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
  // The password role authenticates with SCRAM; every other role is trusted (first matching line wins).
  const hba = path.join(data, "pg_hba.conf")
  fs.writeFileSync(hba, `host all effect_futures_pw 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, "utf8")}`)
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  pg("pg_ctl", ["-D", data, "-o", options, "-l", path.join(dir, "server.log"), "-w", "-t", "30", "start"])
  started = true
  // One database per cluster the suite starts, so clusters never see each other's runners.
  for (let i = 1; i <= 6; i++) {
    pg("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-qc", `CREATE DATABASE effect_futures_${i}`])
  }
  const password = `pw-${Math.random().toString(36).slice(2)}-${process.pid}`
  for (const statement of [
    `CREATE ROLE effect_futures_pw LOGIN PASSWORD '${password}'`,
    "CREATE DATABASE effect_futures_pw OWNER effect_futures_pw"
  ]) {
    pg("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-qc", statement])
  }
  const vitest = spawnSync(
    path.join(root, "node_modules/.bin/vitest"),
    ["run", "test/Cluster.test.ts", ...process.argv.slice(2)],
    {
      cwd: root,
      stdio: "inherit",
      env: {
        ...process.env,
        EFFECT_FUTURES_POSTGRES_URL: `postgres://postgres@127.0.0.1:${port}`,
        EFFECT_FUTURES_POSTGRES_PASSWORD_URL: `postgres://effect_futures_pw:${password}@127.0.0.1:${port}/effect_futures_pw`
      }
    }
  )
  status = vitest.status ?? 1
} catch (cause) {
  console.error("test:postgres failed:", cause)
  try {
    console.error(fs.readFileSync(path.join(dir, "server.log"), "utf8"))
  } catch {}
} finally {
  stop()
}
process.exit(status)
