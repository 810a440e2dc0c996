/**
 * Faults, seen through the endpoint library: a game server or client killed
 * (SIGKILL, in a child process) mid-stream, a server restarting under the same ID while
 * clients keep dialing it, and the gateway stopping — gracefully, or killed — under
 * traffic. Nobody hangs: every promise an application holds settles, with a typed error
 * where it fails, and everyone not involved keeps working.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConnectionClosedError,
  DialRefusedError,
  dialClient,
  dialServer,
  type Endpoint,
  EndpointClosedError,
  FastwayError,
  Gateway,
  type VirtualConnection,
} from '../src/index.js';
import { ChildEndpoint } from './support/child-endpoint.js';
import { ChildGateway } from './support/child-gateway.js';
import { EchoPump, serveEcho } from './support/echo-pump.js';
import { checkNoLeaks, early } from './support/fake-gateway.js';
import { KEY, withGateway } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

checkNoLeaks();

/** Closes every endpoint, ignoring the ones already closed. */
async function closeAll(endpoints: Endpoint[]): Promise<void> {
  await Promise.all(endpoints.map((e) => e.close()));
}

describe('a game server or client killed mid-stream', () => {
  test('a server killed: each of its virtual connections gets Close at its client; the clients keep working with other servers', async () => {
    await withGateway({}, async (h) => {
      const address = `127.0.0.1:${h.serverPort}`;
      const clientAddress = `127.0.0.1:${h.clientPort}`;
      const doomed = await ChildEndpoint.echoServer(address, 1, KEY);
      const endpoints: Endpoint[] = [];
      try {
        const survivor = await dialServer(address, { serverId: 2, authKey: KEY });
        endpoints.push(survivor);
        void serveEcho(survivor);
        const toDoomed: EchoPump[] = [];
        const toSurvivor: EchoPump[] = [];
        for (let i = 0; i < 4; i++) {
          const client = await dialClient(clientAddress);
          endpoints.push(client);
          toDoomed.push(new EchoPump(await client.dial(1)));
          toSurvivor.push(new EchoPump(await client.dial(2)));
        }
        await Promise.all([...toDoomed, ...toSurvivor].map((p) => p.progress(20)));

        await doomed.kill();

        for (const pump of toDoomed) {
          const reason = await withTimeout(pump.ended, 'a virtual connection to the killed server to close');
          assert.ok(reason instanceof ConnectionClosedError, `closed with ${String(reason)}`);
          assert.match(reason.message, /remote end/);
          await assert.rejects(pump.conn.receive(), ConnectionClosedError);
          assert.throws(() => pump.conn.send(new Uint8Array(1)), ConnectionClosedError);
        }
        await Promise.all(toSurvivor.map((p) => p.progress(20, 'traffic to the other server after the kill')));
        const client = endpoints[1]!;
        await assert.rejects(client.dial(1), DialRefusedError);
        const fresh = new EchoPump(await client.dial(2));
        await fresh.progress(5);
        await Promise.all([...toSurvivor, fresh].map((p) => p.stop()));
        await waitUntil(() => h.stats.servers === 1 && h.stats.liveConnections === 0, 'the killed server to be gone');
      } finally {
        await doomed.kill();
        await closeAll(endpoints);
      }
    });
  });

  test('a client killed: its virtual connection closes at the server, which keeps serving the others', async () => {
    await withGateway({}, async (h) => {
      const endpoints: Endpoint[] = [];
      let doomed: ChildEndpoint | null = null;
      try {
        const server = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY });
        endpoints.push(server);
        const accepted: VirtualConnection[] = [];
        void serveEcho(server, accepted);
        const pumps: EchoPump[] = [];
        for (let i = 0; i < 3; i++) {
          const client = await dialClient(`127.0.0.1:${h.clientPort}`);
          endpoints.push(client);
          pumps.push(new EchoPump(await client.dial(1)));
        }
        doomed = await ChildEndpoint.streamingClient(`127.0.0.1:${h.clientPort}`, 1);
        await waitUntil(() => accepted.length === 4, 'the server to accept all four clients');
        const [streaming] = accepted.filter((c) => !pumps.some((p) => p.conn.connId === c.connId));
        const before = await doomed.echoes();
        assert.ok(before > 0);
        const clientsBefore = h.stats.clients;

        await doomed.kill();

        const reason = await withTimeout(streaming!.closed, 'the killed client\'s connection to close at the server');
        assert.ok(reason instanceof ConnectionClosedError, `closed with ${String(reason)}`);
        await waitUntil(() => h.stats.clients === clientsBefore - 1, 'the gateway to drop the killed client');
        await Promise.all(pumps.map((p) => p.progress(20, 'traffic of the other clients after the kill')));
        await Promise.all(pumps.map((p) => p.stop()));
      } finally {
        await doomed?.kill();
        await closeAll(endpoints);
      }
    });
  });
});

