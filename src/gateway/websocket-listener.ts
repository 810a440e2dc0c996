import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ProtocolError } from '../errors.js';
import { CONN_ID_SIZE, LENGTH_SIZE, readU32 } from '../protocol/frame.js';
import type { GatewaySocket } from './gateway-socket.js';
import { normaliseOrigin } from './options.js';
import type { DisconnectReason } from './stats.js';
import { CLIENT_TLS_HANDSHAKE_TIMEOUT_MS, endFailedHandshakes, remoteOf, type ResolvedTls, secureContextOptions, type TlsErrorHandler } from './tls.js';

/** WebSocket close codes the gateway sends (RFC 6455 §7.4.1). */
export const WS_CLOSE = {
  /** The gateway is shutting down. */
  goingAway: 1001,
  /** A message broke the framing rules (partial frame, bad fastway frame). */
  protocolError: 1002,
  /** A text message: only binary messages are accepted. */
  unsupportedData: 1003,
} as const;

/**
 * Room in one client message beyond the largest frame: a client may batch small frames
 * with a large one (the endpoint library writes a batch once it reaches 64 KiB), so the
 * largest message accepted is `maxPacketSize + 4 + WS_BATCH_ALLOWANCE` bytes.
 */
export const WS_BATCH_ALLOWANCE = 64 * 1024;

/** The largest client message the WebSocket listener accepts, for `maxPacketSize`. */
export function maxWebSocketPayload(maxPacketSize: number): number {
  return maxPacketSize + LENGTH_SIZE + WS_BATCH_ALLOWANCE;
}

/** How long a closing WebSocket waits for the client's close frame before the socket is cut. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000;
/** How long an HTTP upgrade request may take to arrive (after the TLS handshake, on WSS). */
export const UPGRADE_REQUEST_TIMEOUT_MS = 10_000;
/**
 * How often Node looks for requests past {@link UPGRADE_REQUEST_TIMEOUT_MS} (its default, 30 s,
 * would let a half-sent request live up to 40 s): the timeout is kept to within this much.
 */
const UPGRADE_TIMEOUT_CHECK_MS = 500;
/** The HTTP status for an HTTP parse error Node reports as `clientError`. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  return 400;
}

/** Settings of the WebSocket listener. */
export interface WebSocketListenerConfig {
  /** The only request path upgraded, like `/` or `/fastway`. */
  path: string;
  /** Allowed `Origin` values (normalised by {@link normaliseOrigin}); `null` allows any. */
  origins: ReadonlySet<string> | null;
  /** Largest message accepted, in bytes. */
  maxPayload: number;
  /** TLS (WSS) when set. */
  tls: ResolvedTls | null;
}

/**
 * True when `buf` holds one or more whole frames and nothing else: walking the Length
 * fields from the start lands exactly on the end. Reads only the headers. A frame is taken
 * to span at least a whole header, as the decoder reads one before judging the Length.
 */
export function endsOnFrameBoundary(buf: Uint8Array): boolean {
  const n = buf.length;
  if (n === 0) return false;
  let off = 0;
  while (n - off >= LENGTH_SIZE) {
    const length = readU32(buf, off);
    off += LENGTH_SIZE + (length < CONN_ID_SIZE ? CONN_ID_SIZE : length);
  }
  return off === n;
}

/**
 * One WebSocket client connection, seen by the gateway as a {@link GatewaySocket}. Each
 * `write` sends one binary message, and the gateway only ever writes whole frames, so no
 * frame is split across messages. A received message is passed on as `'data'` only when it
 * is binary and ends on a frame boundary; otherwise it is a `ProtocolError` and the
 * connection is closed with a close code (1003 for text, 1002 for the rest).
 */
