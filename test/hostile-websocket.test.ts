/**
 * Attacks on the WebSocket listener (WS and WSS) of a gateway in its own process: upgrade
 * requests that are half sent and stall; handshakes that stall inside TLS. Each must end at
 * its bound, be counted and logged with the attacker's address, and leave real clients free
 * to connect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dialClient, dialServer } from '../src/index.js';
import { CLIENT_TLS_HANDSHAKE_TIMEOUT_MS } from '../src/gateway/tls.js';
import { UPGRADE_REQUEST_TIMEOUT_MS } from '../src/gateway/websocket-listener.js';
import { ChildGateway } from './support/child-gateway.js';
import { allClosed, assertClosedOnTime, LoopLag, openStalled, stall, type StalledConnection } from './support/stalled-connection.js';
import { haveOpenssl, makeTestCerts, type TestCerts } from './support/test-certs.js';

const KEY = 'websocket-attack-key';
const HALF_SENT = Number(process.env.FASTWAY_WS_STALLED ?? 1000);
/** Half-sent upgrades over WSS: each costs the test a full TLS handshake first. */
const HALF_SENT_TLS = Math.max(1, Math.floor(HALF_SENT / 5));
const noOpenssl = !(await haveOpenssl()) && 'the openssl command is not installed';
const notLinux = process.platform !== 'linux' && 'counts file descriptors in /proc';

let certs: TestCerts | undefined;
before(async () => {
  if (!noOpenssl) certs = await makeTestCerts();
});
after(async () => {
  await certs?.remove();
});

/** An upgrade request cut before its end (no blank line), a different cut for each `i`. */
function halfUpgrade(i: number): Buffer {
  const request =
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
  return Buffer.from(request.slice(0, 1 + (i % (request.length - 1))));
}

describe('upgrade slowloris', { skip: noOpenssl || notLinux }, () => {
  test(`${HALF_SENT} half-sent upgrades (WS) and ${HALF_SENT_TLS} (WSS) get 408 within the timeout plus a second, counted and logged; a stalled WSS handshake is logged with its address`, async () => {
    const plain = await ChildGateway.start({ server: { authKey: KEY } }, [], { webSocket: true });
    const secure = await ChildGateway.start({ server: { authKey: KEY }, client: { tls: certs!.gateway } }, [], { webSocket: true });
    const endpoints: { close(): Promise<void> }[] = [];
    const everything: StalledConnection[] = [];
    try {
      const fds = { plain: await plain.fds(), secure: await secure.fds() };
      await Promise.all([plain.lag(), secure.lag()]); // from here on
      const testLag = new LoopLag();
      const groups = new Map<string, StalledConnection[]>();
      /** A real client upgrades on `gw` and reaches a real server; then each of `names` must still have a stalled connection open. */
      const realClientPast = async (gw: ChildGateway, url: string, tls: { ca: string } | undefined, names: string[]): Promise<void> => {
        const server = await dialServer(`127.0.0.1:${gw.serverPort}`, { serverId: 5, authKey: KEY });
        const client = await dialClient(url, tls === undefined ? {} : { tls });
        endpoints.push(server, client);
        const [conn, accepted] = await Promise.all([client.dial(5), server.accept()]);
        conn.send(Buffer.from('past the slowloris'));
        assert.equal(Buffer.from(await accepted.receive()).toString(), 'past the slowloris');
        await conn.close();
        for (const name of names) {
          assert.ok(groups.get(name)!.some((c) => c.closedAt === 0), `${name}: none was still open when the real client got in: the test proves nothing`);
        }
      };

      const onPlain: StalledConnection[] = [];
      groups.set('WS, upgrade half sent', await openStalled(plain, fds.plain, onPlain, HALF_SENT, (i) => stall({ port: plain.wsPort! }, halfUpgrade(i))));
      await realClientPast(plain, `ws://127.0.0.1:${plain.wsPort!}/`, undefined, ['WS, upgrade half sent']);
      const onSecure: StalledConnection[] = [];
      groups.set('WSS, upgrade half sent', await openStalled(secure, fds.secure, onSecure, HALF_SENT_TLS, (i) => stall({ port: secure.wsPort!, tls: { ca: certs!.ca } }, halfUpgrade(i))));
      // From another loopback address, so that its log line is not held back by the 408s logged for 127.0.0.1.
      groups.set('WSS, TLS handshake stalled', await openStalled(secure, fds.secure, onSecure, 1, () => stall({ port: secure.wsPort!, localAddress: '127.0.0.2' }, Buffer.alloc(0))));
      await realClientPast(secure, `wss://127.0.0.1:${secure.wsPort!}/`, { ca: certs!.ca }, ['WSS, upgrade half sent', 'WSS, TLS handshake stalled']);
      everything.push(...onPlain, ...onSecure);

      // A deadline only (a load far past any timer's lateness); whether each closed on time is judged below.
      await allClosed(groups, UPGRADE_REQUEST_TIMEOUT_MS + 30_000);
      const lag = Math.max(await plain.lag(), await secure.lag()) + testLag.stop();
      const lines = [
        assertClosedOnTime('WSS, TLS handshake stalled', groups.get('WSS, TLS handshake stalled')!, CLIENT_TLS_HANDSHAKE_TIMEOUT_MS, lag),
        assertClosedOnTime('WS, upgrade half sent', groups.get('WS, upgrade half sent')!, UPGRADE_REQUEST_TIMEOUT_MS, lag),
        assertClosedOnTime('WSS, upgrade half sent', groups.get('WSS, upgrade half sent')!, UPGRADE_REQUEST_TIMEOUT_MS, lag),
      ];
      for (const name of ['WS, upgrade half sent', 'WSS, upgrade half sent']) {
        for (const c of groups.get(name)!) {
          assert.match(Buffer.concat(c.received).toString('latin1'), /^HTTP\/1\.1 408 /, `${name}: the answer to a half-sent upgrade`);
        }
      }
      const [ps, ss] = [await plain.stats(), await secure.stats()];
      assert.equal(ps.webSocketUpgradesRefused, HALF_SENT);
      assert.equal(ss.webSocketUpgradesRefused, HALF_SENT_TLS);
      assert.equal(ss.tlsHandshakeFailures, 1);

      // Logged with the address each came from (the first few lines: the log is rate-limited per address).
      const stalledTls = groups.get('WSS, TLS handshake stalled')![0]!;
      const tlsLogged = await secure.logged('tls_handshake_failed');
      assert.deepEqual(tlsLogged.map((e) => e.remote), [stalledTls.local], 'the stalled WSS handshake is logged with its address');
      const ours = new Set(everything.map((c) => c.local));
      for (const gw of [plain, secure]) {
        const refused = await gw.logged('websocket_refused');
        assert.ok(refused.length > 0, 'no refused upgrade was logged');
        for (const e of refused) {
          assert.equal(e.status, 408);
          assert.ok(ours.has(String(e.remote)), `a refused upgrade was logged from ${String(e.remote)}`);
        }
      }
      for (const gw of [plain, secure]) assert.deepEqual(await gw.errors(), [], 'the gateway logged internal errors');
      console.log(`# ${lines.join('; ')}`);
    } finally {
      for (const c of everything) c.socket.destroy();
      await Promise.all(endpoints.map((e) => e.close().catch(() => {})));
      await Promise.all([plain.close(), secure.close()]);
    }
  });
});
