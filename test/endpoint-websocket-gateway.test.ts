/**
 * The endpoint over WebSocket and WSS against the real gateway: a client on the WebSocket
 * listener and a game server on TCP exchange messages byte-exact (up to the largest), the
 * server dials the client back by its client ID and closes, and WSS checks certificates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConnectError, ConnectionClosedError, dialClient, dialServer, type Endpoint, Gateway, type GatewayOptions, InvalidOptionError, type VirtualConnection } from '../src/index.js';
import { makeTestCerts, type TestCerts } from './endpoint-tls-certs.js';
import { openResources, pattern } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

const KEY = 'ws-test-key';

/** A gateway with a WebSocket listener and an echo server (ID 1) that can dial back. */
async function start(options: Partial<GatewayOptions> = {}, wsPath = '/') {
  const gateway = new Gateway({ ...options, server: { authKey: KEY, ...options.server } });
  const bound = await gateway.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
  const server = await dialServer(`127.0.0.1:${bound.server!.port}`, { serverId: 1, authKey: KEY });
  const accepted: VirtualConnection[] = [];
  void (async () => {
    for await (const conn of server) {
      accepted.push(conn);
      void (async () => {
        for await (const msg of conn) conn.send(msg);
      })();
    }
  })();
  return {
    gateway,
    server,
    accepted,
    ws: `ws://127.0.0.1:${bound.clientWs!.port}${wsPath}`,
    wss: `wss://127.0.0.1:${bound.clientWs!.port}${wsPath}`,
    async close() {
      await server.close();
      await gateway.close();
    },
  };
}

/** Sends `count` messages (sizes vary, the last is the largest allowed) and checks the echo. */
async function echoExchange(conn: VirtualConnection, count: number, largest: number): Promise<void> {
  const sizes = Array.from({ length: count }, (_, i) => (i === count - 1 ? largest : (i * 977) % 5000));
  const reading = (async () => {
    for (let i = 0; i < count; i++) {
      const got = await withTimeout(conn.receive(), `echo ${i}`);
      assert.ok(Buffer.from(got).equals(pattern(sizes[i]!, i)), `message ${i} (${sizes[i]} bytes) is byte-exact`);
    }
  })();
  for (let i = 0; i < count; i++) if (!conn.send(pattern(sizes[i]!, i))) await conn.drained();
  await reading;
}

after(async () => {
  await waitUntil(() => openResources().length === 0, 'every socket and timer to be released');
});

describe('endpoint over WebSocket through the gateway', () => {
  test('ws://: messages byte-exact up to the largest; the server dials the client back by ID and closes; the WebSocket client counts as a client', async () => {
    const g = await start();
    let client: Endpoint | undefined;
    try {
      client = await dialClient(g.ws);
      assert.equal(client.remoteAddress, g.ws);
      const conn = await client.dial(1);
      await echoExchange(conn, 300, 524_288 - 4);
      assert.equal(g.gateway.stats.clients, 1);

      const clientId = g.accepted[0]!.remoteId;
      const incoming = client.accept();
      const back = await g.server.dial(clientId);
      const fromServer = await withTimeout(incoming, 'the incoming connection');
      assert.equal(fromServer.remoteId, 1);
      back.send(Buffer.from('hello'));
      assert.equal(Buffer.from(await fromServer.receive()).toString(), 'hello');
      back.close();
      const reason = await withTimeout(fromServer.closed, 'the Close');
      assert.ok(reason instanceof ConnectionClosedError);

      await client.close();
      await waitUntil(() => g.gateway.stats.clients === 0, 'the gateway to count the client gone');
    } finally {
      await client?.close();
      await g.close();
    }
  });

  test('ws:// on a custom path; a wrong path is a ConnectError', async () => {
    const g = await start({ client: { webSocket: { path: '/play' } } }, '/play');
    try {
      const client = await dialClient(g.ws);
      await echoExchange(await client.dial(1), 5, 100);
      await client.close();
      await assert.rejects(dialClient(g.ws.replace('/play', '/')), ConnectError);
    } finally {
      await g.close();
    }
  });

  describe('wss://', () => {
    let certs: TestCerts;
    before(() => {
      certs = makeTestCerts();
    });

    test('with the CA: works; without it, or for another name: ConnectError', async () => {
      const g = await start({ client: { tls: { cert: certs.gatewayCert, key: certs.gatewayKey } } });
      try {
        const client = await dialClient(g.wss, { tls: { ca: certs.ca } });
        await echoExchange(await client.dial(1), 50, 200_000);
        await client.close();

        await assert.rejects(dialClient(g.wss), (err: Error) => err instanceof ConnectError && /certificate|verify/i.test(err.message));
        await assert.rejects(dialClient(g.wss, { tls: { ca: certs.ca, servername: 'elsewhere.example' } }), ConnectError);
        await assert.rejects(dialClient(g.wss, { tls: { ca: 42 as unknown as string } }), (err: Error) => err instanceof InvalidOptionError && err.option === 'tls.ca');
        const localhost = await dialClient(g.wss.replace('127.0.0.1', 'localhost'), { tls: { ca: certs.ca } });
        await localhost.close();
      } finally {
        await g.close();
      }
    });
  });
});
