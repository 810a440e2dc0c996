/**
 * Redis is the control plane only: stopped for 10 s under traffic, no message is lost on
 * the existing links, nothing crashes, retries stay bounded; when it returns, the gateways'
 * records and the servers' subscriptions come back by themselves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ClusterServer, GatewayDirectory, joinCluster, type LinkChange, RegistryError, utf8 } from '../src/index.js';
import { placeClient, type PlacedClient } from './support/cluster-clients.js';
import { type ClusterGatewayProcess, redisForProcessTests, startClusterGateway } from './support/cluster-gateway-process.js';
import { CapturingLogger, KEY } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

const redisServer = redisForProcessTests();

const OUTAGE_MS = 10_000;

test('Redis stopped for 10 s under traffic: nothing lost or crashed, bounded retries, everything back by itself', { timeout: 90_000 }, async () => {
  const gws: ClusterGatewayProcess[] = [];
  for (const id of ['out-a', 'out-b']) gws.push(await startClusterGateway(redisServer().url, id, ['--log-level', 'info']));
  const logger = new CapturingLogger();
  const server = await joinCluster({ redis: redisServer().url, serverId: 1, authKey: KEY, format: utf8, logger });
  const clients: PlacedClient[] = [];
  try {
    void (async () => {
      for await (const conn of server) {
        void (async () => {
          for await (const text of conn) conn.send(text);
        })();
      }
    })();
    for (let i = 0; i < 6; i++) clients.push(await placeClient(redisServer().url));
    assert.equal(new Set(clients.map((c) => c.gatewayId)).size, 2, 'clients on both gateways');

    // Numbered messages, each echoed; a gap or a reordering would fail the equality.
    let traffic = true;
    const counts: number[] = [];
    const pumps = clients.map(async (c, i) => {
      const conn = await c.endpoint.dial(1);
      counts[i] = 0;
      while (traffic) {
        conn.send(`${i}:${counts[i]}`);
        assert.equal(await withTimeout(conn.receive(), 'an echo'), `${i}:${counts[i]}`);
        counts[i]!++;
        if (counts[i]! % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      conn.close();
    });

    await new Promise((r) => setTimeout(r, 500));
    const before = counts.reduce((a, b) => a + b, 0);
    await redisServer().stop();
    const stoppedAt = Date.now();
    await assert.rejects(GatewayDirectory.open({ redis: redisServer().url, connectTimeout: 500 }), RegistryError);
    const midway = counts.reduce((a, b) => a + b, 0);
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - stoppedAt)));
    const during = counts.reduce((a, b) => a + b, 0) - before;
    assert.ok(during > 100 && counts.reduce((a, b) => a + b, 0) > midway, `traffic went on while Redis was down (${during} echoes)`);
    assert.deepEqual([...server.gateways.keys()].sort(), ['out-a', 'out-b'], 'the server keeps the gateways it knew');
    assert.ok([...server.gateways.values()].every((g) => g.link === 'linked'), 'and their links');
    for (const g of gws) assert.equal(g.run.child.exitCode, null, `${g.id} still runs`);

    await redisServer().resume();
    // Records come back with the next heartbeat, subscriptions by themselves: a gateway
    // started now is announced to the server, which links it.
    const directory = await GatewayDirectory.open({ redis: redisServer().url });
    try {
      let ids: string[] = [];
      const deadline = Date.now() + 5000;
      while (ids.length < 2 && Date.now() < deadline) {
        ids = (await directory.list()).map((r) => r.id);
        if (ids.length < 2) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(ids, ['out-a', 'out-b'], 'records back after the outage');
    } finally {
      await directory.close();
    }
    await waitUntil(() => logger.entries.some((e) => (e.obj as { event?: string }).event === 'cluster_registry_back'), 'the server to read the registry again', 5000);
    const linked = new Promise<void>((resolve) => {
      const onLink = (e: LinkChange): void => {
        if (e.gatewayId === 'out-c' && e.link === 'linked') {
          server.off('link', onLink);
          resolve();
        }
      };
      server.on('link', onLink);
    });
    gws.push(await startClusterGateway(redisServer().url, 'out-c'));
    await withTimeout(linked, 'the server to link a gateway started after the outage', 5000);

    traffic = false;
    await withTimeout(Promise.all(pumps), 'the pumps to finish');

    // Bounded: one warning per outage, not one per retry.
    const events = (name: string) => logger.entries.filter((e) => (e.obj as { event?: string }).event === name).length;
    assert.equal(events('cluster_registry_down'), 1);
    assert.equal(events('cluster_registry_back'), 1);
    for (const g of gws.slice(0, 2)) {
      const downs = g.run.stderr.split('\n').filter((l) => l.includes('"event":"registry_down"')).length;
      assert.ok(downs >= 1 && downs <= 2, `${g.id} logged the outage once per connection (${downs}):\n${g.run.stderr}`);
      assert.doesNotMatch(g.run.stderr, /"level":50|internal_error|unhandled/i, `${g.id} logged no error`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.endpoint.close()));
    await server.close();
    for (const g of gws) g.run.child.kill('SIGTERM');
    await Promise.all(gws.map((g) => g.run.exited));
  }
});
