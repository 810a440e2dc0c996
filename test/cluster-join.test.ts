import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ClusterUnreachableError,
  type ClusterServer,
  dialClient,
  GatewayUnavailableError,
  joinCluster,
  type LinkChange,
  RegistryError,
  UserOfflineError,
  utf8,
} from '../src/index.js';
import { RegisteredGateway } from './support/cluster-world.js';
import { KEY, openResources } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { freePort, RedisServer } from './support/redis-server.js';

let redis: RedisServer;

before(async () => {
  redis = await RedisServer.start();
});

after(async () => {
  await redis.dispose();
  assert.deepEqual(openResources(), [], 'no socket, listener or timer left open');
});

/** A server that answers every message with `<serverId>@<gatewayId>: <text>`. */
function serveEcho(cluster: ClusterServer<string>): void {
  void (async () => {
    for await (const conn of cluster) {
      void (async () => {
        for await (const text of conn) conn.send(`${cluster.serverId}@${conn.gatewayId}: ${text}`);
      })();
    }
  })();
}

async function ask(addr: string, serverId: number, text: string): Promise<string> {
  const client = await dialClient(addr, { format: utf8 });
  try {
    const conn = await client.dial(serverId);
    conn.send(text);
    return await withTimeout(conn.receive(), 'an answer');
  } finally {
    await client.close();
  }
}

test('joinCluster: links every ready gateway, accepts through each with conn.gatewayId, and links a new gateway within 1 s of its announcement', async () => {
  const a = await RegisteredGateway.start(redis.url, 'join-a');
  const b = await RegisteredGateway.start(redis.url, 'join-b');
  const cluster = await joinCluster({ redis: redis.url, serverId: 7, authKey: KEY, format: utf8, syncInterval: 5000 });
  let c: RegisteredGateway | undefined;
  try {
    assert.deepEqual([...cluster.gateways.keys()].sort(), ['join-a', 'join-b']);
    for (const g of cluster.gateways.values()) assert.equal(g.link, 'linked', `${g.id} linked when joinCluster resolves`);
    serveEcho(cluster);
    assert.equal(await ask(a.clientAddr, 7, 'hi'), '7@join-a: hi');
    assert.equal(await ask(b.clientAddr, 7, 'hi'), '7@join-b: hi');

    // A gateway that joins later: linked within 1 s of its announcement (the periodic sync is 5 s here).
    const linked = new Promise<number>((resolve) => {
      const onLink = (change: LinkChange): void => {
        if (change.gatewayId === 'join-c' && change.link === 'linked') {
          cluster.off('link', onLink);
          resolve(Date.now());
        }
      };
      cluster.on('link', onLink);
    });
    const started = Date.now();
    c = await RegisteredGateway.start(redis.url, 'join-c');
    const linkedAt = await withTimeout(linked, 'the new gateway to be linked', 3000);
    assert.ok(linkedAt - started < 1000, `linked ${linkedAt - started} ms after the announcement`);
    assert.equal(await ask(c.clientAddr, 7, 'new'), '7@join-c: new');
    assert.equal(cluster.gateways.get('join-c')!.link, 'linked');
  } finally {
    await cluster.close();
    await Promise.all([a.close(), b.close(), c?.close()]);
  }
});

