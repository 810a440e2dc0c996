/**
 * Errors of the cluster client (registry, joinCluster, placement, user locator). Each is a
 * {@link FastwayError} with a stable `code`, listed in docs/api.md.
 */
import { FastwayError } from '../errors.js';

export type { ClusterErrorCode } from './error-codes.js';

/** The registry (Redis) could not be reached or answered with an error. */
export class RegistryError extends FastwayError {
  declare readonly code: 'ERR_REGISTRY';
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_REGISTRY', message, options);
  }
}

/** Another live gateway is registered under this gateway ID; this one refuses to start. */
export class GatewayIdTakenError extends FastwayError {
  declare readonly code: 'ERR_GATEWAY_ID_TAKEN';
  /** The ID in use. */
  readonly gatewayId: string;
  constructor(gatewayId: string) {
    super('ERR_GATEWAY_ID_TAKEN', `gateway ID ${JSON.stringify(gatewayId)} is in use by another live gateway; choose another --gateway-id`);
    this.gatewayId = gatewayId;
  }
}

/** `joinCluster` reached none of the ready gateways within `joinTimeout`. */
export class ClusterUnreachableError extends FastwayError {
  declare readonly code: 'ERR_CLUSTER_UNREACHABLE';
  /** Why each gateway could not be linked, by gateway ID. */
  readonly failures: ReadonlyMap<string, Error>;
  constructor(failures: ReadonlyMap<string, Error>, timeoutMs: number) {
    const list = [...failures].map(([id, err]) => `${id}: ${err.message}`).join('; ');
    super('ERR_CLUSTER_UNREACHABLE', `no gateway of the cluster could be linked within ${timeoutMs} ms (${list || 'no attempt finished'})`);
    this.failures = failures;
  }
}

/** Why a gateway cannot take a dial: not in the registry, draining, or not linked right now. */
export type GatewayUnavailableReason = 'unknown' | 'draining' | 'not_linked';

/** `cluster.dial` or `cluster.dialUser` named a gateway that cannot take it. */
export class GatewayUnavailableError extends FastwayError {
  declare readonly code: 'ERR_GATEWAY_UNAVAILABLE';
  readonly gatewayId: string;
  readonly reason: GatewayUnavailableReason;
  constructor(gatewayId: string, reason: GatewayUnavailableReason) {
    const why = reason === 'unknown' ? 'is not in the registry' : reason === 'draining' ? 'is draining' : 'is not linked right now';
    super('ERR_GATEWAY_UNAVAILABLE', `gateway ${JSON.stringify(gatewayId)} ${why}`);
    this.gatewayId = gatewayId;
    this.reason = reason;
  }
}

/** `cluster.dialUser` found no binding for the user: they are not online. */
export class UserOfflineError extends FastwayError {
  declare readonly code: 'ERR_USER_OFFLINE';
  readonly userKey: string;
  constructor(userKey: string) {
    super('ERR_USER_OFFLINE', `user ${JSON.stringify(userKey)} is not online (no binding in the registry)`);
    this.userKey = userKey;
  }
}

/** `pickGateway` found no ready gateway with an address for the transport asked for. */
export class NoGatewayError extends FastwayError {
  declare readonly code: 'ERR_NO_GATEWAY';
  constructor(message: string) {
    super('ERR_NO_GATEWAY', message);
  }
}

/** A Redis failure as a {@link RegistryError} saying what was being done. */
export function registryError(doing: string, err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  return new RegistryError(`cannot ${doing}: ${(err as Error).message ?? String(err)}`, { cause: err });
}

/** `redis.get(key)`, failing with `registryError(doing, …)`. */
export async function readRegistryKey(redis: { get(key: string): Promise<string | null> }, key: string, doing: string): Promise<string | null> {
  try {
    return await redis.get(key);
  } catch (err) {
    throw registryError(doing, err);
  }
}
