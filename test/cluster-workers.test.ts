/**
 * `fastway --workers 2 --cluster`: both workers take clients on the shared client port,
 * servers join both, one /metrics for both, a killed worker is restarted and re-joined,
 * SIGTERM drains both.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ClusterServer, dialClient, joinCluster, utf8 } from '../src/index.js';
import { startCli } from './support/cli-process.js';
import { clusterGatewayArgs, redisForProcessTests } from './support/cluster-gateway-process.js';
import { KEY } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { freePort } from './support/redis-server.js';

const redisServer = redisForProcessTests();

test('--workers 2: shared client listener, one server port each, both joined, restart of a killed worker, SIGTERM drains both', { timeout: 90_000 }, async () => {
  const clientPort = await freePort();
  const metricsPort = await freePort();
  const run = startCli(
    clusterGatewayArgs(redisServer().url, 'wk', ['--workers', '2', '--client-addr', `127.0.0.1:${clientPort}`, '--metrics-addr', `127.0.0.1:${metricsPort}`]),
    { waitTimeoutMs: 30_000 },
  );
  let server: ClusterServer<string> | undefined;
  try {
    const pids = new Map<number, number>();
    for (const k of [0, 1]) {
      const m = await run.waitFor(new RegExp(`worker ${k} \\(pid (\\d+)\\): registered as gateway wk-${k}`));
      pids.set(k, Number(m[1]));
    }
    const serverPorts = [0, 1].map((k) => run.stdout.match(new RegExp(`worker ${k} \\(pid \\d+\\): listening for game servers on 127\\.0\\.0\\.1:(\\d+)`))![1]);
    assert.notEqual(serverPorts[0], serverPorts[1], 'each worker has its own server port');

    server = await joinCluster({ redis: redisServer().url, serverId: 9, authKey: KEY, format: utf8, reconnect: { initialDelay: 50, maxDelay: 300 } });
    assert.deepEqual([...server.gateways.keys()].sort(), ['wk-0', 'wk-1']);
    assert.ok([...server.gateways.values()].every((g) => g.link === 'linked'));
    const seen = new Set<string>();
    const s = server;
    void (async () => {
      for await (const conn of s) {
        seen.add(conn.gatewayId);
        void (async () => {
          for await (const text of conn) conn.send(`${conn.gatewayId}: ${text}`);
        })();
      }
    })();

    // Clients on the one shared port land on both workers.
    const answers = new Set<string>();
    for (let i = 0; i < 16 && answers.size < 2; i++) {
      const client = await dialClient(`127.0.0.1:${clientPort}`, { format: utf8 });
      const conn = await client.dial(9);
      conn.send('hi');
      answers.add((await withTimeout(conn.receive(), 'an answer')).split(':')[0]!);
      await client.close();
    }
    assert.deepEqual([...answers].sort(), ['wk-0', 'wk-1'], 'both workers take clients');

    // One /metrics for the process tree, and readiness.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const accepted = Number(/^fastway_clients_accepted_total (\d+)/m.exec(metrics)?.[1]);
    assert.ok(accepted >= 2, `the aggregate counts the clients of both workers:\n${metrics.slice(0, 400)}`);
    assert.match(metrics, /^fastway_worker_restarts_total 0$/m);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 200);

    // A killed worker is restarted and re-joined by the server.
    process.kill(pids.get(1)!, 'SIGKILL');
    await run.waitFor(/"event":"worker_died".*"worker":1/, 'stderr');
    await waitUntil(() => (run.stdout.match(/worker 1 \(pid \d+\): registered as gateway wk-1/g) ?? []).length === 2, 'worker 1 to be restarted', 20_000);
    await waitUntil(() => server!.gateways.get('wk-1')?.link === 'linked', 'the server to link the restarted worker', 10_000);
    const after = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(after, /^fastway_worker_restarts_total 1$/m);

    // SIGTERM to the primary drains both workers; every record is deleted; exit 0.
    run.child.kill('SIGTERM');
    const exit = await withTimeout(run.exited, 'the primary to exit', 30_000);
    assert.equal(exit.code, 0, run.output());
    assert.match(run.stdout, /worker 0 \(pid \d+\): SIGTERM: draining/);
    assert.match(run.stdout, /worker 1 \(pid \d+\): SIGTERM: draining/);
    await waitUntil(() => server!.gateways.size === 0, 'the server to see both workers leave', 5000);
  } finally {
    await server?.close();
  }
});
