/**
 * Busy polling (busyPollMicros): the poller keeps the event loop polling for its window after
 * each read and then lets it sleep; a gateway with it on forwards as usual and leaves
 * nothing scheduled once closed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusyPoller } from '../src/gateway/busy-poller.js';
import { CommandType, encodeDataFrame } from '../src/protocol/index.js';
import { Gateway } from '../src/index.js';
import { RawPeer, waitUntil } from './support/raw-peer.js';

const immediates = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;

/** Lets the event loop go round `turns` times, each through its poll phase. */
async function loopTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

test('busy poller: while its window lasts an immediate stays pending, turn after turn; stop() ends it at once', async () => {
  // A window far longer than any machine takes for a few loop turns: "within the window" holds however slow this one is.
  const poller = new BusyPoller(60_000_000); // 60 s
  const before = immediates();
  poller.activity();
  assert.equal(immediates(), before + 1, 'polling as soon as input arrives');
  await loopTurns(5);
  assert.equal(immediates(), before + 1, 'still polling, one immediate at a time, after five turns of the loop');
  poller.activity();
  assert.equal(immediates(), before + 1, 'more input while polling adds no second immediate');
  poller.stop();
  assert.equal(immediates(), before, 'stop leaves nothing scheduled');
});

test('busy poller: once its window is over it lets the loop sleep', async () => {
  const poller = new BusyPoller(1); // 1 µs: over by the first poll
  const before = immediates();
  poller.activity();
  assert.equal(immediates(), before + 1);
  // The window is over long before any check below; it has to stop by itself (no stop()).
  await waitUntil(() => immediates() === before, 'the poller to stop once its window is over');
  await loopTurns(3);
  assert.equal(immediates(), before, 'and it does not start again without input');
});

test('a gateway with busyPollMicros forwards as usual and closes without leftovers', async () => {
  const before = immediates();
  const gw = new Gateway({ server: { authKey: 'k' }, busyPollMicros: 10_000 });
  const { client: c, server: s } = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });
  const server = await RawPeer.connect(s!.port, { framing: false });
  await server.handshake('k', 3);
  const client = await RawPeer.connect(c!.port);
  const connId = await client.open();
  client.sendDial(connId, 3);
  await client.expectCommand(CommandType.Accept, connId);
  await server.expectCommand(CommandType.Accept, connId);
  for (let i = 0; i < 20; i++) {
    client.write(encodeDataFrame(connId, Uint8Array.of(i)));
    assert.deepEqual([...(await server.expectData(connId))], [i]);
  }
  // Traffic just before close: with a 10 ms window the poller is usually still polling when
  // close() runs, and must be stopped by it (nothing of the gateway's may stay scheduled).
  client.write(encodeDataFrame(connId, Uint8Array.of(99)));
  assert.deepEqual([...(await server.expectData(connId))], [99]);
  await gw.close();
  assert.equal(immediates(), before, 'no immediate of the gateway left once close() resolves');
  await client.end();
  await server.end();
});
