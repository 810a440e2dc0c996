import type { Socket } from 'node:net';
import { FrameDecoder, type FrameSink } from '../protocol/decoder.js';
import type { GatewaySocket } from './gateway-socket.js';
import { type MessageRate, RateVerdict } from './message-rate.js';
import type { OutputArena } from './output-arena.js';
import { OutputBatch } from './output-batch.js';
import type { Route } from './route.js';
import { startReading } from './shared-read-buffer.js';

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
 * What a {@link Peer} tells the one that owns it (the gateway), and all it may ask of it:
 * like a yamux stream, which is handed only a way to send, a peer is handed only these.
 */
export interface PeerHost {
  /**
   * Bytes arrived on the peer's socket. `transient`: `chunk` is the shared read buffer,
   * reused once this returns (see shared-read-buffer.ts); else it may be kept.
   */
  received(peer: Peer, chunk: Uint8Array, transient: boolean): void;
  /** A whole frame was decoded from the peer: `buf[start..end)`, header included. */
  frame(peer: Peer, connId: number, buf: Uint8Array, start: number, end: number): void;
  /** The peer queued its first frame of this turn: flush it at the end of the turn. */
  scheduleFlush(peer: Peer): void;
  /** A write to a congested peer completed: its senders may be resumed. */
  written(peer: Peer): void;
  /** The peer's socket failed; its close follows. */
  failed(peer: Peer, err: Error): void;
  /** The peer's socket closed. */
  closed(peer: Peer): void;
  /** The client went past its message rate (`client.messageRate`): pause it ({@link Peer.holdForRate}) or disconnect it. */
  overRate(peer: Peer, verdict: RateVerdict.Pause | RateVerdict.Disconnect): void;
}

/** What a sweep finds of a peer: how many sweeps in a row it has been silent (0: heard from). */
export type Silence = number;

/**
 * One physical connection to the gateway: a game client or an authenticated game server.
 *
 * It decodes what arrives (it is its own {@link FrameSink}) and batches what leaves: frames
 * queued for it during one event-loop turn go out in one socket write. It counts the
 * messages not yet handed to the kernel, which is what the send-queue bounds apply to. It
 * owns its state; the gateway changes it only through these methods.
 */
export class Peer implements FrameSink {
  #state: PeerState;
  #id = 0;
  /** `address:port` of the remote end, captured at accept (for logs). */
  readonly remote: string;
  /** Made at the first bytes received: a connection that has sent nothing holds none. */
  #decoder: FrameDecoder | null = null;
  readonly #maxPacketSize: number;

  /** Live virtual connections this peer is an end of (created on first use). */
  #routes: Set<Route<Peer>> | null = null;
  /** ConnIDs opened for this peer and not yet dialed (created on first use). */
  #pending: Set<number> | null = null;

  // Liveness (read by the gateway's sweep).
  /** Something arrived since the last sweep. */
  #heard = true;
  /** Sweeps in a row with nothing received. */
  #silentSweeps = 0;

  // Flow control (see flow-control.ts).
  /** Messages queued or being written to this peer. */
  #queued = 0;
  /** The backlog is over its bound: the peers sending to it are paused until it drains. */
  congested = false;
  /** Peers paused because they sent to this congested peer (itself, for a command flood). */
  #blockedSenders: Set<Peer> | null = null;
  /** Congested peers this peer is paused for; reading resumes at 0. */
  #pausedBy = 0;

  /** Frames queued for this peer (created on first use: idle peers stay small). */
  #out: OutputBatch | null = null;
  #scheduled = false;
  /** Frames queued this turn include views of the read buffer being decoded (see {@link borrow}). */
  #borrowing = false;
  /** Called by the socket when a write completes; made on first use. */
  #onWritten: ((err?: Error | null) => void) | null = null;
  /** The client's message rate limit; null when there is none (then a frame costs one comparison for it). */
  #rate: MessageRate | null = null;
  /** Called when a pause for the rate is over; made on first use. */
  #onRatePaid: (() => void) | null = null;

  constructor(
    readonly host: PeerHost,
    readonly kind: PeerKind,
    readonly socket: GatewaySocket,
    maxPacketSize: number,
  ) {
    this.#state = kind === PeerKind.Server ? PeerState.Handshake : PeerState.Open;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.#maxPacketSize = maxPacketSize;
  }

