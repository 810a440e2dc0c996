import type { ProtocolErrorCode } from '../errors.js';
import type { AdmissionRefusal } from './client-admission.js';
import type { ProxyRefusal } from './proxy-header-gate.js';

/** Why the gateway refused a dial (docs/protocol.md §5.2). */
export type RefuseReason =
  /** The ConnID was not pending for the dialer. */
  | 'not_pending'
  /** No remote of the other kind has that ID. */
  | 'unknown_remote'
  /** An end that is a client already has `client.maxConn` live virtual connections. */
  | 'client_limit'
  /** The gateway is draining and takes no new virtual connections. */
  | 'draining';

/** Why the gateway closed a physical connection. */
export type DisconnectReason =
  | 'remote_closed'
  | 'socket_error'
  | 'protocol_error'
  | 'slow_consumer'
  | 'rate_limit'
  | 'ping_timeout'
  | 'auth_failed'
  | 'auth_timeout'
  | 'gateway_closing';

/**
 * A snapshot of the gateway's counters and gauges. Counters only grow over the gateway's
 * life; gauges (`clients` … `pendingConnections`) are current values.
 */
export interface GatewayStats {
  /** Connected clients (gauge). */
  clients: number;
  /** Authenticated server connections (gauge; two connections of one ID count twice). */
  servers: number;
  /** Live virtual connections (gauge). */
  liveConnections: number;
  /** Pending (opened, not yet dialed) virtual connection IDs (gauge). */
  pendingConnections: number;
  /** Clients ever accepted. */
  clientsAccepted: number;
  /**
   * Client connections closed at accept, by reason: the bound that refused them
   * (`client.maxClients`, `client.maxClientsPerIp`) or what was wrong with their PROXY
   * protocol header (`client.proxyProtocol`).
   */
  clientsRefused: Record<AdmissionRefusal | ProxyRefusal, number>;
  /** Server connections ever authenticated. */
  serversAuthenticated: number;
  /** Data frames forwarded client → server. */
  framesClientToServer: number;
  /** Data frames forwarded server → client. */
  framesServerToClient: number;
  /** Frame bytes (headers included) forwarded client → server. */
  bytesClientToServer: number;
  /** Frame bytes (headers included) forwarded server → client. */
  bytesServerToClient: number;
  /** Virtual connections made. */
  dialsAccepted: number;
  /** Dials refused, by reason. */
  dialsRefused: Record<RefuseReason, number>;
  /** News answered with `Open(0)` because the pending bound was reached. */
  opensRefused: number;
  /** Data frames for a ConnID that was not live (answered with Close). */
  staleFrames: number;
  /** Data frames for a live ConnID the sender was not an end of (sender disconnected). */
  forgedFrames: number;
  /** Protocol errors, by code. */
  protocolErrors: Record<ProtocolErrorCode, number>;
  /** Server handshakes with a wrong digest. */
  authFailures: number;
  /** Server handshakes not finished within `server.authTimeout`. */
  authTimeouts: number;
  /** Clients disconnected for not reading (over `client.sendQueue`). */
  slowConsumerDisconnects: number;
  /** Times a client was paused for going past `client.messageRate`. */
  rateLimitPauses: number;
  /** Clients disconnected for going past `client.messageDebtLimit`. */
  rateLimitDisconnects: number;
  /** Times a server's backlog paused the connections sending to it. */
  backpressurePauses: number;
  /** Pings sent by the gateway. */
  pingsSent: number;
  /** Peers dropped after staying silent through a ping. */
  silentPeersDropped: number;
  /** TLS handshakes that failed on either listener (with mutual TLS: servers without a CA-signed certificate). */
  tlsHandshakeFailures: number;
  /** Requests to the WebSocket listener refused (wrong path or origin, not an upgrade, a bad upgrade). */
  webSocketUpgradesRefused: number;
}

/** A zeroed stats record. */
export function emptyStats(): GatewayStats {
  return {
    clients: 0,
    servers: 0,
    liveConnections: 0,
    pendingConnections: 0,
    clientsAccepted: 0,
    clientsRefused: { max_clients: 0, max_clients_per_ip: 0, proxy_untrusted: 0, proxy_invalid: 0, proxy_timeout: 0 },
    serversAuthenticated: 0,
    framesClientToServer: 0,
    framesServerToClient: 0,
    bytesClientToServer: 0,
    bytesServerToClient: 0,
    dialsAccepted: 0,
    dialsRefused: { not_pending: 0, unknown_remote: 0, client_limit: 0, draining: 0 },
    opensRefused: 0,
    staleFrames: 0,
    forgedFrames: 0,
    protocolErrors: {
      ERR_FRAME_TOO_SHORT: 0,
      ERR_FRAME_TOO_LARGE: 0,
      ERR_COMMAND_TRUNCATED: 0,
      ERR_UNKNOWN_COMMAND: 0,
      ERR_UNEXPECTED_COMMAND: 0,
      ERR_FORGED_CONN_ID: 0,
      ERR_UNKNOWN_CONN_ID: 0,
      ERR_TEXT_MESSAGE: 0,
      ERR_PARTIAL_FRAME: 0,
      ERR_WEBSOCKET_PROTOCOL: 0,
    },
    authFailures: 0,
    authTimeouts: 0,
    slowConsumerDisconnects: 0,
    rateLimitPauses: 0,
    rateLimitDisconnects: 0,
    backpressurePauses: 0,
    pingsSent: 0,
    silentPeersDropped: 0,
    tlsHandshakeFailures: 0,
    webSocketUpgradesRefused: 0,
  };
}

/** The gauges of a snapshot: current sizes of the gateway's tables. */
export type GatewayGauges = Pick<GatewayStats, 'clients' | 'servers' | 'liveConnections' | 'pendingConnections'>;

/** A copy of `counters` with the current `gauges`, sharing nothing with the gateway. */
export function snapshotStats(counters: GatewayStats, gauges: GatewayGauges): GatewayStats {
  return { ...counters, ...gauges, dialsRefused: { ...counters.dialsRefused }, clientsRefused: { ...counters.clientsRefused }, protocolErrors: { ...counters.protocolErrors } };
}
