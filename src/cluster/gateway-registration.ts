/**
 * The gateway's side of the registry: its record under `<name>:gateway:<id>` with a TTL,
 * refreshed on a heartbeat, and join/drain/leave announcements on `<name>:events`.
 *
 * This is the only part of the cluster client a gateway process runs. It reads the
 * gateway's load through a callback once per heartbeat and never sits on the forwarding
 * path: while Redis is down, heartbeats fail (logged once per outage, counted) and the
 * gateway carries traffic as before; when Redis returns, the next heartbeat writes the
 * record again and announces the gateway anew.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InvalidOptionError } from '../errors.js';
import { type GatewayLogger, silentLogger } from '../gateway/logger.js';
import { checkClusterName, checkGatewayId, type ClusterKeys, clusterKeys } from './cluster-keys.js';
import { GatewayIdTakenError, RegistryError } from './errors.js';
import { type AnnouncementEvent, encodeAnnouncement, encodeGatewayRecord, type GatewayRecord, type GatewayState } from './gateway-record.js';
import { checkRedisUrl, closeRedis, connectRedis } from './redis-connection.js';

/** What a gateway reports about its load at each heartbeat. */
export interface GatewayLoad {
  clients: number;
  liveConnections: number;
}

/** Options of {@link GatewayRegistration.register}. */
export interface GatewayRegistrationOptions {
  /** The registry: `redis://host:port[/db]` or `rediss://…`. */
  redis: string;
  /** Prefix of every key. @default 'fastway' */
  clusterName?: string;
  /** This gateway's ID, unique among the live gateways of the cluster. */
  gatewayId: string;
  /** Where game clients connect over TCP; null when the gateway has no such listener to advertise. */
  clientAddr: string | null;
  /** Where game clients connect over WebSocket; null when off. */
  clientWsUrl: string | null;
  /** Where game servers connect. */
  serverAddr: string;
  /** The gateway's fastway version. */
  version: string;
  /** Read at each heartbeat. */
  load: () => GatewayLoad;
  /** ms between two writes of the record. @default 2000 */
  heartbeatInterval?: number;
  /** ms the record lives without a heartbeat: a gateway killed outright is gone from the registry this long after its last one. @default 6000 */
  ttl?: number;
  /** ms the first connection to Redis may take. @default 5000 */
  connectTimeout?: number;
  /**
   * The token that owns the ID in the registry. A process restarted in the same slot (a
   * `--workers` worker) passes its predecessor's to take the ID over at once. @default random
   */
  instance?: string;
  logger?: GatewayLogger;
}

/** Every default of the registration, in one place. */
export const REGISTRATION_DEFAULTS = { heartbeatInterval: 2000, ttl: 6000, connectTimeout: 5000 } as const;
/** Accepted heartbeat intervals and TTLs, in ms (the TTL must also be at least twice the heartbeat). */
export const HEARTBEAT_RANGE = { min: 10, max: 60_000 } as const;
export const TTL_RANGE = { min: 20, max: 600_000 } as const;