test('cluster.dial, bindUser and dialUser: servers reach a client through its own gateway; an unbind is compare-and-delete', async () => {
  const a = await RegisteredGateway.start(redis.url, 'user-a');
  const b = await RegisteredGateway.start(redis.url, 'user-b');
  const s1 = await joinCluster({ redis: redis.url, serverId: 1, authKey: KEY, format: utf8 });
  const s2 = await joinCluster({ redis: redis.url, serverId: 2, authKey: KEY, format: utf8 });
  const alice = await dialClient(b.clientAddr, { format: utf8 });
  try {
    // Alice logs in on server 1 through gateway b; server 1 binds her.
    const toS1 = await alice.dial(1);
    const atS1 = await s1.accept();
    assert.equal(atS1.gatewayId, 'user-b');
    await s1.bindUser('alice', atS1);
    assert.deepEqual(await s2.locateUser('alice'), { gatewayId: 'user-b', clientId: atS1.remoteId, serverId: 1 });

    // Server 2 pushes to her without knowing where she is.
    const pushed = await s2.dialUser('alice');
    assert.equal(pushed.gatewayId, 'user-b');
    const atAlice = await alice.accept();
    assert.equal(atAlice.remoteId, 2);
    pushed.send('from server 2');
    assert.equal(await atAlice.receive(), 'from server 2');

    // Server-initiated dial by gateway and client ID.
    const direct = await s1.dial({ gatewayId: 'user-b', clientId: atS1.remoteId });
    const atAlice2 = await alice.accept();
    direct.send('from server 1');
    assert.equal(await atAlice2.receive(), 'from server 1');

    await assert.rejects(s2.dialUser('bob'), (err: Error) => err instanceof UserOfflineError && err.code === 'ERR_USER_OFFLINE');
    await assert.rejects(s1.dial({ gatewayId: 'nope', clientId: 1 }), (err: Error) => err instanceof GatewayUnavailableError && err.reason === 'unknown');

    // A newer binding (alice again, through gateway a to server 2); the old connection's close must not remove it.
    const alice2 = await dialClient(a.clientAddr, { format: utf8 });
    const toS2 = await alice2.dial(2);
    const atS2 = await s2.accept();
    await s2.bindUser('alice', atS2);
    toS1.close();
    await atS1.closed;
    await new Promise((r) => setTimeout(r, 100)); // the stale unbind has run
    assert.deepEqual(await s1.locateUser('alice'), { gatewayId: 'user-a', clientId: atS2.remoteId, serverId: 2 });

    // Her client disconnects: the binding goes with the connection.
    await alice2.close();
    await atS2.closed;
    let location = await s1.locateUser('alice');
    for (let i = 0; i < 100 && location !== null; i++) {
      await new Promise((r) => setTimeout(r, 20));
      location = await s1.locateUser('alice');
    }
    assert.equal(location, null, 'the binding is removed when the client disconnects');
    await assert.rejects(s1.dialUser('alice'), UserOfflineError);
    void toS2;
  } finally {
    await alice.close();
    await Promise.all([s1.close(), s2.close()]);
    await Promise.all([a.close(), b.close()]);
  }
});

test('a draining gateway keeps its link and live virtual connections, is not dialed into, and leaves the map when it exits', async () => {
  const a = await RegisteredGateway.start(redis.url, 'drain-a');
  const b = await RegisteredGateway.start(redis.url, 'drain-b');
  const cluster = await joinCluster({ redis: redis.url, serverId: 3, authKey: KEY, format: utf8 });
  const client = await dialClient(a.clientAddr, { format: utf8 });
  try {
    serveEcho(cluster);
    const conn = await client.dial(3);
    conn.send('before');
    assert.equal(await conn.receive(), '3@drain-a: before');
    const drained = a.drain(10_000);
    await waitUntil(() => cluster.gateways.get('drain-a')?.state === 'draining', 'the cluster to see drain-a draining', 3000);
    assert.equal(cluster.gateways.get('drain-a')!.link, 'linked', 'the link stays while draining');
    conn.send('during');
    assert.equal(await conn.receive(), '3@drain-a: during', 'a live virtual connection goes on');
    await assert.rejects(cluster.dial({ gatewayId: 'drain-a', clientId: 1 }), (err: Error) => err instanceof GatewayUnavailableError && err.reason === 'draining');
    conn.close();
    assert.equal(await drained, 0, 'the live connection finished before the drain deadline');
    await waitUntil(() => !cluster.gateways.has('drain-a'), 'drain-a to leave the map', 3000);
    assert.deepEqual([...cluster.gateways.keys()], ['drain-b']);
  } finally {
    await client.close();
    await cluster.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test('joinCluster with a static list, and its typed errors', async () => {
  const a = await RegisteredGateway.start(redis.url, 'static-a');
  const dead = `127.0.0.1:${await freePort()}`;
  try {
    const cluster = await joinCluster({ gateways: [a.serverAddr, dead], serverId: 4, authKey: KEY, format: utf8, joinTimeout: 3000, reconnect: { initialDelay: 50, maxDelay: 200 } });
    try {
      assert.equal(cluster.gateways.get(a.serverAddr)!.link, 'linked');
      assert.notEqual(cluster.gateways.get(dead)!.link, 'linked');
      serveEcho(cluster);
      assert.equal(await ask(a.clientAddr, 4, 'x'), `4@${a.serverAddr}: x`);
      await assert.rejects(cluster.bindUser('u', { gatewayId: a.serverAddr } as never), RegistryError);
    } finally {
      await cluster.close();
    }
    await assert.rejects(
      joinCluster({ gateways: [dead], serverId: 4, authKey: KEY, joinTimeout: 300 }),
      (err: Error) => err instanceof ClusterUnreachableError && err.code === 'ERR_CLUSTER_UNREACHABLE' && err.failures.has(dead),
    );
    await assert.rejects(joinCluster({ redis: `redis://127.0.0.1:${await freePort()}`, serverId: 4, authKey: KEY }), RegistryError);
    await assert.rejects(joinCluster({ serverId: 4, authKey: KEY }), /exactly one of redis/);
  } finally {
    await a.close();
  }
});
