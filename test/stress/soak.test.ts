/**
 * Soak: thousands of concurrent clients on one gateway process for a bounded time.
 *
 * - FASTWAY_SOAK_CLIENTS (default 5000) endpoint clients, each with a virtual connection to
 *   one of 8 echoing servers. Half send a numbered message every second and check the echo;
 *   the other half send nothing and stay connected only by answering the gateway's pings.
 * - 100 raw clients are chatty for the first third of the run, then fall silent (they do
 *   not answer pings): each must be dropped about two ping intervals later.
 * - FASTWAY_SOAK_SECONDS (default 60) long; client ping interval 3 s.
 *
 * Checked at the end: no endpoint client was dropped, every echo came back in order, the
 * silent ones were all dropped in time, the gateway answered statistics requests throughout
 * (its event loop never stalled), and its memory went back down once everyone left.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dialClient, dialServer, type Endpoint, type VirtualConnection } from '../../src/index.js';
import { encodeDataFrame, encodeDial, encodeNew } from '../../src/protocol/index.js';
import { held, inBatches } from '../support/attack-run.js';
import { ChildGateway, type GatewayMemory, MiB, mib } from '../support/child-gateway.js';
import { serveEcho } from '../support/echo-pump.js';
import { TallyPeer } from '../support/frame-tally.js';

const CLIENTS = Number(process.env.FASTWAY_SOAK_CLIENTS ?? 5000);
const SECONDS = Number(process.env.FASTWAY_SOAK_SECONDS ?? 60);
const SILENT = 100;
const SERVERS = 8;
const PING_INTERVAL = 3000;
const KEY = 'soak-key';
/** File descriptors each process needs: one per client, plus servers, listeners and slack. */
const FDS_NEEDED = CLIENTS + SILENT + 200;

/** The soft limit on open files of this process (children inherit it). */
function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s+/)[3];
  return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
}

const limit = (() => {
  try {
    return openFileLimit();
  } catch {
    return Infinity; // not Linux: try anyway
  }
})();
const skip =
  limit < FDS_NEEDED
    ? `the soft limit on open files is ${limit}, the soak needs ${FDS_NEEDED}: run \`ulimit -n ${FDS_NEEDED}\` (or higher) in the shell first`
    : false;

