import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { CommandType } from '../src/protocol/index.js';
import { withGateway } from './support/gateway-harness.js';

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('drain: refuses new connections and dials, lets live virtual connections finish, then closes', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const pendingBefore = await client.open();

    const drained = h.gw.drain(10_000);
    assert.equal(h.gw.draining, true);
    assert.equal(h.gw.ready, false);

    // New is answered with Open(0); a Dial of an ID opened before the drain is refused.
    client.sendNew();
    assert.equal((await client.expectCommand(CommandType.Open)).connId, 0);
    client.sendDial(pendingBefore, 1);
    await client.expectCommand(CommandType.Refuse, pendingBefore);
    assert.equal(h.stats.dialsRefused.draining, 1);

    // No new connections on either listener.
    assert.equal(await connectionRefused(h.clientPort), true);
    assert.equal(await connectionRefused(h.serverPort), true);

    // The live virtual connection still carries data both ways.
    client.sendData(connId, Buffer.from('still here'));
    assert.equal((await server.expectData(connId)).toString(), 'still here');
    server.sendData(connId, Buffer.from('me too'));
    assert.equal((await client.expectData(connId)).toString(), 'me too');

    // Its close ends the drain: nothing was left to cut.
    server.sendClose(connId);
    assert.equal(await drained, 0);
    await client.expectClosed();
    await server.expectClosed();
  });
});

test('drain: virtual connections still live at the deadline are closed', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    await h.link(client, server, 1);
    assert.equal(await h.gw.drain(50), 1);
    await client.expectClosed();
    await server.expectClosed();
    assert.equal(h.stats.liveConnections, 0);
  });
});
