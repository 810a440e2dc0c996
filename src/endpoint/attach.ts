import { Endpoint } from './endpoint.js';
import {
  type EndpointOptions,
  type ResolvedEndpointOptions,
  type ResolvedServerOptions,
  resolveEndpointOptions,
  resolveServerOptions,
  type ServerEndpointOptions,
} from './options.js';
import { ServerHandshake } from './server-handshake.js';
import type { Transport } from './transport.js';

/**
 * A client endpoint over a transport you opened yourself (for transports fastway does not
 * ship). `dialClient` is this over TCP. Rejects with `InvalidOptionError` for bad options.
 */
export async function attachClient<T = Uint8Array>(transport: Transport, options?: EndpointOptions<T>): Promise<Endpoint<T>> {
  return startClient(transport, resolvedOrDestroyed(transport, resolveEndpointOptions<T>, options));
}

/**
 * A server endpoint over a transport you opened yourself: runs the server handshake (see
 * `dialServer`) and resolves once the gateway has confirmed the key.
 */
export async function attachServer<T = Uint8Array>(transport: Transport, options: ServerEndpointOptions<T>): Promise<Endpoint<T>> {
  return startServer(transport, resolvedOrDestroyed(transport, resolveServerOptions<T>, options), options.signal);
}

/** `resolve(options)`; when that throws (bad options), `transport` is destroyed first. */
function resolvedOrDestroyed<O, R>(transport: Transport, resolve: (options: O) => R, options: O): R {
  try {
    return resolve(options);
  } catch (err) {
    transport.destroy();
    throw err;
  }
}

/** @internal */
export function startClient<T>(transport: Transport, options: ResolvedEndpointOptions<T>): Endpoint<T> {
  return Endpoint.create<T>(transport, 'client', options);
}

/** @internal */
export function startServer<T>(transport: Transport, options: ResolvedServerOptions<T>, signal?: AbortSignal): Promise<Endpoint<T>> {
  return new Promise((resolve, reject) => new ServerHandshake<T>(transport, options, resolve, reject, signal));
}
