/**
 * Duplicate server IDs (docs/protocol.md §4.1): the newest connection of an ID takes new dials,
 * older ones keep their virtual connections, and when the newest leaves the most recently
 * registered remaining one takes the ID back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandType } from '../src/protocol/index.js';
import { withGateway } from './support/gateway-harness.js';
import type { RawPeer } from './support/raw-peer.js';
import { waitUntil } from './support/raw-peer.js';

/** Sends one message each way on `connId` and checks both arrive. */
async function roundTrip(a: RawPeer, b: RawPeer, connId: number, text: string): Promise<void> {
  a.sendData(connId, Buffer.from(`${text}>`));
  assert.equal((await b.expectData(connId)).toString(), `${text}>`);
  b.sendData(connId, Buffer.from(`<${text}`));
  assert.equal((await a.expectData(connId)).toString(), `<${text}`);
}

test('a second connection with the same ID takes new dials; the first keeps its connections', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    const older = await h.server(9);
    const before = await h.link(client, older, 9);

    const newer = await h.server(9);
    assert.equal(h.stats.servers, 2);
    const after = await h.link(client, newer, 9);
    await older.sync(); // the older connection was not offered the new dial

    await roundTrip(client, older, before.connId, 'old');
    await roundTrip(client, newer, after.connId, 'new');
    assert.equal(h.stats.liveConnections, 2);
  });
});

test('when the newest leaves, the older takes the ID back and keeps what it had', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    const older = await h.server(9);
    const kept = await h.link(client, older, 9);
    const newer = await h.server(9);
    const lost = await h.link(client, newer, 9);

    await newer.end();
    await client.expectCommand(CommandType.Close, lost.connId);
    await waitUntil(() => h.stats.servers === 1, 'the newer server to be removed');

    await roundTrip(client, older, kept.connId, 'kept');
    await h.link(client, older, 9);
  });
});

test('with three connections of an ID, the most recently registered remaining one takes it back', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    const first = await h.server(4);
    const second = await h.server(4);
    const third = await h.server(4);
    const toThird = await h.link(client, third, 4);

    await third.end();
    await client.expectCommand(CommandType.Close, toThird.connId);
    await waitUntil(() => h.stats.servers === 2, 'the third server to be removed');
    const toSecond = await h.link(client, second, 4);
    await first.sync(); // the first got nothing

    await second.end();
    await client.expectCommand(CommandType.Close, toSecond.connId);
    await waitUntil(() => h.stats.servers === 1, 'the second server to be removed');
    await h.link(client, first, 4);
  });
});

test('an older connection leaving does not take the ID from the newest', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    const older = await h.server(3);
    const newer = await h.server(3);
    const kept = await h.link(client, newer, 3);
    await older.end();
    await waitUntil(() => h.stats.servers === 1, 'the older server to be removed');
    await h.link(client, newer, 3);
    await roundTrip(client, newer, kept.connId, 'kept');
  });
});

test('when the last connection of an ID leaves, dials to it are refused', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    const a = await h.server(6);
    const b = await h.server(6);
    await a.end();
    await b.end();
    await waitUntil(() => h.stats.servers === 0, 'both servers to be removed');
    const connId = await client.open();
    client.sendDial(connId, 6);
    await client.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.unknown_remote, 1);
  });
});

test('a server dialing a client gets that client\'s Accept however many share its ID', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    const older = await h.server(8);
    const { dialerId: clientId } = await h.link(client, older, 8);
    const newer = await h.server(8);
    // The older connection of the ID can still dial out: it is a registered server.
    const connId = await older.open();
    older.sendDial(connId, clientId);
    const atClient = await client.expectCommand(CommandType.Accept, connId);
    assert.equal(atClient.remoteId, 8);
    await older.expectCommand(CommandType.Accept, connId);
    await roundTrip(client, older, connId, 'outbound');
    await newer.sync();
  });
});
