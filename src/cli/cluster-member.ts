/**
 * The `fastway` command's part in a cluster (`--cluster`): what the gateway advertises,
 * its registration in the registry (heartbeat, drain, leave), and the list served at
 * `GET /cluster/gateways`. The gateway itself knows nothing of this: it is read through
 * its stats once per heartbeat, and told nothing.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import type { BoundAddress, Gateway } from '../gateway/gateway.js';
import type { GatewayLogger } from '../gateway/logger.js';
import { GatewayDirectory } from '../cluster/gateway-directory.js';
import { GatewayRegistration } from '../cluster/gateway-registration.js';
import type { GatewayRecord } from '../cluster/gateway-record.js';
import { formatHostPort } from '../values/host-port.js';

/** What the command line says about the cluster. */
export interface ClusterSettings {
  /** `redis://…` or `rediss://…`. */
  url: string;
  name: string;
  gatewayId: string;
  advertiseClientAddr?: string;
  advertiseClientWsUrl?: string;
  advertiseServerAddr?: string;
  heartbeatInterval?: number;
  ttl?: number;
  /** The token owning the ID (a restarted worker reuses its slot's). */
  instance?: string;
}

/** The addresses a gateway was bound to, and how its listeners speak. */
export interface BoundListeners {
  client: BoundAddress;
  server: BoundAddress;
  clientWs?: BoundAddress;
  clientTls: boolean;
  serverTls: boolean;
  clientWsPath: string;
}

/** What a gateway puts in its record. */
export interface Advertised {
  clientAddr: string;
  clientWsUrl: string | null;
  serverAddr: string;
}

/** The default gateway ID: this machine's host name and a random suffix. */
export function defaultGatewayId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 100) || 'gateway';
  return `${host}-${randomBytes(3).toString('hex')}`;
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '';

/** `tls://10.0.0.5:7001` with port 7003 → `tls://10.0.0.5:7003`. */
export function withPort(address: string, port: number): string {
  return address.replace(/:\d{1,5}$/, `:${port}`);
}

/** `GET /cluster/gateways`: the ready gateways, their client addresses and load; 503 while Redis is unreachable. */
export async function gatewaysRoute(directory: GatewayDirectory): Promise<{ status: number; body: unknown }> {
  try {
    const records = await directory.list();
    return { status: 200, body: { gateways: records.filter((r) => r.state === 'ready').map(publicView) } };
  } catch (err) {
    return { status: 503, body: { error: (err as Error).message } };
  }
}

/**
 * The addresses to advertise: each `--advertise-*` given, else the bound address when it
 * is not a wildcard.
 * @throws InvalidOptionError naming the `--advertise-*` flag a wildcard needs.
 */
export function advertisedAddresses(settings: ClusterSettings, bound: BoundListeners): Advertised {
  const pick = (given: string | undefined, address: BoundAddress, flag: string, scheme: string, suffix = ''): string => {
    if (given !== undefined) return given;
    if (isWildcard(address.host)) {
      throw new InvalidOptionError(
        `--${flag}`,
        `is needed with --cluster: the listener is bound to the wildcard ${address.host || '*'}, which other machines cannot connect to; give the address they should use`,
      );
    }
    return `${scheme}${formatHostPort(address)}${suffix}`;
  };
  return {
    clientAddr: pick(settings.advertiseClientAddr, bound.client, 'advertise-client-addr', bound.clientTls ? 'tls://' : ''),
    serverAddr: pick(settings.advertiseServerAddr, bound.server, 'advertise-server-addr', bound.serverTls ? 'tls://' : ''),
    clientWsUrl:
      bound.clientWs === undefined
        ? null
        : pick(settings.advertiseClientWsUrl, bound.clientWs, 'advertise-client-ws-url', bound.clientTls ? 'wss://' : 'ws://', bound.clientWsPath),
  };
}

/** What `GET /cluster/gateways` shows of one ready gateway. */
export function publicView(r: GatewayRecord): object {
  return { id: r.id, clientAddr: r.clientAddr, clientWsUrl: r.clientWsUrl, clients: r.clients, liveConnections: r.liveConnections, startedAt: r.startedAt };
}

/** A gateway in the cluster: registered, and able to list the cluster's gateways. */
export class ClusterMember {
  private constructor(
    private readonly registration: GatewayRegistration,
    private readonly directory: GatewayDirectory,
    readonly advertised: Advertised,
  ) {}

  /**
   * Registers the gateway. Rejects with `GatewayIdTakenError`, `RegistryError`, or
   * `InvalidOptionError` (a wildcard without its `--advertise-*`).
   */
  static async join(settings: ClusterSettings, gateway: Gateway, bound: BoundListeners, version: string, logger: GatewayLogger): Promise<ClusterMember> {
    const advertised = advertisedAddresses(settings, bound);
    const directory = await GatewayDirectory.open({ redis: settings.url, clusterName: settings.name, logger });
    try {
      const registration = await GatewayRegistration.register({
        redis: settings.url,
        clusterName: settings.name,
        gatewayId: settings.gatewayId,
        ...advertised,
        version,
        load: () => {
          const s = gateway.stats;
          return { clients: s.clients, liveConnections: s.liveConnections };
        },
        logger,
        ...(settings.heartbeatInterval !== undefined && { heartbeatInterval: settings.heartbeatInterval }),
        ...(settings.ttl !== undefined && { ttl: settings.ttl }),
        ...(settings.instance !== undefined && { instance: settings.instance }),
      });
      return new ClusterMember(registration, directory, advertised);
    } catch (err) {
      await directory.close();
      throw err;
    }
  }

  get gatewayId(): string {
    return this.registration.gatewayId;
  }

  /** Turns the record `draining` at once (a SIGTERM). */
  drain(): Promise<void> {
    return this.registration.drain();
  }

  /** `GET /cluster/gateways` (see {@link gatewaysRoute}). */
  gatewaysRoute(): Promise<{ status: number; body: unknown }> {
    return gatewaysRoute(this.directory);
  }

  /** Deletes the record and closes the Redis connections. */
  async leave(): Promise<void> {
    await this.registration.leave();
    await this.directory.close();
  }
}
