import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { InvalidOptionError } from '../errors.js';
import { wasRefusedAtAccept } from './client-admission.js';
import { rejectUnknownKeys } from '../known-keys.js';

/** A PEM text, as a string or as the bytes of a file. */
export type Pem = string | Uint8Array;

/** The certificate and private key a TLS listener presents. */
export interface TlsOptions {
  /** The certificate chain, PEM (the listener's own certificate first). */
  cert: Pem;
  /** The private key of the certificate, PEM. */
  key: Pem;
}

/** TLS of the server listener: as {@link TlsOptions}, and optionally mutual TLS. */
export interface ServerTlsOptions extends TlsOptions {
  /**
   * CA certificate(s), PEM. When set, every game server must present a certificate signed
   * by one of them, or the connection is refused before the handshake challenge is sent.
   */
  ca?: Pem;
}

/** TLS options after checking: what `tls.createServer` and `setSecureContext` take. */
export interface ResolvedTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** Only on the server listener: the CA servers' certificates must be signed by. */
  ca?: string | Buffer;
}

/** Longest a client's TLS handshake may take before the connection is dropped. */
export const CLIENT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

function pem(name: string, value: unknown): string | Buffer {
  if (typeof value === 'string' && value.length > 0) return value;
  if (value instanceof Uint8Array && value.length > 0) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
  }
  throw new InvalidOptionError(name, 'must be a non-empty PEM text (a string or a Buffer)');
}

/**
 * Checks TLS options: both `cert` and `key` present, `ca` only where allowed, and the
 * certificate, key and CA usable together (a mismatched key is found here, not at the first
 * connection). Returns `null` when `value` is undefined.
 */
export function resolveTls(name: string, value: unknown, allowCa: boolean): ResolvedTls | null {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(name, 'must be an object { cert, key' + (allowCa ? ', ca? }' : ' }'));
  }
  rejectUnknownKeys(value, ['cert', 'key', 'ca'], `${name}.`);
  const v = value as { cert?: unknown; key?: unknown; ca?: unknown };
  const resolved: ResolvedTls = { cert: pem(`${name}.cert`, v.cert), key: pem(`${name}.key`, v.key) };
  if (v.ca !== undefined) {
    if (!allowCa) throw new InvalidOptionError(`${name}.ca`, 'is only accepted on the server listener (server.tls.ca)');
    resolved.ca = pem(`${name}.ca`, v.ca);
  }
  try {
    createSecureContext(resolved);
  } catch (err) {
    throw new InvalidOptionError(name, `the certificate, key or CA cannot be used: ${err instanceof Error ? err.message : String(err)}`);
  }
  return resolved;
}

/** The secure-context part of `tls`: what a reload replaces. */
export function secureContextOptions(tls: ResolvedTls): SecureContextOptions {
  return tls.ca === undefined ? { cert: tls.cert, key: tls.key } : { cert: tls.cert, key: tls.key, ca: tls.ca };
}

/** Told of a TLS handshake that failed or timed out; `remote` is `address:port`, read at accept. */
export type TlsErrorHandler = (err: Error, remote: string) => void;

/** The remote address of each accepted TCP socket, read at accept (a reset socket no longer knows it). */
const acceptedRemote = new WeakMap<Socket, string>();

/** `address:port` of a socket, `?` for what it no longer knows. */
export function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/**
 * Makes every TLS handshake on `server` that fails or times out end at once: the socket is
 * destroyed, then `onTlsError` is told. (Node's `tls.Server` only emits `tlsClientError` and
 * leaves the socket open, holding its file descriptor for good; an HTTPS server destroys it,
 * but before any listener of ours could read its address.) The remote address is read when
 * the TCP connection is accepted, so the report names it even when the peer reset first.
 */
export function endFailedHandshakes(server: TlsServer, onTlsError: TlsErrorHandler): void {
  // Prepended: runs before Node wraps the raw socket in a TLSSocket.
  server.prependListener('connection', (raw: Socket) => {
    acceptedRemote.set(raw, remoteOf(raw));
  });
  server.prependListener('tlsClientError', (err: Error, socket: Socket) => {
    // A server-side TLSSocket keeps the raw socket it wraps as `_parent` (not in Node's types).
    const raw = (socket as Socket & { _parent?: Socket })._parent;
    const remote = (raw !== undefined ? acceptedRemote.get(raw) : undefined) ?? remoteOf(socket);
    socket.destroy();
    if (!wasRefusedAtAccept(raw)) onTlsError(err, remote); // closed at accept for a bound: already reported
  });
}

/**
 * A listener for plain TCP, or TLS when `tls` is given. With `tls.ca` the peer must present
 * a certificate signed by that CA. `onSocket` gets each connection once it is usable (for
 * TLS, after the handshake); a TLS handshake that fails or takes longer than
 * `handshakeTimeout` closes the connection and goes to `onTlsError`. `onAccept`, when given,
 * sees every TCP connection first (before TLS) and may close it: false means it did.
 */
export function createSocketListener(
  tls: ResolvedTls | null,
  handshakeTimeout: number,
  onSocket: (socket: Socket) => void,
  onTlsError: TlsErrorHandler,
  onAccept?: (raw: Socket) => boolean,
): Server {
  // Accepted paused: the gateway starts reading once it has chosen how (see shared-read-buffer.ts).
  if (tls === null) {
    return createTcpServer({ noDelay: true, pauseOnConnect: true }, onAccept === undefined ? onSocket : (s) => void (onAccept(s) && onSocket(s)));
  }
  const mutual = tls.ca !== undefined;
  const server: TlsServer = createTlsServer(
    { ...secureContextOptions(tls), requestCert: mutual, rejectUnauthorized: mutual, handshakeTimeout, noDelay: true },
    onSocket,
  );
  endFailedHandshakes(server, onTlsError);
  // After Node has wrapped the socket in TLS: closing the raw socket ends the handshake too.
  if (onAccept !== undefined) server.on('connection', onAccept);
  return server;
}
