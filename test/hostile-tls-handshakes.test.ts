/**
 * TLS handshakes that never finish, on every TLS listener of a gateway in its own process:
 * 1,000 TCP connections per port that send part of a ClientHello (0 to 100 bytes of a real
 * one) and stall. Every one must be closed by the gateway within its handshake timeout plus
 * a second (plus however late the event loops ran: a loaded machine delays every timer), the
 * gateway's file descriptors must come back to where they started, and a real client and a
 * real game server must get through each port while its stalled ones are held.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { dialClient, dialServer } from '../src/index.js';
import { CLIENT_TLS_HANDSHAKE_TIMEOUT_MS } from '../src/gateway/tls.js';
import { ChildGateway, mib } from './support/child-gateway.js';
import { withTimeout } from './support/raw-peer.js';
import { allClosed, assertClosedOnTime, LoopLag, openStalled, stall, type StalledConnection } from './support/stalled-connection.js';
import { haveOpenssl, makeTestCerts, type TestCerts } from './support/test-certs.js';

const KEY = 'tls-handshake-test-key';
/** Long enough that a real server dials in, on a loaded machine, while the last stalled handshakes opened are held. */
const SERVER_AUTH_TIMEOUT_MS = 5000;
const STALLED_PER_PORT = Number(process.env.FASTWAY_TLS_STALLED ?? 1000);
const skip = (!(await haveOpenssl()) && 'the openssl command is not installed') || (process.platform !== 'linux' && 'counts file descriptors in /proc');

let certs: TestCerts;
before(async () => {
  if (!skip) certs = await makeTestCerts();
});
after(async () => {
  await certs?.remove();
});

/** The first flight a real TLS client sends (its ClientHello), captured from Node's own client. */
async function captureClientHello(): Promise<Buffer> {
  const sink = createTcpServer();
  const first = new Promise<Buffer>((resolve) => sink.once('connection', (s: Socket) => s.once('data', (chunk: Buffer) => (resolve(chunk), s.destroy()))));
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const port = (sink.address() as { port: number }).port;
  const client = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost' });
  client.on('error', () => {});
  try {
    return await withTimeout(first, 'a ClientHello');
  } finally {
    client.destroy();
    await new Promise((resolve) => sink.close(resolve));
  }
}

describe('stalled TLS handshakes', { skip }, () => {
  test(`${STALLED_PER_PORT} stalled handshakes on each TLS port are all closed on time, fds come back, real peers get through`, async () => {
    const gw = await ChildGateway.start(
      { client: { tls: certs.gateway }, server: { authKey: KEY, authTimeout: SERVER_AUTH_TIMEOUT_MS, tls: { ...certs.gateway, ca: certs.ca } } },
      [],
      { webSocket: true },
    );
    const all: StalledConnection[] = [];
    const endpoints: { close(): Promise<void> }[] = [];
    try {
      const hello = await captureClientHello();
      assert.equal(hello[0], 0x16, 'a TLS handshake record');
      const fdsAtStart = await gw.fds();
      await gw.lag(); // from here on
      const testLag = new LoopLag();
      const ports = [
        // First: the real game server the clients reach dials in while its port's stalled handshakes are held.
        { name: 'server mutual TLS', port: gw.serverPort, timeout: SERVER_AUTH_TIMEOUT_MS },
        { name: 'client TLS', port: gw.clientPort, timeout: CLIENT_TLS_HANDSHAKE_TIMEOUT_MS },
        { name: 'client WSS', port: gw.wsPort!, timeout: CLIENT_TLS_HANDSHAKE_TIMEOUT_MS },
      ];
      const byPort = new Map<string, StalledConnection[]>();
      /** Opens the stalled handshakes of port `p`; then `real` gets a real peer through that port, and some of them must still be held. */
      const attack = async <T>(p: (typeof ports)[number], real: () => Promise<T>): Promise<T> => {
        byPort.set(p.name, await openStalled(gw, fdsAtStart, all, STALLED_PER_PORT, (i) => stall({ port: p.port }, hello.subarray(0, i % 101))));
        const result = await real();
        const held = byPort.get(p.name)!.filter((c) => c.closedAt === 0).length;
        assert.ok(held > 0, `${p.name}: no stalled connection was still open when the real peer got in: the test proves nothing`);
        return result;
      };
      // A real game server (mutual TLS) authenticates, and real clients reach it, each past its port's stalled handshakes.
      const server = await attack(ports[0]!, () => dialServer(`tls://127.0.0.1:${gw.serverPort}`, { serverId: 9, authKey: KEY, tls: { ca: certs.ca, ...certs.client } }));
      endpoints.push(server);
      for (const [p, url] of [
        [ports[1]!, `tls://127.0.0.1:${gw.clientPort}`],
        [ports[2]!, `wss://127.0.0.1:${gw.wsPort!}/`],
      ] as const) {
        await attack(p, async () => {
          const client = await dialClient(url, { tls: { ca: certs.ca } });
          endpoints.push(client);
          const [conn, accepted] = await Promise.all([client.dial(9), server.accept()]);
          conn.send(Buffer.from('through the stalled handshakes'));
          assert.equal(Buffer.from(await accepted.receive()).toString(), 'through the stalled handshakes');
          await conn.close();
        });
      }
      const heldDuring = all.filter((c) => c.closedAt === 0).length;
      const fdsDuring = await gw.fds();
      const memory = await gw.memory();

      // A deadline only (a load far past any timer's lateness); whether each closed on time is judged below.
      await allClosed(byPort, Math.max(...ports.map((p) => p.timeout)) + 30_000);
      const lag = (await gw.lag()) + testLag.stop();
      const lines = ports.map((p) => assertClosedOnTime(p.name, byPort.get(p.name)!, p.timeout, lag));
      const stats = await gw.stats();
      assert.equal(stats.tlsHandshakeFailures, ports.length * STALLED_PER_PORT);
      assert.equal(stats.servers, 1);
      // Logged (the first few: the log is rate-limited per address) with the address read at accept.
      const ours = new Set(all.map((c) => c.local));
      const logged = await gw.logged('tls_handshake_failed');
      assert.ok(logged.length > 0, 'no failed handshake was logged');
      for (const entry of logged) assert.ok(ours.has(String(entry.remote)), `a failed handshake was logged from ${String(entry.remote)}`);
      assert.deepEqual(await gw.errors(), [], 'the gateway logged internal errors');

      await Promise.all(endpoints.splice(0).map((e) => e.close()));
      await gw.waitEmpty();
      let fdsAfter = await gw.fds();
      for (let i = 0; i < 30 && fdsAfter > fdsAtStart; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        fdsAfter = await gw.fds();
      }
      assert.ok(fdsAfter <= fdsAtStart, `the gateway holds ${fdsAfter} file descriptors, ${fdsAtStart} before the attack`);
      console.log(
        `# ${lines.join('; ')}; gateway fds ${fdsAtStart} → ${fdsDuring} with ${heldDuring} stalled → ${fdsAfter}; ` +
          `heap+buffers ${mib(memory.heapUsed + memory.arrayBuffers)}, rss ${mib(memory.rss)} while held`,
      );
    } finally {
      for (const s of all) s.socket.destroy();
      await Promise.all(endpoints.map((e) => e.close().catch(() => {})));
      await gw.close();
    }
  });
});
