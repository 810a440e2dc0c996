/**
 * Bench child: the gateway under test, alone in its process (so it can be pinned to a core
 * and its CPU and memory measured). `node --import tsx bench/gateway-process.ts '<json>'`
 * with `{ "host", "authKey", "webSocket"?, "busyPollMicros"?, "listenBacklog"?, "pingIntervalMs"? }`
 * (pingIntervalMs: both listeners' ping interval; default one hour, so no Pings during a run).
 *
 * Sends `ready` with its `client` and `server` addresses, and with `webSocket: true` the
 * address of its WebSocket client listener (`clientWs`, path `/`) too. Requests: `probe` (CPU and memory of
 * this process, with `gc: true` after a full collection, plus gateway gauges), `exit`
 * (closes the gateway).
 */
import { Gateway } from '../src/index.js';
import { failChild, sampleSelf, serveParent } from './ipc.js';

/** Limits raised far past what any scenario needs, so the bench is never refused or dropped. */
const BENCH_LIMITS = {
  client: { maxConn: 1024, maxPending: 1024, sendQueue: 1_000_000, pingInterval: 3_600_000 },
  server: { maxPending: 1_000_000, sendQueue: 10_000_000, pingInterval: 3_600_000 },
};

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as { host: string; authKey: string; webSocket?: boolean; busyPollMicros?: number; listenBacklog?: number | null; pingIntervalMs?: number };
  const gateway = new Gateway({
    busyPollMicros: config.busyPollMicros ?? 0,
    ...(config.listenBacklog != null ? { listenBacklog: config.listenBacklog } : {}),
    client: { ...BENCH_LIMITS.client, ...(config.pingIntervalMs !== undefined ? { pingInterval: config.pingIntervalMs } : {}) },
    server: { ...BENCH_LIMITS.server, authKey: config.authKey, ...(config.pingIntervalMs !== undefined ? { pingInterval: config.pingIntervalMs } : {}) },
  });
  const any = `${config.host}:0`;
  const { client, server, clientWs } = await gateway.listen({ client: any, server: any, ...(config.webSocket === true ? { clientWs: any } : {}) });
  serveParent({ client, server, clientWs }, async (req) => {
    if (req.type === 'probe') {
      const stats = gateway.stats;
      return {
        sample: sampleSelf(req.gc === true),
        clients: stats.clients,
        servers: stats.servers,
        liveConnections: stats.liveConnections,
        framesForwarded: stats.framesClientToServer + stats.framesServerToClient,
      };
    }
    if (req.type === 'exit') {
      await gateway.close();
      return {};
    }
    throw new Error(`unknown request ${req.type}`);
  });
}

main().catch(failChild);
