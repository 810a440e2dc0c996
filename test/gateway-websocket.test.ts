/**
 * The gateway's WebSocket client listener: WebSocket clients are ordinary clients (one
 * client ID space, dialed by servers, same limits and Ping rules); every message holds
 * whole frames both ways; a text message, a split frame or a too-big message is a protocol
 * error closed with a WebSocket close code and counted; path and Origin are enforced.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import type { ClientOptions } from 'ws';
import { dialClient, dialServer, Gateway, InvalidOptionError, type VirtualConnection } from '../src/index.js';
import { CommandType, encodeDataFrame, encodeNew, encodePing } from '../src/protocol/index.js';
import { endsOnFrameBoundary, maxWebSocketPayload } from '../src/gateway/websocket-listener.js';
import { type GatewayHarness, KEY, type TestGatewayOptions, pattern, withGateway } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { WsRawClient } from './support/ws-raw-client.js';

const SERVER_ID = 42;

interface WsContext {
  h: GatewayHarness;
  /** `ws://127.0.0.1:port` (no path). */
  base: string;
  /** A WebSocket client on `path` (default `/`), closed at the end of the test. */
  connect(options?: ClientOptions, path?: string): Promise<WsRawClient>;
}

/** A gateway with TCP client, server and WebSocket listeners; everything is closed and checked afterwards. */
async function withWs(options: TestGatewayOptions, body: (ctx: WsContext) => Promise<void>): Promise<void> {
  await withGateway(options, async (h) => {
    const { clientWs } = await h.gw.listen({ clientWs: '127.0.0.1:0' });
    const base = `ws://127.0.0.1:${clientWs!.port}`;
    const clients: WsRawClient[] = [];
    const connect = async (opts: ClientOptions = {}, path = '/'): Promise<WsRawClient> => {
      const c = await WsRawClient.connect(`${base}${path}`, opts);
      clients.push(c);
      return c;
    };
    try {
      await body({ h, base, connect });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
}

/** Whether the gateway logged an entry matching `match`. */
function logged(h: GatewayHarness, match: (obj: Record<string, unknown>) => boolean): boolean {
  return h.logger.entries.some((e) => match(e.obj as Record<string, unknown>));
}

/** An HTTP request to the listener; resolves with the status. */
function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve, reject) => {
      const req = request(url, { headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    }),
    `an answer from ${url}`,
  );
}

/** The client ID the gateway gave `client`: a server learns it from the Accept of a dial. */
async function dialFromClient(h: GatewayHarness, client: WsRawClient, server: Awaited<ReturnType<GatewayHarness['server']>>) {
  const connId = await client.open();
  assert.notEqual(connId, 0);
  client.sendDial(connId, SERVER_ID);
  assert.equal((await client.expectCommand(CommandType.Accept, connId)).remoteId, SERVER_ID);
  const atServer = await server.expectCommand(CommandType.Accept, connId);
  return { connId, clientId: atServer.remoteId };
}

describe('WebSocket clients are ordinary clients', () => {
  test('a WebSocket client and a TCP server exchange frames byte-exact, in whole-frame messages', async () => {
    await withWs({}, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const client = await connect();
      const { connId } = await dialFromClient(h, client, server);
      const N = 200;
      for (let i = 0; i < N; i++) client.sendData(connId, pattern(1 + ((i * 37) % 3000), i));
      for (let i = 0; i < N; i++) assert.deepEqual(await server.expectData(connId), pattern(1 + ((i * 37) % 3000), i), `message ${i} to the server`);
      // The server writes all its answers in one go: the gateway batches them, never splitting a frame.
      const burst = Buffer.concat(Array.from({ length: N }, (_, i) => encodeDataFrame(connId, pattern(1 + ((i * 53) % 5000), 1000 + i))));
      server.write(burst);
      for (let i = 0; i < N; i++) assert.deepEqual(await client.expectData(connId), pattern(1 + ((i * 53) % 5000), 1000 + i), `message ${i} to the client`);
      assert.ok(client.messages.length > 0);
      for (const m of client.messages) assert.ok(endsOnFrameBoundary(m), `a message of ${m.length} bytes from the gateway splits a frame`);
      const s = h.stats;
      assert.equal(s.framesClientToServer, N);
      assert.equal(s.framesServerToClient, N);
      client.sendClose(connId);
      await server.expectCommand(CommandType.Close, connId);
    });
  });

  test('WebSocket and TCP clients share one client ID space, and a server dials a WebSocket client by its ID', async () => {
    await withWs({}, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const tcp = await h.client();
      const ws = await connect();
      await waitUntil(() => h.stats.clients === 2, 'both clients to be accepted');
      const tcpConn = await h.link(tcp, server, SERVER_ID);
      const wsConn = await dialFromClient(h, ws, server);
      assert.notEqual(tcpConn.dialerId, wsConn.clientId, 'two clients got the same ID');
      assert.deepEqual([tcpConn.dialerId, wsConn.clientId].sort(), [1, 2]);

      // The server dials the WebSocket client by its ID.
      const connId = await server.open();
      server.sendDial(connId, wsConn.clientId);
      assert.equal((await server.expectCommand(CommandType.Accept, connId)).remoteId, wsConn.clientId);
      assert.equal((await ws.expectCommand(CommandType.Accept, connId)).remoteId, SERVER_ID);
      server.sendData(connId, Buffer.from('hello browser'));
      assert.equal((await ws.expectData(connId)).toString(), 'hello browser');
      ws.sendData(connId, Buffer.from('hello server'));
      assert.equal((await server.expectData(connId)).toString(), 'hello server');
      assert.equal(h.stats.liveConnections, 3);
    });
  });

  test('a message holding several whole frames is accepted', async () => {
    await withWs({}, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const client = await connect();
      const { connId } = await dialFromClient(h, client, server);
      client.send(Buffer.concat([encodeDataFrame(connId, Buffer.from('one')), encodeDataFrame(connId, Buffer.from('two')), encodeNew()]));
      assert.equal((await server.expectData(connId)).toString(), 'one');
      assert.equal((await server.expectData(connId)).toString(), 'two');
      assert.notEqual((await client.expectCommand(CommandType.Open)).connId, 0);
    });
  });

  test('the client limit applies to WebSocket clients', async () => {
    await withWs({ client: { maxConn: 1 } }, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const client = await connect();
      await dialFromClient(h, client, server);
      const second = await client.open();
      client.sendDial(second, SERVER_ID);
      await client.expectCommand(CommandType.Refuse, second);
      assert.equal(h.stats.dialsRefused.client_limit, 1);
    });
  });

  test('a silent WebSocket client is pinged, then dropped', async () => {
    await withWs({ client: { pingInterval: 40 } }, async ({ h, connect }) => {
      const client = await connect();
      const ping = await client.nextFrame('a Ping');
      assert.equal(ping.command?.type, CommandType.Ping);
      await client.expectClosed('the silent client to be dropped');
      await waitUntil(() => h.stats.silentPeersDropped === 1, 'the drop to be counted');
    });
  });

  test('a WebSocket client that answers Pings stays', async () => {
    await withWs({ client: { pingInterval: 40 } }, async ({ h, connect }) => {
      const client = await connect();
      for (let i = 0; i < 3; i++) {
        assert.equal((await client.nextFrame('a Ping')).command?.type, CommandType.Ping);
        client.send(encodePing());
      }
      assert.equal(h.stats.silentPeersDropped, 0);
      assert.equal(h.stats.clients, 1);
    });
  });
});

