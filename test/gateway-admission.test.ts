/**
 * `client.maxClients` and `client.maxClientsPerIp` (CLI `--max-clients`, `--max-clients-per-ip`):
 * client connections over TCP, TLS and WebSocket count together from the TCP accept; past a
 * bound a connection is closed at accept, counted by reason and logged, readiness unchanged;
 * a place is given back when its connection closes.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { type BoundAddresses, Gateway, GatewayMetrics, InvalidOptionError } from '../src/index.js';
import { ClientAdmission } from '../src/gateway/client-admission.js';
import { encodeNew } from '../src/protocol/index.js';
import { CapturingLogger, KEY, openResources } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { certsForThisFile } from './support/test-certs.js';
import { upgradeRequest } from './support/ws-frames.js';

const certs = await certsForThisFile();
const noOpenssl = certs.skip;

/** A connection and whether the gateway let it in: `'in'` once it answered, `'refused'` if it closed first. */
interface Attempt {
  socket: Socket;
  outcome: Promise<'in' | 'refused'>;
}

/** A TCP client (from `localAddress`) that sends New: in once an Open comes back. */
function tcpClient(port: number, localAddress = '127.0.0.1'): Attempt {
  const socket = netConnect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  socket.once('connect', () => socket.write(encodeNew()));
  return { socket, outcome: settle(socket) };
}

/** A WebSocket client whose upgrade is answered (in), or that is closed first (refused). */
function wsClient(port: number, localAddress = '127.0.0.1'): Attempt {
  const socket = netConnect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  socket.once('connect', () => socket.write(upgradeRequest()));
  return { socket, outcome: settle(socket) };
}

/** A TCP connection that sends nothing (a stalled handshake or upgrade); in once it has been open 300 ms. */
function stalled(port: number): Attempt {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const outcome = new Promise<'in' | 'refused'>((resolve) => {
    const timer = setTimeout(() => resolve('in'), 300);
    socket.once('close', () => (clearTimeout(timer), resolve('refused')));
  });
  return { socket, outcome };
}

function settle(socket: Socket): Promise<'in' | 'refused'> {
  return withTimeout(
    new Promise((resolve) => {
      socket.once('data', () => resolve('in'));
      socket.once('close', () => resolve('refused'));
    }),
    'the gateway to answer or close a connection',
  );
}

async function withGateway(options: { maxClients?: number; maxClientsPerIp?: number; tls?: boolean }, body: (gw: Gateway, bound: BoundAddresses, logger: CapturingLogger) => Promise<void>): Promise<void> {
  const logger = new CapturingLogger();
  const { tls, ...limits } = options;
  const gw = new Gateway({ server: { authKey: KEY }, client: { ...limits, ...(tls === true && { tls: certs.get().gateway }) }, logger });
  try {
    const bound = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
    await body(gw, bound, logger);
  } finally {
    await gw.close();
  }
  await waitUntil(() => openResources().length === 0, 'every handle to be released', 2000).catch(() => {});
  assert.deepEqual(openResources(), [], 'resources left open');
}

describe('client.maxClients', () => {
  test('TCP and WebSocket clients count together; past the bound a connection is closed at accept, counted, logged; readiness unchanged; a freed place is taken again', async () => {
    await withGateway({ maxClients: 3 }, async (gw, bound, logger) => {
      const first = tcpClient(bound.client!.port);
      const second = wsClient(bound.clientWs!.port);
      const third = stalled(bound.clientWs!.port); // an upgrade not yet sent holds a place too
      assert.deepEqual(await Promise.all([first.outcome, second.outcome, third.outcome]), ['in', 'in', 'in']);
      const overTcp = tcpClient(bound.client!.port);
      const overWs = wsClient(bound.clientWs!.port);
      assert.deepEqual(await Promise.all([overTcp.outcome, overWs.outcome]), ['refused', 'refused']);
      assert.deepEqual(gw.stats.clientsRefused, { max_clients: 2, max_clients_per_ip: 0, proxy_untrusted: 0, proxy_invalid: 0, proxy_timeout: 0 });
      assert.equal(gw.ready, true, 'a full gateway is still ready');
      const lines = logger.entries.filter((e) => (e.obj as { event?: string }).event === 'client_refused');
      assert.ok(lines.length >= 1 && lines.length <= 2);
      assert.match(lines[0]!.text, /"reason":"max_clients"/);
      assert.match(lines[0]!.text, /"remote":"127\.0\.0\.1:\d+"/);
      const metrics = await new GatewayMetrics(gw).text();
      assert.match(metrics, /fastway_clients_refused_total\{reason="max_clients"\} 2/);

      third.socket.destroy();
      let again: Attempt;
      for (let tries = 0; ; tries++) {
        again = tcpClient(bound.client!.port);
        if ((await again.outcome) === 'in') break;
        assert.ok(tries < 50, 'the freed place was never given back');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const a of [first, second, again, overTcp, overWs]) a.socket.destroy();
    });
  });
});

