/**
 * Authenticated connections between the cluster's processes: before a runner's socket carries any of Effect
 * Cluster's messages (requests, interrupts, pings, acknowledgements), both ends prove they hold the cluster's secret
 * with a challenge and response (HMAC-SHA256 over fresh nonces from both sides, so a recorded handshake cannot be
 * replayed). The message tags of `auth.ts` authenticate each task's request and reply end to end, storage included;
 * this authenticates the sockets, so that a process without the secret cannot send Effect Cluster's own messages to
 * a runner (interrupt a task, pose as a runner), and so that a refused peer is logged with its network address.
 *
 * ```
 * runner → client  "EFH1" flags(1: secret required) nonceS(16)
 * client → runner  "EFH1" flags(1: has a secret)    nonceC(16) HMAC(secret, "client" nonceS nonceC)
 * runner → client  status(1: 1 accepted, 0 refused)             HMAC(secret, "runner" nonceC nonceS)
 * ```
 *
 * Without a secret both ends still speak the handshake (with zero proofs), so that a client and a runner that
 * disagree about the secret fail at once, saying so, instead of misreading each other's bytes. A client with a
 * secret accepts only a runner that proves the same secret. Bytes that arrive after the handshake (a peer may
 * pipeline) are handed on to Effect's protocol. The handshake must finish within `timeout`.
 *
 * It authenticates the connection, not each frame after it: an attacker on the network path could still alter
 * Effect Cluster's frames on an established connection (the task requests and replies inside them stay protected by
 * their own tags). Traffic is not encrypted.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import { randomBytes, timingSafeEqual } from "node:crypto"
import * as Auth from "./auth.ts"

const magic = Buffer.from("EFH1", "latin1")
const nonceBytes = 16
const macBytes = 32
const zeros = Buffer.alloc(macBytes)

/** How long a handshake may take, in milliseconds. */
export const timeout = 5_000

/** Why a handshake failed; `peer` names the other end when it is known. */
export class HandshakeError extends Error {
  readonly reason: string
  readonly peer: string
  /** The peer refused, or failed to prove, the secret; false when the connection failed or timed out. */
  readonly refused: boolean
  constructor(reason: string, peer: string, refused = true) {
    super(`cluster connection with ${peer} not authenticated: ${reason}`)
    this.name = "HandshakeError"
    this.reason = reason
    this.peer = peer
    this.refused = refused
  }
}

const mac = (key: Auth.SecretKey, role: string, first: Buffer, second: Buffer) =>
  Auth.hmac(key, `effect-futures/cluster/handshake/v1\n${role}\n`, first, second)

const equal = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)

/** Reads exact byte counts from a socket's reader, keeping what comes after for the next reader. */
const makeBuffered = (pull: Socket.Reader["pull"]) => {
  let buffered = Buffer.alloc(0)
  const read = (n: number): Effect.Effect<Buffer, Socket.SocketError> =>
    Effect.suspend(() => {
      if (buffered.length >= n) {
        const out = buffered.subarray(0, n)
        buffered = buffered.subarray(n)
        return Effect.succeed(out)
      }
      return Effect.flatMap(pull, (chunks) => {
        buffered = Buffer.concat([
          buffered,
          ...chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk)))
        ])
        return read(n)
      })
    })
  /** The reader that Effect's protocol gets: what is left over first, then the socket. */
  const rest: Socket.Reader["pull"] = Effect.suspend(() => {
    if (buffered.length === 0) return pull
    const out = new Uint8Array(buffered)
    buffered = Buffer.alloc(0)
    return Effect.succeed([out] as const)
  })
  return { read, rest }
}

const within = <A>(effect: Effect.Effect<A, HandshakeError | Socket.SocketError>, peer: string) =>
  effect.pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.fail(new HandshakeError(`no handshake within ${timeout} ms`, peer, false))
    })
  )

const asHandshakeError = (peer: string) => (error: HandshakeError | Socket.SocketError) =>
  error instanceof HandshakeError
    ? error
    : new HandshakeError(`the connection failed during the handshake (${error.message})`, peer, false)

/** The runner's side, on an accepted connection: the reader's pull once the client is authenticated. */
const serverSide = (reader: Socket.Reader, writer: Socket.Writer, key: Auth.Key, peer: string) =>
  within(
    Effect.gen(function* () {
      const buffered = makeBuffered(reader.pull)
      const nonceS = randomBytes(nonceBytes)
      yield* writer.write(Buffer.concat([magic, Buffer.from([key === undefined ? 0 : 1]), nonceS]))
      const hello = yield* buffered.read(magic.length + 1 + nonceBytes + macBytes)
      if (!equal(hello.subarray(0, magic.length), magic)) {
        return yield* Effect.fail(new HandshakeError("it does not speak the cluster's handshake", peer))
      }
      const hasSecret = hello[magic.length] === 1
      const nonceC = hello.subarray(magic.length + 1, magic.length + 1 + nonceBytes)
      const proof = hello.subarray(magic.length + 1 + nonceBytes)
      if (key !== undefined && !(hasSecret && equal(proof, mac(key, "client", nonceS, nonceC)))) {
        yield* writer.write(Buffer.concat([Buffer.from([0]), zeros]))
        return yield* Effect.fail(
          new HandshakeError(hasSecret ? "its secret is not the cluster's" : "it has no secret", peer)
        )
      }
      yield* writer.write(
        Buffer.concat([Buffer.from([1]), key === undefined ? zeros : mac(key, "runner", nonceC, nonceS)])
      )
      return buffered.rest
    }),
    peer
  ).pipe(Effect.mapError(asHandshakeError(peer)))