describe('with the endpoint library', () => {
  test('a ws:// client and a TCP client talk to the same server at once, byte-exact, and the server dials the ws:// client back', async () => {
    await withWs({}, async ({ h, base }) => {
      const server = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: SERVER_ID, authKey: KEY });
      const wsClient = await dialClient(`${base}/`);
      const tcpClient = await dialClient(`127.0.0.1:${h.clientPort}`);
      try {
        const accepted: VirtualConnection<Uint8Array>[] = [];
        void (async () => {
          for await (const conn of server) {
            accepted.push(conn);
            void (async () => {
              for await (const message of conn) conn.send(message);
            })();
          }
        })();
        // The first connection is the ws:// client's: the server learns its client ID from it.
        const first = await wsClient.dial(SERVER_ID);
        await waitUntil(() => accepted.length === 1, 'the server to accept');
        const wsClientId = accepted[0]!.remoteId;
        await first.close();

        const N = 300;
        const talk = async (client: typeof wsClient, seed: number): Promise<void> => {
          const conn = await client.dial(SERVER_ID);
          for (let i = 0; i < N; i++) conn.send(pattern(1 + ((i * 97) % 20_000), seed + i));
          for (let i = 0; i < N; i++) assert.deepEqual(Buffer.from(await conn.receive()), pattern(1 + ((i * 97) % 20_000), seed + i), `message ${i}`);
          await conn.close();
        };
        await Promise.all([talk(wsClient, 0), talk(tcpClient, 100_000)]);
        assert.equal(h.stats.clients, 2);

        const back = wsClient.accept();
        const out = await server.dial(wsClientId);
        out.send(Buffer.from('from the server'));
        const atClient = await withTimeout(back, 'the ws:// client to accept the dial back');
        assert.equal(atClient.remoteId, SERVER_ID);
        assert.equal(Buffer.from(await atClient.receive()).toString(), 'from the server');
        await out.close();
      } finally {
        await Promise.all([wsClient.close(), tcpClient.close(), server.close()]);
      }
    });
  });
});