test(`soak: ${CLIENTS} clients with a virtual connection each for ${SECONDS} s`, { skip, timeout: (SECONDS + 240) * 1000 }, async () => {
  const gw = await ChildGateway.start({ server: { authKey: KEY }, client: { pingInterval: PING_INTERVAL } });
  const endpoints: Endpoint[] = [];
  const silent: TallyPeer[] = [];
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    const start = await gw.memory();
    for (let s = 1; s <= SERVERS; s++) {
      const server = await dialServer(`127.0.0.1:${gw.serverPort}`, { serverId: s, authKey: KEY, acceptBacklog: 1 << 20 });
      endpoints.push(server);
      void serveEcho(server);
    }

    // The endpoint clients: even ones chat, odd ones idle.
    const setupBegan = Date.now();
    const conns = await inBatches(Array.from({ length: CLIENTS }), 250, async (_, i) => {
      const client = await dialClient(`127.0.0.1:${gw.clientPort}`, { connectTimeout: 30_000, dialTimeout: 30_000 });
      endpoints.push(client);
      return client.dial(1 + (i % SERVERS));
    });
    const setupMs = Date.now() - setupBegan;
    const chatty = conns.filter((_, i) => i % 2 === 0);
    const echoes = new Array<number>(chatty.length).fill(0);
    const sent = new Array<number>(chatty.length).fill(0);
    const failures: string[] = [];
    const readers = chatty.map(async (conn: VirtualConnection, i) => {
      try {
        for await (const msg of conn) {
          const seq = new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getUint32(0, true);
          if (seq !== echoes[i]) failures.push(`client ${i}: echo ${seq} where ${echoes[i]} was due`);
          echoes[i]!++;
        }
      } catch (err) {
        failures.push(`client ${i}: ${String(err)}`);
      }
    });

    // The clients that will fall silent: a virtual connection each, chatty for now.
    for (let i = 0; i < SILENT; i++) {
      const p = await TallyPeer.connect(gw.clientPort, { keepAccepts: true });
      p.write(encodeNew());
      silent.push(p);
    }
    await Promise.all(silent.map((p) => p.waitFor((t) => t.opens === 1, 'an Open')));
    for (const [i, p] of silent.entries()) p.write(encodeDial(p.takeOpened()[0]!, 1 + (i % SERVERS)));
    await Promise.all(silent.map((p) => p.waitFor((t) => t.accepts === 1, 'an Accept')));
    const silentConnIds = silent.map((p) => p.accepted[0]!);
    const lastSent = new Array<number>(SILENT).fill(Date.now());

    // Every 100 ms a tenth of the chatty clients (and, for a third of the run, the soon-silent
    // ones) send one message: one each per second.
    const began = Date.now();
    const silenceAt = began + (SECONDS * 1000) / 3;
    let tick = 0;
    ticker = setInterval(() => {
      const slice = tick++ % 10;
      for (let i = slice; i < chatty.length; i += 10) {
        const msg = new Uint8Array(32);
        new DataView(msg.buffer).setUint32(0, sent[i]!++, true);
        chatty[i]!.send(msg);
      }
      if (Date.now() < silenceAt) {
        for (let i = slice; i < SILENT; i += 10) {
          silent[i]!.write(encodeDataFrame(silentConnIds[i]!, new Uint8Array(16)));
          lastSent[i] = Date.now();
        }
      }
    }, 100);

    // Poll the gateway's statistics throughout: it must keep answering promptly.
    let slowestStats = 0;
    let peak: GatewayMemory | null = null;
    let samples = 0;
    while (Date.now() < began + SECONDS * 1000) {
      const asked = Date.now();
      const s = await gw.stats();
      slowestStats = Math.max(slowestStats, Date.now() - asked);
      if (Date.now() > began + (SECONDS * 1000) / 2 && peak === null) peak = await gw.memory();
      // Clients leave only by being dropped for silence here: any other loss shows.
      assert.equal(s.clients + s.silentPeersDropped, CLIENTS + SILENT, 'a client was lost');
      samples++;
      await new Promise((r) => setTimeout(r, 500));
    }
    clearInterval(ticker);
    ticker = undefined;

    // The silent ones: all dropped, roughly two ping intervals after they last spoke.
    await Promise.all(silent.map((p) => p.expectClosed('a silent client to be dropped', 4 * PING_INTERVAL)));
    const dropAfter = silent.map((p, i) => p.closedAt - lastSent[i]!);
    const final = await gw.stats();
    assert.equal(final.silentPeersDropped, SILENT, 'exactly the silent clients were dropped');
    assert.ok(Math.min(...dropAfter) >= 1.5 * PING_INTERVAL, `a silent client was dropped ${Math.min(...dropAfter)} ms after it fell silent`);
    assert.ok(silent.every((p) => p.tally.pings >= 1), 'each silent client was pinged before being dropped');
    const idle = CLIENTS - chatty.length;
    assert.ok(final.pingsSent >= idle * Math.floor(SECONDS / (2 * (PING_INTERVAL / 1000)) - 1), `only ${final.pingsSent} pings for ${idle} idle clients`);
    assert.equal(final.clients, CLIENTS);

    // The chatty ones: every echo back, in order.
    const totalSent = sent.reduce((a, b) => a + b, 0);
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 30_000;
      const check = (): void => {
        if (echoes.reduce((a, b) => a + b, 0) === totalSent) resolve();
        else if (Date.now() > deadline) reject(new Error(`${totalSent - echoes.reduce((a, b) => a + b, 0)} echoes missing`));
        else setTimeout(check, 50);
      };
      check();
    });
    assert.deepEqual(failures.slice(0, 5), []);
    const loaded = await gw.memory();

    await Promise.all(endpoints.map((e) => e.close()));
    await Promise.all(readers);
    await gw.waitEmpty('every table to empty after the soak', 60_000);
    const end = await gw.memory();
    console.log(
      `# soak: ${CLIENTS} clients connected in ${setupMs} ms and kept for ${SECONDS} s (${chatty.length} chatting: ${totalSent} messages, ` +
        `all echoed in order; ${idle} idle, kept alive by ${final.pingsSent} pings); ${SILENT} silent clients dropped ` +
        `${Math.min(...dropAfter)}–${Math.max(...dropAfter)} ms after falling silent (ping interval ${PING_INTERVAL} ms); ` +
        `slowest of ${samples} stats requests ${slowestStats} ms; gateway heap+buffers ${mib(held(start))} at start, ` +
        `${mib(held(peak ?? loaded))} with ${CLIENTS} clients (${((held(peak ?? loaded) - held(start)) / CLIENTS / 1024).toFixed(1)} KiB each), ` +
        `${mib(held(end))} at the end; rss ${mib(start.rss)} → ${mib((peak ?? loaded).rss)} → ${mib(end.rss)}`,
    );
    assert.ok(held(end) - held(start) <= 8 * MiB, `the gateway holds ${mib(held(end) - held(start))} more after everyone left`);
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    await Promise.all(silent.map((p) => p.end()));
    await Promise.all(endpoints.map((e) => e.close()));
    await gw.close();
  }
});
