/** The codes of the cluster client's errors, apart from the classes (errors.ts), so that src/errors.ts can name them without importing the classes back. */

/** Codes of the cluster client's errors (part of `FastwayErrorCode`). */
export type ClusterErrorCode =
  | 'ERR_REGISTRY'
  | 'ERR_GATEWAY_ID_TAKEN'
  | 'ERR_CLUSTER_UNREACHABLE'
  | 'ERR_GATEWAY_UNAVAILABLE'
  | 'ERR_USER_OFFLINE'
  | 'ERR_NO_GATEWAY';