describe('protocol errors on the WebSocket listener', () => {
  test('a text message closes the client with 1003 and is counted; its virtual connection closes', async () => {
    await withWs({}, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const client = await connect();
      const { connId } = await dialFromClient(h, client, server);
      client.ws.send('hello');
      assert.equal(await client.expectClosed(), 1003);
      await server.expectCommand(CommandType.Close, connId);
      assert.equal(h.stats.protocolErrors.ERR_TEXT_MESSAGE, 1);
      assert.equal(h.stats.clients, 0);
      assert.ok(logged(h, (o) => o.event === 'protocol_error' && o.code === 'ERR_TEXT_MESSAGE'));
    });
  });

  test('a frame split across two messages closes the client with 1002 and is counted', async () => {
    await withWs({}, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const client = await connect();
      const { connId } = await dialFromClient(h, client, server);
      const frame = encodeDataFrame(connId, Buffer.from('split me'));
      client.send(frame.subarray(0, 5));
      client.send(frame.subarray(5));
      assert.equal(await client.expectClosed(), 1002);
      await server.expectCommand(CommandType.Close, connId);
      assert.equal(h.stats.protocolErrors.ERR_PARTIAL_FRAME, 1);
      assert.equal(h.stats.framesClientToServer, 0, 'no part of the split frame was forwarded');
    });
  });

  test('whole frames followed by a partial one: nothing of the message is forwarded', async () => {
    await withWs({}, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const client = await connect();
      const { connId } = await dialFromClient(h, client, server);
      const whole = encodeDataFrame(connId, Buffer.from('whole'));
      client.send(Buffer.concat([whole, whole.subarray(0, whole.length - 1)]));
      assert.equal(await client.expectClosed(), 1002);
      assert.equal(h.stats.protocolErrors.ERR_PARTIAL_FRAME, 1);
      assert.equal(h.stats.framesClientToServer, 0);
    });
  });

  test('an empty message is a protocol error', async () => {
    await withWs({}, async ({ h, connect }) => {
      const client = await connect();
      client.send(new Uint8Array(0));
      assert.equal(await client.expectClosed(), 1002);
      assert.equal(h.stats.protocolErrors.ERR_PARTIAL_FRAME, 1);
    });
  });

  test('a bad fastway frame inside a whole message closes with 1002', async () => {
    await withWs({}, async ({ h, connect }) => {
      const client = await connect();
      const tooShort = Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]); // Length 2 < 4, in a whole header
      client.send(tooShort);
      assert.equal(await client.expectClosed(), 1002);
      assert.equal(h.stats.protocolErrors.ERR_FRAME_TOO_SHORT, 1, JSON.stringify(h.stats.protocolErrors));
    });
  });

  test('a message over maxPacketSize + 4 + 64 KiB is refused by ws (1009) and counted as too large; one at the limit passes', async () => {
    const maxPacketSize = 1024;
    const limit = maxWebSocketPayload(maxPacketSize);
    assert.equal(limit, maxPacketSize + 4 + 64 * 1024);
    /** Whole frames on `connId` totalling exactly `total` bytes, each at most maxPacketSize + 4. */
    const framesOf = (connId: number, total: number): Buffer[] => {
      const frames: Buffer[] = [];
      for (let left = total; left > 0; ) {
        const size = Math.min(left, maxPacketSize + 4);
        frames.push(Buffer.from(encodeDataFrame(connId, pattern(size - 8, frames.length))));
        left -= size;
      }
      return frames;
    };
    await withWs({ maxPacketSize }, async ({ h, connect }) => {
      const server = await h.server(SERVER_ID);
      const client = await connect();
      const { connId } = await dialFromClient(h, client, server);
      const atLimit = framesOf(connId, limit);
      client.send(Buffer.concat(atLimit));
      for (const frame of atLimit) assert.deepEqual(await server.expectData(connId), frame.subarray(8));
      client.send(Buffer.concat(framesOf(connId, limit + 1)));
      assert.equal(await client.expectClosed(), 1009);
      await server.expectCommand(CommandType.Close, connId);
      await waitUntil(() => h.stats.protocolErrors.ERR_FRAME_TOO_LARGE === 1, 'the error to be counted');
      assert.equal(h.stats.framesClientToServer, atLimit.length);
    });
  });

  test('the gateway closing sends 1001 (going away)', async () => {
    const gw = new Gateway({ server: { authKey: KEY } });
    const { clientWs } = await gw.listen({ clientWs: '127.0.0.1:0' });
    const client = await WsRawClient.connect(`ws://127.0.0.1:${clientWs!.port}/`);
    try {
      await waitUntil(() => gw.stats.clients === 1, 'the client to be accepted');
      await withTimeout(gw.close(), 'gateway.close()');
      assert.equal(await client.expectClosed(), 1001);
    } finally {
      await client.end();
      await gw.close();
    }
  });
});

