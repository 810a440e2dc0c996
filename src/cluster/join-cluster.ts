/**
 * `joinCluster`: a game server's presence on every gateway of a cluster. It keeps one
 * authenticated endpoint per gateway, following the registry (Redis) or a static list,
 * and merges what they accept into one stream of virtual connections.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { DialOptions } from '../endpoint/endpoint.js';
import { AcceptIterator, AcceptQueue } from '../endpoint/accept-queue.js';
import type { DialServerOptions } from '../endpoint/dial.js';
import { resolveServerOptions } from '../endpoint/options.js';
import type { VirtualConnection } from '../endpoint/virtual-connection.js';
import { resolveSessionOptions, type SessionOptions } from '../endpoint/session/options.js';
import { ResumableConnection } from '../endpoint/session/resumable-connection.js';
import { SessionHost, type SessionHostStats } from '../endpoint/session/session-host.js';
import { EndpointClosedError, InvalidOptionError } from '../errors.js';
import { type GatewayLogger, silentLogger } from '../gateway/logger.js';
import { integerOption } from '../values/integer.js';
import { checkAtLeast } from '../values/relation.js';
import { checkClusterName } from './cluster-keys.js';
import { ClusterUnreachableError, GatewayUnavailableError, RegistryError, UserOfflineError } from './errors.js';
import { GatewayDirectory } from './gateway-directory.js';
import { GatewayLink, type LinkOwner, type LinkState } from './gateway-link.js';
import { decodeAnnouncement, type GatewayRecord, type GatewayState } from './gateway-record.js';
import { checkRedisUrl, closeRedis, connectRedis } from './redis-connection.js';
import { checkUserKey, type UserLocation, type UserLocator } from './user-locator.js';

/** Options of {@link joinCluster}: a server endpoint's (without the address), plus where the gateways are. */
export interface JoinClusterOptions<T = Uint8Array> extends Omit<DialServerOptions<T>, 'serverId' | 'authKey'> {
  /** The registry: `redis://host:port[/db]` or `rediss://…`. Give this or `gateways`. */
  redis?: string;
  /** A static list of the gateways' server addresses (`host:port`, `tls://host:port`), each one's ID being its address. */
  gateways?: readonly string[];
  /** Prefix of the registry's keys. @default 'fastway' */
  clusterName?: string;
  /** The server ID this server registers under on every gateway. */
  serverId: number;
  /** The gateways' server key. */
  authKey: string | Uint8Array;
  /** ms joinCluster waits to be linked to the gateways ready at the start; it rejects if none is linked by then. @default 10000 */
  joinTimeout?: number;
  /** ms between two full reads of the registry (announcements make most changes known sooner). @default 1000 */
  syncInterval?: number;
  /** Backoff between attempts to link a gateway: attempt n waits a random time in [base/2, base], base = min(maxDelay, initialDelay·2^n). */
  reconnect?: { initialDelay?: number; maxDelay?: number };
  /** ms a user binding lives without a refresh; the binding server refreshes it every third of that. @default 60000 */
  userTtl?: number;
  /**
   * Accept resumable virtual connections (`{}`: the default limits; docs/sessions.md). A
   * resumed connection is the same object, whichever gateway the client came back
   * through; its `gatewayId` is the gateway it runs through now.
   */
  resumable?: SessionOptions;
  logger?: GatewayLogger;
}

/** Every default of joinCluster, in one place. */
export const CLUSTER_DEFAULTS = {
  joinTimeout: 10_000,
  syncInterval: 1000,
  reconnectInitialDelay: 100,
  reconnectMaxDelay: 5000,
  userTtl: 60_000,
  redisConnectTimeout: 5000,
} as const;

/** A virtual connection accepted or dialed through a cluster: which gateway it runs through. */
export type ClusterConnection<T = Uint8Array> = VirtualConnection<T> & { readonly gatewayId: string };

/** One gateway as a cluster server sees it. */
export interface ClusterGateway {
  readonly id: string;
  /** The gateway's state in the registry (always `ready` in a static list). */
  readonly state: GatewayState;
  /** This server's link to it. */
  readonly link: LinkState;
  /** Its clients and live virtual connections at its last heartbeat (0 in a static list). */
  readonly clients: number;
  readonly liveConnections: number;
  /** Its registry record; null in a static list. */
  readonly record: GatewayRecord | null;
}

