import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusyPoller } from '../src/gateway/busy-poller.js';
import { CommandType, encodeDataFrame } from '../src/protocol/index.js';
import { Gateway } from '../src/index.js';
import { RawPeer } from './support/raw-peer.js';

const immediates = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('busy poller: keeps an immediate pending for its window after activity, then lets the loop sleep', async () => {
  const poller = new BusyPoller(300_000); // 300 ms
  const before = immediates();
  const started = performance.now();
  poller.activity();
  assert.ok(immediates() > before, 'polling as soon as input arrives');
  await sleep(5);
  // Only meaningful if this machine gave us the loop back within the window.
  if (performance.now() - started < 250) assert.ok(immediates() > before, 'still polling within the window');
  const deadline = Date.now() + 5000;
  while (immediates() > before && Date.now() < deadline) await sleep(20);
  assert.equal(immediates(), before, 'nothing left scheduled after the window');
  poller.activity();
  poller.stop();
  assert.equal(immediates(), before, 'stop leaves nothing scheduled');
});

test('a gateway with busyPollMicros forwards as usual and closes without leftovers', async () => {
  const gw = new Gateway({ server: { authKey: 'k' }, busyPollMicros: 200 });
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
  await client.end();
  await server.end();
  await gw.close();
  await sleep(5);
  assert.equal(immediates(), 0);
});
