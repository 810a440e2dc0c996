/**
 * The WebSocket transport, for browsers and Node. It speaks only the standard WebSocket
 * interface (the browser's global `WebSocket`, or the `ws` package in Node, which has the
 * same shape), so this file imports nothing from Node and runs in browsers.
 *
 * Wire rule: every binary WebSocket message carries one or more whole frames. The endpoint
 * hands {@link WebSocketTransport.write} whole frames only, and each write is sent as one
 * message, so no frame is ever split across messages. Incoming messages go to the
 * endpoint's frame decoder as they are, so a message may hold any number of frames.
 */
import { AbortError, ConnectError, InvalidOptionError, ProtocolError } from '../errors.js';
import { ConnectAttempt } from './connect-attempt.js';
import type { Transport, TransportHandler } from './transport.js';

/** The event fields the transport reads; browsers' and `ws`'s events both have them. */
export interface WebSocketEventLike {
  readonly type: string;
  /** `message`: the payload (ArrayBuffer or a Uint8Array; a string for a text message). */
  readonly data?: unknown;
  /** `close`: the close code and reason. */
  readonly code?: number;
  readonly reason?: string;
  /** `error` in Node's `ws`: what went wrong (browsers say nothing). */
  readonly message?: string;
  readonly error?: unknown;
}

/** A listener object: one per connection, no closure per event. */
export interface WebSocketListenerLike {
  handleEvent(event: WebSocketEventLike): void;
}

/**
 * The part of the standard `WebSocket` interface the transport uses. The browser's
 * `WebSocket` and the `ws` package's both fit it.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** `ws` calls `callback` once the bytes are handed to the network; browsers take no callback. */
  send(data: Uint8Array, callback?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the connection at once. */
  terminate?(): void;
  addEventListener(type: string, listener: WebSocketListenerLike): void;
  removeEventListener(type: string, listener: WebSocketListenerLike): void;
}

/** How a {@link WebSocketTransport} learns that its send buffer has emptied. */
export type DrainDetection =
  /** Pass a callback with each send while over the mark (Node's `ws`). */
  | 'send-callback'
  /** Look at `bufferedAmount` on a short timer while over the mark (browsers: no event exists). */
  | 'poll';

const OPEN = 1;
const CLOSED = 3;
/** Close codes that mean an orderly close, not a failure. */
const NORMAL_CLOSE_CODES = new Set([1000, 1001, 1005]);
/** 1003 "unsupported data": what the transport closes with when the gateway sends text. */
const UNSUPPORTED_DATA = 1003;

/** Bytes waiting in the socket past which `write` returns `false`. */
const HIGH_WATER_MARK = 256 * 1024;
/** A paused sender resumes once the socket holds no more than this. */
const LOW_WATER_MARK = 64 * 1024;
/** How often a browser transport over the mark looks at `bufferedAmount`. */
const DRAIN_POLL_MS = 4;
/** How long a graceful close may wait for the closing handshake before giving up on it. */
const CLOSE_TIMEOUT_MS = 2000;

/** Parses and checks a `ws://` or `wss://` address. @throws InvalidOptionError (`addr`). */
export function parseWebSocketAddress(addr: string): string {
  let url: URL | null = null;
  try {
    url = new URL(addr);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.hostname === '' || url.hash !== '') {
    throw new InvalidOptionError('addr', `must be a ws:// or wss:// URL such as ws://host:port/path, got ${JSON.stringify(addr)}`);
  }
  return url.href;
}

/** Whether `addr` names a WebSocket gateway (`ws://…` or `wss://…`). */
export function isWebSocketAddress(addr: unknown): boolean {
  return typeof addr === 'string' && /^wss?:\/\//i.test(addr);
}

