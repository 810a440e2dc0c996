import { parseGatewayAddress } from './address.js';
import { startClient, startServer } from './attach.js';
import type { Endpoint } from './endpoint.js';
import { type EndpointOptions, resolveEndpointOptions, resolveServerOptions, type ServerEndpointOptions } from './options.js';
import { connectTcp } from './tcp-transport.js';

/**
 * Connects to the gateway's client listener as a game client.
 *
 * @param addr `host:port` of the gateway's client listener (IPv6 as `[::1]:7000`).
 * @throws (rejects) `InvalidOptionError` for bad options or address; `ConnectError` when
 *   the gateway cannot be reached within `connectTimeout`.
 *
 * @example
 * const client = await dialClient('127.0.0.1:7000', { format: json<Chat>() });
 * const conn = await client.dial(1); // server ID 1
 * conn.send({ text: 'hi' });
 * console.log(await conn.receive());
 */
export async function dialClient<T = Uint8Array>(addr: string, options?: EndpointOptions<T>): Promise<Endpoint<T>> {
  const resolved = resolveEndpointOptions(options);
  const { host, port } = parseGatewayAddress(addr);
  const transport = await connectTcp(host, port, resolved.connectTimeout);
  return startClient(transport, resolved);
}

/**
 * Connects to the gateway's server listener as game server `serverId`, authenticating with
 * `authKey`. Resolves once the gateway has confirmed the key: after the handshake reply
 * the endpoint sends one `New`, and the gateway's `Open` (which it sends only on an
 * authenticated connection) is the confirmation. See docs/api.md, "Server handshake".
 *
 * @throws (rejects) `InvalidOptionError`; `ConnectError`; `AuthError` when the gateway
 *   closes the connection during the handshake or right after the reply (a wrong key);
 *   `HandshakeTimeoutError` when it does not finish within `authTimeout`.
 *
 * @example
 * const server = await dialServer('10.0.0.1:7001', { serverId: 1, authKey: process.env.KEY! });
 * for await (const conn of server) serve(conn);
 */
export async function dialServer<T = Uint8Array>(addr: string, options: ServerEndpointOptions<T>): Promise<Endpoint<T>> {
  const resolved = resolveServerOptions(options);
  const { host, port } = parseGatewayAddress(addr);
  const transport = await connectTcp(host, port, resolved.connectTimeout);
  return startServer(transport, resolved);
}