describe('who may connect', () => {
  test('only the configured path is upgraded', async () => {
    await withWs({ client: { webSocket: { path: '/fastway' } } }, async ({ h, connect, base }) => {
      await assert.rejects(WsRawClient.connect(`${base}/`), /upgrade refused: 404/);
      await assert.rejects(WsRawClient.connect(`${base}/fastwayx`), /upgrade refused: 404/);
      const client = await connect({}, '/fastway?room=1');
      assert.notEqual(await client.open(), 0);
      assert.equal(h.stats.webSocketUpgradesRefused, 2);
      assert.equal(h.stats.clientsAccepted, 1);
    });
  });

  test('an Origin not in the list is refused with 403; a listed one and none at all are accepted', async () => {
    const origins = ['https://game.example.com', 'http://localhost:8080'];
    await withWs({ client: { webSocket: { origins } } }, async ({ h, connect, base }) => {
      await assert.rejects(WsRawClient.connect(`${base}/`, { origin: 'https://evil.example.com' }), /upgrade refused: 403/);
      await assert.rejects(WsRawClient.connect(`${base}/`, { origin: 'null' }), /upgrade refused: 403/);
      assert.equal(h.stats.clientsAccepted, 0);
      assert.equal(h.stats.webSocketUpgradesRefused, 2);
      const listed = await connect({ origin: 'https://GAME.example.com' });
      const listedPort = await connect({ origin: 'http://localhost:8080' });
      const noOrigin = await connect();
      for (const c of [listed, listedPort, noOrigin]) assert.notEqual(await c.open(), 0);
      assert.equal(h.stats.clientsAccepted, 3);
      assert.ok(logged(h, (o) => o.event === 'websocket_refused' && o.status === 403));
    });
  });

  test('a plain HTTP request gets 426 Upgrade Required', async () => {
    await withWs({}, async ({ h, base }) => {
      assert.equal(await httpStatus(`${base.replace('ws:', 'http:')}/`), 426);
      assert.equal(h.stats.webSocketUpgradesRefused, 1);
      assert.equal(h.stats.clientsAccepted, 0);
    });
  });

  test('a plain GET on another path gets the documented 404, not 426', async () => {
    await withWs({ client: { webSocket: { path: '/play' } } }, async ({ h, base }) => {
      const http = base.replace('ws:', 'http:');
      assert.equal(await httpStatus(`${http}/elsewhere`), 404);
      assert.equal(await httpStatus(`${http}/play?x=1`), 426, 'the WebSocket path with a query still asks for an upgrade');
      assert.equal(h.stats.webSocketUpgradesRefused, 2);
      assert.ok(logged(h, (o) => o.event === 'websocket_refused' && o.status === 404));
    });
  });

  test('a broken upgrade request gets 400', async () => {
    await withWs({}, async ({ h, base }) => {
      const status = await httpStatus(`${base.replace('ws:', 'http:')}/`, { Connection: 'Upgrade', Upgrade: 'websocket' });
      assert.equal(status, 400);
      assert.equal(h.stats.webSocketUpgradesRefused, 1);
    });
  });
});