describe('a server restarting under the same ID while clients keep dialing it', () => {
  test('every dial is accepted or refused, none hangs; accepted ones work until their server goes', async () => {
    await withGateway({}, async (h) => {
      const address = `127.0.0.1:${h.serverPort}`;
      const SERVER_ID = 9;
      const clients: Endpoint[] = [];
      let current = await ChildEndpoint.echoServer(address, SERVER_ID, KEY);
      const generations: ChildEndpoint[] = [current];
      const counts = { accepted: 0, refused: 0, echoed: 0, closedBeforeEcho: 0 };
      let stopping = false;
      try {
        for (let i = 0; i < 4; i++) clients.push(await dialClient(`127.0.0.1:${h.clientPort}`, { dialTimeout: 0 }));
        const dialers = clients.map(async (client) => {
          while (!stopping) {
            let conn: VirtualConnection;
            try {
              conn = await withTimeout(client.dial(SERVER_ID), 'a dial to be accepted or refused');
            } catch (err) {
              assert.ok(err instanceof DialRefusedError, `a dial failed with ${String(err)}`);
              counts.refused++;
              await new Promise((resolve) => setImmediate(resolve));
              continue;
            }
            counts.accepted++;
            conn.send(Buffer.from('ping'));
            try {
              const echo = await withTimeout(conn.receive(), 'an echo, or the connection closing');
              assert.equal(Buffer.from(echo).toString(), 'ping');
              counts.echoed++;
            } catch (err) {
              assert.ok(err instanceof ConnectionClosedError, `receive failed with ${String(err)}`);
              counts.closedBeforeEcho++;
            }
            conn.close();
          }
        });
        // Restarts: a crash with a gap before the new one, then a rolling restart (the new
        // one registers before the old one dies), three times each.
        for (let cycle = 0; cycle < 6; cycle++) {
          const accepted = counts.accepted;
          await waitUntil(() => counts.accepted >= accepted + 10, 'clients to get through to the current server');
          if (cycle % 2 === 0) {
            await current.kill();
            current = await ChildEndpoint.echoServer(address, SERVER_ID, KEY);
          } else {
            const next = await ChildEndpoint.echoServer(address, SERVER_ID, KEY);
            await current.kill();
            current = next;
          }
          generations.push(current);
        }
        const accepted = counts.accepted;
        await waitUntil(() => counts.accepted >= accepted + 10, 'clients to get through to the last server');
        stopping = true;
        await Promise.all(dialers);
        console.log(
          `# restarts: ${counts.accepted} dials accepted (${counts.echoed} echoed, ${counts.closedBeforeEcho} closed by a dying server first), ${counts.refused} refused`,
        );
        assert.ok(counts.echoed > 0);
      } finally {
        stopping = true;
        await Promise.all(generations.map((g) => g.kill()));
        await closeAll(clients);
      }
    });
  });
});

