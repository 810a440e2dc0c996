import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { ListenError } from '../errors.js';
import type { BoundAddress, Gateway } from './gateway.js';
import { bindError, parseListenAddress } from './listen-address.js';
import type { GatewayStats } from './stats.js';

/**
 * Prometheus metrics of one {@link Gateway}. Every value is read from `gateway.stats` when
 * scraped, so the forwarding path pays nothing beyond its integer increments.
 */
export class GatewayMetrics {
  /** The registry holding the gateway's metrics and the default process metrics. */
  readonly registry: Registry;
  private snapshot: GatewayStats | null = null;

  constructor(
    private readonly gateway: Gateway,
    options: { registry?: Registry; prefix?: string; processMetrics?: boolean } = {},
  ) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    const p = options.prefix ?? 'fastway_';
    const stats = (): GatewayStats => {
      // One snapshot per scrape: the first metric collected takes it, the rest reuse it.
      this.snapshot ??= this.gateway.stats;
      queueMicrotask(() => (this.snapshot = null));
      return this.snapshot;
    };
    const gauge = (name: string, help: string, read: (s: GatewayStats) => number): void => {
      new Gauge({ name: p + name, help, registers: [registry], collect() { this.set(read(stats())); } });
    };
    const counter = (name: string, help: string, read: (s: GatewayStats) => number): void => {
      new Counter({ name: p + name, help, registers: [registry], collect() { this.reset(); this.inc(read(stats())); } });
    };
    const labelled = (name: string, help: string, label: string, read: (s: GatewayStats) => Record<string, number>): void => {
      new Counter({
        name: p + name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          this.reset();
          for (const [key, value] of Object.entries(read(stats()))) this.inc({ [label]: key }, value);
        },
      });
    };

    gauge('clients', 'Connected game clients.', (s) => s.clients);
    gauge('servers', 'Authenticated game server connections.', (s) => s.servers);
    gauge('virtual_connections', 'Live virtual connections.', (s) => s.liveConnections);
    gauge('pending_connections', 'Virtual connection IDs opened and not yet dialed.', (s) => s.pendingConnections);
    gauge('draining', '1 while the gateway drains (refuses new virtual connections), else 0.', () => (this.gateway.draining ? 1 : 0));
    counter('clients_accepted_total', 'Client connections accepted.', (s) => s.clientsAccepted);
    counter('servers_authenticated_total', 'Server connections authenticated.', (s) => s.serversAuthenticated);
    labelled('frames_forwarded_total', 'Data frames forwarded, by direction.', 'direction', (s) => ({
      client_to_server: s.framesClientToServer,
      server_to_client: s.framesServerToClient,
    }));
    labelled('bytes_forwarded_total', 'Bytes of data frames forwarded (headers included), by direction.', 'direction', (s) => ({
      client_to_server: s.bytesClientToServer,
      server_to_client: s.bytesServerToClient,
    }));
    counter('dials_accepted_total', 'Virtual connections made.', (s) => s.dialsAccepted);
    labelled('dials_refused_total', 'Dials refused, by reason.', 'reason', (s) => s.dialsRefused);
    labelled('clients_refused_total', 'Client connections closed at accept, by reason (a connection bound, or the PROXY protocol header).', 'reason', (s) => s.clientsRefused);
    counter('opens_refused_total', 'New commands answered with Open(0) (pending bound or draining).', (s) => s.opensRefused);
    labelled('protocol_errors_total', 'Connections closed for a protocol error, by code.', 'code', (s) => s.protocolErrors);
    counter('stale_frames_total', 'Data frames for a virtual connection that was not live (answered with Close).', (s) => s.staleFrames);
    counter('forged_frames_total', 'Data frames on a virtual connection the sender is not an end of (sender dropped).', (s) => s.forgedFrames);
    counter('auth_failures_total', 'Server handshakes with a wrong key.', (s) => s.authFailures);
    counter('auth_timeouts_total', 'Server handshakes not finished in time.', (s) => s.authTimeouts);
    counter('slow_consumer_disconnects_total', 'Clients dropped for not reading their data.', (s) => s.slowConsumerDisconnects);
    counter('rate_limit_pauses_total', 'Times a client was paused for sending past its message rate.', (s) => s.rateLimitPauses);
    counter('rate_limit_disconnects_total', 'Clients disconnected for going past the message debt limit.', (s) => s.rateLimitDisconnects);
    counter('backpressure_pauses_total', 'Times a congested server paused a client sending to it.', (s) => s.backpressurePauses);
    counter('pings_sent_total', 'Pings sent to silent peers.', (s) => s.pingsSent);
    counter('silent_peers_dropped_total', 'Peers dropped for staying silent after a ping.', (s) => s.silentPeersDropped);
    counter('tls_handshake_failures_total', 'TLS handshakes that failed (with mutual TLS: servers without a CA-signed certificate).', (s) => s.tlsHandshakeFailures);
    counter('websocket_upgrades_refused_total', 'Requests to the WebSocket listener refused (path, origin, not an upgrade).', (s) => s.webSocketUpgradesRefused);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: p });
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** What {@link MetricsServer} serves at `/metrics`: a {@link GatewayMetrics}, or the `--workers` primary's aggregate. */
export interface MetricsSource {
  readonly contentType: string;
  text(): Promise<string>;
}

/** Options of {@link MetricsServer}. */
export interface MetricsServerOptions {
  /** `host:port` to listen on. */
  address: string;
  /** Tells whether the gateway is ready (accepting, not draining); `/readyz` answers 503 otherwise. */
  ready: () => boolean;
  /** More GET paths, answered with the JSON the route resolves with (such as `/cluster/gateways`). */
  routes?: ReadonlyMap<string, JsonRoute>;
}

/** An extra path of {@link MetricsServer}: its status and a JSON body. */
export type JsonRoute = () => Promise<{ status: number; body: unknown }>;

/**
 * A small HTTP listener for operators: `/metrics` (Prometheus), `/healthz` (the process
 * answers), `/readyz` (accepting connections and not draining), and any `routes` given.
 */
export class MetricsServer {
  private server: Server | null = null;

  constructor(
    private readonly metrics: MetricsSource,
    private readonly options: MetricsServerOptions,
  ) {}

  /** Binds the listener; rejects with a {@link ListenError} when it cannot. */
  listen(): Promise<BoundAddress> {
    const { host, port } = parseListenAddress(this.options.address, 'metrics');
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => void this.handle(req, res));
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(bindError('metrics', this.options.address, err));
      });
      server.listen({ host, port }, () => {
        this.server = server;
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host, port });
      });
    });
  }

  /** Stops the listener and closes its connections. */
  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/metrics') {
        const body = await this.metrics.text();
        res.writeHead(200, { 'content-type': this.metrics.contentType }).end(body);
      } else if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const ready = this.options.ready();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
      } else if (this.options.routes?.has(path!)) {
        const { status, body } = await this.options.routes.get(path!)!();
        res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`error: ${(err as Error).message}\n`);
    }
  }
}
