/**
 * The gateway's life: options validated at construction, `listen` on port 0, `close()`
 * closing every peer and releasing every handle, and statistics as read-only snapshots.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { GATEWAY_DEFAULTS, Gateway, type GatewayOptions, InvalidOptionError, ListenError } from '../src/index.js';
import { CommandType } from '../src/protocol/index.js';
import { KEY, openResources } from './support/gateway-harness.js';
import { RawPeer, waitUntil, withTimeout } from './support/raw-peer.js';

/** Nothing of a test may stay open: checked after each test that closed its gateway. */
async function assertNothingOpen(): Promise<void> {
  await waitUntil(() => openResources().length === 0, 'every handle to be released', 2000).catch(() => {});
  assert.deepEqual(openResources(), [], 'resources left open');
}

test('listen on port 0 returns the bound addresses, and both accept connections', async () => {
  const gw = new Gateway({ server: { authKey: KEY } });
  try {
    const bound = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });
    assert.equal(bound.client?.host, '127.0.0.1');
    assert.equal(bound.server?.host, '127.0.0.1');
    assert.ok(bound.client!.port > 0 && bound.server!.port > 0);
    assert.notEqual(bound.client!.port, bound.server!.port);

    const client = await RawPeer.connect(bound.client!.port);
    assert.notEqual(await client.open(), 0);
    const server = await RawPeer.connect(bound.server!.port, { framing: false });
    await server.handshake(KEY, 1);
    assert.notEqual(await server.open(), 0);
    await Promise.all([client.end(), server.end()]);
  } finally {
    await gw.close();
  }
  await assertNothingOpen();
});

test('listen opens only the listeners named', async () => {
  const gw = new Gateway({ server: { authKey: KEY } });
  try {
    const bound = await gw.listen({ client: '127.0.0.1:0' });
    assert.ok(bound.client.port > 0);
    assert.deepEqual(Object.keys(bound), ['client'], 'only the client listener was opened');
  } finally {
    await gw.close();
  }
  await assertNothingOpen();
});

test('listen on a port in use rejects with ListenError and leaves no listener open', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as net.AddressInfo).port;
  const gw = new Gateway({ server: { authKey: KEY } });
  try {
    await assert.rejects(gw.listen({ client: '127.0.0.1:0', server: `127.0.0.1:${port}` }), (err: unknown) => {
      assert.ok(err instanceof ListenError);
      assert.equal(err.code, 'ERR_ADDRESS_IN_USE');
      return true;
    });
  } finally {
    await gw.close();
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
  await assertNothingOpen();
});

test('listen refuses an address without a host, as the command line does (every interface is 0.0.0.0, said so)', async () => {
  const gw = new Gateway({ server: { authKey: KEY } });
  try {
    for (const address of [':0', '127.0.0.1', 'localhost:65536', '[::1]']) {
      await assert.rejects(gw.listen({ server: address }), (err: unknown) => {
        assert.ok(err instanceof ListenError, String(err));
        assert.equal(err.code, 'ERR_LISTEN');
        assert.match(err.message, /^server address must be host:port .*0\.0\.0\.0 for every interface/);
        return true;
      });
    }
    assert.equal(gw.ready, false, 'nothing was opened');
  } finally {
    await gw.close();
  }
  await assertNothingOpen();
});

test('close() closes every client and server, even mid-handshake, and resolves; again is fine', async () => {
  const gw = new Gateway({ server: { authKey: KEY } });
  let peers: RawPeer[] = [];
  try {
    const bound = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });
    const server = await RawPeer.connect(bound.server!.port, { framing: false });
    await server.handshake(KEY, 1);
    const client = await RawPeer.connect(bound.client!.port);
    peers = [server, client];
    const connId = await client.open();
    client.sendDial(connId, 1);
    await client.expectCommand(CommandType.Accept, connId);
    await server.expectCommand(CommandType.Accept, connId);
    const idle = await RawPeer.connect(bound.client!.port);
    const handshaking = await RawPeer.connect(bound.server!.port, { framing: false });
    await handshaking.readChallenge();
    peers.push(idle, handshaking);

    await withTimeout(gw.close(), 'gateway.close()');
    await Promise.all(peers.map((p) => p.expectClosed('close() to close every peer')));
    const s = gw.stats;
    assert.deepEqual(
      { clients: s.clients, servers: s.servers, liveConnections: s.liveConnections, pendingConnections: s.pendingConnections },
      { clients: 0, servers: 0, liveConnections: 0, pendingConnections: 0 },
    );
    await withTimeout(gw.close(), 'a second gateway.close()');

    await assert.rejects(RawPeer.connect(bound.client!.port), 'the client listener still accepts after close()');
  } finally {
    await Promise.all(peers.map((p) => p.end()));
    await gw.close();
  }
  await assertNothingOpen();
});

test('listen after close() is refused', async () => {
  const gw = new Gateway({ server: { authKey: KEY } });
  await gw.close();
  await assert.rejects(gw.listen({ client: '127.0.0.1:0' }), ListenError);
  await assertNothingOpen();
});

test('stats is a snapshot: changing it changes nothing in the gateway', async () => {
  const gw = new Gateway({ server: { authKey: KEY } });
  const s = gw.stats;
  s.clients = 99;
  s.staleFrames = 99;
  s.dialsRefused.not_pending = 99;
  s.protocolErrors.ERR_FRAME_TOO_SHORT = 99;
  const again = gw.stats;
  assert.equal(again.clients, 0);
  assert.equal(again.staleFrames, 0);
  assert.equal(again.dialsRefused.not_pending, 0);
  assert.equal(again.protocolErrors.ERR_FRAME_TOO_SHORT, 0);
  await gw.close();
});