/** Everything an application can be waiting on, started just before the gateway goes away. */
async function pendingEverything(clientAddress: string, serverAddress: string): Promise<{
  endpoints: Endpoint[];
  promises: { what: string; promise: Promise<unknown>; expect: new (...args: never[]) => FastwayError }[];
  pumps: EchoPump[];
}> {
  const endpoints: Endpoint[] = [];
  const promises: { what: string; promise: Promise<unknown>; expect: new (...args: never[]) => FastwayError }[] = [];
  const server = await dialServer(serverAddress, { serverId: 1, authKey: KEY });
  const idle = await dialServer(serverAddress, { serverId: 2, authKey: KEY });
  endpoints.push(server, idle);
  void serveEcho(server);
  const pumps: EchoPump[] = [];
  for (let i = 0; i < 4; i++) {
    const client = await dialClient(clientAddress);
    endpoints.push(client);
    pumps.push(new EchoPump(await client.dial(1)));
    const quiet = await client.dial(2);
    const accepted = await idle.accept();
    promises.push({ what: 'receive on a quiet client connection', promise: early(quiet.receive()), expect: ConnectionClosedError });
    promises.push({ what: 'receive on a quiet server connection', promise: early(accepted.receive()), expect: ConnectionClosedError });
    promises.push({ what: 'closed of a quiet connection', promise: early(quiet.closed.then((r) => Promise.reject(r))), expect: EndpointClosedError });
  }
  promises.push({ what: 'accept on an idle server', promise: early(idle.accept()), expect: EndpointClosedError });
  await Promise.all(pumps.map((p) => p.progress(10)));
  // Dials still in flight when the gateway goes: each either completes first or fails.
  for (const client of endpoints.slice(2)) {
    for (let k = 0; k < 4; k++) promises.push({ what: 'a dial in flight', promise: early(client.dial(1)), expect: EndpointClosedError });
  }
  for (const e of endpoints) {
    promises.push({ what: 'endpoint.closed', promise: early(e.closed.then((r) => Promise.reject(r))), expect: EndpointClosedError });
  }
  return { endpoints, promises, pumps };
}

async function assertAllSettleTyped(
  promises: { what: string; promise: Promise<unknown>; expect: new (...args: never[]) => FastwayError }[],
  pumps: EchoPump[],
): Promise<void> {
  let completed = 0;
  for (const p of promises) {
    try {
      const value = await withTimeout(p.promise, `${p.what} to settle`);
      // A dial that completed before the gateway went: its connection is closed now.
      assert.equal(p.what, 'a dial in flight', `${p.what} resolved`);
      const conn = value as VirtualConnection;
      const reason = await withTimeout(conn.closed, 'a connection dialed before the end to close');
      assert.ok(reason instanceof EndpointClosedError, `its connection closed with ${String(reason)}`);
      completed++;
    } catch (err) {
      assert.ok(err instanceof p.expect, `${p.what} rejected with ${String(err)}, expected ${p.expect.name}`);
      assert.ok(err instanceof FastwayError && typeof err.code === 'string');
    }
  }
  for (const pump of pumps) {
    const reason = await withTimeout(pump.ended, 'a streaming connection to end');
    assert.ok(reason instanceof EndpointClosedError, `a streaming connection ended with ${String(reason)}`);
  }
  console.log(`# gateway gone: ${promises.length} pending promises all settled (${completed} dials completed just before)`);
}

describe('the gateway stopped under traffic', () => {
  test('gateway.close(): every dial, accept and receive settles with a typed error', async () => {
    const gw = new Gateway({ server: { authKey: KEY } });
    const { client, server } = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });
    let endpoints: Endpoint[] = [];
    try {
      const pending = await pendingEverything(`127.0.0.1:${client!.port}`, `127.0.0.1:${server!.port}`);
      endpoints = pending.endpoints;
      await gw.close();
      await assertAllSettleTyped(pending.promises, pending.pumps);
      for (const e of endpoints) {
        const reason = await e.closed;
        assert.ok(reason instanceof EndpointClosedError);
        await assert.rejects(e.dial(1), EndpointClosedError);
      }
    } finally {
      await gw.close();
      await closeAll(endpoints);
    }
  });

  test('the gateway process killed: the same', async () => {
    const gw = await ChildGateway.start({ server: { authKey: KEY } });
    let endpoints: Endpoint[] = [];
    try {
      const pending = await pendingEverything(`127.0.0.1:${gw.clientPort}`, `127.0.0.1:${gw.serverPort}`);
      endpoints = pending.endpoints;
      await gw.child.kill('SIGKILL');
      await assertAllSettleTyped(pending.promises, pending.pumps);
    } finally {
      await gw.child.kill();
      await closeAll(endpoints);
    }
  });
});
