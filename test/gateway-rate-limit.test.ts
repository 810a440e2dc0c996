/**
 * The per-client message rate limit (`client.messageRate`, `messageBurst`,
 * `messageDebtLimit`; CLI `--client-message-rate` …) over real sockets. Time is judged only
 * from below (a limited flood cannot finish sooner than its rate allows, which load cannot
 * break) and by order and counts, never by a tight upper bound.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dialClient, dialServer, Gateway, GatewayMetrics, InvalidOptionError } from '../src/index.js';
import { encodeDataFrame } from '../src/protocol/frame.js';
import { CommandType } from '../src/protocol/index.js';
import { type GatewayHarness, KEY, pattern, withGateway } from './support/gateway-harness.js';
import type { RawPeer } from './support/raw-peer.js';

const RATE = 500;
const BURST = 50;
const DEBT_LIMIT = 1000;
const LIMITED = { client: { messageRate: RATE, messageBurst: BURST, messageDebtLimit: DEBT_LIMIT } };
/** The most frames of `size` bytes one socket read can hold (a read is at most 64 KiB). */
const perRead = (size: number): number => Math.ceil((64 * 1024) / (size + 8));

/** Takes frames from `server` until `done` says so; each data frame goes to `onData` with the time it was taken. */
async function collect(server: RawPeer, onData: (connId: number, message: Buffer) => void, done: () => boolean): Promise<void> {
  while (!done()) {
    const frame = await server.nextFrame('a frame at the server');
    if (frame.connId !== 0) onData(frame.connId, frame.message);
  }
}

/** A client with a virtual connection to `server`; `clientId` is the gateway's ID of it (as the server was told). */
async function linkedClient(h: GatewayHarness, server: RawPeer): Promise<{ peer: RawPeer; connId: number; clientId: number }> {
  const peer = await h.client();
  const { connId, dialerId } = await h.link(peer, server, 1);
  return { peer, connId, clientId: dialerId };
}

const logEvents = (h: GatewayHarness, event: string): object[] =>
  h.logger.entries.filter((e) => (e.obj as { event?: string }).event === event).map((e) => e.obj);

