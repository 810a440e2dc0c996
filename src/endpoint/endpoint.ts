import {
  AbortError,
  ConnectionClosedError,
  DialRefusedError,
  EndpointClosedError,
  InvalidOptionError,
  PingTimeoutError,
  ProtocolError,
  ReceiveQueueFullError,
  SendQueueFullError,
} from '../errors.js';
import { type Command, CommandType, commandFrameSize, parseCommand, writeCommand } from '../protocol/command.js';
import { FrameDecoder, type FrameSink } from '../protocol/decoder.js';
import { HEADER_SIZE, MAX_U32, writeFrameHeader } from '../protocol/frame.js';
import { AcceptIterator } from './accept-queue.js';
import { Deque } from './deque.js';
import { DialRequest } from './dial-request.js';
import { rejectUnknownKeys } from '../known-keys.js';
import { checkTimeout, type ResolvedEndpointOptions } from './options.js';
import type { Transport, TransportHandler } from './transport.js';
import { asyncDispose, type ConnectionOwner, type OwnedConnection, VirtualConnection } from './virtual-connection.js';
import { describeValue } from '../values/describe-value.js';
import { checkSignal, queueWait, type WaitOptions, waitOptionsOf } from './wait.js';

/** Whether the endpoint connected as a game client or as a game server. */
export type EndpointKind = 'client' | 'server';

/** Options of one {@link Endpoint.dial}. */
export interface DialOptions {
  /** Cancels the dial: it rejects with `AbortError` (whose `cause` is the signal's reason). */
  signal?: AbortSignal;
  /** Time, in ms, the dial may take; 0 = no limit. @default the endpoint's `dialTimeout` */
  timeout?: number;
}

/** The keys {@link DialOptions} may have; any other is rejected. */
export const DIAL_OPTION_KEYS: readonly string[] = ['signal', 'timeout'];

interface Waiter<V> {
  resolve(value: V): void;
  reject(err: Error): void;
}

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

/** A turn's first batch buffer is at least this big. */
const MIN_BATCH = 512;
/** A batch that reaches this size is written at once rather than at the end of the turn. */
const BATCH_WRITE_AT = 64 * 1024;
/**
 * Messages up to this size are copied byte by byte: `set` costs about the same 15–30 ns
 * whatever the size, a byte loop about 4 ns a byte (so a 64-byte loop is 4–5 times `set`).
 */
const SMALL_MESSAGE = 8;
/**
 * Command frames (Close answers, Ping answers) may exceed `sendQueue` by this much before
 * the endpoint gives up on a gateway that does not read what it is sent.
 */
const COMMAND_SLACK = 64 * 1024;

/**
 * What an endpoint says when it seems to be on the wrong listener. A gateway's server
 * listener sends an 8-byte challenge at once, which a client reads as a frame header; a
 * gateway's client listener sends nothing first, so a server waits for a challenge in vain.
 */
export const SWAPPED_PORT_HINT = {
  client: "This looks like the gateway's server port; clients connect to the client port.",
  server: "This looks like the gateway's client port; servers connect to the server port.",
} as const;

/** The size of the challenge a gateway's server listener sends first. */
const CHALLENGE_BYTES = 8;

type Scheduler = { schedule(fn: () => void): unknown; cancel(handle: unknown): void };

/**
 * When a turn's frames are written. In Node, `setImmediate`: right after the I/O callbacks
 * of the current event-loop iteration, so everything sent while handling one batch of
 * reads, including from promise continuations such as a `for await` echo loop, leaves in
 * one write, at no added latency. Elsewhere (browsers), a microtask: at the end of the
 * current task, also without added latency (`setTimeout(0)` would add up to 4 ms there).
 */
const flushScheduler: Scheduler = (() => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown; clearImmediate?: (handle: unknown) => void };
  const setImmediateFn = g.setImmediate;
  const clearImmediateFn = g.clearImmediate;
  if (typeof setImmediateFn === 'function' && typeof clearImmediateFn === 'function') {
    return { schedule: (fn) => setImmediateFn(fn), cancel: (handle) => clearImmediateFn(handle) };
  }
  return {
    schedule: (fn) => {
      queueMicrotask(fn);
      return null;
    },
    cancel: () => {},
  };
})();

