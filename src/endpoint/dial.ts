import WebSocket from 'ws';
import { InvalidOptionError } from '../errors.js';
import { parseGatewayAddress } from './address.js';
import { startClient, startServer } from './attach.js';
import type { Endpoint } from './endpoint.js';
import { type EndpointOptions, resolveEndpointOptions, resolveServerOptions, type ServerEndpointOptions } from './options.js';
import { connectTcp } from './tcp-transport.js';
import { checkTlsOptions, connectTls, type TlsOptions } from './tls-transport.js';
import type { Transport } from './transport.js';
import { openReconnecting } from './session/open.js';
import type { SessionOptions } from './session/options.js';
import type { ReconnectOptions } from './session/reconnect-policy.js';
import type { GatewaySource, ReconnectingEndpoint } from './session/reconnecting-endpoint.js';
import { connectWebSocket, isWebSocketAddress, parseWebSocketAddress, type WebSocketLike } from './websocket-transport.js';

/** Options of `dialClient` in Node: the endpoint's, plus TLS settings for `tls://` and `wss://`. */
export interface DialClientOptions<T = Uint8Array> extends EndpointOptions<T> {
  /** TLS settings (a private CA, a client certificate); only with a `tls://` or `wss://` address. */
  tls?: TlsOptions;
}

/** Options of a `dialClient` that reconnects: the plain ones plus `reconnect` and the session limits. */
export interface ReconnectingClientOptions<T = Uint8Array> extends DialClientOptions<T> {
  /**
   * Reconnect when the link to the gateway is lost (`{}`: the defaults), and allow
   * resumable dials: `dialClient` then returns a {@link ReconnectingEndpoint}. See
   * docs/sessions.md.
   */
  reconnect: ReconnectOptions;
  /** Limits of resumable virtual connections. @default {} */
  resumable?: SessionOptions;
}

/** Options of `dialServer` in Node: the server endpoint's, plus TLS settings for `tls://`. */
export interface DialServerOptions<T = Uint8Array> extends ServerEndpointOptions<T> {
  /** TLS settings (`ca` to trust the gateway; `cert` and `key` for a gateway that requires them); only with `tls://`. */
  tls?: TlsOptions;
}

/** Options of a `dialServer` that accepts resumable connections, or at least reconnects. */
export interface ResumableServerOptions<T = Uint8Array> extends DialServerOptions<T> {
  /**
   * Accept resumable virtual connections (`{}`: the default limits). The endpoint then
   * reconnects when its link is lost, and `dialServer` returns a
   * {@link ReconnectingEndpoint}. See docs/sessions.md.
   */
  resumable?: SessionOptions;
  /** Reconnect when the link to the gateway is lost (implied, with the defaults, by `resumable`). */
  reconnect?: ReconnectOptions;
}

const TLS_PREFIX = /^tls:\/\//i;
/** Options the Node dials take besides the endpoint's. */
const NODE_KEYS: readonly string[] = ['tls'];

/** Opens the transport `addr` names: `ws://`/`wss://` (clients only), `tls://host:port`, or `host:port` (TCP). */
async function openTransport(
  addr: string,
  kind: 'client' | 'server',
  timeoutMs: number,
  tlsOption: unknown,
  signal: AbortSignal | undefined,
): Promise<Transport> {
  const tlsOptions = checkTlsOptions(tlsOption);
  if (isWebSocketAddress(addr)) {
    if (kind === 'server') {
      throw new InvalidOptionError('addr', `game servers connect to the gateway's server listener over TCP or TLS (host:port or tls://host:port), got ${JSON.stringify(addr)}`);
    }
    const url = parseWebSocketAddress(addr);
    if (tlsOption !== undefined && !url.startsWith('wss:')) throw new InvalidOptionError('tls', 'applies to tls:// and wss:// addresses only');
    const create = (href: string): WebSocketLike =>
      new WebSocket(href, {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        ...(tlsOptions as WebSocket.ClientOptions),
      }) as unknown as WebSocketLike;
    return connectWebSocket(url, timeoutMs, create, 'send-callback', signal);
  }
  if (typeof addr === 'string' && TLS_PREFIX.test(addr)) {
    const { host, port } = parseGatewayAddress(addr.slice(6), 'tls://');
    return connectTls(host, port, timeoutMs, tlsOptions, signal);
  }
  const { host, port } = parseGatewayAddress(addr);
  if (tlsOption !== undefined) throw new InvalidOptionError('tls', 'applies to tls:// and wss:// addresses only');
  return connectTcp(host, port, timeoutMs, signal);
}

