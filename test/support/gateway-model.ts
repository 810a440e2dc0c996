/**
 * A reference model of the gateway's rules (docs/protocol.md §1, §2, §5, §6, §9) for
 * model-based tests: fed the bytes each peer sends, it says which frames the gateway must
 * send to every peer, which peer it must disconnect for which protocol error, and what it
 * must count.
 *
 * The model reads and writes frames with its own minimal code (below), written from
 * docs/protocol.md rather than taken from src/protocol/, so that a bug in the gateway's
 * decoder or command parser is caught by the comparison instead of mirrored in the model.
 * On top of it is the routing state: pending IDs, live virtual connections, the limits. It predicts ConnIDs the way the gateway hands them out (the
 * next unused one, in increasing order; the test learns where the counter stands from one
 * Open before it starts), so a random stream may dial an ID it opened earlier in the same
 * write.
 */
import type { ProtocolErrorCode } from '../../src/errors.js';
import { emptyStats, type RefuseReason } from '../../src/gateway/stats.js';

// ---- The model's own reading and writing of the wire format (docs/protocol.md §1, §2) ----

/** A u32, little-endian. */
function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function putU32(bytes: Uint8Array, at: number, value: number): void {
  for (let i = 0; i < 4; i++) bytes[at + i] = (value >>> (8 * i)) & 0xff;
}

/** Command types (§2) and the message size each needs: type byte plus u32 arguments. */
const NEW = 0;
const OPEN = 1;
const DIAL = 2;
const REFUSE = 3;
const ACCEPT = 4;
const CLOSE = 5;
const MESSAGE_SIZE = [1, 5, 9, 5, 9, 5, 1];

/** A command message (type byte, then ConnID and RemoteID as the type needs). */
function commandMessage(type: number, connId = 0, remoteId = 0): Buffer {
  const message = Buffer.alloc(MESSAGE_SIZE[type]!);
  message[0] = type;
  if (message.length >= 5) putU32(message, 1, connId);
  if (message.length >= 9) putU32(message, 5, remoteId);
  return message;
}

/** A command as the gateway reads it, or the protocol error reading it is (§2: the checks in that order). */
function readCommand(message: Uint8Array): { type: number; connId: number; remoteId: number } | ProtocolErrorCode {
  if (message.length === 0) return 'ERR_COMMAND_TRUNCATED';
  const type = message[0]!;
  if (type >= MESSAGE_SIZE.length) return 'ERR_UNKNOWN_COMMAND';
  const size = MESSAGE_SIZE[type]!;
  if (message.length < size) return 'ERR_COMMAND_TRUNCATED';
  if (type === OPEN || type === REFUSE || type === ACCEPT) return 'ERR_UNEXPECTED_COMMAND';
  return { type, connId: size >= 5 ? u32(message, 1) : 0, remoteId: size >= 9 ? u32(message, 5) : 0 };
}

/**
 * Splits one peer's byte stream into frames (§1): a Length below 4 or above maxPacketSize
 * is an error as soon as its 4 bytes are in; an incomplete frame waits for more bytes.
 */
class ModelReader {
  #held = Buffer.alloc(0);
  #stopped = false;

  constructor(private readonly maxPacketSize: number) {}

  /** Bytes of an incomplete frame held. */
  get bufferedBytes(): number {
    return this.#held.length;
  }