/** A gateway joined the cluster, started draining, or left (its record is gone). */
export interface MembershipChange {
  readonly event: 'join' | 'drain' | 'leave';
  readonly gatewayId: string;
}

/** This server's link to a gateway changed state. */
export interface LinkChange {
  readonly gatewayId: string;
  readonly link: LinkState;
  /** Why the link was lost or an attempt failed, when it was. */
  readonly error: Error | undefined;
}

/** Events of {@link ClusterServer}. */
export interface ClusterServerEvents {
  membership: [MembershipChange];
  link: [LinkChange];
}

/** Options of {@link ClusterServer.dial}. */
export interface ClusterDialOptions extends DialOptions {
  /** The gateway the client is on. */
  gatewayId: string;
  /** The client's ID on that gateway. */
  clientId: number;
}

/** A time in ms, from `min` to the longest a timer takes. */
function positive(name: string, value: unknown, fallback: number, min = 1): number {
  return integerOption(name, value, fallback, { min, max: 2 ** 31 - 1 });
}

/**
 * A game server joined to every gateway of a cluster. Get one from {@link joinCluster}.
 * `for await (const conn of cluster)` (or {@link accept}) yields the virtual connections
 * clients open through any gateway; {@link gateways} shows the membership and links.
 */
export class ClusterServer<T = Uint8Array> extends EventEmitter<ClusterServerEvents> implements AsyncIterable<ClusterConnection<T>> {
  /** The server ID used on every gateway. */
  readonly serverId: number;
  private readonly members = new Map<string, ClusterGateway>();
  private readonly links = new Map<string, GatewayLink<T>>();
  /** Server addresses by gateway ID (the static list's, or the records'). */
  private readonly addresses = new Map<string, string>();
  private readonly acceptQueue = new AcceptQueue<ClusterConnection<T>>();
  /** Bindings this server wrote and keeps alive: user key → stored value. */
  private readonly bindings = new Map<string, string>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private closing: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  private registryDown = false;
  private readonly locator: UserLocator | null;
  private readonly sessionHost: SessionHost<T> | null;
  /** What the links call back. */
  private readonly linkOwner: LinkOwner<T> = {
    wantedAddress: (id) => this.wantedAddress(id),
    onState: (link, error) => this.onLinkState(link, error),
    onAccept: (link, conn) => this.onLinkAccept(link, conn),
  };

  /** Not for users: get one from {@link joinCluster}. */
  private constructor(
    private readonly dialOptions: DialServerOptions<T>,
    private readonly settings: { syncInterval: number; userTtl: number; reconnect: { initialDelay: number; maxDelay: number } },
    private readonly logger: GatewayLogger,
    private readonly directory: GatewayDirectory | null,
    private readonly subscriber: Redis | null,
    staticList: readonly string[] | null,
    resumable: SessionOptions | undefined,
  ) {
    super();
    this.serverId = dialOptions.serverId;
    if (resumable === undefined) {
      this.sessionHost = null;
    } else {
      const endpoint = resolveServerOptions(dialOptions);
      this.sessionHost = new SessionHost<T>(resolveSessionOptions(resumable), endpoint.format, endpoint.recvQueue, (conn, gatewayId) =>
        this.deliver(tag(conn, gatewayId)),
      );
    }
    this.locator = directory === null ? null : directory.users();
    if (staticList !== null) {
      for (const address of staticList) {
        this.addresses.set(address, address);
        this.members.set(address, { id: address, state: 'ready', link: 'idle', clients: 0, liveConnections: 0, record: null });
      }
    }
  }

  /** @internal What {@link joinCluster} makes (then {@link start}s). */
  static create<T>(
    dialOptions: DialServerOptions<T>,
    settings: { syncInterval: number; userTtl: number; reconnect: { initialDelay: number; maxDelay: number } },
    logger: GatewayLogger,
    directory: GatewayDirectory | null,
    subscriber: Redis | null,
    staticList: readonly string[] | null,
    resumable: SessionOptions | undefined,
  ): ClusterServer<T> {
    return new ClusterServer<T>(dialOptions, settings, logger, directory, subscriber, staticList, resumable);
  }

