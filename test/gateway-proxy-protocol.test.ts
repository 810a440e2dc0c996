/**
 * `client.proxyProtocol` (CLI `--client-proxy-protocol`) over real sockets: a connection
 * from a trusted balancer starts with a PROXY v1 or v2 header, and the player's address in
 * it is what `client.maxClientsPerIp` counts and what the log shows; a connection from an
 * untrusted address (header or not), a malformed, truncated or late header is closed and
 * counted by reason, with nothing left open; the endpoint library works end to end through
 * a balancer that prepends headers; TLS and WebSocket listeners read the header before
 * their own handshake.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { type BoundAddresses, dialClient, dialServer, Gateway, GatewayMetrics, InvalidOptionError } from '../src/index.js';
import { encodeProxyV1, encodeProxyV2, type ProxyAddress } from '../src/protocol/proxy-protocol.js';
import { encodeNew } from '../src/protocol/index.js';
import { CapturingLogger, KEY, openResources } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { certsForThisFile } from './support/test-certs.js';
import { upgradeRequest } from './support/ws-frames.js';

const certs = await certsForThisFile();
const noOpenssl = certs.skip;

const v4 = (address: string, port: number): ProxyAddress => ({ family: 'IPv4', address, port });
const v6 = (address: string, port: number): ProxyAddress => ({ family: 'IPv6', address, port });
/** The gateway's side of every header in these tests (not checked by the gateway). */
const GATEWAY_V4 = v4('192.0.2.1', 7000);
const GATEWAY_V6 = v6('2001:db8::1', 7000);

type Outcome = 'in' | 'refused';

/** Resolves 'in' at the first byte from the gateway, 'refused' if it closes first. */
function outcome(socket: Socket): Promise<Outcome> {
  return withTimeout(
    new Promise((resolve) => {
      socket.once('data', () => resolve('in'));
      socket.once('close', () => resolve('refused'));
    }),
    'the gateway to answer or close a connection',
  );
}

/** A raw connection to `port` that sends `parts` in turn (a pause between them), and whether the gateway answered. */
function client(port: number, ...parts: Uint8Array[]): { socket: Socket; outcome: Promise<Outcome> } {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const result = outcome(socket);
  socket.once('connect', async () => {
    for (const [i, part] of parts.entries()) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 30));
      if (!socket.destroyed) socket.write(part);
    }
  });
  return { socket, outcome: result };
}

const cat = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts);

interface Setup {
  trusted?: string[];
  maxClientsPerIp?: number;
  proxyHeaderTimeout?: number;
  tls?: boolean;
}

async function withGateway(setup: Setup, body: (gw: Gateway, bound: BoundAddresses, logger: CapturingLogger) => Promise<void>): Promise<void> {
  const logger = new CapturingLogger();
  const gw = new Gateway({
    server: { authKey: KEY },
    client: {
      proxyProtocol: setup.trusted ?? ['127.0.0.1'],
      ...(setup.maxClientsPerIp !== undefined && { maxClientsPerIp: setup.maxClientsPerIp }),
      ...(setup.proxyHeaderTimeout !== undefined && { proxyHeaderTimeout: setup.proxyHeaderTimeout }),
      ...(setup.tls === true && { tls: certs.get().gateway }),
    },
    logger,
  });
  try {
    const bound = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
    await body(gw, bound, logger);
  } finally {
    await withTimeout(gw.close(), 'gateway.close()');
  }
  await waitUntil(() => openResources().length === 0, 'every handle to be released', 2000).catch(() => {});
  assert.deepEqual(openResources(), [], 'resources left open');
}

const events = (logger: CapturingLogger, event: string): string[] =>
  logger.entries.filter((e) => (e.obj as { event?: string }).event === event).map((e) => e.text);