/** The client's side (a client, or a runner calling another), on a new connection. */
const clientSide = (reader: Socket.Reader, writer: Socket.Writer, key: Auth.Key, peer: string) =>
  within(
    Effect.gen(function* () {
      const buffered = makeBuffered(reader.pull)
      const challenge = yield* buffered.read(magic.length + 1 + nonceBytes)
      if (!equal(challenge.subarray(0, magic.length), magic)) {
        return yield* Effect.fail(new HandshakeError("it does not speak the cluster's handshake", peer))
      }
      const required = challenge[magic.length] === 1
      const nonceS = challenge.subarray(magic.length + 1)
      const nonceC = randomBytes(nonceBytes)
      yield* writer.write(
        Buffer.concat([
          magic,
          Buffer.from([key === undefined ? 0 : 1]),
          nonceC,
          key === undefined ? zeros : mac(key, "client", nonceS, nonceC)
        ])
      )
      const answer = yield* buffered.read(1 + macBytes)
      if (answer[0] !== 1) {
        return yield* Effect.fail(
          new HandshakeError(
            key === undefined ? "the runner requires a secret" : "the runner refused this client's secret",
            peer
          )
        )
      }
      if (key !== undefined) {
        if (!required) return yield* Effect.fail(new HandshakeError("the runner has no secret", peer))
        if (!equal(answer.subarray(1), mac(key, "runner", nonceC, nonceS))) {
          return yield* Effect.fail(new HandshakeError("the runner's secret is not the cluster's", peer))
        }
      }
      return buffered.rest
    }),
    peer
  ).pipe(Effect.mapError(asHandshakeError(peer)))

/**
 * A client socket that authenticates each connection it opens before Effect's protocol reads or writes on it; a
 * failed handshake fails the connection with a `SocketOpenError` whose cause is a `HandshakeError` (Effect's
 * protocol then retries), after `onRefused` has seen it (a refusal, or a connection that failed mid-handshake).
 */
export const client = (
  socket: Socket.Socket,
  key: Auth.Key,
  peer: string,
  onRefused: (error: HandshakeError) => Effect.Effect<void>
): Socket.Socket => {
  // Effect's protocol writes only once the current connection is authenticated.
  const ready = Latch.makeUnsafe(false)
  const reader: Socket.Socket["reader"] = Effect.gen(function* () {
    const scope = yield* Effect.scope
    yield* Scope.addFinalizer(
      scope,
      Effect.sync(() => ready.closeUnsafe())
    )
    ready.closeUnsafe()
    const inner = yield* socket.reader
    const writer = yield* socket.writer
    const pull = yield* clientSide(inner, writer, key, peer).pipe(
      Effect.tapError(onRefused),
      Effect.mapError(
        (cause) => new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: "Unknown", cause }) })
      )
    )
    ready.openUnsafe()
    return { pull, upgrade: inner.upgrade }
  })
  const writer: Socket.Socket["writer"] = Effect.map(socket.writer, (inner) => ({
    write: (chunk) => ready.whenOpen(inner.write(chunk)),
    writeAll: (chunks) => ready.whenOpen(inner.writeAll(chunks))
  }))
  return Socket.make({ reader, writer })
}

/**
 * A socket server whose handler sees only authenticated connections; a refused connection is closed and
 * `onRefused` is told (with the peer's address, from `peerOf`, read in the connection's context).
 */
export const server = <RP>(
  inner: SocketServer.SocketServer["Service"],
  key: Auth.Key,
  peerOf: Effect.Effect<string, never, RP>,
  onRefused: (error: HandshakeError) => Effect.Effect<void>
): SocketServer.SocketServer["Service"] => ({
  address: inner.address,
  run: (handler) =>
    inner.run((socket) =>
      Effect.scoped(
        Effect.gen(function* () {
          const peer = yield* peerOf
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          const pull = yield* serverSide(reader, writer, key, peer).pipe(Effect.tapError(onRefused), Effect.option)
          if (pull._tag === "None") return
          return yield* handler(
            Socket.make({
              reader: Effect.succeed({ pull: pull.value, upgrade: reader.upgrade }),
              writer: Effect.succeed(writer)
            })
          )
        })
      )
    ) as never
})