describe('client.maxClientsPerIp', () => {
  test('one address is held to its bound while another connects; a place comes back when a connection closes', async () => {
    await withGateway({ maxClientsPerIp: 2 }, async (gw, bound) => {
      const mine = [tcpClient(bound.client!.port), wsClient(bound.clientWs!.port)];
      assert.deepEqual(await Promise.all(mine.map((a) => a.outcome)), ['in', 'in']);
      const third = tcpClient(bound.client!.port);
      assert.equal(await third.outcome, 'refused');
      const other = tcpClient(bound.client!.port, '127.0.0.2');
      assert.equal(await other.outcome, 'in', 'another address is not held to this one\'s bound');
      assert.deepEqual(gw.stats.clientsRefused, { max_clients: 0, max_clients_per_ip: 1, proxy_untrusted: 0, proxy_invalid: 0, proxy_timeout: 0 });
      mine[0]!.socket.destroy();
      await waitUntil(() => gw.stats.clients === 2, 'the closed client to leave');
      const back = tcpClient(bound.client!.port);
      assert.equal(await back.outcome, 'in');
      for (const a of [...mine, third, other, back]) a.socket.destroy();
    });
  });

  test('over TLS: a stalled handshake holds its place, the next connection is closed before any TLS work and is not a failed handshake', { skip: noOpenssl }, async () => {
    await withGateway({ maxClientsPerIp: 1, tls: true }, async (gw, bound) => {
      const held = stalled(bound.client!.port);
      assert.equal(await held.outcome, 'in');
      const socket = tlsConnect({ host: '127.0.0.1', port: bound.client!.port, ca: certs.get().ca });
      const closed = new Promise<boolean>((resolve) => {
        socket.once('secureConnect', () => resolve(false));
        socket.once('close', () => resolve(true));
      });
      socket.on('error', () => {});
      assert.equal(await withTimeout(closed, 'the TLS connection to be closed'), true, 'a TLS connection over the bound got a handshake');
      await waitUntil(() => gw.stats.clientsRefused.max_clients_per_ip === 1, 'the refusal to be counted');
      assert.equal(gw.stats.tlsHandshakeFailures, 0, 'a connection closed at accept was counted as a failed handshake');
      held.socket.destroy();
      socket.destroy();
    });
  });
});

describe('options and bookkeeping', () => {
  test('the bounds are validated, naming the option and the range', () => {
    assert.throws(() => new Gateway({ server: { authKey: 'k' }, client: { maxClients: -1 } }), (err: Error) => err instanceof InvalidOptionError && /client\.maxClients/.test(err.message) && /0/.test(err.message));
    assert.throws(() => new Gateway({ server: { authKey: 'k' }, client: { maxClientsPerIp: 1.5 } }), /client\.maxClientsPerIp/);
    assert.equal(new Gateway({ server: { authKey: 'k' } }).options.client.maxClients, 0);
  });

  test('ClientAdmission: counts in all and per address, 0 is no bound, releases what it took', () => {
    const a = new ClientAdmission(3, 2);
    assert.equal(a.admit('x'), null);
    assert.equal(a.admit('x'), null);
    assert.equal(a.admit('x'), 'max_clients_per_ip');
    assert.equal(a.admit('y'), null);
    assert.equal(a.admit('z'), 'max_clients');
    a.release('x');
    assert.equal(a.heldBy('x'), 1);
    assert.equal(a.admit('z'), null);
    a.release('unknown');
    assert.equal(a.size, 3);
    const open = new ClientAdmission(0, 0);
    for (let i = 0; i < 10_000; i++) assert.equal(open.admit('same'), null);
  });
});
