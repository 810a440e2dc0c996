/**
 * Identities and making virtual connections (docs/protocol.md §4, §5): client IDs, New/Open,
 * the pending bound, Dial → Accept, and every refusal reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandType, encodeNew } from '../src/protocol/index.js';
import { withGateway } from './support/gateway-harness.js';
import { waitUntil } from './support/raw-peer.js';

test('client IDs are non-zero and distinct among live clients', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await h.client();
      const { dialerId } = await h.link(client, server, 1);
      ids.push(dialerId);
    }
    assert.ok(ids.every((id) => id !== 0), `a client got ID 0: ${ids.join(',')}`);
    assert.equal(new Set(ids).size, ids.length, `client IDs repeat: ${ids.join(',')}`);
    assert.equal(h.stats.clients, 4);
    assert.equal(h.stats.clientsAccepted, 4);
  });
});

test('News are answered by Opens in order, with distinct non-zero ConnIDs, all pending', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    client.write(Buffer.concat([encodeNew(), encodeNew(), encodeNew()]));
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.expectCommand(CommandType.Open)).connId);
    assert.ok(ids.every((id) => id !== 0), `Open(0) without reaching the bound: ${ids.join(',')}`);
    assert.equal(new Set(ids).size, 3, `ConnIDs repeat: ${ids.join(',')}`);
    assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!, `ConnIDs not allocated in order: ${ids.join(',')}`);
    assert.equal(h.stats.pendingConnections, 3);

    // Another connection's IDs are distinct from these too.
    const other = await h.client();
    const otherId = await other.open();
    assert.ok(otherId !== 0 && !ids.includes(otherId), `ConnID ${otherId} given twice`);
  });
});

test('past the pending bound New is answered with Open(0); releasing one makes room', async () => {
  await withGateway({ client: { maxPending: 2 } }, async (h) => {
    const client = await h.client();
    const a = await client.open();
    const b = await client.open();
    assert.ok(a !== 0 && b !== 0);
    assert.equal(await client.open(), 0);
    assert.equal(h.stats.opensRefused, 1);
    assert.equal(h.stats.pendingConnections, 2);

    client.sendClose(a);
    const c = await client.open();
    assert.notEqual(c, 0, 'closing a pending ID did not release it');
    assert.equal(h.stats.pendingConnections, 2);
  });
});

test('the pending bound applies to servers too (server.maxPending)', async () => {
  await withGateway({ server: { maxPending: 1 } }, async (h) => {
    const server = await h.server(1);
    assert.notEqual(await server.open(), 0);
    assert.equal(await server.open(), 0);
    assert.equal(h.stats.opensRefused, 1);
  });
});

test('Dial: both ends get Accept with the other end\'s ID; the ID becomes live', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(42);
    const client = await h.client();
    // Learn the client's ID from a first connection, then check a second one reports the same.
    const first = await h.link(client, server, 42);
    const connId = await client.open();
    client.sendDial(connId, 42);
    const atClient = await client.expectCommand(CommandType.Accept, connId);
    const atServer = await server.expectCommand(CommandType.Accept, connId);
    assert.equal(atClient.remoteId, 42, 'the client must see the server ID');
    assert.equal(atServer.remoteId, first.dialerId, 'the server must see the client ID');
    assert.notEqual(atServer.remoteId, 0);
    assert.equal(h.stats.liveConnections, 2);
    assert.equal(h.stats.pendingConnections, 0);
    assert.equal(h.stats.dialsAccepted, 2);
  });
});

test('a server dials a client by its client ID', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(5);
    const client = await h.client();
    const { dialerId: clientId } = await h.link(client, server, 5);

    const connId = await server.open();
    server.sendDial(connId, clientId);
    const atServer = await server.expectCommand(CommandType.Accept, connId);
    const atClient = await client.expectCommand(CommandType.Accept, connId);
    assert.equal(atServer.remoteId, clientId, 'the server must see the client ID');
    assert.equal(atClient.remoteId, 5, 'the client must see the server ID');

    server.sendData(connId, Buffer.from('from server'));
    assert.equal((await client.expectData(connId)).toString(), 'from server');
    client.sendData(connId, Buffer.from('from client'));
    assert.equal((await server.expectData(connId)).toString(), 'from client');
  });
});

test('refused: a ConnID that was never opened', async () => {
  await withGateway({}, async (h) => {
    await h.server(1);
    const client = await h.client();
    client.sendDial(777, 1);
    await client.expectCommand(CommandType.Refuse, 777);
    assert.equal(h.stats.dialsRefused.not_pending, 1);
    assert.equal(h.stats.liveConnections, 0);
    await client.sync();
  });
});

test('refused: another connection\'s pending ID, which stays pending for its owner', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const owner = await h.client();
    const thief = await h.client();
    const connId = await owner.open();
    thief.sendDial(connId, 1);
    await thief.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.not_pending, 1);
    assert.equal(h.stats.pendingConnections, 1, 'the owner\'s pending ID was released by someone else\'s dial');

    owner.sendDial(connId, 1);
    await owner.expectCommand(CommandType.Accept, connId);
    await server.expectCommand(CommandType.Accept, connId);
  });
});

test('refused: someone else\'s live ConnID, and the live connection is untouched', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const owner = await h.client();
    const thief = await h.client();
    const { connId } = await h.link(owner, server, 1);
    thief.sendDial(connId, 1);
    await thief.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.liveConnections, 1);
    owner.sendData(connId, Buffer.from('still here'));
    assert.equal((await server.expectData(connId)).toString(), 'still here');
    await owner.sync();
    await server.sync();
  });
});

test('refused: an unknown remote; the ConnID is released', async () => {
  await withGateway({}, async (h) => {
    await h.server(1);
    const client = await h.client();
    const connId = await client.open();
    client.sendDial(connId, 999);
    await client.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.unknown_remote, 1);
    assert.equal(h.stats.pendingConnections, 0, 'the refused ID is still pending');

    // Released: dialing with it again is refused as not pending, even to a real server.
    client.sendDial(connId, 1);
    await client.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.not_pending, 1);
  });
});

test('refused: a server dialing a client ID nobody has', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const connId = await server.open();
    server.sendDial(connId, 4242);
    await server.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.unknown_remote, 1);
    assert.equal(h.stats.pendingConnections, 0);
  });
});

test('name spaces: a client cannot dial a client', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1000);
    const a = await h.client();
    const b = await h.client();
    const { dialerId: bId } = await h.link(b, server, 1000);
    const connId = await a.open();
    a.sendDial(connId, bId);
    await a.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.unknown_remote, 1);
    assert.equal(h.stats.pendingConnections, 0);
    await b.sync(); // b got no Accept from a's dial
  });
});

test('name spaces: a server cannot dial a server', async () => {
  await withGateway({}, async (h) => {
    const a = await h.server(1);
    const b = await h.server(600_000);
    const connId = await a.open();
    a.sendDial(connId, 600_000);
    await a.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.unknown_remote, 1);
    assert.equal(h.stats.pendingConnections, 0);
    await b.sync(); // b got no Accept from a's dial
  });
});

test('name spaces: a client dials the server of an ID, a server the client of the same ID', async () => {
  await withGateway({}, async (h) => {
    const probe = await h.server(1_000_000);
    const client = await h.client();
    const { dialerId: clientId } = await h.link(client, probe, 1_000_000);
    // A server whose ID equals the client's ID.
    const twin = await h.server(clientId);

    const c = await client.open();
    client.sendDial(c, clientId);
    await client.expectCommand(CommandType.Accept, c);
    const atTwin = await twin.expectCommand(CommandType.Accept, c);
    assert.equal(atTwin.remoteId, clientId);

    const s = await twin.open();
    twin.sendDial(s, clientId);
    await twin.expectCommand(CommandType.Accept, s);
    const atClient = await client.expectCommand(CommandType.Accept, s);
    assert.equal(atClient.remoteId, clientId);
  });
});

test('refused: a client at client.maxConn dialing; the ConnID is released', async () => {
  await withGateway({ client: { maxConn: 2 } }, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    await h.link(client, server, 1);
    await h.link(client, server, 1);
    const connId = await client.open();
    client.sendDial(connId, 1);
    await client.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.client_limit, 1);
    assert.equal(h.stats.liveConnections, 2);
    assert.equal(h.stats.pendingConnections, 0);
    await server.sync(); // the server got no Accept for the refused dial
  });
});

test('refused: a server dialing a client that is at client.maxConn', async () => {
  await withGateway({ client: { maxConn: 1 } }, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { dialerId: clientId } = await h.link(client, server, 1);
    const connId = await server.open();
    server.sendDial(connId, clientId);
    await server.expectCommand(CommandType.Refuse, connId);
    assert.equal(h.stats.dialsRefused.client_limit, 1);
    assert.equal(h.stats.pendingConnections, 0);
    await client.sync(); // the client got no Accept
  });
});

test('client.maxConn counts live connections only: closing one makes room', async () => {
  await withGateway({ client: { maxConn: 1 } }, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    client.sendClose(connId);
    await client.expectCommand(CommandType.Close, connId);
    await server.expectCommand(CommandType.Close, connId);
    await h.link(client, server, 1);
  });
});

test('a physical connection that ends releases its pending IDs', async () => {
  await withGateway({}, async (h) => {
    const client = await h.client();
    await client.open();
    await client.open();
    assert.equal(h.stats.pendingConnections, 2);
    await client.end();
    await waitUntil(() => h.stats.pendingConnections === 0, 'the pending IDs to be released');
    assert.equal(h.stats.clients, 0);
  });
});
