/**
 * A reference model of the gateway's rules (docs/protocol.md §1, §2, §5, §6, §9) for
 * model-based tests: fed the bytes each peer sends, it says which frames the gateway must
 * send to every peer, which peer it must disconnect for which protocol error, and what it
 * must count.
 *
 * The model decodes with the shared protocol module (FrameDecoder, parseCommand), which
 * has its own unit tests; what it adds is the routing state: pending IDs, live virtual
 * connections, the limits. It predicts ConnIDs the way the gateway hands them out (the
 * next unused one, in increasing order; the test learns where the counter stands from one
 * Open before it starts), so a random stream may dial an ID it opened earlier in the same
 * write.
 */
import { ProtocolError, type ProtocolErrorCode } from '../../src/errors.js';
import { emptyStats, type RefuseReason } from '../../src/gateway/stats.js';
import {
  type Command,
  CommandType,
  FrameDecoder,
  HEADER_SIZE,
  encodeAccept,
  encodeClose,
  encodeOpen,
  encodeRefuse,
  parseCommand,
  readU32,
} from '../../src/protocol/index.js';

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
  return message.length >= 5 ? readU32(message, 1) : 0;
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
  readonly decoder: FrameDecoder;

  constructor(
    readonly kind: ModelPeerKind,
    /** Client ID, or server ID. */
    public id: number,
    maxPacketSize: number,
  ) {
    this.decoder = new FrameDecoder(maxPacketSize);
  }

  /** Bytes of an incomplete frame the gateway holds for this peer. */
  get bufferedBytes(): number {
    return this.decoder.bufferedBytes;
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

function expectedFrom(frame: Uint8Array): ExpectedFrame {
  return { connId: readU32(frame, 4), message: Buffer.from(frame.subarray(HEADER_SIZE)) };
}

/** The gateway, as a specification. */
export class GatewayModel {
  readonly peers: ModelPeer[] = [];
  readonly routes = new Map<number, ModelRoute>();
  readonly pendingOwners = new Map<number, ModelPeer>();
  readonly counts: ModelCounts = zeroCounts();
  /** The next ConnID the gateway hands out. */
  nextConnId: number;
  private readonly command: Command = { type: 0, connId: 0, remoteId: 0 };

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
    let error: ProtocolErrorCode | null = null;
    try {
      from.decoder.push(bytes, {
        onFrame: (connId, buf, start, end) => {
          error = this.frame(from, connId, buf, start, end);
          return error === null;
        },
      });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      error = err.code;
    }
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
      other.expected.push(expectedFrom(encodeClose(connId)));
    }
    peer.routes.clear();
  }

  private frame(from: ModelPeer, connId: number, buf: Uint8Array, start: number, end: number): ProtocolErrorCode | null {
    if (connId !== 0) return this.data(from, connId, buf, start, end);
    let cmd: Command;
    try {
      cmd = parseCommand(buf, start, end, 'gateway', this.command);
    } catch (err) {
      if (err instanceof ProtocolError) return err.code;
      throw err;
    }
    switch (cmd.type) {
      case CommandType.New:
        this.newId(from);
        break;
      case CommandType.Dial:
        this.dial(from, cmd.connId, cmd.remoteId);
        break;
      case CommandType.Close:
        this.close(from, cmd.connId);
        break;
      default:
        break; // Ping: activity only
    }
    return null;
  }

  private data(from: ModelPeer, connId: number, buf: Uint8Array, start: number, end: number): ProtocolErrorCode | null {
    const route = this.routes.get(connId);
    if (route === undefined) {
      this.counts.staleFrames++;
      from.expected.push(expectedFrom(encodeClose(connId)));
      return null;
    }
    const to = from === route.client ? route.server : from === route.server ? route.client : null;
    if (to === null) {
      this.counts.forgedFrames++;
      return 'ERR_FORGED_CONN_ID';
    }
    to.expected.push({ connId, message: Buffer.from(buf.subarray(start + HEADER_SIZE, end)) });
    return null;
  }

  private newId(from: ModelPeer): void {
    const max = from.kind === 'client' ? this.limits.clientMaxPending : this.limits.serverMaxPending;
    if (from.pending.size >= max) {
      this.counts.opensRefused++;
      from.expected.push(expectedFrom(encodeOpen(0)));
      return;
    }
    const connId = this.allocate();
    from.pending.add(connId);
    this.pendingOwners.set(connId, from);
    from.expected.push(expectedFrom(encodeOpen(connId)));
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
    from.expected.push(expectedFrom(encodeAccept(connId, remote.id)));
    remote.expected.push(expectedFrom(encodeAccept(connId, from.id)));
  }

  private refuse(from: ModelPeer, connId: number, reason: RefuseReason): void {
    this.counts.dialsRefused[reason]++;
    from.expected.push(expectedFrom(encodeRefuse(connId)));
  }

  private close(from: ModelPeer, connId: number): void {
    const route = this.routes.get(connId);
    if (route !== undefined) {
      const other = from === route.client ? route.server : from === route.server ? route.client : null;
      if (other === null) return; // not an end: changes nothing
      this.routes.delete(connId);
      route.client.routes.delete(connId);
      route.server.routes.delete(connId);
      const frame = expectedFrom(encodeClose(connId));
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