describe('client.proxyProtocol from a trusted balancer', () => {
  test('v1 and v2 headers: the per-IP bound counts the player address, not the balancer\'s; the log names the player', async () => {
    await withGateway({ maxClientsPerIp: 2 }, async (gw, bound, logger) => {
      const port = bound.client!.port;
      const new_ = encodeNew();
      // Two players' connections from one player address, one header of each version; the header and New in one write.
      const a = client(port, cat(encodeProxyV1(v4('203.0.113.5', 40001), GATEWAY_V4), new_));
      const b = client(port, cat(encodeProxyV2(v4('203.0.113.5', 40002), GATEWAY_V4), new_));
      assert.deepEqual(await Promise.all([a.outcome, b.outcome]), ['in', 'in']);
      // A third from that player is over the bound; one from another player (same balancer) is not.
      const c = client(port, cat(encodeProxyV2(v4('203.0.113.5', 40003), GATEWAY_V4), new_));
      const d = client(port, cat(encodeProxyV1(v4('203.0.113.6', 40004), GATEWAY_V4), new_));
      assert.deepEqual(await Promise.all([c.outcome, d.outcome]), ['refused', 'in']);
      // IPv6 players, v2 and v1, header sent in two parts: the header is read across reads.
      const v2Header = encodeProxyV2(v6('2001:db8:0:0::7', 40005), GATEWAY_V6);
      const e = client(port, v2Header.subarray(0, 10), cat(v2Header.subarray(10), new_));
      const v1Header = encodeProxyV1(v6('2001:db8::8', 40006), GATEWAY_V6);
      const f = client(port, v1Header.subarray(0, 20), v1Header.subarray(20), new_);
      assert.deepEqual(await Promise.all([e.outcome, f.outcome]), ['in', 'in']);

      assert.equal(gw.stats.clientsRefused.max_clients_per_ip, 1);
      assert.equal(gw.stats.clients, 5);
      const accepted = events(logger, 'client_accepted').join('\n');
      for (const remote of ['203.0.113.5:40001', '203.0.113.5:40002', '203.0.113.6:40004', '2001:db8::7:40005', '2001:db8::8:40006']) {
        assert.ok(accepted.includes(`"remote":"${remote}"`), `no client_accepted line names ${remote}:\n${accepted}`);
      }
      assert.ok(!accepted.includes('127.0.0.1'), 'a log line names the balancer instead of the player');
      const refused = events(logger, 'client_refused').join('\n');
      assert.match(refused, /"remote":"203\.0\.113\.5:40003".*"reason":"max_clients_per_ip"|"reason":"max_clients_per_ip".*"remote":"203\.0\.113\.5:40003"/);
      for (const x of [a, b, c, d, e, f]) x.socket.destroy();
    });
  });

  test('a v2 LOCAL header (the balancer\'s own health check) keeps the connection\'s address', async () => {
    await withGateway({}, async (gw, bound, logger) => {
      const x = client(bound.client!.port, cat(encodeProxyV2(null, null), encodeNew()));
      assert.equal(await x.outcome, 'in');
      assert.match(events(logger, 'client_accepted').join('\n'), /"remote":"127\.0\.0\.1:\d+"/);
      x.socket.destroy();
    });
  });

  for (const transport of ['tcp', 'tls', 'wss'] as const) {
    test(`the endpoint library end to end (${transport}) through a balancer that prepends v2 headers`, { skip: transport !== 'tcp' && noOpenssl }, async () => {
      await withGateway({ tls: transport !== 'tcp' }, async (gw, bound, logger) => {
        const front = transport === 'wss' ? bound.clientWs!.port : bound.client!.port;
        const balancer = await startBalancer(front, (n) => encodeProxyV2(v4('198.51.100.9', 50000 + n), GATEWAY_V4));
        const srv = await dialServer(`127.0.0.1:${bound.server!.port}`, { serverId: 1, authKey: KEY });
        const address = { tcp: `127.0.0.1:${balancer.port}`, tls: `tls://127.0.0.1:${balancer.port}`, wss: `wss://127.0.0.1:${balancer.port}/` }[transport];
        const cli = await dialClient(address, transport === 'tcp' ? {} : { tls: { ca: certs.get().ca } });
        try {
          const accepting = srv.accept();
          const up = await cli.dial(1);
          const down = await accepting;
          const sent: Buffer[] = [];
          for (let i = 0; i < 200; i++) {
            const msg = Buffer.alloc(100 + i, i);
            sent.push(msg);
            await up.send(msg);
          }
          for (let i = 0; i < 200; i++) {
            const msg = await down.receive();
            assert.deepEqual(Buffer.from(msg), sent[i], `message ${i}`);
            await down.send(msg);
          }
          for (let i = 0; i < 200; i++) assert.deepEqual(Buffer.from(await up.receive()), sent[i], `echo ${i}`);
          assert.match(events(logger, 'client_accepted').join('\n'), /"remote":"198\.51\.100\.9:5000\d"/);
        } finally {
          await cli.close();
          await srv.close();
          await balancer.close();
        }
      });
    });
  }

  test('over TLS: the header comes before the ClientHello; the TLS client gets through and is known by the player address', { skip: noOpenssl }, async () => {
    await withGateway({ tls: true }, async (gw, bound, logger) => {
      const raw = netConnect({ host: '127.0.0.1', port: bound.client!.port });
      raw.on('error', () => {});
      await new Promise((resolve) => raw.once('connect', resolve));
      raw.write(encodeProxyV1(v4('203.0.113.44', 4444), GATEWAY_V4));
      const socket = tlsConnect({ socket: raw, host: '127.0.0.1', ca: certs.get().ca });
      socket.on('error', () => {});
      await withTimeout(new Promise((resolve) => socket.once('secureConnect', resolve)), 'the TLS handshake');
      socket.write(encodeNew());
      assert.equal(await outcome(socket), 'in');
      assert.match(events(logger, 'client_accepted').join('\n'), /"remote":"203\.0\.113\.44:4444"/);
      socket.destroy();
    });
  });

  test('over WebSocket: the header comes before the upgrade request, in the same write; the upgrade is answered', async () => {
    await withGateway({}, async (gw, bound, logger) => {
      const x = client(bound.clientWs!.port, cat(encodeProxyV2(v4('203.0.113.77', 7777), GATEWAY_V4), Buffer.from(upgradeRequest())));
      const reply = withTimeout(new Promise<string>((resolve) => x.socket.once('data', (d: Buffer) => resolve(d.toString('latin1')))), 'the upgrade reply');
      assert.equal(await x.outcome, 'in');
      assert.match(await reply, /^HTTP\/1\.1 101 /);
      await waitUntil(() => gw.stats.clients === 1, 'the WebSocket client to be accepted');
      assert.match(events(logger, 'client_accepted').join('\n'), /"remote":"203\.0\.113\.77:7777"/);
      x.socket.destroy();
    });
  });
});