test('defaults are applied: the documented values', () => {
  const gw = new Gateway({ server: { authKey: KEY } });
  assert.equal(gw.options.maxPacketSize, 524_288);
  assert.equal(gw.options.client.maxConn, 16);
  assert.equal(gw.options.client.pingInterval, 30_000);
  assert.equal(gw.options.client.sendQueue, 1024);
  assert.equal(gw.options.server.authTimeout, 3000);
  assert.equal(gw.options.server.pingInterval, 30_000);
  assert.equal(gw.options.server.sendQueue, 102_400);
  assert.deepEqual(gw.options.server.authKey, [KEY]);
  assert.equal(gw.options.listenBacklog, 16_384);
  assert.equal(GATEWAY_DEFAULTS.client.maxConn, 16);
});

test('listenBacklog is the backlog the listeners ask the kernel for (capped at net.core.somaxconn)', async (t) => {
  // `ss` shows a listening socket's backlog as its Send-Q; without it there is nothing to read.
  const ssWorks = spawnSync('ss', ['-ltnH'], { encoding: 'utf8' }).status === 0;
  if (!ssWorks) {
    t.skip('ss (iproute2) is not available');
    return;
  }
  const gw = new Gateway({ server: { authKey: KEY }, listenBacklog: 100 });
  try {
    const { client, server } = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });
    for (const port of [client!.port, server!.port]) {
      const out = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).stdout.trim();
      const sendQ = Number(out.split(/\s+/)[2]);
      assert.equal(sendQ, 100, out);
    }
  } finally {
    await gw.close();
  }
});

test('the caller\'s options object is not changed', () => {
  const options: GatewayOptions = { server: { authKey: ['a', 'b'] }, client: { maxConn: 3 } };
  const copy = structuredClone(options);
  void new Gateway(options);
  assert.deepEqual(options, copy);
});

const BAD_OPTIONS: { name: string; options: unknown; option: string }[] = [
  { name: 'no server options', options: {}, option: 'server.authKey' },
  { name: 'an empty key', options: { server: { authKey: '' } }, option: 'server.authKey' },
  { name: 'an empty key list', options: { server: { authKey: [] } }, option: 'server.authKey' },
  { name: 'an empty key in the list', options: { server: { authKey: ['ok', ''] } }, option: 'server.authKey' },
  { name: 'a key that is not a string', options: { server: { authKey: 42 } }, option: 'server.authKey' },
  { name: 'maxPacketSize 3', options: { server: { authKey: KEY }, maxPacketSize: 3 }, option: 'maxPacketSize' },
  // 12 could not carry a Dial (Length 13): every client would be closed at its first dial.
  { name: 'maxPacketSize 12, under the largest command', options: { server: { authKey: KEY }, maxPacketSize: 12 }, option: 'maxPacketSize' },
  { name: 'maxPacketSize not an integer', options: { server: { authKey: KEY }, maxPacketSize: 1000.5 }, option: 'maxPacketSize' },
  { name: 'client.maxConn 0', options: { server: { authKey: KEY }, client: { maxConn: 0 } }, option: 'client.maxConn' },
  { name: 'client.maxPending 0', options: { server: { authKey: KEY }, client: { maxPending: 0 } }, option: 'client.maxPending' },
  { name: 'client.pingInterval -1', options: { server: { authKey: KEY }, client: { pingInterval: -1 } }, option: 'client.pingInterval' },
  { name: 'client.sendQueue 0', options: { server: { authKey: KEY }, client: { sendQueue: 0 } }, option: 'client.sendQueue' },
  { name: 'client.sendQueue as a string', options: { server: { authKey: KEY }, client: { sendQueue: '5' } }, option: 'client.sendQueue' },
  { name: 'server.authTimeout NaN', options: { server: { authKey: KEY, authTimeout: Number.NaN } }, option: 'server.authTimeout' },
  { name: 'server.pingInterval Infinity', options: { server: { authKey: KEY, pingInterval: Infinity } }, option: 'server.pingInterval' },
  { name: 'server.sendQueue 0', options: { server: { authKey: KEY, sendQueue: 0 } }, option: 'server.sendQueue' },
  { name: 'server.maxPending 0', options: { server: { authKey: KEY, maxPending: 0 } }, option: 'server.maxPending' },
  { name: 'listenBacklog 0', options: { server: { authKey: KEY }, listenBacklog: 0 }, option: 'listenBacklog' },
  { name: 'listenBacklog not an integer', options: { server: { authKey: KEY }, listenBacklog: 1.5 }, option: 'listenBacklog' },
  { name: 'busyPollMicros -1', options: { server: { authKey: KEY }, busyPollMicros: -1 }, option: 'busyPollMicros' },
  { name: 'busyPollMicros past 10 ms', options: { server: { authKey: KEY }, busyPollMicros: 10_001 }, option: 'busyPollMicros' },
  { name: 'busyPollMicros not an integer', options: { server: { authKey: KEY }, busyPollMicros: 2.5 }, option: 'busyPollMicros' },
];

for (const bad of BAD_OPTIONS) {
  test(`options: ${bad.name} is rejected at construction, naming ${bad.option}`, () => {
    assert.throws(
      () => new Gateway(bad.options as GatewayOptions),
      (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, `not an InvalidOptionError: ${String(err)}`);
        assert.equal(err.code, 'ERR_INVALID_OPTION');
        assert.equal(err.option, bad.option);
        assert.match(err.message, new RegExp(bad.option.replace('.', '\\.')));
        return true;
      },
    );
  });
}