  /** The gateways currently in the registry (or the static list), by ID: state, link and load. */
  get gateways(): ReadonlyMap<string, ClusterGateway> {
    return this.members;
  }

  /** Resumable sessions held, live or suspended (0 without `resumable`). */
  get sessions(): number {
    return this.sessionHost?.size ?? 0;
  }

  /** What the session layer accepted, refused and expired (all zero without `resumable`). */
  get sessionStats(): SessionHostStats {
    return this.sessionHost?.stats ?? { opened: 0, resumed: 0, unknown: 0, refused: 0, malformed: 0, expired: 0 };
  }

  /** The next virtual connection a client opened to this server through any gateway. Rejects with `EndpointClosedError` once closed. */
  accept(): Promise<ClusterConnection<T>> {
    const conn = this.acceptQueue.take();
    if (conn !== undefined) return Promise.resolve(conn);
    if (this.closing !== null) return Promise.reject(new EndpointClosedError('the cluster server is closed'));
    return this.acceptQueue.wait();
  }

  /** `for await (const conn of cluster)`: accepts until the cluster server closes. */
  [Symbol.asyncIterator](): AsyncIterator<ClusterConnection<T>> {
    return new AcceptIterator<ClusterConnection<T>>(this);
  }

  /**
   * Opens a virtual connection to client `clientId` on gateway `gatewayId`.
   * Rejects with `GatewayUnavailableError` when that gateway is not in the cluster, is
   * draining or is not linked; otherwise as `Endpoint.dial`.
   */
  async dial(options: ClusterDialOptions): Promise<ClusterConnection<T>> {
    const { gatewayId, clientId, ...dialOptions } = options ?? ({} as ClusterDialOptions);
    const member = this.members.get(gatewayId);
    if (member === undefined) throw new GatewayUnavailableError(String(gatewayId), 'unknown');
    if (member.state === 'draining') throw new GatewayUnavailableError(gatewayId, 'draining');
    const endpoint = this.links.get(gatewayId)?.endpoint;
    if (endpoint == null) throw new GatewayUnavailableError(gatewayId, 'not_linked');
    return tag(await endpoint.dial(clientId, dialOptions), gatewayId);
  }

  /**
   * Records in the registry that `userKey` is the client at the other end of `conn`, so
   * that any server of the cluster can {@link dialUser} it. The binding expires after
   * `userTtl` unless refreshed (this server refreshes it while `conn` is open) and is
   * removed when `conn` closes, by compare-and-delete: an older binding's removal never
   * removes a newer one. Rejects with `RegistryError` (no registry, or Redis down).
   */
  async bindUser(userKey: string, conn: ClusterConnection<T>): Promise<void> {
    checkUserKey(userKey);
    const locator = this.requireLocator('bindUser');
    if (typeof conn?.gatewayId !== 'string') throw new InvalidOptionError('conn', 'must be a connection accepted or dialed through this cluster server');
    const location: UserLocation = { gatewayId: conn.gatewayId, clientId: conn.remoteId, serverId: this.serverId };
    const value = await locator.bind(userKey, location, this.settings.userTtl);
    if (conn.isClosed) {
      await locator.unbind(userKey, value).catch(() => false);
      return;
    }
    this.bindings.set(userKey, value);
    void conn.closed.then(() => this.unbindLater(userKey, value));
  }

  /**
   * Dials the client `userKey` is bound to, through its gateway, from any server of the
   * cluster. Rejects with `UserOfflineError` when no binding exists, `RegistryError` when
   * Redis cannot be read, `GatewayUnavailableError`, or as `Endpoint.dial` (a
   * `DialRefusedError` when the client left since).
   */
  async dialUser(userKey: string, options?: DialOptions): Promise<ClusterConnection<T>> {
    checkUserKey(userKey);
    const location = await this.requireLocator('dialUser').locate(userKey);
    if (location === null) throw new UserOfflineError(userKey);
    return this.dial({ ...options, gatewayId: location.gatewayId, clientId: location.clientId });
  }

  /** Where `userKey` is bound, or null. Rejects with `RegistryError`. */
  locateUser(userKey: string): Promise<UserLocation | null> {
    checkUserKey(userKey);
    return this.requireLocator('locateUser').locate(userKey);
  }

