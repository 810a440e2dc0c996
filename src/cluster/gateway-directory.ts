/**
 * Reading the registry: every gateway record of a cluster (SCAN of `<name>:gateway:*`,
 * then one MGET), or one by ID. Used by joinCluster, pickGateway, `fastway cluster status`
 * and `GET /cluster/gateways`. A malformed record is skipped and logged, never thrown.
 */
import type { Redis } from 'ioredis';
import { type GatewayLogger, silentLogger } from '../gateway/logger.js';
import { checkClusterName, type ClusterKeys, clusterKeys } from './cluster-keys.js';
import { readRegistryKey, RegistryError, registryError } from './errors.js';
import { decodeGatewayRecord, type GatewayRecord } from './gateway-record.js';
import { checkRedisUrl, closeRedis, connectRedis } from './redis-connection.js';
import { UserLocator } from './user-locator.js';

/** Options of {@link GatewayDirectory.open}. */
export interface GatewayDirectoryOptions {
  /** `redis://host:port[/db]` or `rediss://…`. */
  redis: string;
  /** @default 'fastway' */
  clusterName?: string;
  /** ms the connection to Redis may take. @default 5000 */
  connectTimeout?: number;
  logger?: GatewayLogger;
}

const SCAN_COUNT = 200;

/** A read-only view of a cluster's gateways in the registry, over one Redis connection. */
export class GatewayDirectory {
  private constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly logger: GatewayLogger,
  ) {}

  /** Connects; rejects with `RegistryError` when Redis cannot be reached, `InvalidOptionError` for bad options. */
  static async open(options: GatewayDirectoryOptions): Promise<GatewayDirectory> {
    const url = checkRedisUrl('redis', options.redis);
    const keys = clusterKeys(checkClusterName('clusterName', options.clusterName));
    const logger = options.logger ?? silentLogger;
    const redis = await connectRedis(url, 'directory', logger, options.connectTimeout ?? 5000);
    return new GatewayDirectory(redis, keys, logger);
  }

  /** Every live gateway record, sorted by ID. Rejects with `RegistryError` while Redis is unreachable. */
  async list(): Promise<GatewayRecord[]> {
    const ids = new Set<string>();
    let cursor = '0';
    try {
      do {
        const [next, found] = await this.redis.scan(cursor, 'MATCH', this.keys.gatewayPattern, 'COUNT', SCAN_COUNT);
        cursor = next;
        for (const key of found) {
          const id = this.keys.gatewayIdOf(key);
          if (id !== null) ids.add(id);
        }
      } while (cursor !== '0');
      if (ids.size === 0) return [];
      const sorted = [...ids].sort();
      const values = await this.redis.mget(sorted.map((id) => this.keys.gateway(id)));
      const records: GatewayRecord[] = [];
      for (let i = 0; i < sorted.length; i++) {
        const record = this.decode(sorted[i]!, values[i] ?? null);
        if (record !== null) records.push(record);
      }
      return records;
    } catch (err) {
      throw registryError('list the gateways', err);
    }
  }

  /** One gateway's record, or null when it is not registered. Rejects with `RegistryError`. */
  async get(id: string): Promise<GatewayRecord | null> {
    return this.decode(id, await readRegistryKey(this.redis, this.keys.gateway(id), `read gateway ${id}`));
  }

  /** The cluster's user bindings (push by user), over this directory's connection. */
  users(): UserLocator {
    return new UserLocator(this.redis, this.keys);
  }

  /** The cluster's announcement channel. */
  get channel(): string {
    return this.keys.channel;
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return closeRedis(this.redis);
  }

  private decode(id: string, value: string | null): GatewayRecord | null {
    if (value === null) return null; // expired between SCAN and MGET
    try {
      const record = decodeGatewayRecord(value);
      if (record.id !== id) throw new RegistryError(`gateway record under ID ${id} names ID ${record.id}`);
      return record;
    } catch (err) {
      this.logger.warn({ event: 'registry_bad_record', gatewayId: id, err: (err as Error).message }, 'malformed gateway record skipped');
      return null;
    }
  }
}