/** A {@link Transport} over an open WebSocket. */
export class WebSocketTransport implements Transport {
  readonly remoteAddress: string;
  private readonly socket: WebSocketLike;
  private readonly drainDetection: DrainDetection;
  private handler: TransportHandler | null = null;
  /** Messages that arrived before the first handler (a WebSocket cannot be paused). */
  private early: Uint8Array[] | null = null;
  private error: Error | undefined = undefined;
  private isClosed = false;
  /** A text message arrived: the socket is closing, nothing more is read. */
  private rejecting = false;
  private needDrain = false;
  private closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private drainTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly sentBound: () => void;
  private readonly pollBound: () => void;

  /**
   * @param socket an open WebSocket. Binary messages are read as ArrayBuffers unless its
   *   `binaryType` is already `nodebuffer` (Node's `ws`, which avoids a copy).
   */
  constructor(socket: WebSocketLike, remoteAddress: string, drainDetection: DrainDetection) {
    this.socket = socket;
    this.remoteAddress = remoteAddress;
    this.drainDetection = drainDetection;
    this.sentBound = () => this.sent();
    this.pollBound = () => this.poll();
    if (socket.binaryType !== 'nodebuffer') socket.binaryType = 'arraybuffer';
    socket.addEventListener('message', this);
    socket.addEventListener('error', this);
    socket.addEventListener('close', this);
    if (socket.readyState !== OPEN) queueMicrotask(() => this.finish());
  }

  setHandler(handler: TransportHandler): void {
    const first = this.handler === null;
    this.handler = handler;
    if (!first) return;
    if (this.early !== null) queueMicrotask(() => this.deliverEarly());
    else if (this.isClosed) queueMicrotask(() => handler.onClose(this.error));
  }

  /** Hands over the messages that arrived before the first handler, then the close if it came. */
  private deliverEarly(): void {
    const early = this.early!;
    for (let i = 0; i < early.length; i++) this.handler!.onData(early[i]!);
    this.early = null;
    if (this.isClosed) this.handler!.onClose(this.error);
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.socket;
    if (this.isClosed || socket.readyState !== OPEN) return true;
    if (this.drainDetection === 'send-callback') {
      if (this.needDrain || socket.bufferedAmount + bytes.length > HIGH_WATER_MARK) {
        this.needDrain = true;
        socket.send(bytes, this.sentBound);
        return false;
      }
      socket.send(bytes);
      return true;
    }
    socket.send(bytes);
    if (!this.needDrain && socket.bufferedAmount > HIGH_WATER_MARK) {
      this.needDrain = true;
      this.drainTimer = setTimeout(this.pollBound, DRAIN_POLL_MS);
    }
    return !this.needDrain;
  }

  get bufferedAmount(): number {
    return this.isClosed ? 0 : this.socket.bufferedAmount;
  }

  close(): void {
    if (this.isClosed || this.closeTimer !== undefined) return;
    this.socket.close(1000);
    this.closeTimer = setTimeout(this.forceClose, CLOSE_TIMEOUT_MS, this);
  }

  destroy(): void {
    if (this.isClosed) return;
    if (typeof this.socket.terminate === 'function') {
      this.socket.terminate();
      return;
    }
    // Browsers cannot drop a WebSocket: close it, and stop waiting after a while.
    this.socket.close(1000);
    if (this.closeTimer === undefined) this.closeTimer = setTimeout(this.forceClose, CLOSE_TIMEOUT_MS, this);
  }

  /** @internal WebSocket events. */
  handleEvent(event: WebSocketEventLike): void {
    switch (event.type) {
      case 'message':
        this.message(event.data);
        break;
      case 'error':
        this.error ??= socketError(event);
        break;
      case 'close':
        if (this.error === undefined && event.code !== undefined && !NORMAL_CLOSE_CODES.has(event.code)) {
          this.error = new Error(`the WebSocket closed with code ${event.code}${event.reason ? ` (${event.reason})` : ''}`);
        }
        this.finish();
        break;
    }
  }

