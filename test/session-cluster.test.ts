/**
 * Resumable sessions through a cluster of two gateway processes: a server joined to both
 * (joinCluster with `resumable`), clients that know both addresses. The clients' gateway
 * is SIGKILLed under traffic, or drained with SIGTERM; the same connections resume through
 * the other gateway, and every numbered message arrives exactly once, in order, byte-exact.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { type ClusterConnection, type ReconnectingEndpoint, type ResumableConnection, dialClient, joinCluster } from '../src/index.js';
import { ChildGateway } from './support/child-gateway.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { KEY } from './support/gateway-harness.js';
import { check, receiveNumbered, sendNumbered, streamOf } from './support/numbered-traffic.js';
import { withTimeout } from './support/raw-peer.js';

checkNoLeaks();

const SERVER_ID = 11;
const CLIENTS = 4;
const PER_CLIENT = 4;
const STREAMS = CLIENTS * PER_CLIENT;
const PER_STREAM = 3000;
const fast = { initialDelay: 10, maxDelay: 100 };

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startGateway(drainMs?: number): Promise<{ gw: ChildGateway; client: string; server: string }> {
  const client = `127.0.0.1:${await freePort()}`;
  const server = `127.0.0.1:${await freePort()}`;
  if (drainMs !== undefined) process.env.FASTWAY_TEST_DRAIN_MS = String(drainMs);
  try {
    return { gw: await ChildGateway.start({ server: { authKey: KEY } }, [], { client, server }), client, server };
  } finally {
    delete process.env.FASTWAY_TEST_DRAIN_MS;
  }
}

async function run(t: { diagnostic(s: string): void }, stop: (gw: ChildGateway) => Promise<void>, drainMs?: number): Promise<void> {
  const a = await startGateway(drainMs);
  const b = await startGateway();
  try {
    const cluster = await joinCluster({ gateways: [a.server, b.server], serverId: SERVER_ID, authKey: KEY, resumable: {}, reconnect: fast });
    const served: Promise<void>[] = [];
    const atServer: ClusterConnection[] = [];
    void (async () => {
      for await (const conn of cluster) {
        atServer.push(conn);
        served.push(
          (async () => {
            const first = await conn.receive();
            const stream = streamOf(first);
            check(first, 0, stream, 0);
            await Promise.all([receiveNumbered(conn, 0, stream, 1, PER_STREAM), sendNumbered(conn, 1, stream, 0, PER_STREAM)]);
          })(),
        );
      }
    })();
    const clients: ReconnectingEndpoint[] = [];
    const conns: ResumableConnection[] = [];
    let resumes = 0;
    for (let c = 0; c < CLIENTS; c++) {
      const cli = await dialClient([a.client, b.client], { reconnect: fast });
      assert.equal(cli.gateway, a.client, 'clients start on the first gateway of their list');
      clients.push(cli);
      for (let k = 0; k < PER_CLIENT; k++) {
        const conn = await cli.dial(SERVER_ID, { resumable: true });
        conn.onStatus((e) => {
          if (e.status === 'resumed') resumes++;
        });
        conns.push(conn);
      }
    }
    const traffic = Promise.all(
      conns.map((conn, stream) => Promise.all([sendNumbered(conn, 0, stream, 0, PER_STREAM), receiveNumbered(conn, 1, stream, 0, PER_STREAM)])),
    );
    await new Promise((r) => setTimeout(r, 100)); // under traffic
    const stopped = Date.now();
    await stop(a.gw);
    await withTimeout(traffic, 'every client stream to complete through the other gateway', 60_000);
    await withTimeout(
      (async () => {
        while (served.length < STREAMS) await new Promise((r) => setTimeout(r, 10));
        await Promise.all(served);
      })(),
      'every server stream to complete',
      30_000,
    );
    t.diagnostic(`resumes: ${resumes}; all ${STREAMS} streams done ${Date.now() - stopped} ms after the gateway was stopped`);
    assert.ok(resumes >= STREAMS, `every connection resumed (${resumes})`);
    for (const conn of conns) assert.equal(conn.gateway, b.client, 'each connection now runs through the other gateway');
    for (const conn of atServer) assert.equal(conn.gatewayId, b.server, "and the server sees it on the other gateway's link");
    assert.equal(cluster.sessionStats.refused, 0);
    for (const conn of conns) conn.close();
    for (const cli of clients) await cli.close();
    await cluster.close();
  } finally {
    await a.gw.child.kill();
    await b.gw.close();
  }
}

test("cluster: the clients' gateway SIGKILLed under traffic; every resumable connection resumes through the other gateway, exactly once, in order", async (t) => {
  await run(t, (gw) => gw.child.kill('SIGKILL'));
});

test('cluster: the clients\' gateway drained with SIGTERM; its resumable connections move to the other gateway without loss', async (t) => {
  await run(
    t,
    async (gw) => {
      gw.child.process.kill('SIGTERM');
      await withTimeout(gw.child.exited, 'the drained gateway to exit');
    },
    300,
  );
});
