/**
 * Flow control (docs/protocol.md §8): a client that does not read is disconnected past
 * `client.sendQueue`; a server over `server.sendQueue` pauses the clients sending to it,
 * and everything flows again, with nothing lost, once it reads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandType } from '../src/protocol/index.js';
import { withGateway } from './support/gateway-harness.js';
import { type RawPeer, withTimeout } from './support/raw-peer.js';

const FRAME_MESSAGE = 16 * 1024;
/** Far more than loopback kernel buffers hold: reaching it means the gateway never pushed back. */
const FLOOD_LIMIT_BYTES = 256 * 1024 * 1024;
const FLOOD_TIMEOUT_MS = 60_000;

function numbered(seq: number): Buffer {
  const msg = Buffer.alloc(FRAME_MESSAGE, seq & 0xff);
  msg.writeUInt32LE(seq, 0);
  return msg;
}

/** Frames a paused client queues, and round trips elsewhere while they wait, to show the pause holds. */
const PAUSE_PROBE_FRAMES = 2000;
const PAUSE_PROBE_ROUND_TRIPS = 300;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Sends numbered messages from `sender` on `connId` until `done()` holds, honouring the
 * socket's backpressure and yielding to the event loop. Returns how many were sent.
 */
async function flood(sender: RawPeer, connId: number, done: () => boolean, what: string): Promise<number> {
  const deadline = Date.now() + FLOOD_TIMEOUT_MS;
  let sent = 0;
  while (!done()) {
    assert.ok(sent * FRAME_MESSAGE < FLOOD_LIMIT_BYTES, `sent ${sent} frames without ${what}`);
    assert.ok(Date.now() < deadline, `flooded for ${FLOOD_TIMEOUT_MS} ms without ${what}`);
    assert.equal(sender.isClosed, false, `the sender was disconnected before ${what}`);
    if (!sender.sendData(connId, numbered(sent++))) {
      // Wait for the kernel to take more, or for the condition to become true meanwhile.
      while (sender.socket.writableLength > 0 && !done() && !sender.isClosed) {
        assert.ok(Date.now() < deadline, `flooded for ${FLOOD_TIMEOUT_MS} ms without ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } else if (sent % 8 === 0) {
      await nextTurn();
    }
  }
  return sent;
}

/** Reads frames until the Open of a New, asserting each frame before it is a Close of `connId`. */
async function skipClosesThenSync(peer: RawPeer, connId: number): Promise<void> {
  peer.sendNew();
  for (;;) {
    const frame = await peer.nextFrame('an Open');
    if (frame.command?.type === CommandType.Open) {
      assert.notEqual(frame.command.connId, 0);
      peer.sendClose(frame.command.connId);
      return;
    }
    assert.ok(
      frame.command?.type === CommandType.Close && frame.command.connId === connId,
      `unexpected frame on ConnID ${frame.connId} before the Open`,
    );
  }
}

test('a client that does not read is disconnected as a slow consumer; the server is fine', async () => {
  await withGateway({ client: { sendQueue: 8 } }, async (h) => {
    const server = await h.server(1);
    const slow = await h.client();
    const { connId } = await h.link(slow, server, 1);
    const other = await h.client();
    const kept = await h.link(other, server, 1);

    slow.pauseReading();
    let dropped = false;
    const closeAtServer = server.expectCommand(CommandType.Close, connId).then(() => {
      dropped = true;
    });
    const sent = await flood(server, connId, () => dropped || server.isClosed, 'the slow client being dropped');
    await closeAtServer;
    assert.equal(h.stats.slowConsumerDisconnects, 1);
    assert.equal(h.stats.clients, 1);
    assert.equal(h.stats.liveConnections, 1);
    assert.equal(server.isClosed, false, 'the server was disconnected');
    assert.ok(sent > 8);

    // Frames the server sent after the drop are answered with Close (stale); then all is normal.
    await server.drained();
    await skipClosesThenSync(server, connId);
    other.sendData(kept.connId, Buffer.from('bystander'));
    assert.equal((await server.expectData(kept.connId)).toString(), 'bystander');
    server.sendData(kept.connId, Buffer.from('reply'));
    assert.equal((await other.expectData(kept.connId)).toString(), 'reply');

    // What the slow client did get, before the gateway gave up on it, is an in-order prefix.
    slow.resumeReading();
    await slow.expectClosed();
    let seq = 0;
    while (slow.queuedFrames > 0) {
      const msg = await slow.expectData(connId);
      assert.equal(msg.readUInt32LE(0), seq++, 'the slow client got frames out of order or twice');
    }
  });
});

test('a server that stops reading pauses its senders; all flows again, with nothing lost, when it reads', async () => {
  await withGateway({ server: { sendQueue: 4 } }, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const otherServer = await h.server(2);
    const otherClient = await h.client();
    const other = await h.link(otherClient, otherServer, 2);

    server.pauseReading();
    let sent = await flood(client, connId, () => h.stats.backpressurePauses > 0, 'a backpressure pause');
    assert.ok(sent > 4);
    assert.equal(client.isClosed, false, 'the sending client was disconnected');
    assert.equal(server.isClosed, false, 'the slow server was disconnected');

    // The gateway really stops reading the paused client: queue far more than the kernel
    // buffers hold, and let the gateway run many turns (round trips on other connections,
    // which also show that only senders into the slow server are paused). A gateway that kept
    // reading would forward hundreds of these frames meanwhile.
    const forwardedAtPause = h.stats.framesClientToServer;
    for (let i = 0; i < PAUSE_PROBE_FRAMES; i++) client.sendData(connId, numbered(sent++));
    for (let i = 0; i < PAUSE_PROBE_ROUND_TRIPS; i++) {
      otherClient.sendData(other.connId, Buffer.from('unrelated'));
      assert.equal((await otherServer.expectData(other.connId)).toString(), 'unrelated');
      otherServer.sendData(other.connId, Buffer.from('reply'));
      await otherClient.expectData(other.connId);
    }
    // Minus the probes' own frames, which went client → server too.
    const forwardedWhilePaused = h.stats.framesClientToServer - forwardedAtPause - PAUSE_PROBE_ROUND_TRIPS;
    assert.ok(
      forwardedWhilePaused < PAUSE_PROBE_FRAMES / 2,
      `the gateway forwarded ${forwardedWhilePaused} of ${PAUSE_PROBE_FRAMES} frames from a client it had paused`,
    );
    // The paused client still receives: the slow server can still write to it.
    server.sendData(connId, Buffer.from('downstream'));
    assert.equal((await client.expectData(connId)).toString(), 'downstream');

    // The server reads again: every frame arrives, in order, exactly once.
    server.resumeReading();
    for (let seq = 0; seq < sent; seq++) {
      const msg = await server.expectData(connId);
      assert.equal(msg.readUInt32LE(0), seq, `frame ${seq} lost, duplicated or out of order`);
      assert.equal(msg.length, FRAME_MESSAGE);
    }
    await withTimeout(client.drained(), 'the paused client to be read again');
    client.sendData(connId, Buffer.from('after'));
    assert.equal((await server.expectData(connId)).toString(), 'after');
    await server.sync();
    assert.equal(h.stats.framesClientToServer, sent + 1 + PAUSE_PROBE_ROUND_TRIPS); // plus the probes and 'after'
    assert.equal(h.stats.slowConsumerDisconnects, 0);
  });
});

test('several clients flooding one slow server are paused and resumed, and lose nothing', async () => {
  await withGateway({ server: { sendQueue: 4 } }, async (h) => {
    const server = await h.server(1);
    const a = await h.client();
    const b = await h.client();
    const la = await h.link(a, server, 1);
    const lb = await h.link(b, server, 1);

    server.pauseReading();
    let sentA = 0;
    let sentB = 0;
    // Both flood at once until the gateway has paused senders twice.
    const pausedTwice = (): boolean => h.stats.backpressurePauses >= 2;
    await Promise.all([
      flood(a, la.connId, pausedTwice, 'both clients being paused').then((n) => (sentA = n)),
      flood(b, lb.connId, pausedTwice, 'both clients being paused').then((n) => (sentB = n)),
    ]);

    server.resumeReading();
    const next = { [la.connId]: 0, [lb.connId]: 0 };
    for (let i = 0; i < sentA + sentB; i++) {
      const frame = await server.nextFrame(`frame ${i} of ${sentA + sentB}`);
      assert.ok(frame.connId === la.connId || frame.connId === lb.connId, `frame on ConnID ${frame.connId}`);
      assert.equal(frame.message.readUInt32LE(0), next[frame.connId]!++, `ConnID ${frame.connId} lost or reordered a frame`);
    }
    assert.deepEqual(next, { [la.connId]: sentA, [lb.connId]: sentB });
    await withTimeout(Promise.all([a.drained(), b.drained()]), 'both clients to be read again');
    await server.sync();
  });
});
