/**
 * The one place the cluster client opens Redis connections (ioredis). Every connection
 * fails commands at once while Redis is down (no offline queue, no retried requests), so
 * nothing waits on Redis without bound, and reconnects by itself with a capped, jittered
 * backoff. Its errors are logged once per outage, not once per attempt.
 */
import type { Redis } from 'ioredis';
import { InvalidOptionError } from '../errors.js';
import type { GatewayLogger } from '../gateway/logger.js';
import { RegistryError } from './errors.js';

/** Longest wait between two reconnection attempts to Redis, in ms. */
const MAX_RECONNECT_DELAY_MS = 2000;
/**
 * ioredis, disconnecting a connection whose socket already failed, keeps a timer this long
 * waiting for a close that has happened; {@link dropRedis} waits it out so nothing is left.
 */
const DISCONNECT_TIMEOUT_MS = 50;

/** Checks a `redis://` or `rediss://` URL (`option` names it in the error). */
export function checkRedisUrl(option: string, url: unknown): string {
  if (typeof url !== 'string' || !/^rediss?:\/\/[^/\s]+(\/\d{1,2})?\/?$/i.test(url)) {
    throw new InvalidOptionError(option, `must be a redis://host:port[/db] or rediss://host:port[/db] URL, got ${JSON.stringify(url)}`);
  }
  return url;
}

/** `redis://user:secret@host` → `redis://user:***@host`, for logs and errors. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * Opens a connection and resolves once it is ready; rejects with a {@link RegistryError}
 * (and releases the connection) when Redis cannot be reached within `timeoutMs`.
 */
export async function connectRedis(url: string, role: string, logger: GatewayLogger, timeoutMs: number): Promise<Redis> {
  // Loaded on first use: a gateway or endpoint outside a cluster never pays for ioredis (about 20 MB of RSS).
  const { Redis: RedisClient } = await import('ioredis');
  const redis = new RedisClient(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    connectionName: `fastway-${role}`,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(times, 6)) * (0.5 + Math.random() / 2),
  });
  let up = false;
  redis.on('error', (err: Error) => {
    if (!up) return; // one line per outage: the first error after being up
    up = false;
    logger.warn({ event: 'registry_down', role, err: err.message }, 'registry (Redis) unreachable: retrying in the background');
  });
  redis.on('ready', () => {
    if (up) return;
    up = true;
    logger.info({ event: 'registry_up', role }, 'registry (Redis) connection ready');
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    await dropRedis(redis);
    throw new RegistryError(`cannot reach the registry at ${redactRedisUrl(url)}: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

/** Closes a connection: QUIT when it is up (pending replies arrive first), else drops it. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: drop it
    }
  }
  await dropRedis(redis);
}

/** Drops a connection at once, and resolves once ioredis has released its timers. */
async function dropRedis(redis: Redis): Promise<void> {
  redis.disconnect();
  await new Promise((resolve) => setTimeout(resolve, DISCONNECT_TIMEOUT_MS + 10));
}