describe('client.proxyProtocol: what is refused', () => {
  test('a connection from an untrusted address is closed, header or not, and its header is never believed', async () => {
    await withGateway({ trusted: ['10.0.0.0/8', 'fd00::/8'] }, async (gw, bound, logger) => {
      const port = bound.client!.port;
      const forged = client(port, cat(encodeProxyV1(v4('203.0.113.5', 1), GATEWAY_V4), encodeNew()));
      const direct = client(port, encodeNew());
      const ws = client(bound.clientWs!.port, Buffer.from(upgradeRequest()));
      assert.deepEqual(await Promise.all([forged.outcome, direct.outcome, ws.outcome]), ['refused', 'refused', 'refused']);
      assert.equal(gw.stats.clientsRefused.proxy_untrusted, 3);
      assert.equal(gw.stats.clientsAccepted, 0);
      const refused = events(logger, 'client_refused').join('\n');
      assert.match(refused, /"reason":"proxy_untrusted"/);
      assert.ok(!refused.includes('203.0.113.5'), 'the forged address reached the log');
      assert.match(refused, /"remote":"127\.0\.0\.1:\d+"/);
      const metrics = await new GatewayMetrics(gw).text();
      assert.match(metrics, /fastway_clients_refused_total\{reason="proxy_untrusted"\} 3/);
    });
  });

  test('malformed, truncated and late headers are closed and counted by reason; a game frame without a header is malformed; nothing is left open', async () => {
    await withGateway({ proxyHeaderTimeout: 300 }, async (gw, bound, logger) => {
      const port = bound.client!.port;
      const v2 = encodeProxyV2(v4('203.0.113.5', 1), GATEWAY_V4);
      const malformed = [
        client(port, Buffer.from('PROXY TCP4 not-an-address 192.0.2.1 1 2\r\n')),
        client(port, Buffer.from('PROXY TCP4 203.0.113.5 192.0.2.1 1 2\n')), // no CR
        client(port, Buffer.from(`PROXY ${'x'.repeat(200)}`)), // past the v1 bound without a line end
        client(port, encodeNew()), // a client that does not know it is behind a balancer
        client(port, Buffer.from(upgradeRequest())),
        client(port, cat(v2.subarray(0, 12), Buffer.from([0x31, 0x11, 0, 12]), v2.subarray(16))), // version 3
      ];
      assert.deepEqual(await Promise.all(malformed.map((x) => x.outcome)), malformed.map(() => 'refused'));
      // Truncated: half a header, then the connection ends.
      const truncated = client(port, v2.subarray(0, 20));
      truncated.socket.once('connect', () => setTimeout(() => truncated.socket.end(), 50));
      // Slow: half a header, and nothing more.
      const started = Date.now();
      const slow = client(port, v2.subarray(0, 8));
      const silent = client(port);
      assert.deepEqual(await Promise.all([truncated.outcome, slow.outcome, silent.outcome]), ['refused', 'refused', 'refused']);
      assert.ok(Date.now() - started >= 250, 'a late header was refused before its timeout');
      await waitUntil(() => gw.stats.clientsRefused.proxy_invalid === 7 && gw.stats.clientsRefused.proxy_timeout === 2, 'every refusal to be counted');
      assert.deepEqual(gw.stats.clientsRefused, { max_clients: 0, max_clients_per_ip: 0, proxy_untrusted: 0, proxy_invalid: 7, proxy_timeout: 2 });
      assert.equal(gw.stats.clientsAccepted, 0);
      const refused = events(logger, 'client_refused');
      assert.ok(refused.length >= 1 && refused.length <= 9);
      assert.match(refused.join('\n'), /"detail":"[^"]+"/);
      // The gateway still takes a good connection.
      const good = client(port, cat(v2, encodeNew()));
      assert.equal(await good.outcome, 'in');
      good.socket.destroy();
    });
  });

  test('a header still awaited when the gateway closes is cut at once, and is not a rejection', async () => {
    const started = Date.now();
    let refused = -1;
    await withGateway({ proxyHeaderTimeout: 60_000 }, async (gw, bound) => {
      client(bound.client!.port, Buffer.from('PROXY TCP4 '));
      await new Promise((resolve) => setTimeout(resolve, 100));
      void gw.close().then(() => (refused = gw.stats.clientsRefused.proxy_invalid));
    });
    assert.ok(Date.now() - started < 10_000, 'gateway.close() waited for the header timeout');
    assert.equal(refused, 0);
  });

  test('the options are validated, naming the option and what is accepted', () => {
    const make = (client: object): Gateway => new Gateway({ server: { authKey: 'k' }, client });
    for (const bad of [[], '10.0.0.1', ['10.0.0.0/33'], ['example.com'], ['10.0.0.1/'], [7], ['fd00::/129']]) {
      assert.throws(() => make({ proxyProtocol: bad }), (err: Error) => err instanceof InvalidOptionError && /client\.proxyProtocol/.test(err.message) && /CIDR/.test(err.message), JSON.stringify(bad));
    }
    assert.throws(() => make({ proxyProtocol: ['10.0.0.1'], proxyHeaderTimeout: 0 }), /client\.proxyHeaderTimeout.*10 to 600000/);
    assert.equal(make({}).options.client.proxyProtocol, null);
    assert.equal(make({}).options.client.proxyHeaderTimeout, 5000);
    const trusted = make({ proxyProtocol: ['10.0.0.0/8', '192.0.2.7', 'fd00::/8'] }).options.client.proxyProtocol!;
    assert.equal(trusted.trusts('10.1.2.3'), true);
    assert.equal(trusted.trusts('::ffff:10.1.2.3'), true, 'an IPv4-mapped peer matches as IPv4');
    assert.equal(trusted.trusts('11.0.0.1'), false);
    assert.equal(trusted.trusts('192.0.2.7'), true);
    assert.equal(trusted.trusts('192.0.2.8'), false);
    assert.equal(trusted.trusts('fd12::1'), true);
    assert.equal(trusted.trusts('fe80::1'), false);
    assert.equal(trusted.trusts(undefined), false);
  });
});

/** A TCP balancer in front of `port`: each connection gets `header(n)` (n counts from 0) sent first, then bytes both ways. */
async function startBalancer(port: number, header: (n: number) => Uint8Array): Promise<{ port: number; close(): Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((front) => {
    const back = netConnect({ host: '127.0.0.1', port });
    for (const s of [front, back]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => sockets.delete(s));
    }
    back.write(header(n++));
    front.pipe(back);
    back.pipe(front);
    front.once('close', () => back.destroy());
    back.once('close', () => front.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    port: address.port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
