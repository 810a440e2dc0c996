import { FrameDecoder, type FrameSink } from '../protocol/decoder.js';
import type { Gateway } from './gateway.js';
import type { GatewaySocket } from './gateway-socket.js';
import type { Route } from './route.js';
import { OutputBatch } from './output-batch.js';
import type { OutputArena } from './output-arena.js';

/** Which listener a peer came through. */
export enum PeerKind {
  Client = 0,
  Server = 1,
}

/** Lifecycle of a physical connection. */
export enum PeerState {
  /** A server connection that has not finished the handshake. */
  Handshake = 0,
  /** Frames flow. */
  Open = 1,
  /** Torn down; nothing more is read or written. */
  Closed = 2,
}

/**
 * One physical connection to the gateway: a game client or an authenticated game server.
 *
 * It decodes what arrives (it is its own {@link FrameSink}) and batches what leaves: frames
 * queued for it during one event-loop turn go out in one socket write. It counts the
 * messages not yet handed to the kernel, which is what the send-queue bounds apply to.
 */
export class Peer implements FrameSink {
  state: PeerState;
  /** Client ID, or server ID once authenticated. */
  id = 0;
  /** `address:port` of the remote end, captured at accept (for logs). */
  readonly remote: string;
  readonly decoder: FrameDecoder;

  /** Live virtual connections this peer is an end of (created on first use). */
  routes: Set<Route> | null = null;
  /** ConnIDs opened for this peer and not yet dialed (created on first use). */
  pending: Set<number> | null = null;

  // Liveness (driven by the gateway's sweep).
  /** Something arrived since the last sweep. */
  heard = true;
  /** Sweeps in a row with nothing received. */
  silentSweeps = 0;

  // Flow control.
  /** Messages queued or being written to this peer. */
  queued = 0;
  /** The backlog is over its bound: the peers sending to it are paused until it drains. */
  congested = false;
  /** Peers paused because they sent to this congested peer (itself, for a command flood). */
  blockedSenders: Set<Peer> | null = null;
  /** Congested servers this peer is paused for; reading resumes at 0. */
  pausedBy = 0;

  /** Frames queued for this peer (created on first use: idle peers stay small). */
  private out: OutputBatch | null = null;
  private scheduled = false;
  /** Frames queued this turn include views of the read buffer being decoded (see {@link detach}). */
  borrowing = false;
  /** Called by the socket when a write completes; made on first use. */
  private onWritten: ((err?: Error | null) => void) | null = null;

  /** Auth timer of a server still in its handshake. */
  authTimer: ReturnType<typeof setTimeout> | null = null;
  /** Bytes of the handshake reply received so far. */
  handshakeBuf: Uint8Array | null = null;
  challenge: Uint8Array | null = null;

  constructor(
    readonly gateway: Gateway,
    readonly kind: PeerKind,
    readonly socket: GatewaySocket,
    maxPacketSize: number,
  ) {
    this.state = kind === PeerKind.Server ? PeerState.Handshake : PeerState.Open;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder(maxPacketSize);
  }

  get isClient(): boolean {
    return this.kind === PeerKind.Client;
  }

  /**
   * Messages handed to the socket whose write has not completed: what the peer has not
   * taken yet. Frames queued in the current turn are not counted, so a burst answered in one
   * turn (bounded by the size of one read) is not mistaken for a peer that does not read.
   */
  get backlog(): number {
    return this.out === null ? 0 : this.queued - this.out.unwritten;
  }

  get liveCount(): number {
    return this.routes === null ? 0 : this.routes.size;
  }

  get pendingCount(): number {
    return this.pending === null ? 0 : this.pending.size;
  }

  /** FrameSink: every decoded frame goes to the gateway's router. */
  onFrame(connId: number, buf: Uint8Array, start: number, end: number): boolean {
    this.gateway.route(this, connId, buf, start, end);
    return this.state !== PeerState.Closed;
  }

  /**
   * Queues `buf[start..end)` (a whole frame) for this peer. The bytes must stay unchanged
   * until the end of the current event-loop turn. Returns false when the peer is closed.
   */
  enqueue(buf: Uint8Array, start: number, end: number): boolean {
    if (this.state === PeerState.Closed) return false;
    (this.out ??= new OutputBatch()).add(buf, start, end);
    this.queued++;
    if (!this.scheduled) {
      this.scheduled = true;
      this.gateway.scheduleFlush(this);
    }
    return true;
  }

  /** Writes the frames queued this turn to the socket (see {@link OutputBatch.writeTo}). */
  flush(arena: OutputArena): void {
    this.scheduled = false;
    if (this.out === null || this.state === PeerState.Closed) return;
    this.out.writeTo(this.socket, arena, (this.onWritten ??= this.writeCompleted.bind(this)));
  }

  /** Copies the queued frames that are views of `transient` (a read buffer about to be reused) into `arena`. */
  detach(transient: Uint8Array, arena: OutputArena): void {
    this.borrowing = false;
    if (this.out !== null && this.state !== PeerState.Closed) this.out.detach(transient, arena);
  }

  /** Drops whatever is queued; used when the peer is torn down. */
  discardOutput(): void {
    this.out?.clear();
  }

  private writeCompleted(err?: Error | null): void {
    if (err) return; // the socket's 'error'/'close' handlers tear the peer down
    this.queued -= this.out!.completeWrite();
    if (this.congested) this.gateway.maybeRelieve(this);
  }
}