  private message(data: unknown): void {
    if (this.isClosed || this.rejecting) return;
    let chunk: Uint8Array;
    if (data instanceof Uint8Array) chunk = data;
    else if (data instanceof ArrayBuffer) chunk = new Uint8Array(data);
    else {
      // Text (or anything else): fastway carries binary messages only.
      this.rejecting = true;
      this.error ??= new ProtocolError('ERR_TEXT_MESSAGE', 'the gateway sent a text WebSocket message; fastway carries binary messages only');
      this.socket.close(UNSUPPORTED_DATA, 'binary messages only');
      if (this.closeTimer === undefined) this.closeTimer = setTimeout(this.forceClose, CLOSE_TIMEOUT_MS, this);
      return;
    }
    if (this.handler === null || this.early !== null) (this.early ??= []).push(chunk);
    else this.handler.onData(chunk);
  }

  private sent(): void {
    if (this.needDrain && !this.isClosed && this.socket.bufferedAmount <= LOW_WATER_MARK) {
      this.needDrain = false;
      this.handler?.onDrain();
    }
  }

  private poll(): void {
    this.drainTimer = undefined;
    if (this.isClosed || !this.needDrain) return;
    if (this.socket.bufferedAmount <= LOW_WATER_MARK) {
      this.needDrain = false;
      this.handler?.onDrain();
    } else {
      this.drainTimer = setTimeout(this.pollBound, DRAIN_POLL_MS);
    }
  }

  private forceClose(this: void, transport: WebSocketTransport): void {
    transport.closeTimer = undefined;
    if (typeof transport.socket.terminate === 'function' && transport.socket.readyState !== CLOSED) {
      transport.socket.terminate();
      return;
    }
    transport.finish();
  }

  /** The connection is over: release everything and tell the handler, once. */
  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    this.closeTimer = undefined;
    this.drainTimer = undefined;
    this.socket.removeEventListener('message', this);
    this.socket.removeEventListener('error', this);
    this.socket.removeEventListener('close', this);
    if (this.early === null) this.handler?.onClose(this.error);
  }
}

function socketError(event: WebSocketEventLike): Error {
  if (event.error instanceof Error) return event.error;
  return new Error(event.message ? event.message : 'WebSocket error');
}

/**
 * Opens a WebSocket to the gateway. `create` makes the socket (the browser's global
 * `WebSocket`, or `ws` in Node); the promise settles once it is open, or rejects with
 * `ConnectError` when it fails or takes longer than `timeoutMs`, or `AbortError` when
 * `signal` aborts (after the socket closed).
 */
export function connectWebSocket(
  url: string,
  timeoutMs: number,
  create: (url: string) => WebSocketLike,
  drainDetection: DrainDetection,
  signal?: AbortSignal,
): Promise<WebSocketTransport> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(`connecting to ${url} was aborted`, { cause: signal.reason }));
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = create(url);
    } catch (err) {
      reject(new ConnectError(`cannot connect to ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return;
    }
    const listener: WebSocketListenerLike = {
      handleEvent(event) {
        if (event.type === 'open') {
          attempt.ready();
          detach();
          resolve(new WebSocketTransport(socket, url, drainDetection));
        } else if (event.type === 'error') {
          attempt.error(socketError(event));
        } else if (event.type === 'close') {
          detach();
          const code = event.code !== undefined ? ` (close code ${event.code})` : '';
          reject(attempt.closed() ?? new ConnectError(`the WebSocket to ${url} closed while connecting${code}`));
        }
      },
    };
    const detach = (): void => {
      socket.removeEventListener('open', listener);
      socket.removeEventListener('error', listener);
      socket.removeEventListener('close', listener);
    };
    const attempt = new ConnectAttempt(url, timeoutMs, () => (typeof socket.terminate === 'function' ? socket.terminate() : socket.close()), signal);
    socket.addEventListener('open', listener);
    socket.addEventListener('error', listener);
    socket.addEventListener('close', listener);
  });
}
