/**
 * The endpoint library end to end through the real Gateway on loopback: byte-exact ordered
 * delivery both ways, concurrent echo with tables empty afterwards, message size limits, and
 * many dials in flight.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Endpoint,
  type EndpointOptions,
  MessageTooLargeError,
  type VirtualConnection,
  dialClient,
  dialServer,
} from '../src/index.js';
import { MIN_MAX_PACKET_SIZE } from '../src/protocol/command.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { type GatewayHarness, KEY, withGateway } from './support/gateway-harness.js';
import { waitUntil } from './support/raw-peer.js';
import { prng } from './support/prng.js';

checkNoLeaks();

const SERVER_ID = 1;

function server<T = Uint8Array>(h: GatewayHarness, options: Partial<EndpointOptions<T>> & { serverId?: number } = {}): Promise<Endpoint<T>> {
  return dialServer<T>(`127.0.0.1:${h.serverPort}`, { serverId: SERVER_ID, authKey: KEY, ...options });
}

function client<T = Uint8Array>(h: GatewayHarness, options?: EndpointOptions<T>): Promise<Endpoint<T>> {
  return dialClient<T>(`127.0.0.1:${h.clientPort}`, options);
}

function randomBytes(rand: () => number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const r = (rand() * 4294967296) >>> 0;
    out[i] = r;
    out[i + 1] = r >>> 8;
    out[i + 2] = r >>> 16;
    out[i + 3] = r >>> 24;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

test('1: dial by ID, accept sees the client ID, dial back by it; 10,000 random 1 KiB messages both ways arrive byte-exact and in order', async () => {
  await withGateway({}, async (h) => {
    const srv = await server(h);
    const cli = await client(h);
    try {
      const accepting = srv.accept();
      const up = await cli.dial(SERVER_ID);
      const upAtServer = await accepting;
      assert.equal(up.remoteId, SERVER_ID, 'the dialer learns the server ID');
      assert.equal(upAtServer.connId, up.connId);
      assert.equal(upAtServer.remoteId, 1, "the server's accept sees the client's ID (the gateway's first client is 1)");

      const incoming = cli.accept();
      const down = await srv.dial(upAtServer.remoteId);
      const downAtClient = await incoming;
      assert.equal(downAtClient.connId, down.connId);
      assert.notEqual(down.connId, up.connId);
      assert.equal(downAtClient.remoteId, SERVER_ID);

      const streams: [VirtualConnection, VirtualConnection][] = [
        [up, upAtServer],
        [upAtServer, up],
        [down, downAtClient],
        [downAtClient, down],
      ];
      const seed = (Date.now() ^ (process.pid << 8)) >>> 0;
      const rand = prng(seed);
      const total = 10_000;
      // Rounds of at most 500 in flight keep under the gateway's default per-client queue (1024).
      const round = 500;
      let sent = 0;
      while (sent < total) {
        const expected: Uint8Array[][] = [[], [], [], []];
        const n = Math.min(round, total - sent);
        for (let i = 0; i < n; i++) {
          const k = Math.floor(rand() * 4);
          const message = randomBytes(rand, 1024);
          streams[k]![0].send(message);
          expected[k]!.push(message);
        }
        await Promise.all(
          streams.map(async ([, to], k) => {
            for (let i = 0; i < expected[k]!.length; i++) {
              const got = await to.receive();
              if (!sameBytes(got, expected[k]![i]!)) {
                assert.fail(`seed ${seed}: stream ${k}, message ${i} of round at ${sent} differs`);
              }
            }
          }),
        );
        sent += n;
      }
      for (const [, to] of streams) assert.equal(to.queuedMessages, 0, 'nothing extra arrived');
      const stats = h.stats;
      assert.equal(stats.framesClientToServer + stats.framesServerToClient, total);
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
  });
});

test('2: 8 virtual connections over 2 clients echo 5,000 messages each in parallel; then every table is empty', async () => {
  await withGateway({}, async (h) => {
    const srv = await server(h);
    const clients = [await client(h), await client(h)];
    const echoLoops: Promise<void>[] = [];
    const serverConns: VirtualConnection[] = [];
    const serving = (async () => {
      for await (const conn of srv) {
        serverConns.push(conn);
        echoLoops.push(
          (async () => {
            for await (const message of conn) conn.send(message);
          })(),
        );
      }
    })();
    try {
      const perConn = 5000;
      const window = 128; // 4 connections x 128 in flight per client: under the gateway's client queue
      const message = (conn: number, seq: number): Uint8Array => {
        const m = new Uint8Array(24);
        const v = new DataView(m.buffer);
        v.setUint32(0, conn, true);
        v.setUint32(4, seq, true);
        for (let i = 8; i < m.length; i++) m[i] = (conn * 31 + seq + i) & 0xff;
        return m;
      };
      const conns = await Promise.all(Array.from({ length: 8 }, (_, i) => clients[i % 2]!.dial(SERVER_ID)));
      assert.equal(new Set(conns.map((c) => c.connId)).size, 8);
      await Promise.all(
        conns.map(async (conn, index) => {
          let next = 0;
          while (next < window) conn.send(message(index, next++));
          for (let got = 0; got < perConn; got++) {
            const echoed = await conn.receive();
            if (!sameBytes(echoed, message(index, got))) assert.fail(`connection ${index}: echo ${got} is not what was sent`);
            if (next < perConn) conn.send(message(index, next++));
          }
        }),
      );
      assert.equal(h.stats.liveConnections, 8);
      for (const conn of conns) conn.close();
      await Promise.all(serverConns.map((c) => c.closed));
      await Promise.all(echoLoops);
      assert.equal(serverConns.length, 8);
      for (const [name, ep] of [
        ['server', srv],
        ['client 1', clients[0]!],
        ['client 2', clients[1]!],
      ] as const) {
        assert.equal(ep.liveConnections, 0, `${name}: live connections`);
        assert.equal(ep.pendingDials, 0, `${name}: pending dials`);
        assert.equal(ep.acceptBacklog, 0, `${name}: accept backlog`);
      }
      assert.equal(h.stats.liveConnections, 0, "the gateway's live connections");
      await waitUntil(() => h.stats.pendingConnections === 0, "the gateway's pending IDs to be released");
    } finally {
      await Promise.all([...clients.map((c) => c.close()), srv.close()]);
      await serving;
    }
  });
});

test('3: sizes 0, 1 and maxPacketSize - 4 go through both ways; maxPacketSize - 3 throws, sends nothing, and the connection still works', async () => {
  await withGateway({}, async (h) => {
    const srv = await server(h);
    const cli = await client(h);
    try {
      const accepting = srv.accept();
      const c = await cli.dial(SERVER_ID);
      const s = await accepting;
      const max = cli.maxMessageSize;
      assert.equal(max, 524288 - 4);
      for (const [from, to, name] of [
        [c, s, 'client → server'],
        [s, c, 'server → client'],
      ] as const) {
        for (const size of [0, 1, max]) {
          const m = new Uint8Array(size).map((_, i) => (i * 13 + size) & 0xff);
          from.send(m);
          const got = await to.receive();
          assert.equal(got.length, size, `${name}: size ${size}`);
          assert.ok(sameBytes(got, m), `${name}: size ${size} content`);
        }
        const before = h.stats;
        const buffered = cli.bufferedAmount + srv.bufferedAmount;
        assert.throws(
          () => from.send(new Uint8Array(max + 1)),
          (err: unknown) => err instanceof MessageTooLargeError && err.size === max + 1 && err.limit === max,
        );
        assert.equal(cli.bufferedAmount + srv.bufferedAmount, buffered, 'nothing was queued');
        from.send(Uint8Array.of(42));
        const next = await to.receive();
        assert.deepEqual([...next], [42], `${name}: the next message is the one after the refused one`);
        const after = h.stats;
        assert.equal(
          after.framesClientToServer + after.framesServerToClient,
          before.framesClientToServer + before.framesServerToClient + 1,
          'the gateway forwarded only the small message',
        );
      }
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
  });
});

test('a gateway and endpoints at the smallest maxPacketSize both accept (the Length of a Dial) still dial, answer and close', async () => {
  await withGateway({ maxPacketSize: MIN_MAX_PACKET_SIZE }, async (h) => {
    const srv = await server(h, { maxPacketSize: MIN_MAX_PACKET_SIZE });
    const cli = await client(h, { maxPacketSize: MIN_MAX_PACKET_SIZE });
    try {
      assert.equal(MIN_MAX_PACKET_SIZE, 13, 'a Dial frame: ConnID, type, ConnID, RemoteID');
      const accepting = srv.accept();
      const c = await cli.dial(SERVER_ID);
      const s = await accepting;
      const full = Uint8Array.from({ length: cli.maxMessageSize }, (_, i) => i);
      c.send(full);
      assert.deepEqual([...(await s.receive())], [...full]);
      s.send(full);
      assert.deepEqual([...(await c.receive())], [...full]);
      c.close();
      await waitUntil(() => h.stats.liveConnections === 0, 'the gateway forgot the virtual connection');
      assert.equal(h.stats.protocolErrors.ERR_FRAME_TOO_LARGE, 0, 'no frame was too large for the gateway');
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
  });
});

test('7: 100 dials in flight at once on one endpoint all succeed with distinct IDs', async () => {
  await withGateway({ client: { maxConn: 128, maxPending: 128 } }, async (h) => {
    const srv = await server(h);
    const cli = await client(h);
    try {
      const accepted = new Map<number, VirtualConnection>();
      const acceptingAll = (async () => {
        while (accepted.size < 100) {
          const conn = await srv.accept();
          accepted.set(conn.connId, conn);
        }
      })();
      const dials = Array.from({ length: 100 }, () => cli.dial(SERVER_ID));
      assert.equal(cli.pendingDials, 100);
      const conns = await Promise.all(dials);
      await acceptingAll;
      assert.equal(new Set(conns.map((c) => c.connId)).size, 100, 'distinct ConnIDs');
      assert.equal(cli.liveConnections, 100);
      assert.equal(cli.pendingDials, 0);
      // Each dial got a connection really paired with the one the server accepted under its ID.
      conns.forEach((conn, i) => conn.send(Uint8Array.of(i)));
      for (const [i, conn] of conns.entries()) {
        const atServer = accepted.get(conn.connId);
        assert.ok(atServer, `the server accepted ConnID ${conn.connId}`);
        assert.deepEqual([...(await atServer.receive())], [i]);
      }
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
  });
});
