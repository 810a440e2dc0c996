import type { Socket } from 'node:net';
import { FrameDecoder, type FrameSink } from '../protocol/decoder.js';
import type { Gateway } from './gateway.js';
import type { Route } from './route.js';
import type { DisconnectReason } from './stats.js';

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

/** Frames of one destination batched into one buffer up to this size; larger batches go out as views. */
const MAX_COALESCE_BYTES = 256 * 1024;
/** Frames up to this size are copied byte by byte (cheaper than making a view). */
const SMALL_FRAME = 96;

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
  /** This server's backlog is over its bound: its senders are paused. */
  congested = false;
  /** Clients paused because they sent to this congested server. */
  blockedSenders: Set<Peer> | null = null;
  /** Congested servers this peer is paused for; reading resumes at 0. */
  pausedBy = 0;

  // Outbound batch of the current turn: parallel arrays reused across turns.
  private outBufs: Uint8Array[] = [];
  private outStarts: number[] = [];
  private outEnds: number[] = [];
  private outCount = 0;
  private outBytes = 0;
  /** Message counts of the writes not yet completed, oldest first. */
  private writeBatches: number[] = [];
  private writeBatchHead = 0;
  private scheduled = false;

  /** Called by the socket when a write completes; bound once per peer. */
  readonly onWritten: (err?: Error | null) => void;
  /** Auth timer of a server still in its handshake. */
  authTimer: ReturnType<typeof setTimeout> | null = null;
  /** Bytes of the handshake reply received so far. */
  handshakeBuf: Uint8Array | null = null;
  challenge: Uint8Array | null = null;
  closeReason: DisconnectReason | null = null;

  constructor(
    readonly gateway: Gateway,
    readonly kind: PeerKind,
    readonly socket: Socket,
    maxPacketSize: number,
  ) {
    this.state = kind === PeerKind.Server ? PeerState.Handshake : PeerState.Open;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder(maxPacketSize);
    this.onWritten = this.writeCompleted.bind(this);
  }

  get isClient(): boolean {
    return this.kind === PeerKind.Client;
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
    const i = this.outCount++;
    this.outBufs[i] = buf;
    this.outStarts[i] = start;
    this.outEnds[i] = end;
    this.outBytes += end - start;
    this.queued++;
    if (!this.scheduled) {
      this.scheduled = true;
      this.gateway.scheduleFlush(this);
    }
    return true;
  }

  /** Writes the batch of this turn to the socket, as one buffer where it pays. */
  flush(): void {
    this.scheduled = false;
    const n = this.outCount;
    if (n === 0 || this.state === PeerState.Closed) return;
    const bufs = this.outBufs;
    const starts = this.outStarts;
    const ends = this.outEnds;
    const socket = this.socket;
    this.pushWriteBatch(n);
    if (n === 1) {
      const b = bufs[0]!;
      socket.write(b.subarray(starts[0]!, ends[0]!), this.onWritten);
    } else if (this.outBytes <= MAX_COALESCE_BYTES) {
      const out = Buffer.allocUnsafe(this.outBytes);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const b = bufs[i]!;
        const s = starts[i]!;
        const e = ends[i]!;
        if (e - s <= SMALL_FRAME) {
          for (let j = s; j < e; j++) out[off++] = b[j]!;
        } else {
          out.set(b.subarray(s, e), off);
          off += e - s;
        }
      }
      socket.write(out, this.onWritten);
    } else {
      socket.cork();
      for (let i = 0; i < n - 1; i++) socket.write(bufs[i]!.subarray(starts[i]!, ends[i]!));
      socket.write(bufs[n - 1]!.subarray(starts[n - 1]!, ends[n - 1]!), this.onWritten);
      socket.uncork();
    }
    for (let i = 0; i < n; i++) bufs[i] = EMPTY;
    this.outCount = 0;
    this.outBytes = 0;
  }

  /** Drops whatever is queued; used when the peer is torn down. */
  discardOutput(): void {
    for (let i = 0; i < this.outCount; i++) this.outBufs[i] = EMPTY;
    this.outCount = 0;
    this.outBytes = 0;
  }

  private pushWriteBatch(messages: number): void {
    const batches = this.writeBatches;
    if (this.writeBatchHead > 64 && this.writeBatchHead * 2 > batches.length) {
      batches.splice(0, this.writeBatchHead);
      this.writeBatchHead = 0;
    }
    batches.push(messages);
  }

  private writeCompleted(err?: Error | null): void {
    if (err) return; // the socket's 'error'/'close' handlers tear the peer down
    const messages = this.writeBatches[this.writeBatchHead++] ?? 0;
    if (this.writeBatchHead === this.writeBatches.length) {
      this.writeBatches.length = 0;
      this.writeBatchHead = 0;
    }
    this.queued -= messages;
    if (this.congested) this.gateway.maybeRelieve(this);
  }
}

const EMPTY = new Uint8Array(0);