/**
 * A game client's or game server's connection to a gateway, carrying any number of
 * {@link VirtualConnection}s. Get one from `dialClient()` or `dialServer()`.
 *
 * Everything the gateway sends is handled here without throwing: a gateway that breaks
 * the protocol closes the endpoint with a `ProtocolError` as {@link closed}'s reason.
 *
 * @example
 * const server = await dialServer('10.0.0.1:7001', { serverId: 1, authKey: 'secret' });
 * for await (const conn of server) {
 *   (async () => { for await (const msg of conn) conn.send(msg); })(); // echo
 * }
 */
export class Endpoint<T = Uint8Array>
  implements AsyncIterable<VirtualConnection<T>>, AsyncDisposable
{
  /** Whether this endpoint connected as a client or a server. */
  readonly kind: EndpointKind;
  /** The server ID, for a server endpoint. */
  readonly serverId: number | undefined;
  /** The options in force, defaults applied. */
  readonly options: ResolvedEndpointOptions<T>;
  /** The largest message, in bytes, once encoded: `maxPacketSize - 4`. */
  readonly maxMessageSize: number;
  /**
   * Resolves (never rejects) once the endpoint is closed and its connection released,
   * with why: `undefined` after {@link close}; otherwise an error — `ProtocolError`,
   * `PingTimeoutError`, `SendQueueFullError`, or `EndpointClosedError` when the gateway
   * closed the connection (`cause`: the network error, if any).
   */
  readonly closed: Promise<Error | undefined>;

  private readonly transport: Transport;
  private readonly decoder: FrameDecoder;
  private readonly command: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
  private readonly conns = new Map<number, VirtualConnection<T>>();
  /** Requests whose `New` awaits its `Open`, in the order sent (Opens answer in order). */
  private readonly opening = new Deque<DialRequest<VirtualConnection<T>>>();
  /** Requests whose `Dial` awaits its `Accept` or `Refuse`, by ConnID. */
  private readonly dialing = new Map<number, DialRequest<VirtualConnection<T>>>();
  private readonly backlog = new Deque<VirtualConnection<T>>();
  private readonly acceptWaiters = new Deque<Waiter<VirtualConnection<T>>>();
  private readonly drainWaiters = new Deque<Waiter<void>>();
  private state = OPEN;
  private reason: Error | undefined = undefined;
  private resolveClosed!: (reason: Error | undefined) => void;

  // Outbound: frames of the current turn, encoded into one buffer.
  private batch: Uint8Array | null = null;
  private batchLen = 0;
  private batchHint = MIN_BATCH;
  private flushPending = false;
  private flushHandle: unknown = null;
  private readonly flushBound = (): void => this.flush();
  /** The transport's last write returned false and it has not drained since. */
  private needDrain = false;

  // Liveness (pingTimeout).
  private heard = false;
  private silentTicks = 0;
  private probing = false;
  /** Probes (see {@link probe}) waiting in `opening`. */
  private probes = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined = undefined;
  /** The last ConnID this endpoint sent Close for, so stray data after it gets no second one. */
  private lastStaleClose = 0;
  /** Bytes received before the first whole frame (counted until then): a client that got just a challenge is on the server port. */
  private bytesBeforeFrame = 0;
  private framed = false;

  /**
   * Not for users: get an endpoint from `dialClient`/`dialServer` (or
   * `attachClient`/`attachServer` with your own transport).
   */
  private constructor(transport: Transport, kind: EndpointKind, options: ResolvedEndpointOptions<T>, serverId?: number) {
    this.transport = transport;
    this.kind = kind;
    this.serverId = serverId;
    this.options = options;
    this.maxMessageSize = options.maxMessageSize;
    this.decoder = new FrameDecoder(options.maxPacketSize);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    if (options.pingTimeout > 0) {
      this.pingTimer = setInterval(livenessTick, Math.max(1, Math.floor(options.pingTimeout / 2)), this);
    }
    transport.setHandler(this);
  }

  /** @internal An endpoint over `transport`, which it takes the events of (the dial and attach functions' factory). */
  static create<T>(transport: Transport, kind: EndpointKind, options: ResolvedEndpointOptions<T>, serverId?: number): Endpoint<T> {
    return new Endpoint<T>(transport, kind, options, serverId);
  }

  /** The gateway's address. */
  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }

  /** True once the endpoint is closing or closed. */
  get isClosed(): boolean {
    return this.state !== OPEN;
  }

  /** Live virtual connections (including those waiting in the accept backlog). */
  get liveConnections(): number {
    return this.conns.size;
  }

  /** Dials waiting for the gateway's answer (including timed-out ones it has not answered yet). */
  get pendingDials(): number {
    return this.opening.length - this.probes + this.dialing.size;
  }

  /** Incoming virtual connections waiting for {@link accept}. */
  get acceptBacklog(): number {
    return this.backlog.length;
  }

  /** Bytes queued for the gateway and not yet handed to the network. */
  get bufferedAmount(): number {
    return this.batchLen + this.transport.bufferedAmount;
  }

  /**
   * Opens a virtual connection to `remoteId` (a server ID for a client, a client ID for a
   * server). Any number of dials may be in flight at once.
   *
   * Rejects with `DialRefusedError` (no such remote, a limit reached, or the gateway
   * answered `Open(0)`), `DialTimeoutError`, `AbortError`, `EndpointClosedError`, or
   * `InvalidOptionError` for a bad argument.
   */
  dial(remoteId: number, options?: DialOptions): Promise<VirtualConnection<T>> {
    if (!Number.isInteger(remoteId) || remoteId < 0 || remoteId > MAX_U32) {
      return Promise.reject(new InvalidOptionError('remoteId', `must be an integer from 0 to ${MAX_U32}, got ${describeValue(remoteId)}`));
    }
    let timeout: number;
    let signal: AbortSignal | undefined;
    try {
      if (options !== undefined) {
        if (options === null || typeof options !== 'object') throw new InvalidOptionError('dial options', 'must be an object: { signal?, timeout? }');
        rejectUnknownKeys(options, DIAL_OPTION_KEYS);
        signal = checkSignal(options.signal);
      }
      timeout = checkTimeout('timeout', options?.timeout, this.options.dialTimeout);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.state !== OPEN) return Promise.reject(this.closedError());
    if (signal?.aborted) return Promise.reject(new AbortError('the dial was aborted', { cause: signal.reason }));
    return new Promise<VirtualConnection<T>>((resolve, reject) => {
      const request = new DialRequest<VirtualConnection<T>>(remoteId, resolve, reject);
      if (timeout > 0) request.startTimer(timeout);
      if (signal !== undefined) request.watch(signal);
      this.opening.push(request);
      this.queueCommand(CommandType.New);
    });
  }

  /**
   * The next virtual connection a remote opened to this endpoint (`conn.remoteId` is the
   * dialer's ID). Rejects with `EndpointClosedError` once the endpoint is closed.
   *
   * With `options.signal` or `options.timeout` the wait may be given up on: it rejects
   * with `AbortError` or `TimeoutError`, and a connection that arrives afterwards goes to
   * the next `accept()` (or the backlog).
   */
  accept(options?: WaitOptions): Promise<VirtualConnection<T>> {
    const wait = waitOptionsOf('accept', options);
    if (wait instanceof Error) return Promise.reject(wait);
    const conn = this.backlog.shift();
    if (conn !== undefined) return Promise.resolve(conn);
    if (this.state !== OPEN) return Promise.reject(this.closedError());
    return queueWait(this.acceptWaiters, wait, 'accept()', 'no virtual connection arrived');
  }

  /** `for await (const conn of endpoint)`: accepts until the endpoint closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<VirtualConnection<T>> {
    return new AcceptIterator<VirtualConnection<T>>(this);
  }

  /**
   * Resolves when the connection to the gateway is below its high-water mark (at once if
   * it is); see `VirtualConnection.send`. Rejects with `EndpointClosedError` if the
   * endpoint closes first.
   */
  drained(options?: WaitOptions): Promise<void> {
    const wait = waitOptionsOf('drained', options);
    if (wait instanceof Error) return Promise.reject(wait);
    if (this.state !== OPEN) return Promise.reject(this.closedError());
    if (!this.needDrain) return Promise.resolve();
    return queueWait(this.drainWaiters, wait, 'drained()', 'the connection to the gateway did not drain');
  }

  /**
   * Closes the endpoint: every virtual connection closes (reason: `EndpointClosedError`),
   * every pending dial, accept and receive settles, frames already sent are written, and
   * the connection to the gateway is closed. Resolves when it is released. Safe to call
   * more than once.
   */
  close(): Promise<void> {
    this.shutdown(undefined, true);
    return this.closed.then(ignore);
  }

  /** `await using endpoint = await dialClient(addr)` closes it at the end of the scope. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- Transport events ----

  /** @internal */
  onData(chunk: Uint8Array): void {
    this.heard = true;
    if (this.state !== OPEN) return;
    if (!this.framed) this.bytesBeforeFrame += chunk.length;
    try {
      this.decoder.push(chunk, this);
    } catch (err) {
      this.shutdown(this.onWrongPort() ? withSwappedPortHint(err) : err instanceof Error ? err : new Error(String(err)), false);
    }
  }

  /** @internal */
  onDrain(): void {
    this.needDrain = false;
    if (this.drainWaiters.length > 0) for (const w of this.drainWaiters.drain()) w.resolve();
  }

  /** @internal */
  onClose(error: Error | undefined): void {
    if (this.state === OPEN) {
      let message = error === undefined ? 'the gateway closed the connection' : `the connection to the gateway failed: ${error.message}`;
      if (this.onWrongPort()) message += ` after sending only ${CHALLENGE_BYTES} bytes, as a server listener's challenge. ${SWAPPED_PORT_HINT.client}`;
      this.shutdown(new EndpointClosedError(message, { cause: error }), false);
    }
    this.state = CLOSED;
    this.resolveClosed(this.reason);
  }

  /** A client that has received exactly a challenge's worth of bytes and no frame: it dialed a server listener. */
  private onWrongPort(): boolean {
    return this.kind === 'client' && !this.framed && this.bytesBeforeFrame === CHALLENGE_BYTES;
  }

  // ---- Frames from the gateway ----

  /** @internal FrameSink: one whole frame from the gateway. Throws ProtocolError (caught in onData). */
  onFrame(connId: number, buf: Uint8Array, start: number, end: number): boolean {
    if (!this.framed) this.framed = true;
    if (connId !== 0) {
      const conn = this.conns.get(connId);
      if (conn === undefined) this.strayData(connId);
      // A plain Uint8Array view: a Node Buffer's own subarray costs about three times as much.
      else if (!conn.deliver(new Uint8Array(buf.buffer, buf.byteOffset + start + HEADER_SIZE, end - start - HEADER_SIZE))) {
        this.closeConnection(conn, new ReceiveQueueFullError(this.options.recvQueue), false);
      }
      return this.state === OPEN;
    }
    const cmd = parseCommand(buf, start, end, 'endpoint', this.command);
    switch (cmd.type) {
      case CommandType.Open:
        this.onOpen(cmd.connId);
        break;
      case CommandType.Refuse:
        this.onRefuse(cmd.connId);
        break;
      case CommandType.Accept:
        this.onAccept(cmd.connId, cmd.remoteId);
        break;
      case CommandType.Close:
        this.onCloseCommand(cmd.connId);
        break;
      case CommandType.Ping:
        this.queueCommand(CommandType.Ping);
        break;
    }
    return this.state === OPEN;
  }

  private onOpen(connId: number): void {
    const request = this.opening.peek();
    if (request === undefined) throw new ProtocolError('ERR_UNKNOWN_CONN_ID', `Open(${connId}) answers no New`);
    if (connId !== 0 && (this.conns.has(connId) || this.dialing.has(connId))) {
      throw new ProtocolError('ERR_UNKNOWN_CONN_ID', `Open(${connId}) gives an ID that is already in use`);
    }
    this.opening.shift();
    if (request.probe !== null) {
      this.probes--;
      if (connId !== 0) this.queueCommand(CommandType.Close, connId);
      request.probe();
      return;
    }
    if (connId === 0) {
      request.reject(new DialRefusedError(request.remoteId, 'the gateway refused to open a virtual connection (Open(0): too many dials pending)'));
      return;
    }
    if (request.settled) {
      this.queueCommand(CommandType.Close, connId); // timed out or aborted: release the ID
      return;
    }
    request.connId = connId;
    this.dialing.set(connId, request);
    this.queueCommand(CommandType.Dial, connId, request.remoteId);
  }

  private onRefuse(connId: number): void {
    const request = this.dialing.get(connId);
    if (request === undefined) {
      throw new ProtocolError('ERR_UNKNOWN_CONN_ID', `Refuse(${connId}) for a virtual connection this endpoint is not dialing`);
    }
    this.dialing.delete(connId);
    const what = this.kind === 'client' ? 'server' : 'client';
    request.reject(
      new DialRefusedError(request.remoteId, `the gateway refused the dial of ${what} ${request.remoteId} (no such ${what}, or a limit was reached)`),
    );
  }

  private onAccept(connId: number, remoteId: number): void {
    const request = this.dialing.get(connId);
    if (request !== undefined) {
      this.dialing.delete(connId);
      if (request.settled) {
        this.queueCommand(CommandType.Close, connId); // the dialer gave up: close it
        return;
      }
      request.resolve(this.createConnection(connId, remoteId));
      return;
    }
    if (this.conns.has(connId)) {
      throw new ProtocolError('ERR_UNKNOWN_CONN_ID', `Accept(${connId}) for a virtual connection that is already up`);
    }
    // A remote dialed this endpoint.
    const waiter = this.acceptWaiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(this.createConnection(connId, remoteId));
    } else if (this.backlog.length < this.options.acceptBacklog) {
      this.backlog.push(this.createConnection(connId, remoteId));
    } else {
      this.queueCommand(CommandType.Close, connId);
    }
  }

  private onCloseCommand(connId: number): void {
    const conn = this.conns.get(connId);
    if (conn !== undefined) {
      this.conns.delete(connId);
      conn.terminate(new ConnectionClosedError('closed by the remote end'), false);
      return;
    }
    const request = this.dialing.get(connId);
    if (request !== undefined) {
      this.dialing.delete(connId);
      request.reject(new DialRefusedError(request.remoteId, `the gateway closed virtual connection ${connId} before accepting it`));
    }
    // Otherwise: an ID this endpoint no longer has (the usual echo of its own Close).
  }

  /** Data for an ID this endpoint does not have: dropped, and answered with Close once per burst. */
  private strayData(connId: number): void {
    if (connId === this.lastStaleClose) return;
    this.lastStaleClose = connId;
    this.queueCommand(CommandType.Close, connId);
  }

  private createConnection(connId: number, remoteId: number): VirtualConnection<T> {
    const conn = VirtualConnection.create<T>(this, connId, remoteId, this.options.format, this.options.recvQueue);
    this.conns.set(connId, conn);
    if (this.lastStaleClose === connId) this.lastStaleClose = 0;
    return conn;
  }

  // ---- Sending ----

  /** @internal ConnectionOwner: queues one data frame. */
  sendFrame(connId: number, message: Uint8Array): boolean {
    const length = message.length;
    const size = HEADER_SIZE + length;
    if (this.batchLen + size + this.transport.bufferedAmount > this.options.sendQueue) {
      throw new SendQueueFullError(this.options.sendQueue);
    }
    const buf = this.reserve(size);
    const at = this.batchLen;
    writeFrameHeader(buf, at, connId, length);
    if (length <= SMALL_MESSAGE) {
      for (let i = 0, j = at + HEADER_SIZE; i < length; i++, j++) buf[j] = message[i]!;
    } else {
      buf.set(message, at + HEADER_SIZE);
    }
    this.batchLen = at + size;
    return !this.needDrain;
  }

  /** @internal ConnectionOwner: closes `conn`, telling the gateway if it was live here. */
  closeConnection(conn: OwnedConnection, reason: Error | undefined, discardQueued: boolean): void {
    if (this.conns.get(conn.connId) === conn) {
      this.conns.delete(conn.connId);
      this.queueCommand(CommandType.Close, conn.connId);
      this.lastStaleClose = conn.connId; // data crossing this Close in flight needs no answer
    }
    conn.terminate(reason, discardQueued);
  }

  private queueCommand(type: CommandType, connId = 0, remoteId = 0): void {
    if (this.state !== OPEN) return;
    if (this.batchLen + this.transport.bufferedAmount > this.options.sendQueue + COMMAND_SLACK) {
      this.shutdown(new SendQueueFullError(this.options.sendQueue), false);
      return;
    }
    const size = commandFrameSize(type);
    const buf = this.reserve(size);
    writeCommand(buf, this.batchLen, type, connId, remoteId);
    this.batchLen += size;
  }

  /** Room for `size` more bytes in this turn's batch. */
  private reserve(size: number): Uint8Array {
    const buf = this.batch;
    if (buf !== null) {
      const need = this.batchLen + size;
      if (need <= buf.length) return buf;
      if (this.batchLen < BATCH_WRITE_AT) {
        const grown = new Uint8Array(Math.max(need, Math.min(buf.length * 2, BATCH_WRITE_AT)));
        grown.set(buf.subarray(0, this.batchLen), 0);
        this.batch = grown;
        return grown;
      }
      this.writeBatch();
    }
    const fresh = new Uint8Array(Math.max(size, this.batchHint));
    this.batch = fresh;
    this.batchLen = 0;
    if (!this.flushPending) {
      this.flushPending = true;
      this.flushHandle = flushScheduler.schedule(this.flushBound);
    }
    return fresh;
  }

  private writeBatch(): void {
    const len = this.batchLen;
    const out = this.batch!.subarray(0, len);
    this.batch = null;
    this.batchLen = 0;
    this.batchHint = len < MIN_BATCH ? MIN_BATCH : len > BATCH_WRITE_AT ? BATCH_WRITE_AT : len;
    if (!this.transport.write(out)) this.needDrain = true;
  }

  private flush(): void {
    this.flushPending = false;
    this.flushHandle = null;
    if (this.batchLen > 0 && this.state === OPEN) this.writeBatch();
  }

  // ---- Liveness ----

  /**
   * Starts a probe: a `New` whose `Open` proves the gateway is alive and has accepted this
   * connection; the ID it gives is released at once. `onAnswer` runs when it arrives.
   * @internal
   */
  probe(onAnswer: () => void): void {
    if (this.state !== OPEN) return;
    this.opening.push(new DialRequest<VirtualConnection<T>>(0, ignore, ignore, onAnswer));
    this.probes++;
    this.queueCommand(CommandType.New);
  }

  /** @internal Runs every pingTimeout / 2. */
  checkLiveness(): void {
    if (this.heard) {
      this.heard = false;
      this.silentTicks = 0;
      return;
    }
    this.silentTicks++;
    if (this.silentTicks >= 2) {
      this.shutdown(new PingTimeoutError(this.options.pingTimeout), false);
    } else if (!this.probing) {
      this.probing = true;
      this.probe(() => {
        this.probing = false;
      });
    }
  }

  // ---- Closing ----

  /** @internal Closes the endpoint at once with `reason` (used for handshake timeouts). */
  abort(reason: Error): void {
    this.shutdown(reason, false);
  }

  private closedError(): EndpointClosedError {
    const reason = this.reason;
    return new EndpointClosedError(reason === undefined ? 'the endpoint was closed' : `the endpoint is closed: ${reason.message}`, {
      cause: reason,
    });
  }

  /** Settles everything and closes the transport: after sending what is queued when `graceful`, at once otherwise. */
  private shutdown(reason: Error | undefined, graceful: boolean): void {
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    this.reason = reason;
    this.decoder.stop();
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;

    const err = this.closedError();
    for (const conn of this.conns.values()) conn.terminate(err, false);
    this.conns.clear();
    this.backlog.drain();
    for (const request of this.opening.drain()) request.reject(err);
    this.probes = 0;
    for (const request of this.dialing.values()) request.reject(err);
    this.dialing.clear();
    for (const waiter of this.acceptWaiters.drain()) waiter.reject(err);
    for (const waiter of this.drainWaiters.drain()) waiter.reject(err);

    if (graceful && this.batchLen > 0) this.writeBatch();
    this.batch = null;
    this.batchLen = 0;
    if (this.flushPending) flushScheduler.cancel(this.flushHandle);
    this.flushPending = false;
    this.flushHandle = null;
    if (graceful) this.transport.close();
    else this.transport.destroy();
  }
}

/** The framing error of a client on a server listener, with the hint that says so. */
function withSwappedPortHint(err: unknown): Error {
  if (err instanceof ProtocolError) {
    return new ProtocolError(err.code, `${err.message}: the gateway sent ${CHALLENGE_BYTES} bytes first, as a server listener's challenge. ${SWAPPED_PORT_HINT.client}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function livenessTick(endpoint: { checkLiveness(): void }): void {
  endpoint.checkLiveness();
}

function ignore(): void {}
