/**
 * Turns the `reconnect` and `resumable` options of `dialClient`/`dialServer` into a
 * {@link ReconnectingEndpoint}, for the Node entry and the browser entry alike (each
 * brings its own way of opening a link).
 */
import type { Endpoint, EndpointKind } from '../endpoint.js';
import { resolveSessionOptions, type SessionOptions } from './options.js';
import { type ReconnectOptions, type ResolvedReconnectOptions, resolveReconnectOptions } from './reconnect-policy.js';
import { checkBelow } from '../../values/relation.js';
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
  const sessions = resolveSessionOptions(layer.resumable);
  let reconnect = resolveReconnectOptions(layer.reconnect);
  if (layer.resumable !== undefined) reconnect = backoffWithin(reconnect, layer.reconnect, sessions.resumeTimeout);
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

/**
 * The backoff of an endpoint that holds resumable sessions: a wait between two attempts
 * must end before the sessions it suspended expire, so `reconnect.maxDelay` (its default
 * lowered if need be) and `reconnect.initialDelay` are less than `resumable.resumeTimeout`.
 */
function backoffWithin(reconnect: ResolvedReconnectOptions, given: ReconnectOptions | undefined, resumeTimeout: number): ResolvedReconnectOptions {
  const why = 'a wait between two reconnect attempts must end before the suspended sessions expire';
  checkBelow('reconnect.initialDelay', reconnect.initialDelay, 'resumable.resumeTimeout', resumeTimeout, why);
  if (given?.maxDelay === undefined) return reconnect.maxDelay < resumeTimeout ? reconnect : { ...reconnect, maxDelay: resumeTimeout - 1 };
  checkBelow('reconnect.maxDelay', reconnect.maxDelay, 'resumable.resumeTimeout', resumeTimeout, why);
  return reconnect;
}