  /**
   * Reads `bytes`, calling `onFrame` with each whole frame's ConnID and message; stops for
   * good when `onFrame` returns an error or the framing is broken, and returns that error.
   */
  push(bytes: Uint8Array, onFrame: (connId: number, message: Buffer) => ProtocolErrorCode | null): ProtocolErrorCode | null {
    if (this.#stopped) return null;
    let held = Buffer.concat([this.#held, bytes]);
    while (held.length >= 4) {
      const length = u32(held, 0);
      const error = length < 4 ? 'ERR_FRAME_TOO_SHORT' : length > this.maxPacketSize ? 'ERR_FRAME_TOO_LARGE' : null;
      if (error === null && held.length < 4 + length) break;
      const frameError = error ?? onFrame(u32(held, 4), Buffer.from(held.subarray(8, 4 + length)));
      if (frameError !== null) {
        this.#stopped = true;
        this.#held = Buffer.alloc(0);
        return frameError;
      }
      held = held.subarray(4 + length);
    }
    this.#held = Buffer.from(held);
    return null;
  }
}

/** A frame the gateway must send. `key` is the virtual connection it concerns (see {@link frameKey}). */
export interface ExpectedFrame {
  connId: number;
  message: Buffer;
}

/**
 * The virtual connection a frame concerns: its ConnID for data, the ConnID argument for a
 * command (0 for Ping and Open(0)). The protocol orders frames per virtual connection only,
 * so tests compare the frames of each key in order.
 */
export function frameKey(connId: number, message: Uint8Array): number {
  if (connId !== 0) return connId;
  return message.length >= 5 ? u32(message, 1) : 0;
}

export type ModelPeerKind = 'client' | 'server';

/** One physical connection as the model sees it. */
export class ModelPeer {
  open = true;
  /** ConnIDs opened for this peer and not yet dialed or closed. */
  readonly pending = new Set<number>();
  /** Live virtual connections this peer is an end of. */
  readonly routes = new Set<number>();
  /** Frames the gateway must have sent this peer since the test last checked. */
  expected: ExpectedFrame[] = [];
  /** Set when the gateway closed this peer for a protocol error. */
  error: ProtocolErrorCode | null = null;
  readonly reader: ModelReader;

  constructor(
    readonly kind: ModelPeerKind,
    /** Client ID, or server ID. */
    public id: number,
    maxPacketSize: number,
  ) {
    this.reader = new ModelReader(maxPacketSize);
  }

  /** Bytes of an incomplete frame the gateway holds for this peer. */
  get bufferedBytes(): number {
    return this.reader.bufferedBytes;
  }
}

interface ModelRoute {
  client: ModelPeer;
  server: ModelPeer;
}

/** The limits the model enforces; they must match the gateway's options. */
export interface ModelLimits {
  maxPacketSize: number;
  clientMaxPending: number;
  clientMaxConn: number;
  serverMaxPending: number;
}

/** What the gateway must have counted (the counters of GatewayStats the model predicts). */
export interface ModelCounts {
  protocolErrors: Record<ProtocolErrorCode, number>;
  staleFrames: number;
  forgedFrames: number;
  dialsAccepted: number;
  dialsRefused: Record<RefuseReason, number>;
  opensRefused: number;
}

function zeroCounts(): ModelCounts {
  const { protocolErrors, staleFrames, forgedFrames, dialsAccepted, dialsRefused, opensRefused } = emptyStats();
  return { protocolErrors, staleFrames, forgedFrames, dialsAccepted, dialsRefused, opensRefused };
}

/** A command the gateway must send. */
function expectedCommand(type: number, connId = 0, remoteId = 0): ExpectedFrame {
  return { connId: 0, message: commandMessage(type, connId, remoteId) };
}

/** The gateway, as a specification. */
export class GatewayModel {
  readonly peers: ModelPeer[] = [];
  readonly routes = new Map<number, ModelRoute>();
  readonly pendingOwners = new Map<number, ModelPeer>();
  readonly counts: ModelCounts = zeroCounts();
  /** The next ConnID the gateway hands out. */
  nextConnId: number;

  constructor(
    readonly limits: ModelLimits,
    nextConnId: number,
  ) {
    this.nextConnId = nextConnId;
  }

  /** Registers a peer (a client the gateway accepted, or a server it authenticated). */
  addPeer(kind: ModelPeerKind, id: number): ModelPeer {
    const peer = new ModelPeer(kind, id, this.limits.maxPacketSize);
    this.peers.push(peer);
    return peer;
  }

  /** Records a live virtual connection the model did not see being made (set up before it started). */
  addRoute(connId: number, client: ModelPeer, server: ModelPeer): void {
    this.routes.set(connId, { client, server });
    client.routes.add(connId);
    server.routes.add(connId);
  }

  /** The open client with this ID. */
  client(id: number): ModelPeer | undefined {
    return this.peers.find((p) => p.open && p.kind === 'client' && p.id === id);
  }

  /** The server connection that new dials of `id` reach: the most recently registered open one. */
  server(id: number): ModelPeer | undefined {
    for (let i = this.peers.length - 1; i >= 0; i--) {
      const p = this.peers[i]!;
      if (p.open && p.kind === 'server' && p.id === id) return p;
    }
    return undefined;
  }

  /** Open peers of a kind. */
  open(kind: ModelPeerKind): ModelPeer[] {
    return this.peers.filter((p) => p.open && p.kind === kind);
  }

  /**
   * `from` sent `bytes` (any bytes, any split). Returns the protocol error that made the
   * gateway close `from`, or null. Bytes after such an error are ignored, as by the gateway.
   */
  receive(from: ModelPeer, bytes: Uint8Array): ProtocolErrorCode | null {
    if (!from.open) return null;
    const error = from.reader.push(bytes, (connId, message) => this.frame(from, connId, message));
    if (error !== null) {
      this.counts.protocolErrors[error]++;
      from.error = error;
      this.disconnect(from);
    }
    return error;
  }

  /** The physical connection of `peer` ended (it left, or the gateway closed it). */
  disconnect(peer: ModelPeer): void {
    if (!peer.open) return;
    peer.open = false;
    for (const connId of peer.pending) this.pendingOwners.delete(connId);
    peer.pending.clear();
    for (const connId of peer.routes) {
      const route = this.routes.get(connId)!;
      this.routes.delete(connId);
      const other = route.client === peer ? route.server : route.client;
      other.routes.delete(connId);
      other.expected.push(expectedCommand(CLOSE, connId));
    }
    peer.routes.clear();
  }

  private frame(from: ModelPeer, connId: number, message: Buffer): ProtocolErrorCode | null {
    if (connId !== 0) return this.data(from, connId, message);
    const cmd = readCommand(message);
    if (typeof cmd === 'string') return cmd;
    if (cmd.type === NEW) this.newId(from);
    else if (cmd.type === DIAL) this.dial(from, cmd.connId, cmd.remoteId);
    else if (cmd.type === CLOSE) this.close(from, cmd.connId);
    // Ping: activity only.
    return null;
  }

  private data(from: ModelPeer, connId: number, message: Buffer): ProtocolErrorCode | null {
    const route = this.routes.get(connId);
    if (route === undefined) {
      this.counts.staleFrames++;
      from.expected.push(expectedCommand(CLOSE, connId));
      return null;
    }
    const to = from === route.client ? route.server : from === route.server ? route.client : null;
    if (to === null) {
      this.counts.forgedFrames++;
      return 'ERR_FORGED_CONN_ID';
    }
    to.expected.push({ connId, message });
    return null;
  }

  private newId(from: ModelPeer): void {
    const max = from.kind === 'client' ? this.limits.clientMaxPending : this.limits.serverMaxPending;
    if (from.pending.size >= max) {
      this.counts.opensRefused++;
      from.expected.push(expectedCommand(OPEN, 0));
      return;
    }
    const connId = this.allocate();
    from.pending.add(connId);
    this.pendingOwners.set(connId, from);
    from.expected.push(expectedCommand(OPEN, connId));
  }

  /** The ID the gateway will give next: the lowest unused one from the counter on. */
  private allocate(): number {
    let id = this.nextConnId;
    while (this.routes.has(id) || this.pendingOwners.has(id)) id++;
    this.nextConnId = id + 1;
    return id;
  }

  private dial(from: ModelPeer, connId: number, remoteId: number): void {
    if (this.pendingOwners.get(connId) !== from) {
      this.refuse(from, connId, 'not_pending');
      return;
    }
    this.pendingOwners.delete(connId);
    from.pending.delete(connId);
    const remote = from.kind === 'client' ? this.server(remoteId) : this.client(remoteId);
    if (remote === undefined) {
      this.refuse(from, connId, 'unknown_remote');
      return;
    }
    const client = from.kind === 'client' ? from : remote;
    const server = from.kind === 'client' ? remote : from;
    if (client.routes.size >= this.limits.clientMaxConn) {
      this.refuse(from, connId, 'client_limit');
      return;
    }
    this.addRoute(connId, client, server);
    this.counts.dialsAccepted++;
    from.expected.push(expectedCommand(ACCEPT, connId, remote.id));
    remote.expected.push(expectedCommand(ACCEPT, connId, from.id));
  }

  private refuse(from: ModelPeer, connId: number, reason: RefuseReason): void {
    this.counts.dialsRefused[reason]++;
    from.expected.push(expectedCommand(REFUSE, connId));
  }

  private close(from: ModelPeer, connId: number): void {
    const route = this.routes.get(connId);
    if (route !== undefined) {
      const other = from === route.client ? route.server : from === route.server ? route.client : null;
      if (other === null) return; // not an end: changes nothing
      this.routes.delete(connId);
      route.client.routes.delete(connId);
      route.server.routes.delete(connId);
      const frame = expectedCommand(CLOSE, connId);
      from.expected.push(frame);
      other.expected.push(frame);
      return;
    }
    if (this.pendingOwners.get(connId) === from) {
      this.pendingOwners.delete(connId);
      from.pending.delete(connId);
    }
  }
}
