/**
 * A cluster of real gateway processes (the `fastway --cluster` command) on a real Redis,
 * with game servers on joinCluster and clients placed by pickGateway: every client reaches
 * every server through its own gateway; a gateway killed with SIGKILL under traffic is
 * dropped within the TTL and its clients re-place and carry on; a new gateway is linked
 * within 1 s; a gateway stopped with SIGTERM turns draining, is never picked, and its live
 * virtual connections finish.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ClusterServer, joinCluster, type LinkChange, type MembershipChange, pickGateway, utf8 } from '../src/index.js';
import { killCliChildren } from './support/cli-process.js';
import { askServer, placeClient, type PlacedClient } from './support/cluster-clients.js';
import { CHILD_TTL_MS, type ClusterGatewayProcess, startClusterGateway } from './support/cluster-gateway-process.js';
import { KEY } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { RedisServer } from './support/redis-server.js';

let redis: RedisServer;
const gateways = new Map<string, ClusterGatewayProcess>();
const servers: ClusterServer<string>[] = [];
const clients: PlacedClient[] = [];

before(async () => {
  redis = await RedisServer.start();
});

after(async () => {
  await Promise.all(clients.map((c) => c.endpoint.close()));
  await Promise.all(servers.map((s) => s.close()));
  await killCliChildren();
  await redis.dispose();
});

/** Answers `<serverId>@<gatewayId>: <text>`; user `u<n>` logs in with `login u<n>` and is bound. */
function serve(cluster: ClusterServer<string>): void {
  void (async () => {
    for await (const conn of cluster) {
      void (async () => {
        try {
          for await (const text of conn) {
            if (text.startsWith('login ')) await cluster.bindUser(text.slice(6), conn);
            conn.send(`${cluster.serverId}@${conn.gatewayId}: ${text}`);
          }
        } catch {
          // the connection closed mid-answer (its gateway was killed): nothing to do
        }
      })();
    }
  })();
}

const CLIENTS = 24;
const TIMEOUT = { timeout: 120_000 };

