/**
 * Resumable sessions under a network that keeps failing: a chaos proxy between the clients
 * and a real gateway cuts every client link after a random number of bytes (so mostly in
 * the middle of a frame), under traffic, again and again. 100,000 numbered messages each
 * way over 32 resumable virtual connections must each arrive exactly once, in order,
 * byte-exact, and the same connection objects carry on throughout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ReconnectingEndpoint, type ResumableConnection, dialClient, dialServer } from '../src/index.js';
import { ChaosProxy } from './support/chaos-proxy.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { KEY, withGateway } from './support/gateway-harness.js';
import { receiveNumbered, sendNumbered, streamOf, check } from './support/numbered-traffic.js';
import { prng } from './support/prng.js';
import { withTimeout } from './support/raw-peer.js';

checkNoLeaks();

const SERVER_ID = 7;
const CLIENTS = 4;
const PER_CLIENT = 8;
const STREAMS = CLIENTS * PER_CLIENT;
/** 100,000 in `npm test`; test/stress/session-chaos-long.test.ts sets FASTWAY_SESSION_CHAOS_MESSAGES higher. */
const TOTAL = Number(process.env.FASTWAY_SESSION_CHAOS_MESSAGES ?? 100_000);
const PER_STREAM = Math.ceil(TOTAL / STREAMS);

test(`chaos: links cut at random points under traffic; ${TOTAL} numbered messages each way over ${STREAMS} resumable connections arrive exactly once, in order, byte-exact`, async (t) => {
  const seed = (Date.now() ^ (process.pid << 8)) >>> 0;
  t.diagnostic(`seed ${seed}`);
  const rand = prng(seed);
  await withGateway({}, async (h) => {
    const proxy = await ChaosProxy.start(h.clientPort, { cutAfterBytes: { min: 4_000, max: 120_000 }, random: rand });
    const fast = { initialDelay: 5, maxDelay: 100 };
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: SERVER_ID, authKey: KEY, resumable: {}, reconnect: fast });
    const serverDone: Promise<void>[] = [];
    const serving = (async () => {
      for await (const conn of srv) {
        serverDone.push(
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
    let suspensions = 0;
    let resumes = 0;
    for (let c = 0; c < CLIENTS; c++) {
      const cli = await dialClient(proxy.address, { reconnect: fast });
      clients.push(cli);
      for (let k = 0; k < PER_CLIENT; k++) {
        // A dial may itself meet a cut: try again, as an application would.
        for (;;) {
          try {
            const conn = await cli.dial(SERVER_ID, { resumable: true });
            conns.push(conn);
            conn.onStatus((e) => {
              if (e.status === 'suspended') suspensions++;
              if (e.status === 'resumed') resumes++;
            });
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    }
    const clientDone = conns.map(async (conn, stream) => {
      await Promise.all([sendNumbered(conn, 0, stream, 0, PER_STREAM), receiveNumbered(conn, 1, stream, 0, PER_STREAM)]);
    });
    await withTimeout(Promise.all(clientDone), 'every client stream to arrive', 120_000 + TOTAL / 10);
    await withTimeout(
      (async () => {
        while (serverDone.length < STREAMS) await new Promise((r) => setTimeout(r, 10));
        await Promise.all(serverDone);
      })(),
      'every server stream to arrive',
      60_000,
    );
    t.diagnostic(`links cut: ${proxy.cuts} (of ${proxy.links} links); suspensions ${suspensions}, resumes ${resumes}; ${STREAMS * PER_STREAM} messages each way`);
    assert.ok(proxy.cuts >= 10, `the proxy cut links under traffic (${proxy.cuts})`);
    assert.ok(resumes >= 10, `connections were resumed (${resumes})`);
    assert.equal(srv.sessionStats.refused, 0);
    assert.equal(srv.sessionStats.unknown, 0);
    for (const conn of conns) assert.notEqual(conn.status, 'closed');

    proxy.setChaos(null);
    await withTimeout(
      (async () => {
        while (conns.some((c) => c.status !== 'live')) await new Promise((r) => setTimeout(r, 10));
      })(),
      'every connection to be live again',
    );
    for (const conn of conns) conn.close();
    for (const cli of clients) await cli.close();
    await srv.close();
    await serving;
    await proxy.close();
  });
});

