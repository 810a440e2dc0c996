/**
 * The TCP transport, for Node (TLS reuses it over a `tls.TLSSocket`). With the TLS
 * transport and `dial.ts`, one of the few endpoint files that import a Node module.
 */
import net from 'node:net';
import { ConnectError } from '../errors.js';
import { ConnectAttempt } from './connect-attempt.js';
import type { Transport, TransportHandler } from './transport.js';

/** How long a graceful close may wait for the gateway to close its side before the socket is destroyed. */
const CLOSE_TIMEOUT_MS = 2000;

const kTransport = Symbol('fastway.transport');
type TransportSocket = net.Socket & { [kTransport]: TcpTransport };

/** A {@link Transport} over a connected `net.Socket` (Nagle off: the endpoint batches its own writes). */
export class TcpTransport implements Transport {
  readonly remoteAddress: string;
  private readonly socket: TransportSocket;
  private handler: TransportHandler | null = null;
  private error: Error | undefined = undefined;
  private isClosed = false;
  private closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(socket: net.Socket, remoteAddress: string) {
    this.socket = socket as TransportSocket;
    this.socket[kTransport] = this;
    this.remoteAddress = remoteAddress;
    socket.setNoDelay(true);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('drain', onSocketDrain);
  }

  setHandler(handler: TransportHandler): void {
    const first = this.handler === null;
    this.handler = handler;
    if (this.isClosed) {
      if (first) queueMicrotask(() => handler.onClose(this.error));
      return;
    }
    if (first) this.socket.on('data', onSocketData);
  }

  write(bytes: Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed) return true;
    return this.socket.write(bytes);
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  close(): void {
    if (this.isClosed || this.closeTimer !== undefined) return;
    this.socket.end();
    this.closeTimer = setTimeout(destroyStuckSocket, CLOSE_TIMEOUT_MS, this.socket);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** @internal */
  socketError(err: Error): void {
    this.error ??= err;
  }

  /** @internal */
  socketClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    this.handler?.onClose(this.error);
  }

  /** @internal */
  data(chunk: Buffer): void {
    this.handler!.onData(chunk);
  }

  /** @internal */
  drained(): void {
    this.handler?.onDrain();
  }
}

// Socket listeners, defined once: `this` is the socket.
function onSocketData(this: TransportSocket, chunk: Buffer): void {
  this[kTransport].data(chunk);
}
function onSocketError(this: TransportSocket, err: Error): void {
  this[kTransport].socketError(err);
}
function onSocketClose(this: TransportSocket): void {
  this[kTransport].socketClosed();
}
function onSocketDrain(this: TransportSocket): void {
  this[kTransport].drained();
}
function destroyStuckSocket(socket: net.Socket): void {
  socket.destroy();
}

/**
 * Opens a TCP connection to the gateway at `host:port`.
 *
 * Rejects with `ConnectError` when the connection fails or takes longer than `timeoutMs`;
 * the socket is fully released before the promise settles.
 */
export function connectTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<TcpTransport> {
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  let socket: net.Socket;
  try {
    socket = net.connect({ host, port, noDelay: true });
  } catch (err) {
    return Promise.reject(err); // a bad port: rejected like every other failure
  }
  return settleConnect(socket, 'connect', timeoutMs, { where, name: where, over: '', closedDuring: 'while connecting' }, signal);
}

/** How {@link settleConnect} names the connection in its transport and its errors. */
export interface ConnectWording {
  /** `host:port`, in error messages. */
  where: string;
  /** The transport's name (`host:port`, or `tls://host:port`). */
  name: string;
  /** Added after `connect to <where>`, such as ` over TLS`. */
  over: string;
  /** What was going on when the socket closed, such as `while connecting`. */
  closedDuring: string;
}

/**
 * Waits for a connecting socket's `readyEvent` (`connect`, or `secureConnect` for TLS) and
 * wraps it in a {@link TcpTransport}. Rejects with `ConnectError` when it fails or takes
 * longer than `timeoutMs`, and with `AbortError` when `signal` aborts; the socket is fully
 * released (closed) before the promise rejects.
 */
export function settleConnect(
  socket: net.Socket,
  readyEvent: string,
  timeoutMs: number,
  wording: ConnectWording,
  signal?: AbortSignal,
): Promise<TcpTransport> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => attempt.error(err);
    const onClose = (): void => reject(attempt.closed() ?? new ConnectError(`the connection to ${wording.where} closed ${wording.closedDuring}`));
    socket.once('error', onError);
    socket.once('close', onClose);
    const attempt = new ConnectAttempt(`${wording.where}${wording.over}`, timeoutMs, () => socket.destroy(), signal);
    socket.once(readyEvent, () => {
      attempt.ready();
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(new TcpTransport(socket, wording.name));
    });
  });
}