test('three gateways, two servers, many clients: placement, every path, SIGKILL, a new gateway, SIGTERM', TIMEOUT, async () => {
  for (const id of ['gw-a', 'gw-b', 'gw-c']) gateways.set(id, await startClusterGateway(redis.url, id, ['--drain-timeout', '20s']));
  for (const serverId of [1, 2]) {
    const cluster = await joinCluster({ redis: redis.url, serverId, authKey: KEY, format: utf8, reconnect: { initialDelay: 50, maxDelay: 500 } });
    assert.deepEqual([...cluster.gateways.keys()].sort(), ['gw-a', 'gw-b', 'gw-c']);
    assert.ok([...cluster.gateways.values()].every((g) => g.link === 'linked'), 'linked to every gateway when joinCluster resolves');
    serve(cluster);
    servers.push(cluster);
  }
  const [s1, s2] = servers as [ClusterServer<string>, ClusterServer<string>];

  // ---- Placement and every path ----
  for (let i = 0; i < CLIENTS; i++) clients.push(await placeClient(redis.url));
  const perGateway = new Map<string, number>();
  for (const c of clients) perGateway.set(c.gatewayId, (perGateway.get(c.gatewayId) ?? 0) + 1);
  assert.deepEqual([...perGateway.keys()].sort(), ['gw-a', 'gw-b', 'gw-c'], `placement spreads the clients: ${JSON.stringify([...perGateway])}`);
  await Promise.all(
    clients.map(async (c, i) => {
      for (const serverId of [1, 2]) assert.equal(await askServer(c, serverId, `hi ${i}`), `${serverId}@${c.gatewayId}: hi ${i}`);
    }),
  );

  // Each user logs in on one server (its session connection stays open: the binding lives as long);
  // the other server pushes to them by user key, through their own gateway.
  const sessions = await Promise.all(
    clients.map(async (c, i) => {
      const session = await c.endpoint.dial(1 + (i % 2));
      session.send(`login u${i}`);
      assert.equal(await withTimeout(session.receive(), 'the login answer'), `${1 + (i % 2)}@${c.gatewayId}: login u${i}`);
      return session;
    }),
  );
  await Promise.all(
    clients.map(async (c, i) => {
      const pusher = i % 2 === 0 ? s2 : s1;
      const conn = await pusher.dialUser(`u${i}`);
      assert.equal(conn.gatewayId, c.gatewayId);
      const atClient = await withTimeout(c.endpoint.accept(), 'the pushed connection');
      assert.equal(atClient.remoteId, pusher.serverId);
      conn.send(`push ${i}`);
      assert.equal(await withTimeout(atClient.receive(), 'the push'), `push ${i}`);
      conn.close();
    }),
  );
  for (const session of sessions) session.close();

  // ---- SIGKILL gw-c under traffic ----
  const victim = gateways.get('gw-c')!;
  const onVictim = clients.filter((c) => c.gatewayId === 'gw-c');
  const survivors = clients.filter((c) => c.gatewayId !== 'gw-c');
  let traffic = true;
  let answered = 0;
  const pumps = survivors.map(async (c, i) => {
    const conn = await c.endpoint.dial(1 + (i % 2));
    let n = 0;
    while (traffic) {
      conn.send(`m${n}`);
      assert.equal(await withTimeout(conn.receive(), 'an answer during the failover'), `${1 + (i % 2)}@${c.gatewayId}: m${n}`);
      n++;
      answered++;
    }
    conn.close();
  });
  const killedAt = Date.now();
  victim.run.child.kill('SIGKILL');
  await victim.run.exited;
  for (const c of onVictim) assert.notEqual(await withTimeout(c.endpoint.closed, 'the client of the killed gateway to see it close'), undefined);
  for (const s of servers) {
    await waitUntil(() => !s.gateways.has('gw-c'), `server ${s.serverId} to drop gw-c`, CHILD_TTL_MS + 5000);
  }
  const droppedAfter = Date.now() - killedAt;
  assert.ok(droppedAfter <= CHILD_TTL_MS + 1500, `dropped ${droppedAfter} ms after the kill (TTL ${CHILD_TTL_MS} ms + one sync)`);
  // They stop retrying: no link event for gw-c once it is gone.
  const lateEvents: LinkChange[] = [];
  const onLate = (e: LinkChange): void => void (e.gatewayId === 'gw-c' && lateEvents.push(e));
  for (const s of servers) s.on('link', onLate);
  // Its clients re-place and carry on.
  for (const c of onVictim) {
    const again = await placeClient(redis.url);
    assert.notEqual(again.gatewayId, 'gw-c');
    clients[clients.indexOf(c)] = again;
    assert.equal(await askServer(again, 2, 'back'), `2@${again.gatewayId}: back`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  for (const s of servers) s.off('link', onLate);
  assert.deepEqual(lateEvents, [], 'no retry of a gateway that left the registry');
  traffic = false;
  await withTimeout(Promise.all(pumps), 'the traffic pumps to finish');
  assert.ok(answered > 0);

  // ---- A new gateway: linked within 1 s of its announcement ----
  const joined = new Map<number, number>();
  const linked = new Map<number, number>();
  const watchers = servers.map((s) => {
    const onMembership = (e: MembershipChange): void => void (e.gatewayId === 'gw-d' && e.event === 'join' && joined.set(s.serverId, Date.now()));
    const onLink = (e: LinkChange): void => void (e.gatewayId === 'gw-d' && e.link === 'linked' && linked.set(s.serverId, Date.now()));
    s.on('membership', onMembership);
    s.on('link', onLink);
    return () => (s.off('membership', onMembership), s.off('link', onLink));
  });
  gateways.set('gw-d', await startClusterGateway(redis.url, 'gw-d', ['--drain-timeout', '20s']));
  await waitUntil(() => linked.size === 2, 'both servers to link gw-d', 5000);
  for (const w of watchers) w();
  for (const s of servers) {
    const delay = linked.get(s.serverId)! - joined.get(s.serverId)!;
    assert.ok(delay < 1000, `server ${s.serverId} linked gw-d ${delay} ms after its announcement`);
  }
  const onD = await placeClient(redis.url); // gw-d has no client: it is the least loaded
  clients.push(onD);
  assert.equal(onD.gatewayId, 'gw-d');
  assert.equal(await askServer(onD, 1, 'hello d'), '1@gw-d: hello d');

  // ---- SIGTERM gw-a: draining at once, never picked, its live virtual connections finish ----
  const drainer = gateways.get('gw-a')!;
  const onA = clients.find((c) => c.gatewayId === 'gw-a')!;
  const live = await onA.endpoint.dial(1);
  drainer.run.child.kill('SIGTERM');
  await waitUntil(() => servers.every((s) => s.gateways.get('gw-a')?.state === 'draining'), 'the servers to see gw-a draining', 3000);
  for (let i = 0; i < 20; i++) assert.notEqual((await pickGateway({ redis: redis.url })).gatewayId, 'gw-a');
  for (let i = 0; i < 5; i++) {
    live.send(`during drain ${i}`);
    assert.equal(await withTimeout(live.receive(), 'an answer while draining'), `1@gw-a: during drain ${i}`);
  }
  assert.equal(servers[0]!.gateways.get('gw-a')!.link, 'linked', 'the draining gateway keeps its link');
  live.close();
  // With its last virtual connection gone, the drain ends at once: exit 0, record deleted, gone from the map.
  for (const c of clients.filter((x) => x.gatewayId === 'gw-a')) await c.endpoint.close();
  const exit = await withTimeout(drainer.run.exited, 'gw-a to exit after its drain', 15_000);
  assert.equal(exit.code, 0, drainer.run.output());
  for (const s of servers) await waitUntil(() => !s.gateways.has('gw-a'), `server ${s.serverId} to drop gw-a`, 3000);
  assert.deepEqual([...servers[0]!.gateways.keys()].sort(), ['gw-b', 'gw-d']);
});