  /**
   * Leaves the cluster: removes this server's user bindings (best effort), closes every
   * link (their virtual connections close), settles every pending accept and releases
   * every timer and Redis connection. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      this.timers.length = 0;
      await this.syncing;
      if (this.locator !== null && this.bindings.size > 0) {
        const bindings = [...this.bindings];
        this.bindings.clear();
        await Promise.all(bindings.map(([userKey, value]) => this.locator!.unbind(userKey, value).catch(() => false)));
      }
      this.sessionHost?.close(new EndpointClosedError('the cluster server is closed'));
      await Promise.all([...this.links.values()].map((link) => link.close()));
      this.links.clear();
      this.acceptQueue.rejectWaiters(new EndpointClosedError('the cluster server is closed'));
      if (this.subscriber !== null) await closeRedis(this.subscriber);
      await this.directory?.close();
    })();
    return this.closing;
  }

  // ---- Start-up (joinCluster) ----

  /** @internal Reads the registry (if any), links every ready gateway, and starts following changes. */
  async start(joinTimeout: number): Promise<void> {
    if (this.directory !== null) {
      const records = await this.directory.list();
      this.applyAll(records);
      this.subscriber!.on('message', (_channel: string, text: string) => this.onAnnouncement(text));
      this.subscriber!.on('ready', () => void this.sync()); // back after an outage: catch up
      await this.subscriber!.subscribe(this.directory.channel);
      this.timers.push(setInterval(() => void this.sync(), this.settings.syncInterval));
      this.timers.push(setInterval(() => void this.refreshBindings(), Math.max(1, Math.floor(this.settings.userTtl / 3))));
    }
    for (const id of this.members.keys()) this.linkIfWanted(id);
    await this.waitForLinks(joinTimeout);
  }

  private async waitForLinks(joinTimeout: number): Promise<void> {
    const wanted = [...this.members.values()].filter((m) => m.state === 'ready').map((m) => m.id);
    if (wanted.length === 0) return;
    const deadline = Date.now() + joinTimeout;
    const links = (): GatewayLink<T>[] => wanted.map((id) => this.links.get(id)).filter((l): l is GatewayLink<T> => l !== undefined);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const ls = links();
        const linked = ls.filter((l) => l.state === 'linked').length;
        const allTried = ls.every((l) => l.state === 'linked' || l.attemptsFinished > 0);
        if (linked === ls.length || (linked > 0 && allTried) || Date.now() >= deadline || this.closing !== null) {
          this.off('link', check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(check, Math.max(0, deadline - Date.now()));
      this.on('link', check);
      check();
    });
    if (![...this.links.values()].some((l) => l.state === 'linked')) {
      const failures = new Map<string, Error>();
      for (const l of links()) if (l.lastError !== undefined) failures.set(l.gatewayId, l.lastError);
      await this.close();
      throw new ClusterUnreachableError(failures, joinTimeout);
    }
  }

  // ---- Membership ----

