import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import { test } from 'node:test';
import { sharedReadSupported, startReading } from '../src/gateway/shared-read-buffer.js';
import { withGateway } from './support/gateway-harness.js';

/** An accepted socket (paused, as the gateway's TCP listeners accept them) and its client end. */
async function acceptedPair(): Promise<{ accepted: Socket; client: Socket; close: () => Promise<void> }> {
  const server = createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [Socket];
  return {
    accepted,
    client,
    close: async () => {
      client.destroy();
      accepted.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

test(`this Node (${process.version}) supports reading accepted sockets into the shared buffer`, () => {
  // The gateway falls back to 'data' events without it; on every Node we test (CI runs the
  // suite on each supported major) the fast path must be the one in use.
  assert.equal(sharedReadSupported, true);
});

test('the gateway logs once, at info, which read path it uses', async () => {
  await withGateway({}, async (h) => {
    const entries = h.logger.entries.filter((e) => (e.obj as { event?: string }).event === 'read_path');
    assert.equal(entries.length, 1, 'one read_path line for two TCP listeners');
    assert.equal(entries[0]!.level, 'info');
    assert.deepEqual(entries[0]!.obj, { event: 'read_path', readPath: 'shared-buffer', node: process.version });
  });
});

test('an accepted TCP socket reads into the shared buffer: bytes arrive in order, no data events', async () => {
  const { accepted, client, close } = await acceptedPair();
  const got: number[] = [];
  let dataEvents = 0;
  accepted.on('data', () => dataEvents++);
  assert.equal(startReading(accepted, function (chunk) { assert.equal(this, accepted); got.push(...chunk); }), true);
  const sent = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
  client.write(sent);
  while (got.length < sent.length) await new Promise((r) => setImmediate(r));
  assert.deepEqual(Buffer.from(got), sent);
  assert.equal(dataEvents, 0);
  await close();
});

test('pause() stops the shared-buffer reads and resume() starts them again; close is reported', async () => {
  const { accepted, client, close } = await acceptedPair();
  try {
    let got = 0;
    startReading(accepted, (chunk) => (got += chunk.length));
    client.write(Buffer.alloc(10));
    while (got < 10) await new Promise((r) => setImmediate(r));
    accepted.pause();
    // Once the write has completed, the 20 bytes are in the kernel on the accepted side
    // (loopback delivers within the write); a socket still reading would read them in the
    // next poll phase of the loop. Let the loop go round several times, then look.
    await new Promise<void>((resolve, reject) => client.write(Buffer.alloc(20), (err) => (err ? reject(err) : resolve())));
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
    assert.equal(got, 10, 'nothing is read while paused');
    accepted.resume();
    while (got < 30) await new Promise((r) => setImmediate(r));
    const closed = once(accepted, 'close');
    client.end();
    await closed;
  } finally {
    await close();
  }
});

test('sockets that are not plain TCP are left to their data events', async () => {
  const { EventEmitter } = await import('node:events');
  const notTcp = new EventEmitter() as unknown as Parameters<typeof startReading>[0];
  assert.equal(startReading(notTcp, () => assert.fail('no shared reads')), false);
});

test('a socket with an idle timeout set still gets its timeout while it reads into the shared buffer', async () => {
  const { accepted, client, close } = await acceptedPair();
  try {
    let got = 0;
    startReading(accepted, (chunk) => (got += chunk.length));
    accepted.setTimeout(200);
    const timedOut = once(accepted, 'timeout');
    // Reads keep the timer from firing (Node's own read callback refreshes it for such a socket).
    for (let i = 0; i < 5; i++) {
      client.write(Buffer.alloc(7));
      await new Promise((r) => setTimeout(r, 60));
    }
    assert.equal(got, 35);
    const before = Date.now();
    await timedOut;
    assert.ok(Date.now() - before >= 100, 'the timeout counts from the last read');
  } finally {
    await close();
  }
});
