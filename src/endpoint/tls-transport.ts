/**
 * The TLS transport, for Node: TCP wrapped in TLS. A TLS socket is a `net.Socket`, so the
 * connected socket runs over the same {@link TcpTransport}; this file only opens it.
 */
import tls from 'node:tls';
import { ConnectError, InvalidOptionError } from '../errors.js';
import { type TcpTransport, settleConnect } from './tcp-transport.js';

/** A PEM text, or several (a chain, or a list of CAs). */
export type Pem = string | Uint8Array | Array<string | Uint8Array>;

/**
 * TLS settings for `tls://` and `wss://` gateway addresses (Node only).
 *
 * @example
 * await dialServer('tls://gw.example:7001', {
 *   serverId: 1, authKey,
 *   tls: { ca: readFileSync('ca.pem'), cert: readFileSync('server.pem'), key: readFileSync('server.key') },
 * });
 */
export interface TlsOptions {
  /** CAs to trust instead of Node's default list (for a gateway with a private CA). */
  ca?: Pem;
  /** This side's certificate chain, for a gateway that asks for one (mutual TLS). */
  cert?: Pem;
  /** The private key of `cert`. */
  key?: Pem;
  /** The name the gateway's certificate must carry. @default the host of the address, when it is a name */
  servername?: string;
  /** Fail when the gateway's certificate does not check out. Turn off only in tests. @default true */
  rejectUnauthorized?: boolean;
}

const TLS_KEYS = new Set(['ca', 'cert', 'key', 'servername', 'rejectUnauthorized']);

function isPem(value: unknown): boolean {
  if (typeof value === 'string' || value instanceof Uint8Array) return true;
  return Array.isArray(value) && value.every((v) => typeof v === 'string' || v instanceof Uint8Array);
}

/** Checks `tls` options (`undefined` is none). @throws InvalidOptionError naming the field. */
export function checkTlsOptions(options: unknown): TlsOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('tls', 'must be an object: { ca, cert, key, servername, rejectUnauthorized }');
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!TLS_KEYS.has(k)) throw new InvalidOptionError(`tls.${k}`, 'is not a TLS option (use ca, cert, key, servername, rejectUnauthorized)');
  }
  for (const k of ['ca', 'cert', 'key'] as const) {
    if (o[k] !== undefined && !isPem(o[k])) throw new InvalidOptionError(`tls.${k}`, 'must be PEM text: a string, a Uint8Array, or an array of them');
  }
  if (o.servername !== undefined && (typeof o.servername !== 'string' || o.servername === '')) {
    throw new InvalidOptionError('tls.servername', 'must be a non-empty string');
  }
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
    throw new InvalidOptionError('tls.rejectUnauthorized', 'must be a boolean');
  }
  if ((o.cert === undefined) !== (o.key === undefined)) throw new InvalidOptionError('tls', 'cert and key go together');
  return o as TlsOptions;
}

/**
 * Opens a TLS connection to the gateway at `host:port` and checks its certificate.
 *
 * Rejects with `ConnectError` when the connection or the TLS handshake fails (a
 * certificate that does not check out included; the TLS error is the `cause`) or takes
 * longer than `timeoutMs`; the socket is fully released before the promise settles.
 */
export function connectTls(host: string, port: number, timeoutMs: number, options: TlsOptions, signal?: AbortSignal): Promise<TcpTransport> {
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({
      host,
      port,
      ...(options.ca !== undefined && { ca: options.ca as tls.ConnectionOptions['ca'] }),
      ...(options.cert !== undefined && { cert: options.cert as tls.ConnectionOptions['cert'] }),
      ...(options.key !== undefined && { key: options.key as tls.ConnectionOptions['key'] }),
      ...(options.servername !== undefined && { servername: options.servername }),
      rejectUnauthorized: options.rejectUnauthorized ?? true,
    });
  } catch (err) {
    return Promise.reject(err); // an unusable certificate or key: rejected like every other failure
  }
  return settleConnect(socket, 'secureConnect', timeoutMs, { where, name: `tls://${where}`, over: ' over TLS', closedDuring: 'during the TLS handshake' }, signal);
}