  private async sync(): Promise<void> {
    if (this.directory === null || this.closing !== null || this.syncing !== null) return;
    this.syncing = (async () => {
      try {
        const records = await this.directory!.list();
        if (this.closing !== null) return;
        if (this.registryDown) {
          this.registryDown = false;
          this.logger.info({ event: 'cluster_registry_back', serverId: this.serverId }, 'registry readable again: membership resynchronised');
        }
        this.applyAll(records);
      } catch (err) {
        if (!this.registryDown) {
          this.registryDown = true;
          this.logger.warn(
            { event: 'cluster_registry_down', serverId: this.serverId, err: (err as Error).message },
            'registry unreadable: keeping the known gateways and links until it is back',
          );
        }
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  private onAnnouncement(text: string): void {
    let announcement;
    try {
      announcement = decodeAnnouncement(text);
    } catch (err) {
      this.logger.warn({ event: 'cluster_bad_announcement', err: (err as Error).message }, 'malformed announcement ignored');
      return;
    }
    if (announcement.event === 'leave') {
      this.remove(announcement.id);
      return;
    }
    void this.directory!.get(announcement.id).then(
      (record) => {
        if (this.closing !== null) return;
        if (record === null) this.remove(announcement.id);
        else this.upsert(record);
      },
      () => undefined, // Redis went away again: the next sync catches up
    );
  }

  private applyAll(records: readonly GatewayRecord[]): void {
    const present = new Set<string>();
    for (const record of records) {
      present.add(record.id);
      this.upsert(record);
    }
    for (const id of [...this.members.keys()]) if (!present.has(id)) this.remove(id);
  }

  private upsert(record: GatewayRecord): void {
    const old = this.members.get(record.id);
    this.addresses.set(record.id, record.serverAddr);
    const link = this.links.get(record.id)?.state ?? 'idle';
    this.members.set(record.id, { id: record.id, state: record.state, link, clients: record.clients, liveConnections: record.liveConnections, record });
    if (old === undefined) this.emit('membership', { event: 'join', gatewayId: record.id });
    else if (old.state === 'ready' && record.state === 'draining') this.emit('membership', { event: 'drain', gatewayId: record.id });
    this.linkIfWanted(record.id);
  }

  private remove(id: string): void {
    if (!this.members.delete(id)) return;
    this.addresses.delete(id);
    this.emit('membership', { event: 'leave', gatewayId: id });
    const link = this.links.get(id);
    // A live link stays until it drops by itself (a registry restarted empty must not cut
    // traffic); a link that is not up is given up at once.
    if (link !== undefined && link.state !== 'linked') {
      this.links.delete(id);
      void link.close();
    }
  }

  private linkIfWanted(id: string): void {
    if (this.closing !== null || this.wantedAddress(id) === null) return;
    let link = this.links.get(id);
    if (link === undefined) {
      link = new GatewayLink(id, this.linkOwner, this.dialOptions, this.settings.reconnect);
      this.links.set(id, link);
    }
    link.start();
  }

  // ---- What the links call back ----

  /** The server address to dial for `gatewayId`, or null when no link is wanted (unknown, draining, or closing). */
  private wantedAddress(gatewayId: string): string | null {
    if (this.closing !== null) return null;
    const member = this.members.get(gatewayId);
    if (member === undefined || member.state !== 'ready') return null;
    return this.addresses.get(gatewayId) ?? null;
  }

  private onLinkState(link: GatewayLink<T>, error: Error | undefined): void {
    const member = this.members.get(link.gatewayId);
    if (member !== undefined) this.members.set(link.gatewayId, { ...member, link: link.state });
    else if (link.state !== 'linked' && this.links.get(link.gatewayId) === link) {
      this.links.delete(link.gatewayId); // the gateway left while linked, and the link is now gone
      void link.close();
    }
    if (error !== undefined && link.state === 'retrying') {
      this.logger.info({ event: 'cluster_link_lost', gatewayId: link.gatewayId, serverId: this.serverId, err: error.message }, 'gateway link down: retrying');
    }
    this.emit('link', { gatewayId: link.gatewayId, link: link.state, error });
  }

  private onLinkAccept(link: GatewayLink<T>, conn: VirtualConnection<T>): void {
    if (this.sessionHost !== null && link.endpoint !== null) this.sessionHost.adopt(conn, link.gatewayId, link.endpoint.maxMessageSize);
    else this.deliver(tag(conn, link.gatewayId));
  }

  private deliver(tagged: ClusterConnection<T>): void {
    this.acceptQueue.offer(tagged);
  }

  // ---- User bindings ----

  private requireLocator(what: string): UserLocator {
    if (this.locator === null) throw new RegistryError(`${what} needs the registry: joinCluster was given a static gateway list, not redis`);
    return this.locator;
  }

  private unbindLater(userKey: string, value: string): void {
    if (this.bindings.get(userKey) === value) this.bindings.delete(userKey);
    if (this.closing !== null || this.locator === null) return;
    this.locator.unbind(userKey, value).catch((err: Error) => {
      this.logger.debug({ event: 'cluster_unbind_failed', userKey, err: err.message }, 'user binding not removed: it expires with its TTL');
    });
  }

  private async refreshBindings(): Promise<void> {
    if (this.locator === null || this.bindings.size === 0 || this.closing !== null) return;
    try {
      await this.locator.refresh(this.bindings, this.settings.userTtl);
    } catch {
      // Redis down: the registry-down warning says so; the next refresh tries again.
    }
  }
}

function tag<T>(conn: VirtualConnection<T>, gatewayId: string): ClusterConnection<T> {
  if (conn instanceof ResumableConnection) {
    // A resumed connection moves: it is on the gateway it last ran through.
    let last = gatewayId;
    const resumable = conn as ResumableConnection<T>;
    Object.defineProperty(conn, 'gatewayId', { get: () => (last = resumable.gateway ?? last), enumerable: true });
    return conn as unknown as ClusterConnection<T>;
  }
  Object.defineProperty(conn, 'gatewayId', { value: gatewayId, enumerable: true });
  return conn as ClusterConnection<T>;
}

/**
 * Joins a game server to every gateway of a cluster: the gateways in the registry
 * (`redis`), followed as they join, drain and leave, or a static list (`gateways`).
 * Resolves once linked to every gateway that is ready at that moment (when some cannot
 * be reached, once each has been tried and at least one is linked).
 *
 * @throws (rejects) `InvalidOptionError`; `RegistryError` when Redis cannot be reached;
 *   `ClusterUnreachableError` when no gateway could be linked within `joinTimeout`.
 *
 * @example
 * const cluster = await joinCluster({ redis: 'redis://10.0.0.9:6379', serverId: 1, authKey: KEY });
 * for await (const conn of cluster) serve(conn); // conn.gatewayId says through which gateway
 */
export async function joinCluster<T = Uint8Array>(options: JoinClusterOptions<T>): Promise<ClusterServer<T>> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object');
  const { redis, gateways, clusterName, joinTimeout, syncInterval, reconnect, userTtl, resumable, logger: givenLogger, ...endpointOptions } = options;
  if (resumable !== undefined) resolveSessionOptions(resumable); // checked up front
  const dialOptions = endpointOptions as DialServerOptions<T>;
  resolveServerOptions(dialOptions); // checks serverId, authKey and the endpoint options up front
  if ((redis === undefined) === (gateways === undefined)) throw new InvalidOptionError('redis', 'give exactly one of redis (the registry) or gateways (a static list)');
  const D = CLUSTER_DEFAULTS;
  const initialDelay = positive('reconnect.initialDelay', reconnect?.initialDelay, D.reconnectInitialDelay);
  const settings = {
    syncInterval: positive('syncInterval', syncInterval, D.syncInterval, 10),
    userTtl: positive('userTtl', userTtl, D.userTtl, 30),
    reconnect: {
      initialDelay,
      maxDelay:
        reconnect?.maxDelay === undefined
          ? Math.max(D.reconnectMaxDelay, initialDelay)
          : checkAtLeast('reconnect.maxDelay', positive('reconnect.maxDelay', reconnect.maxDelay, D.reconnectMaxDelay), 'reconnect.initialDelay', initialDelay,
              'the longest delay cannot be shorter than the first'),
    },
  };
  const timeout = positive('joinTimeout', joinTimeout, D.joinTimeout);
  const logger = givenLogger ?? silentLogger;
  let cluster: ClusterServer<T>;
  if (gateways !== undefined) {
    if (!Array.isArray(gateways) || gateways.length === 0 || gateways.some((g) => typeof g !== 'string' || g === '')) {
      throw new InvalidOptionError('gateways', 'must be a non-empty list of gateway server addresses (host:port)');
    }
    if (clusterName !== undefined) throw new InvalidOptionError('clusterName', 'applies to redis only');
    cluster = ClusterServer.create<T>(dialOptions, settings, logger, null, null, [...new Set(gateways)], resumable);
  } else {
    const url = checkRedisUrl('redis', redis);
    const name = checkClusterName('clusterName', clusterName);
    const directory = await GatewayDirectory.open({ redis: url, clusterName: name, logger, connectTimeout: D.redisConnectTimeout });
    let subscriber: Redis;
    try {
      subscriber = await connectRedis(url, 'subscriber', logger, D.redisConnectTimeout);
    } catch (err) {
      await directory.close();
      throw err;
    }
    cluster = ClusterServer.create<T>(dialOptions, settings, logger, directory, subscriber, null, resumable);
  }
  try {
    await cluster.start(timeout);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

