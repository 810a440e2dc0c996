/**
 * fastway: a game gateway and its endpoint library.
 *
 * - {@link Gateway} carries virtual connections between game clients and game servers.
 * - `dialClient` / `dialServer` connect a game client or server to a gateway.
 * - `protocol` is the wire format, for tools and tests.
 * - `joinCluster` / `pickGateway` run many gateways as one cluster, on a Redis registry (Node only).
 */

// Errors (one table of codes in docs/api.md).
export * from './errors.js';

// The wire protocol.
export * as protocol from './protocol/public.js';

// The gateway.
export { Gateway, type BoundAddress, type BoundAddresses, type ListenAddresses, type TlsUpdate } from './gateway/gateway.js';
export { GatewayMetrics, MetricsServer, type MetricsServerOptions } from './gateway/metrics.js';
export {
  GATEWAY_DEFAULTS,
  type GatewayOptions,
  type ClientListenerOptions,
  type ServerListenerOptions,
  type ResolvedGatewayOptions,
  type WebSocketListenerOptions,
  type AuthKeysUpdate,
} from './gateway/options.js';
export type { TlsOptions as ListenerTlsOptions, ServerTlsOptions as ServerListenerTlsOptions } from './gateway/tls.js';
export type { GatewayStats, RefuseReason, DisconnectReason } from './gateway/stats.js';
export type { GatewayLogger } from './gateway/logger.js';

// The endpoint library.
export { dialClient, dialServer, type DialClientOptions, type DialServerOptions } from './endpoint/dial.js';
export type { TlsOptions as EndpointTlsOptions, Pem } from './endpoint/tls-transport.js';
export { attachClient, attachServer } from './endpoint/attach.js';
export { Endpoint, type DialOptions, type EndpointKind } from './endpoint/endpoint.js';
export { VirtualConnection } from './endpoint/virtual-connection.js';
export { raw, utf8, json, defineFormat, type Format, type FormatSpec } from './endpoint/format.js';
export { ENDPOINT_DEFAULTS, type EndpointOptions, type ServerEndpointOptions } from './endpoint/options.js';
export type { Transport, TransportHandler } from './endpoint/transport.js';

// The cluster client (Node only): the registry on Redis, joinCluster, placement, users.
export {
  RegistryError,
  GatewayIdTakenError,
  ClusterUnreachableError,
  GatewayUnavailableError,
  UserOfflineError,
  NoGatewayError,
  type ClusterErrorCode,
  type GatewayUnavailableReason,
} from './cluster/errors.js';
export {
  joinCluster,
  ClusterServer,
  CLUSTER_DEFAULTS,
  type JoinClusterOptions,
  type ClusterConnection,
  type ClusterGateway,
  type ClusterDialOptions,
  type ClusterServerEvents,
  type MembershipChange,
  type LinkChange,
} from './cluster/join-cluster.js';
export type { LinkState } from './cluster/gateway-link.js';
export { pickGateway, chooseGateway, type PickGatewayOptions, type GatewayPick, type ClientTransport } from './cluster/placement.js';
export { GatewayDirectory, type GatewayDirectoryOptions } from './cluster/gateway-directory.js';
export {
  GatewayRegistration,
  REGISTRATION_DEFAULTS,
  type GatewayRegistrationOptions,
  type GatewayLoad,
} from './cluster/gateway-registration.js';
export {
  encodeGatewayRecord,
  decodeGatewayRecord,
  type GatewayRecord,
  type GatewayState,
  type Announcement,
  type AnnouncementEvent,
} from './cluster/gateway-record.js';
export { DEFAULT_CLUSTER_NAME } from './cluster/cluster-keys.js';
export type { UserLocation } from './cluster/user-locator.js';

// Resumable sessions (docs/sessions.md).
export { ReconnectingEndpoint, type GatewaySource, type LinkStatusEvent, type ReconnectingDialOptions } from './endpoint/session/reconnecting-endpoint.js';
export { ResumableConnection, type SessionState, type SessionStatusEvent } from './endpoint/session/resumable-connection.js';
export { SESSION_DEFAULTS, type SessionOptions } from './endpoint/session/options.js';
export { RECONNECT_DEFAULTS, type ReconnectOptions } from './endpoint/session/reconnect-policy.js';
