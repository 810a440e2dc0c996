/**
 * The Redis keys and channel of one cluster, all under its name (`--cluster-name`, default
 * `fastway`). docs/scaling.md lists them with their TTLs.
 */
import { InvalidOptionError } from '../errors.js';

/** The default cluster name: the prefix of every key. */
export const DEFAULT_CLUSTER_NAME = 'fastway';

/** What a cluster name may be. */
export const CLUSTER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const CLUSTER_NAME_RULE = "1 to 64 letters, digits, '_', '.' or '-'";
/** What a gateway ID may be. */
export const GATEWAY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
export const GATEWAY_ID_RULE = "1 to 128 letters, digits, '_', '.', ':' or '-'";

/** The names a cluster uses in Redis. */
export interface ClusterKeys {
  /** `<name>:gateway:<id>`: one gateway's record (a string with a TTL). */
  gateway(id: string): string;
  /** `<name>:gateway:*`: the SCAN pattern of every record. */
  readonly gatewayPattern: string;
  /** `<name>:events`: the pub/sub channel of join, drain and leave announcements. */
  readonly channel: string;
  /** `<name>:user:<userKey>`: where a user is connected (a string with a TTL). */
  user(userKey: string): string;
  /** The gateway ID in a record key, or null when `key` is not one. */
  gatewayIdOf(key: string): string | null;
}

/** Checks a cluster name (`option` names it in the error). */
export function checkClusterName(option: string, name: unknown): string {
  if (name === undefined) return DEFAULT_CLUSTER_NAME;
  if (typeof name !== 'string' || !CLUSTER_NAME.test(name)) {
    throw new InvalidOptionError(option, `must be ${CLUSTER_NAME_RULE}, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Checks a gateway ID (`option` names it in the error). */
export function checkGatewayId(option: string, id: unknown): string {
  if (typeof id !== 'string' || !GATEWAY_ID.test(id)) {
    throw new InvalidOptionError(option, `must be ${GATEWAY_ID_RULE}, got ${JSON.stringify(id)}`);
  }
  return id;
}

export function clusterKeys(name: string): ClusterKeys {
  const gatewayPrefix = `${name}:gateway:`;
  const userPrefix = `${name}:user:`;
  return {
    gateway: (id) => gatewayPrefix + id,
    gatewayPattern: `${gatewayPrefix}*`,
    channel: `${name}:events`,
    user: (userKey) => userPrefix + userKey,
    gatewayIdOf: (key) => (key.startsWith(gatewayPrefix) ? key.slice(gatewayPrefix.length) : null),
  };
}
