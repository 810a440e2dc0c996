/**
 * Push by user: where each user is connected, as `<name>:user:<userKey>` → the gateway and
 * client ID of their connection (and which server bound it), with an expiry that the
 * binding server refreshes while the connection lives. Removal is compare-and-delete: a
 * server only removes the exact binding it wrote, so a stale unbind (the user already
 * reconnected and was bound again elsewhere) never removes the newer one.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InvalidOptionError } from '../errors.js';
import type { ClusterKeys } from './cluster-keys.js';
import { readRegistryKey, RegistryError, registryError } from './errors.js';

/** Where a user is connected. */
export interface UserLocation {
  gatewayId: string;
  /** The client ID on that gateway. */
  clientId: number;
  /** The server that bound it. */
  serverId: number;
}

/** Deletes KEYS[1] if it holds ARGV[1]. */
const COMPARE_AND_DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Extends KEYS[1]'s expiry to ARGV[2] ms if it still holds ARGV[1]. */
const COMPARE_AND_EXPIRE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const MAX_USER_KEY = 512;

/** Checks a user key: a non-empty string of at most 512 characters. */
export function checkUserKey(userKey: unknown): string {
  if (typeof userKey !== 'string' || userKey.length === 0 || userKey.length > MAX_USER_KEY) {
    throw new InvalidOptionError('userKey', `must be a non-empty string of at most ${MAX_USER_KEY} characters, got ${JSON.stringify(userKey)}`);
  }
  return userKey;
}

/** The value stored for a binding: the location plus a token that makes each binding unique. */
export function encodeUserBinding(location: UserLocation, token: string): string {
  return JSON.stringify({ gatewayId: location.gatewayId, clientId: location.clientId, serverId: location.serverId, token });
}

/** @throws RegistryError when `text` is not a binding. */
export function decodeUserBinding(text: string): UserLocation {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new RegistryError('user binding is not JSON');
  }
  const b = o as Partial<UserLocation> | null;
  if (
    typeof b !== 'object' || b === null ||
    typeof b.gatewayId !== 'string' || b.gatewayId === '' ||
    !Number.isInteger(b.clientId) || b.clientId! < 0 ||
    !Number.isInteger(b.serverId) || b.serverId! < 0
  ) {
    throw new RegistryError(`user binding is malformed: ${text.slice(0, 120)}`);
  }
  return { gatewayId: b.gatewayId, clientId: b.clientId!, serverId: b.serverId! };
}

/** Reads and writes user bindings over an open Redis connection. */
export class UserLocator {
  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
  ) {}

  /** Binds `userKey` to `location` for `ttlMs`, replacing any binding; resolves with the stored value (for {@link unbind}). */
  async bind(userKey: string, location: UserLocation, ttlMs: number): Promise<string> {
    const value = encodeUserBinding(location, randomBytes(9).toString('base64url'));
    try {
      await this.redis.set(this.keys.user(userKey), value, 'PX', ttlMs);
    } catch (err) {
      throw registryError(`bind user ${userKey}`, err);
    }
    return value;
  }

  /** Removes the binding if it is still `value`; resolves with whether it was. */
  async unbind(userKey: string, value: string): Promise<boolean> {
    try {
      return (await this.redis.eval(COMPARE_AND_DELETE, 1, this.keys.user(userKey), value)) === 1;
    } catch (err) {
      throw registryError(`unbind user ${userKey}`, err);
    }
  }

  /** Extends the bindings in `bindings` (user key → value) to `ttlMs`, in one round trip; those replaced meanwhile are left alone. */
  async refresh(bindings: ReadonlyMap<string, string>, ttlMs: number): Promise<void> {
    if (bindings.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [userKey, value] of bindings) pipeline.eval(COMPARE_AND_EXPIRE, 1, this.keys.user(userKey), value, String(ttlMs));
    try {
      await pipeline.exec();
    } catch (err) {
      throw registryError('refresh user bindings', err);
    }
  }

  /** Where `userKey` is connected, or null when no binding exists. */
  async locate(userKey: string): Promise<UserLocation | null> {
    const value = await readRegistryKey(this.redis, this.keys.user(userKey), `look up user ${userKey}`);
    return value === null ? null : decodeUserBinding(value);
  }
}
