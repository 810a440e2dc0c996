/**
 * Data and closing (docs/protocol.md §6): forwarding, stale and forged ConnIDs, Close, and the
 * cleanup when a physical connection ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandType, encodeDataFrame } from '../src/protocol/index.js';
import { pattern, withGateway } from './support/gateway-harness.js';
import { waitUntil } from './support/raw-peer.js';

test('data is forwarded unchanged both ways, on the same ConnID, and counted', async () => {
  const maxPacketSize = 4096;
  await withGateway({ maxPacketSize }, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const sizes = [0, 1, 5, 300, maxPacketSize - 4];
    let bytes = 0;
    for (const [i, size] of sizes.entries()) {
      const up = pattern(size, i);
      client.sendData(connId, up);
      assert.deepEqual(await server.expectData(connId), up, `client→server message of ${size} bytes changed`);
      const down = pattern(size, 100 + i);
      server.sendData(connId, down);
      assert.deepEqual(await client.expectData(connId), down, `server→client message of ${size} bytes changed`);
      bytes += 8 + size;
    }
    const s = h.stats;
    assert.equal(s.framesClientToServer, sizes.length);
    assert.equal(s.framesServerToClient, sizes.length);
    assert.equal(s.bytesClientToServer, bytes);
    assert.equal(s.bytesServerToClient, bytes);
  });
});

test('frames of one virtual connection arrive in order, exactly once, however they are split', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const count = 500;
    const stream = Buffer.concat(
      Array.from({ length: count }, (_, i) => {
        const msg = Buffer.concat([Buffer.alloc(4), pattern(i % 97, i)]);
        msg.writeUInt32LE(i, 0);
        return encodeDataFrame(connId, msg);
      }),
    );
    // Odd-sized pieces, so frames (and headers) straddle writes.
    for (let i = 0; i < stream.length; i += 333) client.write(stream.subarray(i, i + 333));
    for (let i = 0; i < count; i++) {
      const msg = await server.expectData(connId);
      assert.equal(msg.readUInt32LE(0), i, `frame ${i} out of order`);
    }
    await server.sync(); // nothing extra (no duplicate) came before the Open
  });
});

test('virtual connections of one client to several servers stay apart', async () => {
  await withGateway({}, async (h) => {
    const s1 = await h.server(1);
    const s2 = await h.server(2);
    const client = await h.client();
    const a = await h.link(client, s1, 1);
    const b = await h.link(client, s2, 2);
    client.write(Buffer.concat([encodeDataFrame(a.connId, Buffer.from('to one')), encodeDataFrame(b.connId, Buffer.from('to two'))]));
    assert.equal((await s1.expectData(a.connId)).toString(), 'to one');
    assert.equal((await s2.expectData(b.connId)).toString(), 'to two');
    s2.sendData(b.connId, Buffer.from('from two'));
    s1.sendData(a.connId, Buffer.from('from one'));
    const got = new Map<number, string>();
    for (let i = 0; i < 2; i++) {
      const f = await client.nextFrame();
      got.set(f.connId, f.message.toString());
    }
    assert.deepEqual(got, new Map([[a.connId, 'from one'], [b.connId, 'from two']]));
  });
});

test('stale: data on a ConnID that was never live gets Close back; the sender stays', async () => {
  await withGateway({}, async (h) => {
    await h.server(1);
    const client = await h.client();
    client.sendData(31337, Buffer.from('lost'));
    await client.expectCommand(CommandType.Close, 31337);
    assert.equal(h.stats.staleFrames, 1);
    assert.equal(h.stats.forgedFrames, 0);
    await client.sync();
    assert.equal(client.isClosed, false);
  });
});

test('stale: data from a server on an unknown ConnID gets Close back; the server stays', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    server.sendData(55, Buffer.from('lost'));
    await server.expectCommand(CommandType.Close, 55);
    assert.equal(h.stats.staleFrames, 1);
    await server.sync();
  });
});

test('stale: data on a closed virtual connection gets Close back and reaches nobody', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    server.sendClose(connId);
    await server.expectCommand(CommandType.Close, connId);
    await client.expectCommand(CommandType.Close, connId);
    client.sendData(connId, Buffer.from('too late'));
    await client.expectCommand(CommandType.Close, connId);
    assert.equal(h.stats.staleFrames, 1);
    assert.equal(h.stats.framesClientToServer, 0);
    await server.sync(); // the late frame did not reach the server
    await client.sync();
  });
});

test('stale: data on an ID that is only pending gets Close back', async () => {
  await withGateway({}, async (h) => {
    await h.server(1);
    const client = await h.client();
    const connId = await client.open();
    client.sendData(connId, Buffer.from('too early'));
    await client.expectCommand(CommandType.Close, connId);
    assert.equal(h.stats.staleFrames, 1);
    assert.equal(h.stats.forgedFrames, 0);
    await client.sync();
  });
});

test('forged: data on a live ConnID from a non-end disconnects the forger only', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const forger = await h.client();
    await forger.sync(); // registered before it forges
    forger.sendData(connId, Buffer.from('forged'));
    await forger.expectClosed();
    await waitUntil(() => h.stats.forgedFrames === 1, 'forgedFrames to count the forgery');
    assert.equal(h.stats.staleFrames, 0);
    assert.equal(h.stats.liveConnections, 1);

    client.sendData(connId, Buffer.from('real'));
    assert.equal((await server.expectData(connId)).toString(), 'real', 'the forged frame was forwarded, or the real one lost');
    server.sendData(connId, Buffer.from('reply'));
    assert.equal((await client.expectData(connId)).toString(), 'reply');
    assert.equal(h.stats.framesClientToServer, 1);
  });
});

test('forged: a server forging on a client-to-other-server connection is disconnected', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const forger = await h.server(2);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    forger.sendData(connId, Buffer.from('forged'));
    await forger.expectClosed();
    await waitUntil(() => h.stats.forgedFrames === 1 && h.stats.servers === 1, 'the forging server to be removed');
    server.sendData(connId, Buffer.from('real'));
    assert.equal((await client.expectData(connId)).toString(), 'real');
  });
});

test('Close from either end closes the virtual connection and tells both ends', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const a = await h.link(client, server, 1);
    client.sendClose(a.connId);
    await client.expectCommand(CommandType.Close, a.connId);
    await server.expectCommand(CommandType.Close, a.connId);
    assert.equal(h.stats.liveConnections, 0);

    const b = await h.link(client, server, 1);
    server.sendClose(b.connId);
    await server.expectCommand(CommandType.Close, b.connId);
    await client.expectCommand(CommandType.Close, b.connId);
    assert.equal(h.stats.liveConnections, 0);
  });
});

test('Close of a pending ID releases it, with no reply', async () => {
  await withGateway({}, async (h) => {
    await h.server(1);
    const client = await h.client();
    const connId = await client.open();
    client.sendClose(connId);
    await client.sync(); // the next frame is sync's Open: no reply to the Close
    await waitUntil(() => h.stats.pendingConnections === 0, 'the pending ID to be released');
    client.sendDial(connId, 1);
    await client.expectCommand(CommandType.Refuse, connId);
  });
});

test('Close from a non-end, or of an unknown ID, changes nothing', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const other = await h.client();
    const otherServer = await h.server(2);
    const pending = await other.open();

    other.sendClose(connId);
    otherServer.sendClose(connId);
    client.sendClose(pending); // someone else's pending ID
    client.sendClose(9_999_999); // never existed
    await other.sync();
    await otherServer.sync();
    await client.sync();
    assert.equal(h.stats.liveConnections, 1);
    // sync() released its own IDs with a Close the gateway may not have read yet.
    await waitUntil(() => h.stats.pendingConnections === 1, 'only the other client\'s pending ID to remain');
    assert.equal(other.isClosed, false);

    client.sendData(connId, Buffer.from('alive'));
    assert.equal((await server.expectData(connId)).toString(), 'alive');
    other.sendDial(pending, 1);
    await other.expectCommand(CommandType.Accept, pending);
  });
});

test('a client leaving closes its virtual connections at the server and frees its pending IDs', async () => {
  await withGateway({}, async (h) => {
    const s1 = await h.server(1);
    const s2 = await h.server(2);
    const client = await h.client();
    const a = await h.link(client, s1, 1);
    const b = await h.link(client, s1, 1);
    const c = await h.link(client, s2, 2);
    await client.open();
    assert.equal(h.stats.pendingConnections, 1);
    await client.end();

    const closedAtS1 = new Set([(await s1.expectCommand(CommandType.Close)).connId, (await s1.expectCommand(CommandType.Close)).connId]);
    assert.deepEqual(closedAtS1, new Set([a.connId, b.connId]));
    await s2.expectCommand(CommandType.Close, c.connId);
    await waitUntil(() => h.stats.clients === 0, 'the client to be removed');
    assert.equal(h.stats.liveConnections, 0);
    assert.equal(h.stats.pendingConnections, 0);

    // The servers are unaffected.
    await s1.sync();
    await s2.sync();
  });
});

test('a server leaving closes its virtual connections at every client', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const other = await h.server(2);
    const c1 = await h.client();
    const c2 = await h.client();
    const a = await h.link(c1, server, 1);
    const b = await h.link(c2, server, 1);
    const kept = await h.link(c2, other, 2);
    await server.open(); // a pending ID of the server
    await server.end();
    await c1.expectCommand(CommandType.Close, a.connId);
    await c2.expectCommand(CommandType.Close, b.connId);
    await waitUntil(() => h.stats.servers === 1, 'the server to be removed');
    assert.equal(h.stats.liveConnections, 1);
    assert.equal(h.stats.pendingConnections, 0);

    c2.sendData(kept.connId, Buffer.from('still up'));
    assert.equal((await other.expectData(kept.connId)).toString(), 'still up');

    // The ID is gone with it.
    const connId = await c1.open();
    c1.sendDial(connId, 1);
    await c1.expectCommand(CommandType.Refuse, connId);
  });
});