export class WebSocketPeerSocket extends EventEmitter implements GatewaySocket {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** The close code to send when the gateway closes this connection for a protocol error. */
  private protocolCloseCode: number = WS_CLOSE.protocolError;
  /** Set once this end has begun closing: what the client sends after that is not reported. */
  private ending = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly raw: Socket,
  ) {
    super();
    this.remoteAddress = raw.remoteAddress;
    this.remotePort = raw.remotePort;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => this.onWebSocketError(err));
    ws.on('close', () => this.emit('close'));
  }

  get destroyed(): boolean {
    return this.ws.readyState !== WebSocket.OPEN;
  }

  /** What `ws` holds (its own queue and the socket's): the sent messages not yet in the kernel. */
  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  write(data: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    this.ws.send(data, cb);
    return true;
  }

  cork(): void {
    this.raw.cork();
  }

  uncork(): void {
    this.raw.uncork();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  setNoDelay(noDelay = true): void {
    this.raw.setNoDelay(noDelay);
  }

  destroy(): void {
    this.ending = true;
    this.ws.terminate();
  }

  /** Protocol errors and shutdown send a close frame; anything else cuts the connection. */
  closeFor(reason: DisconnectReason): void {
    this.ending = true;
    if (reason === 'protocol_error') this.ws.close(this.protocolCloseCode);
    else if (reason === 'gateway_closing') this.ws.close(WS_CLOSE.goingAway);
    else this.ws.terminate();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.ending || this.ws.readyState !== WebSocket.OPEN) return;
    if (!isBinary) {
      this.fail(WS_CLOSE.unsupportedData, new ProtocolError('ERR_TEXT_MESSAGE', 'a text WebSocket message: frames travel in binary messages only'));
    } else if (!endsOnFrameBoundary(data)) {
      this.fail(
        WS_CLOSE.protocolError,
        new ProtocolError('ERR_PARTIAL_FRAME', `a WebSocket message of ${data.length} bytes that does not hold whole frames only`),
      );
    } else {
      this.emit('data', data);
    }
  }

  /** `ws` found the client breaking the WebSocket protocol; it is already closing with a code. */
  private onWebSocketError(err: Error & { code?: string }): void {
    if (this.ending) return; // a second fault while closing for the first: counted once
    const code = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'ERR_FRAME_TOO_LARGE' : 'ERR_WEBSOCKET_PROTOCOL';
    this.fail(0, new ProtocolError(code, `WebSocket: ${err.message}`));
  }

  private fail(closeCode: number, err: ProtocolError): void {
    this.ending = true;
    if (closeCode !== 0) this.protocolCloseCode = closeCode;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.ws.terminate();
  }
}

/**
 * Creates (not binds) the HTTP(S) server of the WebSocket listener. An upgrade request for
 * `config.path` from an allowed origin becomes a {@link WebSocketPeerSocket} handed to
 * `onClient`; any other request is answered with an HTTP error and reported to `onRefused`.
 * `onAccept`, when given, sees every TCP connection first (before TLS) and may close it.
 */
export function createWebSocketListener(
  config: WebSocketListenerConfig,
  onClient: (socket: WebSocketPeerSocket) => void,
  onRefused: (remote: string, status: number, reason: string) => void,
  onTlsError: TlsErrorHandler,
  onAccept?: (raw: Socket) => boolean,
): Server {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: config.maxPayload,
    // ws ≥ 8.19 option, not in its types yet: the wait for the client's close frame.
    ...({ closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS } as object),
  });
  const http = { connectionsCheckingInterval: UPGRADE_TIMEOUT_CHECK_MS, headersTimeout: UPGRADE_REQUEST_TIMEOUT_MS, requestTimeout: UPGRADE_REQUEST_TIMEOUT_MS };
  let server: Server;
  if (config.tls === null) {
    server = createHttpServer(http);
  } else {
    const https = createHttpsServer({ ...http, ...secureContextOptions(config.tls), handshakeTimeout: CLIENT_TLS_HANDSHAKE_TIMEOUT_MS });
    endFailedHandshakes(https, onTlsError);
    server = https;
  }

  const refuse = (socket: Duplex, req: IncomingMessage, status: number, reason: string, extra = ''): void => {
    onRefused(`${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`, status, reason);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  // Every TCP connection, before TLS and the upgrade (after Node's own listener, which closing it ends).
  if (onAccept !== undefined) server.on('connection', onAccept);

  // A request that is malformed or too slow (Node's HTTP parser): answered, closed, reported.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const raw = socket as Socket;
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(err.code);
    onRefused(remoteOf(raw), status, status === 408 ? `the upgrade request took longer than ${UPGRADE_REQUEST_TIMEOUT_MS} ms` : err.message);
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  /** The request's path without its query. */
  const pathOf = (req: IncomingMessage): string => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    return query < 0 ? url : url.slice(0, query);
  };

  server.on('request', (req, res) => {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    // Another path is 404 whether or not it asks for an upgrade; only the WebSocket path says "upgrade".
    if (pathOf(req) !== config.path) {
      onRefused(remote, 404, `path ${JSON.stringify(req.url ?? '')} is not ${config.path}`);
      res.writeHead(404, { Connection: 'close', 'Content-Length': '0' }).end();
      return;
    }
    onRefused(remote, 426, 'not a WebSocket upgrade');
    res.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Length': '0' }).end();
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '';
    if (pathOf(req) !== config.path) {
      refuse(socket, req, 404, `path ${JSON.stringify(url)} is not ${config.path}`);
      return;
    }
    const origin = req.headers.origin;
    // Browsers always send Origin; a client without one is not a browser and could send any.
    if (config.origins !== null && origin !== undefined) {
      const normalised = normaliseOrigin(origin);
      if (normalised === null || !config.origins.has(normalised)) {
        refuse(socket, req, 403, `origin ${JSON.stringify(origin)} is not allowed`);
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => onClient(new WebSocketPeerSocket(ws, socket as Socket)));
  });
  wss.on('wsClientError', (err: Error, socket: Duplex, req: IncomingMessage) => refuse(socket, req, 400, err.message));
  server.on('close', () => wss.close());
  return server;
}
