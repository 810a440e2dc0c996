/**
 * Turns the `reconnect` and `resumable` options of `dialClient`/`dialServer` into a
 * {@link ReconnectingEndpoint}, for the Node entry and the browser entry alike (each
 * brings its own way of opening a link).
 */
import type { Endpoint, EndpointKind } from '../endpoint.js';
import { resolveSessionOptions, type SessionOptions } from './options.js';
import { type ReconnectOptions, resolveReconnectOptions } from './reconnect-policy.js';
import { checkGatewaySource, type Connector, type GatewaySource, ReconnectingEndpoint } from './reconnecting-endpoint.js';

/** The session-layer options of a dial function, split from the endpoint's own. */
export interface SessionLayerOptions {
  reconnect?: ReconnectOptions | undefined;
  resumable?: SessionOptions | undefined;
}

/** Opens a reconnecting endpoint of `kind`; the options were split off the endpoint's. */
export function openReconnecting<T>(
  kind: EndpointKind,
  source: GatewaySource,
  layer: SessionLayerOptions,
  acceptBacklog: number,
  connect: (addr: string) => Promise<Endpoint<T>>,
): Promise<ReconnectingEndpoint<T>> {
  const checked = checkGatewaySource(source);
  const reconnect = resolveReconnectOptions(layer.reconnect);
  const sessions = resolveSessionOptions(layer.resumable);
  const connector: Connector<T> = connect;
  return ReconnectingEndpoint.open<T>({
    kind,
    source: checked,
    connect: connector,
    reconnect,
    sessions,
    acceptResumable: kind === 'server' && layer.resumable !== undefined,
    acceptBacklog,
  });
}