describe('client.messageRate', () => {
  test('a flooding client is slowed to its rate with nothing lost or reordered; a client under the limit sending meanwhile gets through first and untouched', async () => {
    await withGateway(LIMITED, async (h) => {
      const srv = await h.server(1);
      const flooder = await linkedClient(h, srv);
      const polite = await linkedClient(h, srv);
      const N = 1000;
      const SIZE = 1024;
      const started = performance.now();
      for (let i = 0; i < N; i++) flooder.peer.write(encodeDataFrame(flooder.connId, pattern(SIZE, i)));
      // The polite client starts once the flood is under way, and sends well under its burst.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const POLITE = 20;
      for (let i = 0; i < POLITE; i++) polite.peer.sendData(polite.connId, pattern(100, 10_000 + i));

      const got = new Map<number, Buffer[]>([
        [flooder.connId, []],
        [polite.connId, []],
      ]);
      let floodLeftWhenPoliteDone = -1;
      await collect(
        srv,
        (connId, message) => {
          got.get(connId)!.push(message);
          if (connId === polite.connId && got.get(connId)!.length === POLITE) floodLeftWhenPoliteDone = N - got.get(flooder.connId)!.length;
        },
        () => got.get(flooder.connId)!.length === N && got.get(polite.connId)!.length === POLITE,
      );
      const elapsed = performance.now() - started;

      got.get(flooder.connId)!.forEach((m, i) => assert.ok(m.equals(pattern(SIZE, i)), `flood message ${i} lost, changed or out of order`));
      got.get(polite.connId)!.forEach((m, i) => assert.ok(m.equals(pattern(100, 10_000 + i)), `polite message ${i} lost, changed or out of order`));
      // At most the burst, the refill and what two reads hold can pass before the rate does.
      const soonestMs = ((N - BURST - 2 * perRead(SIZE)) / RATE) * 1000;
      assert.ok(elapsed >= soonestMs, `the flood passed in ${elapsed.toFixed(0)} ms, sooner than its rate allows (${soonestMs.toFixed(0)} ms)`);
      assert.ok(floodLeftWhenPoliteDone > 0, 'the polite client waited behind the flood');
      assert.ok(h.stats.rateLimitPauses >= 1, 'no pause was counted');
      assert.equal(h.stats.rateLimitDisconnects, 0);
      const paused = logEvents(h, 'rate_limited') as { clientId: number }[];
      assert.ok(paused.length >= 1, 'no rate_limited line was logged');
      // (The log keeps 5 lines per address per 10 s: these are the first pauses.)
      assert.deepEqual([...new Set(paused.map((e) => e.clientId))], [flooder.clientId], 'only the flooder was paused');
      // Both are still served.
      await flooder.peer.sync();
      await polite.peer.sync();
    });
  });

  test('a worse flood, past the debt limit, is disconnected and counted; its virtual connection is closed at the server; another client is unaffected', async () => {
    await withGateway(LIMITED, async (h) => {
      const srv = await h.server(1);
      const polite = await linkedClient(h, srv);
      const worse = await linkedClient(h, srv);
      // Tiny frames: one read holds thousands, far past the debt limit.
      const tiny = Buffer.concat(Array.from({ length: 20_000 }, () => encodeDataFrame(worse.connId, Buffer.of(1))));
      assert.ok(perRead(1) > DEBT_LIMIT + BURST);
      worse.peer.write(tiny);
      await worse.peer.expectClosed('the flooder to be disconnected');
      // The server sees at most what came before the cut, then Close on that virtual connection.
      let forwarded = 0;
      for (;;) {
        const frame = await srv.nextFrame('Close of the flooder\'s virtual connection');
        if (frame.connId === worse.connId) forwarded++;
        else if (frame.command?.type === CommandType.Close && frame.command.connId === worse.connId) break;
      }
      assert.ok(forwarded < 20_000, 'every frame of the flood was forwarded');
      assert.equal(h.stats.rateLimitDisconnects, 1);
      assert.deepEqual(logEvents(h, 'rate_limit_disconnect').map((e) => (e as { clientId: number }).clientId), [worse.clientId]);
      assert.ok(!logEvents(h, 'rate_limited').some((e) => (e as { clientId: number }).clientId === polite.clientId), 'the polite client was paused');
      const metrics = await new GatewayMetrics(h.gw).text();
      assert.match(metrics, /fastway_rate_limit_disconnects_total 1\b/);
      // The polite client goes on.
      for (let i = 0; i < 10; i++) polite.peer.sendData(polite.connId, pattern(64, i));
      for (let i = 0; i < 10; i++) assert.ok((await srv.expectData(polite.connId)).equals(pattern(64, i)));
      await polite.peer.sync();
    });
  });

  test('over WebSocket: the endpoint library flooding is slowed the same way, nothing lost', async () => {
    const gw = new Gateway({ ...LIMITED, server: { authKey: KEY } });
    try {
      const bound = await gw.listen({ server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
      const srv = await dialServer(`127.0.0.1:${bound.server.port}`, { serverId: 1, authKey: KEY });
      const cli = await dialClient(`ws://127.0.0.1:${bound.clientWs.port}/`);
      try {
        const accepting = srv.accept();
        const up = await cli.dial(1);
        const down = await accepting;
        const N = 1000;
        const SIZE = 1024;
        const started = performance.now();
        const sending = Promise.all(Array.from({ length: N }, (_, i) => up.send(pattern(SIZE, i))));
        for (let i = 0; i < N; i++) assert.ok(Buffer.from(await down.receive()).equals(pattern(SIZE, i)), `message ${i} lost, changed or out of order`);
        await sending;
        const elapsed = performance.now() - started;
        // A WebSocket message holds up to 64 KiB of frames, and one or two more may already be in hand when the socket pauses.
        const soonestMs = ((N - BURST - 3 * perRead(SIZE)) / RATE) * 1000;
        assert.ok(elapsed >= soonestMs, `the flood passed in ${elapsed.toFixed(0)} ms, sooner than its rate allows (${soonestMs.toFixed(0)} ms)`);
        assert.ok(gw.stats.rateLimitPauses >= 1);
        assert.equal(gw.stats.rateLimitDisconnects, 0);
      } finally {
        await cli.close();
        await srv.close();
      }
    } finally {
      await gw.close();
    }
  });

  test('off by default: the same kind of flood is neither paused nor cut', async () => {
    await withGateway({}, async (h) => {
      const srv = await h.server(1);
      const flooder = await linkedClient(h, srv);
      const N = 5000;
      flooder.peer.write(Buffer.concat(Array.from({ length: N }, (_, i) => encodeDataFrame(flooder.connId, pattern(16, i)))));
      for (let i = 0; i < N; i++) assert.ok((await srv.expectData(flooder.connId)).equals(pattern(16, i)));
      assert.equal(h.stats.rateLimitPauses, 0);
      assert.equal(h.stats.rateLimitDisconnects, 0);
      assert.deepEqual(
        { rate: h.gw.options.client.messageRate, burst: h.gw.options.client.messageBurst, debt: h.gw.options.client.messageDebtLimit },
        { rate: 0, burst: 100, debt: 0 },
      );
    });
  });

  test('the options are validated, naming the option and the range', () => {
    const make = (client: object): Gateway => new Gateway({ server: { authKey: 'k' }, client });
    assert.throws(() => make({ messageRate: -1 }), (err: Error) => err instanceof InvalidOptionError && /client\.messageRate.*0 to 100000000/.test(err.message));
    assert.throws(() => make({ messageRate: 10, messageBurst: 0 }), /client\.messageBurst.*1 to 100000000/);
    assert.throws(() => make({ messageDebtLimit: 2.5 }), /client\.messageDebtLimit/);
  });
});