/**
 * Connects to the gateway's client listener as a game client.
 *
 * @param addr the gateway's client listener: `host:port` (TCP; IPv6 as `[::1]:7000`),
 *   `tls://host:port` (TCP with TLS), or `ws://host:port/path` / `wss://…` (WebSocket).
 * @throws (rejects) `InvalidOptionError` for bad options (an unknown key included) or
 *   address; `ConnectError` when the gateway cannot be reached within `connectTimeout`
 *   (or its certificate does not check out); `AbortError` when `options.signal` aborts
 *   first.
 *
 * @example
 * const client = await dialClient('127.0.0.1:7000', { format: json<Chat>() });
 * const conn = await client.dial(1); // server ID 1
 * conn.send({ text: 'hi' });
 * console.log(await conn.receive());
 */
export function dialClient<T = Uint8Array>(addr: string, options?: DialClientOptions<T>): Promise<Endpoint<T>>;
/**
 * Connects as a game client that reconnects: with `reconnect`, `addrs` may be one address,
 * a list (tried in order; a lost link moves on to the next) or a function naming one, and
 * the endpoint survives lost links; its `dial(id, { resumable: true })` connections
 * survive them too. Rejects with `GatewaysUnreachableError` when no address connects.
 * `signal` applies to the first connect only.
 */
export function dialClient<T = Uint8Array>(addrs: GatewaySource, options: ReconnectingClientOptions<T>): Promise<ReconnectingEndpoint<T>>;
export async function dialClient<T = Uint8Array>(addr: GatewaySource, options?: DialClientOptions<T> | ReconnectingClientOptions<T>): Promise<Endpoint<T> | ReconnectingEndpoint<T>> {
  const { reconnect, resumable, ...own } = (options ?? {}) as Partial<ReconnectingClientOptions<T>>;
  const resolved = resolveEndpointOptions<T>(own, NODE_KEYS);
  const { tls, signal } = own;
  if (reconnect === undefined) {
    if (resumable !== undefined) throw new InvalidOptionError('resumable', 'resumable dials need reconnect (e.g. { reconnect: {} })');
    const transport = await openTransport(addr as string, 'client', resolved.connectTimeout, tls, signal);
    return startClient(transport, resolved);
  }
  let first = true;
  return openReconnecting<T>('client', addr, { reconnect, resumable }, resolved.acceptBacklog, async (a) =>
    startClient(await openTransport(a, 'client', resolved.connectTimeout, tls, first ? signal : undefined), resolved),
  ).finally(() => {
    first = false;
  });
}

/**
 * Connects to the gateway's server listener as game server `serverId`, authenticating with
 * `authKey`. Resolves once the gateway has confirmed the key: after the handshake reply
 * the endpoint sends one `New`, and the gateway's `Open` (which it sends only on an
 * authenticated connection) is the confirmation. See docs/api.md, "Server handshake".
 *
 * @param addr the gateway's server listener: `host:port` (TCP) or `tls://host:port`.
 * @throws (rejects) `InvalidOptionError`; `ConnectError`; `AuthError` when the gateway
 *   closes the connection during the handshake or right after the reply (a wrong key, or
 *   with TLS a certificate it does not accept); `HandshakeTimeoutError` when it does not
 *   finish within `authTimeout`; `AbortError` when `options.signal` aborts before the
 *   gateway confirmed the key.
 *
 * @example
 * const server = await dialServer('10.0.0.1:7001', { serverId: 1, authKey: process.env.KEY! });
 * for await (const conn of server) serve(conn);
 */
export function dialServer<T = Uint8Array>(addr: string, options: DialServerOptions<T>): Promise<Endpoint<T>>;
/**
 * Connects as game server `serverId` and accepts resumable virtual connections (with
 * `resumable`) or at least reconnects (with `reconnect`): the endpoint survives lost
 * links, and a resumed connection is the same object it accepted, wherever the client
 * came back through. `addr` may be a list or a function, as for `dialClient`; `signal`
 * applies to the first connect only.
 */
export function dialServer<T = Uint8Array>(
  addr: GatewaySource,
  options: ResumableServerOptions<T> & ({ resumable: SessionOptions } | { reconnect: ReconnectOptions }),
): Promise<ReconnectingEndpoint<T>>;
export async function dialServer<T = Uint8Array>(addr: GatewaySource, options: ResumableServerOptions<T>): Promise<Endpoint<T> | ReconnectingEndpoint<T>> {
  const { reconnect, resumable, ...own } = options ?? ({} as ResumableServerOptions<T>);
  const resolved = resolveServerOptions<T>(own as DialServerOptions<T>, NODE_KEYS);
  const { tls, signal } = own;
  if (reconnect === undefined && resumable === undefined) {
    const transport = await openTransport(addr as string, 'server', resolved.connectTimeout, tls, signal);
    return startServer(transport, resolved, signal);
  }
  let first = true;
  return openReconnecting<T>('server', addr, { reconnect, resumable }, resolved.acceptBacklog, async (a) => {
    const s = first ? signal : undefined;
    return startServer(await openTransport(a, 'server', resolved.connectTimeout, tls, s), resolved, s);
  }).finally(() => {
    first = false;
  });
}