/**
 * Writes the record with a TTL unless another instance holds the ID.
 * KEYS[1] record key; ARGV: record, instance, ttl. Returns 0 (taken), 1 (refreshed), 2 (created).
 */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v then
  local ok, r = pcall(cjson.decode, v)
  if ok and type(r) == 'table' and r.instance ~= ARGV[2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
if v then return 1 end
return 2`;

/** Deletes the record if this instance holds it. KEYS[1] record key; ARGV[1] instance. */
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, r = pcall(cjson.decode, v)
if ok and type(r) == 'table' and r.instance == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

function duration(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `must be an integer number of ms from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** A gateway's presence in the registry, from {@link register} to {@link leave}. */
export class GatewayRegistration {
  /** Heartbeats written, and heartbeats that failed (Redis down or the ID taken over). */
  readonly counts = { heartbeats: 0, heartbeatFailures: 0 };
  private current: GatewayState = 'ready';
  private timer: ReturnType<typeof setInterval> | null = null;
  private beating: Promise<void> | null = null;
  private left: Promise<void> | null = null;
  private readonly startedAt = Date.now();
  /** The last heartbeat failed: the next success is logged. */
  private failing = false;

  private constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly options: Required<Omit<GatewayRegistrationOptions, 'clusterName' | 'logger' | 'connectTimeout'>> & { logger: GatewayLogger },
  ) {}

  /**
   * Connects to Redis, claims the gateway ID, writes the record, announces `join` and
   * starts the heartbeat.
   * @throws InvalidOptionError for a bad option; RegistryError when Redis cannot be reached;
   *   GatewayIdTakenError when another live gateway holds the ID.
   */
  static async register(options: GatewayRegistrationOptions): Promise<GatewayRegistration> {
    const url = checkRedisUrl('redis', options.redis);
    const name = checkClusterName('clusterName', options.clusterName);
    const gatewayId = checkGatewayId('gatewayId', options.gatewayId);
    const D = REGISTRATION_DEFAULTS;
    const heartbeatInterval = duration('heartbeatInterval', options.heartbeatInterval, D.heartbeatInterval, HEARTBEAT_RANGE.min, HEARTBEAT_RANGE.max);
    const ttl = duration('ttl', options.ttl, D.ttl, Math.max(TTL_RANGE.min, heartbeatInterval * 2), TTL_RANGE.max);
    const connectTimeout = duration('connectTimeout', options.connectTimeout, D.connectTimeout, 1, 600_000);
    if (typeof options.serverAddr !== 'string' || options.serverAddr === '') throw new InvalidOptionError('serverAddr', 'is required');
    if (typeof options.load !== 'function') throw new InvalidOptionError('load', 'must be a function returning { clients, liveConnections }');
    const logger = options.logger ?? silentLogger;
    const redis = await connectRedis(url, 'gateway', logger, connectTimeout);
    const registration = new GatewayRegistration(redis, clusterKeys(name), {
      redis: url,
      gatewayId,
      clientAddr: options.clientAddr ?? null,
      clientWsUrl: options.clientWsUrl ?? null,
      serverAddr: options.serverAddr,
      version: options.version,
      load: options.load,
      heartbeatInterval,
      ttl,
      instance: options.instance ?? randomBytes(12).toString('base64url'),
      logger,
    });
    try {
      const result = await registration.claim();
      if (result === 0) throw new GatewayIdTakenError(gatewayId);
    } catch (err) {
      await closeRedis(redis);
      if (err instanceof GatewayIdTakenError) throw err;
      throw new RegistryError(`cannot register gateway ${gatewayId}: ${(err as Error).message}`, { cause: err });
    }
    await registration.announce('join');
    registration.timer = setInterval(() => registration.heartbeat(), heartbeatInterval);
    return registration;
  }

  /** The gateway ID. */
  get gatewayId(): string {
    return this.options.gatewayId;
  }

  /** The token that owns the ID (see the `instance` option). */
  get instance(): string {
    return this.options.instance;
  }

  /** The state the record says. */
  get state(): GatewayState {
    return this.current;
  }

  /** The record as the next heartbeat writes it. */
  record(): GatewayRecord {
    const o = this.options;
    const load = o.load();
    return {
      id: o.gatewayId,
      state: this.current,
      clientAddr: o.clientAddr,
      clientWsUrl: o.clientWsUrl,
      serverAddr: o.serverAddr,
      clients: load.clients,
      liveConnections: load.liveConnections,
      version: o.version,
      startedAt: this.startedAt,
      updatedAt: Date.now(),
      instance: o.instance,
    };
  }

  /**
   * Marks the gateway `draining` at once: writes the record and announces `drain`, so
   * servers stop opening links to it and placement stops picking it. Resolves when
   * written (or the attempt failed: logged; the heartbeat writes it again).
   */
  async drain(): Promise<void> {
    if (this.current === 'draining' || this.left !== null) return;
    this.current = 'draining';
    await this.heartbeat();
    await this.announce('drain');
  }

  /**
   * Deletes the record (only if this instance still holds it), announces `leave`, stops
   * the heartbeat and closes the Redis connection. Never rejects; safe to call twice.
   */
  leave(): Promise<void> {
    this.left ??= (async () => {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      await this.beating;
      try {
        await this.redis.eval(RELEASE, 1, this.keys.gateway(this.options.gatewayId), this.options.instance);
        await this.announce('leave');
      } catch (err) {
        this.options.logger.warn({ event: 'registry_leave_failed', err: (err as Error).message }, 'could not delete the gateway record: it expires with its TTL');
      }
      await closeRedis(this.redis);
    })();
    return this.left;
  }

  private async claim(): Promise<number> {
    const o = this.options;
    return (await this.redis.eval(CLAIM, 1, this.keys.gateway(o.gatewayId), encodeGatewayRecord(this.record()), o.instance, String(o.ttl))) as number;
  }

  /** Writes the record once; one write at a time. */
  private heartbeat(): Promise<void> {
    if (this.beating !== null) return this.beating;
    this.beating = (async () => {
      try {
        const result = await this.claim();
        if (result === 0) {
          this.fail('registry_id_taken', 'another gateway instance holds this gateway ID: this gateway is not registered');
          return;
        }
        this.counts.heartbeats++;
        if (this.failing) {
          this.failing = false;
          this.options.logger.info({ event: 'registry_heartbeat_ok', gatewayId: this.gatewayId }, 'gateway record written again');
        }
        // The record was gone (expired while Redis was unreachable, or Redis restarted empty).
        if (result === 2 && this.left === null) await this.announce(this.current === 'ready' ? 'join' : 'drain');
      } catch (err) {
        this.fail('registry_heartbeat_failed', `gateway record not written: ${(err as Error).message}`);
      } finally {
        this.beating = null;
      }
    })();
    return this.beating;
  }

  private fail(event: string, msg: string): void {
    this.counts.heartbeatFailures++;
    if (this.failing) return;
    this.failing = true;
    this.options.logger.warn({ event, gatewayId: this.gatewayId }, msg);
  }

  private async announce(event: AnnouncementEvent): Promise<void> {
    try {
      await this.redis.publish(this.keys.channel, encodeAnnouncement({ event, id: this.gatewayId }));
    } catch (err) {
      this.options.logger.debug({ event: 'registry_announce_failed', announcement: event, err: (err as Error).message }, 'announcement not published');
    }
  }
}
