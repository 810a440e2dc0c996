/**
 * fastway for browsers: the endpoint library with the WebSocket transport, and nothing
 * that needs Node. The API and errors are those of the package root, less the gateway:
 * `dialClient` takes `ws://` and `wss://` addresses (a browser cannot open TCP), and
 * `dialServer` rejects (game servers run in Node, over TCP or TLS).
 *
 * Bundlers pick this entry through the package's `browser` export condition or the
 * `fastway/browser` subpath; `dist/browser/fastway.js` is a ready ESM bundle of it.
 */
import { ConnectError, InvalidOptionError } from './errors.js';
import { startClient } from './endpoint/attach.js';
import type { Endpoint } from './endpoint/endpoint.js';
import { type EndpointOptions, resolveEndpointOptions, type ServerEndpointOptions } from './endpoint/options.js';
import { connectWebSocket, parseWebSocketAddress, type WebSocketLike } from './endpoint/websocket-transport.js';
import { openReconnecting } from './endpoint/session/open.js';
import type { SessionOptions } from './endpoint/session/options.js';
import type { ReconnectOptions } from './endpoint/session/reconnect-policy.js';
import type { GatewaySource, ReconnectingEndpoint } from './endpoint/session/reconnecting-endpoint.js';

export * from './errors.js';
export * as protocol from './protocol/public.js';
export { attachClient, attachServer } from './endpoint/attach.js';
export { Endpoint, type DialOptions, type EndpointKind } from './endpoint/endpoint.js';
export { VirtualConnection } from './endpoint/virtual-connection.js';
export { raw, utf8, json, defineFormat, type Format, type FormatSpec } from './endpoint/format.js';
export { ENDPOINT_DEFAULTS, type EndpointOptions, type ServerEndpointOptions } from './endpoint/options.js';
export type { Transport, TransportHandler } from './endpoint/transport.js';
export { WebSocketTransport, connectWebSocket, type WebSocketLike } from './endpoint/websocket-transport.js';

// Resumable sessions (docs/sessions.md).
export { ReconnectingEndpoint, type GatewaySource, type LinkStatusEvent, type ReconnectingDialOptions } from './endpoint/session/reconnecting-endpoint.js';
export { ResumableConnection, type SessionState, type SessionStatusEvent } from './endpoint/session/resumable-connection.js';
export { SESSION_DEFAULTS, type SessionOptions } from './endpoint/session/options.js';
export { RECONNECT_DEFAULTS, type ReconnectOptions } from './endpoint/session/reconnect-policy.js';

type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Connects to the gateway's WebSocket listener as a game client, with the browser's
 * `WebSocket`.
 *
 * @param addr `ws://host:port/path` or `wss://host:port/path`.
 * @throws (rejects) `InvalidOptionError` for bad options or an address that is not
 *   `ws://`/`wss://`; `ConnectError` when the gateway cannot be reached within
 *   `connectTimeout` (or this environment has no `WebSocket`).
 *
 * @example
 * const client = await dialClient('wss://play.example/fastway', { format: json<Chat>() });
 * const conn = await client.dial(1);
 * conn.send({ text: 'hi' });
 */
export function dialClient<T = Uint8Array>(addr: string, options?: BrowserDialClientOptions<T> & { reconnect?: undefined }): Promise<Endpoint<T>>;
/**
 * Connects as a game client that reconnects (see the Node `dialClient`): `addrs` is one
 * `ws://`/`wss://` address, a list of them, or a function naming one.
 */
export function dialClient<T = Uint8Array>(
  addrs: GatewaySource,
  options: BrowserDialClientOptions<T> & { reconnect: ReconnectOptions },
): Promise<ReconnectingEndpoint<T>>;
export async function dialClient<T = Uint8Array>(addr: GatewaySource, options?: BrowserDialClientOptions<T>): Promise<Endpoint<T> | ReconnectingEndpoint<T>> {
  const { reconnect, resumable, ...own } = options ?? {};
  const resolved = resolveEndpointOptions<T>(own);
  let first = true;
  const connect = async (a: string): Promise<Endpoint<T>> => {
    if (typeof a !== 'string' || !/^wss?:\/\//i.test(a)) {
      throw new InvalidOptionError('addr', `in a browser the gateway is reached over WebSocket: ws://host:port/path or wss://…, got ${JSON.stringify(a)}`);
    }
    const url = parseWebSocketAddress(a);
    const Socket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof Socket !== 'function') throw new ConnectError(`cannot connect to ${url}: this environment has no WebSocket`);
    const signal = first ? own.signal : undefined;
    first = false;
    const transport = await connectWebSocket(url, resolved.connectTimeout, (href) => new Socket(href), 'poll', signal);
    return startClient(transport, resolved);
  };
  if (reconnect === undefined) {
    if (resumable !== undefined) throw new InvalidOptionError('resumable', 'resumable dials need reconnect (e.g. { reconnect: {} })');
    return connect(addr as string);
  }
  return openReconnecting<T>('client', addr, { reconnect, resumable }, resolved.acceptBacklog, connect);
}

/** Options of the browser's `dialClient`: the endpoint's, plus reconnecting and resumable sessions. */
export interface BrowserDialClientOptions<T = Uint8Array> extends EndpointOptions<T> {
  /** Reconnect when the link is lost (`{}`: the defaults); `dialClient` then returns a `ReconnectingEndpoint`. */
  reconnect?: ReconnectOptions;
  /** Limits of resumable virtual connections (with `reconnect`). */
  resumable?: SessionOptions;
}

/**
 * Not available in browsers: game servers connect to the gateway's server listener over
 * TCP or TLS, which a browser cannot open. Always rejects with `InvalidOptionError`
 * (`addr`). Use the package root in Node, or `attachServer` over a transport of your own.
 */
export async function dialServer<T = Uint8Array>(addr: string, options: ServerEndpointOptions<T>): Promise<Endpoint<T>> {
  void options;
  throw new InvalidOptionError(
    'addr',
    `dialServer is not available in browsers: game servers connect over TCP or TLS from Node (got ${JSON.stringify(addr)})`,
  );
}
