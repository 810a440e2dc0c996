/**
 * Liveness (docs/protocol.md §7): the gateway pings a silent peer after one ping interval and
 * drops it after another; an answering peer stays; a Ping from an endpoint is not answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandType } from '../src/protocol/index.js';
import { withGateway } from './support/gateway-harness.js';
import { waitUntil } from './support/raw-peer.js';

const SHORT = 100;

test('a silent client gets a Ping, then is dropped after another interval of silence', async () => {
  await withGateway({ client: { pingInterval: SHORT } }, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    await client.expectCommand(CommandType.Ping);
    assert.ok(h.stats.pingsSent >= 1);
    await client.expectClosed('the silent client to be dropped');
    await waitUntil(() => h.stats.silentPeersDropped === 1, 'silentPeersDropped to count the client');
    assert.equal(h.stats.clients, 0);
    // Dropping is a disconnect like any other: the server hears of the virtual connection's end.
    await server.expectCommand(CommandType.Close, connId);
  });
});

test('a silent server gets a Ping, then is dropped after another interval of silence', async () => {
  await withGateway({ server: { pingInterval: SHORT } }, async (h) => {
    const server = await h.server(1);
    await server.expectCommand(CommandType.Ping);
    assert.ok(h.stats.pingsSent >= 1);
    await server.expectClosed('the silent server to be dropped');
    await waitUntil(() => h.stats.silentPeersDropped === 1, 'silentPeersDropped to count the server');
    assert.equal(h.stats.servers, 0);
  });
});

test('a peer that answers every Ping stays connected', async () => {
  await withGateway({ client: { pingInterval: SHORT } }, async (h) => {
    const client = await h.client();
    for (let i = 0; i < 4; i++) {
      await client.expectCommand(CommandType.Ping);
      client.sendPing();
    }
    assert.equal(client.isClosed, false);
    assert.equal(h.stats.silentPeersDropped, 0);
    assert.ok(h.stats.pingsSent >= 4);
    await client.sync();
  });
});

test('any frame counts as activity: a peer that keeps sending New/Close, never a Ping, stays', async () => {
  await withGateway({ client: { pingInterval: SHORT } }, async (h) => {
    const client = await h.client();
    // Talk for six intervals; a gateway that ignored this activity would drop the peer after two.
    const until = Date.now() + 6 * SHORT;
    while (Date.now() < until) {
      client.sendNew();
      let frame = await client.nextFrame('an Open');
      while (frame.command?.type === CommandType.Ping) frame = await client.nextFrame('an Open'); // not answered
      assert.equal(frame.command?.type, CommandType.Open);
      client.sendClose(frame.command!.connId);
      await new Promise((resolve) => setTimeout(resolve, SHORT / 5)); // pacing, not synchronisation
    }
    assert.equal(client.isClosed, false, 'an active peer was dropped');
    assert.equal(h.stats.silentPeersDropped, 0);
  });
});

test('a Ping from an endpoint is not answered', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    const server = await h.server(1);
    client.sendPing();
    server.sendPing();
    // Were the Ping answered, that answer would come before sync()'s Open.
    await client.sync();
    await server.sync();
    assert.equal(h.stats.pingsSent, 0);
  });
});
