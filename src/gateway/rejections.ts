import type { ProtocolError } from '../errors.js';
import { encodeNew } from '../protocol/command.js';
import type { AdmissionRefusal } from './client-admission.js';
import type { ProxyRefusal } from './proxy-header-gate.js';
import { LogRateLimiter } from './log-rate-limiter.js';
import type { GatewayLogger } from './logger.js';
import type { Peer } from './peer.js';
import type { GatewayStats } from './stats.js';

/** What the log says when a game client seems to have connected to the server listener. */
const CLIENT_ON_SERVER_PORT = "this looks like a game client on the gateway's server port (it sent New instead of a handshake reply); clients connect to the client port";
/** The frame a client endpoint sends first (its first dial's New). */
const CLIENT_NEW = encodeNew();

/** Whether handshake bytes begin with a client's New frame rather than a reply. */
function startsWithClientNew(bytes: Uint8Array): boolean {
  if (bytes.length < CLIENT_NEW.length) return false;
  for (let i = 0; i < CLIENT_NEW.length; i++) if (bytes[i] !== CLIENT_NEW[i]) return false;
  return true;
}

/** Which side a listener serves. */
export type ListenerSide = 'client' | 'server';

/**
 * How the gateway counts and logs what it refuses: protocol errors, slow consumers, failed
 * server handshakes, failed TLS handshakes, refused WebSocket upgrades. Each is counted in
 * the stats; the log gets at most a few lines per remote IP address per window, so that one
 * hostile address cannot flood it (see LogRateLimiter), and what was held back is reported
 * as a count. Closing the connection is the caller's.
 */
export class Rejections {
  readonly #limiter = new LogRateLimiter();

  constructor(
    private readonly counters: GatewayStats,
    private readonly logger: GatewayLogger,
  ) {}

  /** `peer` broke the protocol. */
  protocolError(peer: Peer, err: ProtocolError): void {
    const { code } = err;
    this.counters.protocolErrors[code] = (this.counters.protocolErrors[code] ?? 0) + 1;
    const kind = peer.isClient ? 'client' : 'server';
    this.#log('warn', peer.remote, { event: 'protocol_error', code, remote: peer.remote, kind, id: peer.id, reason: err.message }, 'protocol error: connection closed');
  }

  /** The client `peer` does not read fast enough. */
  slowConsumer(peer: Peer): void {
    this.counters.slowConsumerDisconnects++;
    const { remote } = peer;
    this.#log(
      'warn',
      remote,
      { event: 'slow_consumer', clientId: peer.id, remote, queued: peer.queued, bufferedBytes: peer.socket.writableLength },
      'client disconnected: not reading fast enough',
    );
  }

  /** The client `peer` went past its message rate: paused, or (`disconnected`) past the debt limit. */
  overRate(peer: Peer, disconnected: boolean): void {
    if (disconnected) this.counters.rateLimitDisconnects++;
    else this.counters.rateLimitPauses++;
    const { remote } = peer;
    const event = disconnected ? 'rate_limit_disconnect' : 'rate_limited';
    const msg = disconnected ? 'client disconnected: too far past its message rate' : 'client paused: over its message rate';
    this.#log('warn', remote, { event, clientId: peer.id, remote }, msg);
  }

  /** The server `peer` answered the challenge with a wrong key (`reply`: its 20 bytes). */
  wrongKey(peer: Peer, claimedId: number, reply: Uint8Array): void {
    this.counters.authFailures++;
    const { remote } = peer;
    if (startsWithClientNew(reply)) {
      this.#log('warn', remote, { event: 'server_rejected', remote, reason: 'wrong key', hint: CLIENT_ON_SERVER_PORT }, `server rejected: ${CLIENT_ON_SERVER_PORT}`);
    } else {
      this.#log('warn', remote, { event: 'server_rejected', remote, serverId: claimedId, reason: 'wrong key' }, 'server rejected: wrong auth key');
    }
  }

  /** The server `peer` did not finish its handshake in time (`received`: the reply bytes it sent, if any). */
  authTimeout(peer: Peer, received: Uint8Array | null): void {
    this.counters.authTimeouts++;
    const { remote } = peer;
    if (received !== null && startsWithClientNew(received)) {
      this.#log('warn', remote, { event: 'server_rejected', remote, reason: 'auth timeout', hint: CLIENT_ON_SERVER_PORT }, `server rejected: ${CLIENT_ON_SERVER_PORT}`);
    } else {
      this.#log('warn', remote, { event: 'server_rejected', remote, reason: 'auth timeout' }, 'server rejected: handshake timed out');
    }
  }

  /** A client connection was closed at accept: over `client.maxClients` or `client.maxClientsPerIp`. */
  clientRefused(reason: AdmissionRefusal, remote: string): void {
    this.counters.clientsRefused[reason]++;
    this.#log('warn', remote, { event: 'client_refused', remote, reason }, 'client connection closed at accept: over a connection bound');
  }

  /** A client connection was closed before the listener took it: untrusted, or its PROXY header malformed or late (`detail`). */
  proxyRefused(reason: ProxyRefusal, remote: string, detail: string): void {
    this.counters.clientsRefused[reason]++;
    this.#log('warn', remote, { event: 'client_refused', remote, reason, detail }, 'client connection closed: PROXY protocol');
  }

  /** A TLS handshake failed (a server without a certificate signed by the CA, a scanner…). */
  tlsFailed(side: ListenerSide, err: Error, remote: string): void {
    this.counters.tlsHandshakeFailures++;
    this.#log('info', remote, { event: 'tls_handshake_failed', listener: side, remote, err: err.message }, 'TLS handshake failed');
  }

  /** An HTTP request to the WebSocket listener that was not a usable upgrade. */
  upgradeRefused(remote: string, status: number, reason: string): void {
    this.counters.webSocketUpgradesRefused++;
    this.#log('info', remote, { event: 'websocket_refused', remote, status, reason }, 'WebSocket upgrade refused');
  }

  #log(level: 'warn' | 'info', remote: string, obj: object, msg: string): void {
    const ip = remote.slice(0, remote.lastIndexOf(':'));
    const { log, suppressed } = this.#limiter.allow(ip, Date.now());
    for (const [source, lines] of suppressed) {
      this.logger.warn({ event: 'log_suppressed', remote: source, lines }, 'repeated log lines from one address were suppressed');
    }
    if (log) this.logger[level](obj, msg);
  }
}
