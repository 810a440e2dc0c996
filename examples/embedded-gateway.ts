/**
 * The gateway embedded in a Node service, with the `Gateway` class instead of the `fastway`
 * command (docs/api.md, "The Gateway class"): game clients over TCP and over WebSocket
 * (browsers), game servers, an operator listener with /metrics, /healthz and /readyz, and a
 * drain on SIGTERM after which it prints what it served and exits.
 *
 *     node --import tsx examples/embedded-gateway.ts --key "$KEY"
 *     node --import tsx examples/embedded-gateway.ts --client 0.0.0.0:7000 --ws 0.0.0.0:8080 --metrics 127.0.0.1:9464
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { type BoundAddress, Gateway, GatewayMetrics, MetricsServer } from '../src/index.js';

const { values } = parseArgs({
  options: {
    key: { type: 'string', default: process.env.FASTWAY_SERVER_AUTH_KEY || 'change-me' },
    client: { type: 'string', default: '127.0.0.1:7000' },
    server: { type: 'string', default: '127.0.0.1:7001' },
    ws: { type: 'string', default: '127.0.0.1:7002' },
    metrics: { type: 'string', default: '127.0.0.1:9464' },
    'drain-timeout': { type: 'string', default: '10000' },
  },
});
const drainTimeout = Number(values['drain-timeout']);
const where = (a: BoundAddress): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

// Options: one object, checked here (a bad value or an unknown key throws InvalidOptionError).
const gateway = new Gateway({
  server: { authKey: values.key },
  client: { maxConn: 32, webSocket: { path: '/play' } },
  logger: pino({ level: 'warn' }), // any logger with pino's debug/info/warn/error(obj, msg)
});

// listen() opens the listeners it is given; each comes back with its bound address (port 0: a free one).
const bound = await gateway.listen({ client: values.client, server: values.server, clientWs: values.ws });
const operator = new MetricsServer(new GatewayMetrics(gateway), { address: values.metrics, ready: () => gateway.ready });
const metricsAt = await operator.listen();
console.log(`game clients on ${where(bound.client)}`);
console.log(`game servers on ${where(bound.server)}`);
console.log(`browsers on ws://${where(bound.clientWs)}/play`);
console.log(`metrics on http://${where(metricsAt)}/metrics`);

// SIGTERM: stop accepting, let live virtual connections finish (up to the deadline), then stop.
process.once('SIGTERM', () => {
  void (async () => {
    console.log(`draining: ${gateway.stats.liveConnections} live virtual connections may go on for up to ${drainTimeout} ms`);
    const cut = await gateway.drain(drainTimeout);
    await operator.close();
    const s = gateway.stats;
    console.log(
      `stopped (${cut} cut at the deadline): ${s.clientsAccepted} clients and ${s.serversAuthenticated} servers served, ` +
        `${s.dialsAccepted} virtual connections, ${s.framesClientToServer} messages from clients, ${s.framesServerToClient} to them`,
    );
  })();
});