  /** Decodes what this peer sends (see FrameDecoder). */
  get decoder(): FrameDecoder {
    return (this.#decoder ??= new FrameDecoder(this.#maxPacketSize));
  }

  /** Handshake until a server authenticates, then Open, then Closed. */
  get state(): PeerState {
    return this.#state;
  }

  /** Client ID, or server ID once authenticated (0 before). */
  get id(): number {
    return this.#id;
  }

  get isClient(): boolean {
    return this.kind === PeerKind.Client;
  }

  /** Starts reading the socket: what arrives, fails or closes goes to the host. */
  startReading(): void {
    const socket = this.socket as GatewaySocket & { [kPeer]: Peer };
    socket[kPeer] = this;
    socket.on('error', onError);
    socket.on('close', onClose);
    // A socket read into the shared buffer emits 'data' only for bytes its stream already
    // holds (those after a PROXY header, given back with unshift): else it gets no listener.
    if ((socket as { readableLength?: number }).readableLength !== 0) {
      socket.on('data', onData);
      startReading(socket, onSharedRead);
    } else if (!startReading(socket, onSharedRead)) {
      socket.on('data', onData);
    }
  }

  /** The peer is known as `id` from now on (a client's ID; an authenticated server's ID, which opens it). */
  open(id: number): void {
    this.#id = id;
    this.#state = PeerState.Open;
  }

  /**
   * Marks the peer closed, stops its decoder and drops its output. Returns the state it was
   * in, or `null` when it was closed already.
   */
  shutDown(): PeerState.Handshake | PeerState.Open | null {
    const was = this.#state;
    if (was === PeerState.Closed) return null;
    this.#state = PeerState.Closed;
    this.#decoder?.stop();
    this.#out?.clear();
    this.#rate?.stop();
    return was;
  }

  // ---- Tables: the virtual connections and pending IDs of this peer ----

  get liveCount(): number {
    return this.#routes === null ? 0 : this.#routes.size;
  }

  get pendingCount(): number {
    return this.#pending === null ? 0 : this.#pending.size;
  }

  addRoute(route: Route<Peer>): void {
    (this.#routes ??= new Set()).add(route);
  }

  removeRoute(route: Route<Peer>): void {
    this.#routes?.delete(route);
  }

  /** Hands over the live virtual connections (at teardown); the peer keeps none. */
  takeRoutes(): Set<Route<Peer>> | null {
    const routes = this.#routes;
    this.#routes = null;
    return routes;
  }

  addPending(connId: number): void {
    (this.#pending ??= new Set()).add(connId);
  }

  removePending(connId: number): void {
    this.#pending?.delete(connId);
  }

  /** Hands over the pending IDs (at teardown); the peer keeps none. */
  takePending(): Set<number> | null {
    const pending = this.#pending;
    this.#pending = null;
    return pending;
  }

  // ---- Liveness ----

  /**
   * One sweep: returns how many sweeps in a row nothing has arrived, or 0 when something
   * did (or the peer is paused because a server it sends to is backed up: it is not judged
   * then; one paused for not reading its own answers is).
   */
  sweep(): Silence {
    if (this.#heard || (this.#pausedBy > 0 && !this.congested)) {
      this.#heard = false;
      this.#silentSweeps = 0;
      return 0;
    }
    return ++this.#silentSweeps;
  }

  // ---- Flow control ----

  /** Messages queued this turn or being written to this peer. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Messages handed to the socket whose write has not completed: what the peer has not
   * taken yet. Frames queued in the current turn are not counted, so a burst answered in one
   * turn (bounded by the size of one read) is not mistaken for a peer that does not read.
   */
  get backlog(): number {
    return this.#out === null ? 0 : this.#queued - this.#out.unwritten;
  }

  /** Whether this peer is paused for at least one congested peer. */
  get paused(): boolean {
    return this.#pausedBy > 0;
  }

  /** Holds this client to `rate` from now on. */
  limitRate(rate: MessageRate): void {
    this.#rate = rate;
  }

  /**
   * Stops reading this client until its message rate debt is paid (one timer), then reads
   * again unless something else still holds it paused. False when it was paused for its rate already.
   */
  holdForRate(): boolean {
    if (this.#rate === null || !this.#rate.pauseUntilPaid((this.#onRatePaid ??= this.#ratePaid.bind(this)))) return false;
    if (this.#pausedBy++ === 0) this.socket.pause();
    return true;
  }

  #ratePaid(): void {
    if (--this.#pausedBy === 0 && this.#state !== PeerState.Closed) this.socket.resume();
  }

  /** Pauses `sender` until this (congested) peer drains; false when it was paused for it already. */
  block(sender: Peer): boolean {
    const blocked = (this.#blockedSenders ??= new Set());
    if (blocked.has(sender)) return false;
    blocked.add(sender);
    if (sender.#pausedBy++ === 0) sender.socket.pause();
    return true;
  }

  /** Resumes the senders this peer paused (each reads again once no congested peer holds it). */
  releaseBlocked(): void {
    const blocked = this.#blockedSenders;
    if (blocked === null) return;
    for (const sender of blocked) {
      if (--sender.#pausedBy === 0 && sender.#state !== PeerState.Closed) sender.socket.resume();
    }
    blocked.clear();
  }

  // ---- Output ----

  /**
   * Queues `buf[start..end)` (a whole frame) for this peer. The bytes must stay unchanged
   * until the end of the current event-loop turn. Returns false when the peer is closed.
   */
  enqueue(buf: Uint8Array, start: number, end: number): boolean {
    if (this.#state === PeerState.Closed) return false;
    (this.#out ??= new OutputBatch()).add(buf, start, end);
    this.#queued++;
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.host.scheduleFlush(this);
    }
    return true;
  }

  /** Writes the frames queued this turn to the socket (see {@link OutputBatch.writeTo}). */
  flush(arena: OutputArena): void {
    this.#scheduled = false;
    if (this.#out === null || this.#state === PeerState.Closed) return;
    this.#out.writeTo(this.socket, arena, (this.#onWritten ??= this.#writeCompleted.bind(this)));
  }

  /**
   * Notes that frames queued for this peer this turn are views of the read buffer being
   * decoded. True the first time in a turn: then the caller must {@link detach} the peer
   * before that buffer is reused.
   */
  borrow(): boolean {
    if (this.#borrowing) return false;
    this.#borrowing = true;
    return true;
  }

  /** Copies the queued frames that are views of `transient` (a read buffer about to be reused) into `arena`. */
  detach(transient: Uint8Array, arena: OutputArena): void {
    this.#borrowing = false;
    if (this.#out !== null && this.#state !== PeerState.Closed) this.#out.detach(transient, arena);
  }

  /** FrameSink: every decoded frame goes to the host. */
  onFrame(connId: number, buf: Uint8Array, start: number, end: number): boolean {
    if (this.#rate !== null) this.#rate.count++;
    this.host.frame(this, connId, buf, start, end);
    return this.#state !== PeerState.Closed;
  }

  #writeCompleted(err?: Error | null): void {
    if (err) return; // the socket's 'error'/'close' handlers tear the peer down
    this.#queued -= this.#out!.completeWrite();
    if (this.congested) this.host.written(this);
  }

  /** Bytes arrived (from the socket handlers below): the peer was heard from; the host decodes them. */
  receive(chunk: Uint8Array, transient: boolean): void {
    this.#heard = true;
    this.host.received(this, chunk, transient);
    if (this.#rate !== null && this.#rate.count > 0 && this.#state !== PeerState.Closed) {
      const verdict = this.#rate.settle();
      if (verdict !== RateVerdict.Within) this.host.overRate(this, verdict);
    }
  }
}

// Socket handlers, defined once: `this` is the socket, its peer hangs off a symbol.
const kPeer = Symbol('fastway.peer');
type PeerSocket = GatewaySocket & { [kPeer]: Peer };

function onData(this: PeerSocket, chunk: Buffer): void {
  this[kPeer].receive(chunk, false);
}

function onSharedRead(this: Socket, chunk: Uint8Array): void {
  (this as unknown as PeerSocket)[kPeer].receive(chunk, true);
}

function onError(this: PeerSocket, err: Error): void {
  const peer = this[kPeer];
  peer.host.failed(peer, err);
}

function onClose(this: PeerSocket): void {
  const peer = this[kPeer];
  peer.host.closed(peer);
}
