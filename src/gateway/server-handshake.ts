import { createChallenge, decodeHandshakeReply, HANDSHAKE_REPLY_SIZE, verifyHandshakeReply } from '../protocol/handshake.js';
import type { Peer } from './peer.js';

/** What a complete handshake reply says. */
export interface HandshakeOutcome {
  /** The server ID the reply claims. */
  claimedId: number;
  /** The authenticated server ID, or null when the key does not check out. */
  serverId: number | null;
  /** The 20 reply bytes. */
  reply: Uint8Array;
  /** Bytes that arrived after the reply (the server's first frames). */
  rest: Uint8Array;
}

/** The keys a server may authenticate with: its own when its ID has any, else the default ones. */
export interface ServerKeys {
  authKey: readonly string[];
  authKeysById: ReadonlyMap<number, readonly string[]>;
}

/**
 * The server connections still in their handshake, each with its {@link ServerHandshake}.
 * The gateway hands each accepted server connection here, and takes it back authenticated
 * (or tears it down: a wrong key, the deadline).
 */
export class ServerHandshakes {
  readonly #pending = new Map<Peer, ServerHandshake>();

  /** @param onTimeout called with a peer whose handshake took longer than `timeoutMs`. */
  constructor(
    private readonly timeoutMs: number,
    private readonly keys: () => ServerKeys,
    private readonly onTimeout: (peer: Peer) => void,
  ) {}

  /** Starts the handshake of `peer`: sends the challenge and starts the deadline. */
  start(peer: Peer): void {
    const handshake = new ServerHandshake(peer, this.timeoutMs, this.onTimeout);
    this.#pending.set(peer, handshake);
    peer.socket.write(handshake.challenge);
  }

  /** Reply bytes from `peer`: null while incomplete; then the outcome, and `peer` is no longer here. */
  feed(peer: Peer, chunk: Uint8Array): HandshakeOutcome | null {
    const outcome = this.#pending.get(peer)?.feed(chunk, this.keys()) ?? null;
    if (outcome !== null) this.#pending.delete(peer);
    return outcome;
  }

  /** The reply bytes `peer` has sent so far (null: none yet). */
  received(peer: Peer): Uint8Array | null {
    return this.#pending.get(peer)?.received ?? null;
  }

  /** Forgets `peer` (torn down mid-handshake) and stops its deadline. */
  drop(peer: Peer): void {
    this.#pending.get(peer)?.cancel();
    this.#pending.delete(peer);
  }

  /** The connections still in their handshake. */
  peers(): IterableIterator<Peer> {
    return this.#pending.keys();
  }
}

/**
 * The gateway's side of one server connection's handshake (docs/protocol.md §4): the challenge
 * it sent, the reply bytes received so far, and the deadline of the whole handshake.
 */
export class ServerHandshake {
  /** The challenge to send first. */
  readonly challenge: Uint8Array = createChallenge();
  /** Reply bytes received so far, when the reply came in pieces. */
  #received: Uint8Array | null = null;
  #timer: ReturnType<typeof setTimeout> | null;

  /** Starts the deadline: `onTimeout(peer)` runs unless the reply is in within `timeoutMs`. */
  constructor(
    readonly peer: Peer,
    timeoutMs: number,
    onTimeout: (peer: Peer) => void,
  ) {
    this.#timer = setTimeout(onTimeout, timeoutMs, peer);
  }

  /**
   * Takes bytes of the reply. Returns null while it is incomplete; then the outcome, and the
   * deadline is off.
   */
  feed(chunk: Uint8Array, keys: ServerKeys): HandshakeOutcome | null {
    const have = this.#received === null ? 0 : this.#received.length;
    const need = HANDSHAKE_REPLY_SIZE - have;
    let reply: Uint8Array;
    if (have === 0 && chunk.length >= HANDSHAKE_REPLY_SIZE) {
      reply = chunk.subarray(0, HANDSHAKE_REPLY_SIZE);
    } else {
      const joined = new Uint8Array(have + Math.min(need, chunk.length));
      if (this.#received !== null) joined.set(this.#received, 0);
      joined.set(chunk.subarray(0, Math.min(need, chunk.length)), have);
      if (joined.length < HANDSHAKE_REPLY_SIZE) {
        this.#received = joined;
        return null;
      }
      reply = joined;
    }
    this.#received = null;
    this.cancel();
    const claimedId = decodeHandshakeReply(reply).serverId;
    const serverId = verifyHandshakeReply(this.challenge, reply, keys.authKeysById.get(claimedId) ?? keys.authKey);
    return { claimedId, serverId, reply, rest: chunk.subarray(need) };
  }

  /** The reply bytes received so far, when the reply is coming in pieces. */
  get received(): Uint8Array | null {
    return this.#received;
  }

  /** Stops the deadline (the handshake finished, or the connection is gone). */
  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