describe('WebSocket options', () => {
  const bad: [string, unknown][] = [
    ['client.webSocket.path', { path: 'no-slash' }],
    ['client.webSocket.path', { path: '/a b' }],
    ['client.webSocket.origins', { origins: [] }],
    ['client.webSocket.origins', { origins: ['not an origin'] }],
    ['client.webSocket.origins', { origins: [42] }],
    ['client.webSocket', 'ws'],
  ];
  for (const [option, webSocket] of bad) {
    test(`${option} = ${JSON.stringify(webSocket)} is refused, naming the option`, () => {
      assert.throws(
        () => new Gateway({ server: { authKey: KEY }, client: { webSocket: webSocket as never } }),
        (err: unknown) => err instanceof InvalidOptionError && err.option === option,
      );
    });
  }

  test('defaults: path /, any origin', () => {
    const gw = new Gateway({ server: { authKey: KEY } });
    assert.deepEqual(gw.options.client.webSocket, { path: '/', origins: null });
  });

  test('endsOnFrameBoundary', () => {
    const f = encodeDataFrame(1, Buffer.from('abc'));
    assert.equal(endsOnFrameBoundary(f), true);
    assert.equal(endsOnFrameBoundary(Buffer.concat([f, f])), true);
    assert.equal(endsOnFrameBoundary(f.subarray(0, f.length - 1)), false);
    assert.equal(endsOnFrameBoundary(Buffer.concat([f, f.subarray(0, 3)])), false);
    assert.equal(endsOnFrameBoundary(new Uint8Array(0)), false);
    // A Length below 4 still takes a whole header: the decoder reads one before judging it.
    assert.equal(endsOnFrameBoundary(Buffer.from([2, 0, 0, 0, 0, 0])), false);
    assert.equal(endsOnFrameBoundary(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0])), true);
  });
});
