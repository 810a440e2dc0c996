/**
 * Placement: which gateway a new game client should connect to. For a login or lobby
 * service that hands clients an address; browsers without Redis access can read the same
 * list from a gateway's `GET /cluster/gateways`.
 */
import { InvalidOptionError } from '../errors.js';
import type { GatewayLogger } from '../gateway/logger.js';
import { NoGatewayError } from './errors.js';
import { GatewayDirectory } from './gateway-directory.js';
import type { GatewayRecord } from './gateway-record.js';

/** How the client will connect: TCP (`clientAddr`) or WebSocket (`clientWsUrl`). */
export type ClientTransport = 'tcp' | 'ws';

/** Options of {@link pickGateway}. */
export interface PickGatewayOptions {
  /** The registry URL (a connection is opened and closed for this one pick), or an open {@link GatewayDirectory} to reuse. */
  redis: string | GatewayDirectory;
  /** @default 'fastway' */
  clusterName?: string;
  /** @default 'tcp' */
  transport?: ClientTransport;
  logger?: GatewayLogger;
}

/** The gateway a client should use. */
export interface GatewayPick {
  gatewayId: string;
  /** `clientAddr` (tcp) or `clientWsUrl` (ws) of that gateway. */
  address: string;
}

/**
 * The least-loaded ready gateway among `records` with an address for `transport` (fewest
 * clients, then fewest live virtual connections; ties broken at random so that a burst of
 * logins spreads out), or null. Never a draining gateway.
 */
export function chooseGateway(records: readonly GatewayRecord[], transport: ClientTransport, random: () => number = Math.random): GatewayPick | null {
  let best: GatewayRecord[] = [];
  for (const r of records) {
    const address = transport === 'tcp' ? r.clientAddr : r.clientWsUrl;
    if (r.state !== 'ready' || address === null) continue;
    const b = best[0];
    if (b === undefined || r.clients < b.clients || (r.clients === b.clients && r.liveConnections < b.liveConnections)) best = [r];
    else if (r.clients === b.clients && r.liveConnections === b.liveConnections) best.push(r);
  }
  if (best.length === 0) return null;
  const chosen = best[Math.min(best.length - 1, Math.floor(random() * best.length))]!;
  return { gatewayId: chosen.id, address: (transport === 'tcp' ? chosen.clientAddr : chosen.clientWsUrl)! };
}

/**
 * Picks the gateway a new client should connect to: the least-loaded ready one (see
 * {@link chooseGateway}).
 * @throws (rejects) `NoGatewayError` when no ready gateway has an address for the transport;
 *   `RegistryError` when Redis cannot be read; `InvalidOptionError`.
 */
export async function pickGateway(options: PickGatewayOptions): Promise<GatewayPick> {
  const transport = options.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'ws') throw new InvalidOptionError('transport', `must be tcp or ws, got ${JSON.stringify(transport)}`);
  const own = typeof options.redis === 'string';
  const directory =
    typeof options.redis === 'string'
      ? await GatewayDirectory.open({ redis: options.redis, ...(options.clusterName !== undefined && { clusterName: options.clusterName }), ...(options.logger && { logger: options.logger }) })
      : options.redis;
  try {
    const pick = chooseGateway(await directory.list(), transport);
    if (pick === null) throw new NoGatewayError(`no ready gateway with a ${transport === 'tcp' ? 'TCP client address' : 'WebSocket URL'} in the registry`);
    return pick;
  } finally {
    if (own) await directory.close();
  }
}
