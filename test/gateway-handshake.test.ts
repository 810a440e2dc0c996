/**
 * The server handshake (docs/protocol.md §3): challenge, digest check, auth timeout, several
 * keys at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHALLENGE_SIZE,
  CommandType,
  encodeHandshakeReply,
  encodeNew,
  handshakeDigest,
} from '../src/protocol/index.js';
import { KEY, withGateway } from './support/gateway-harness.js';
import { waitUntil } from './support/raw-peer.js';

test('the gateway sends each server connection its own 8-byte challenge', async () => {
  await withGateway({}, async (h) => {
    const a = await h.rawServer();
    const b = await h.rawServer();
    const ca = await a.readChallenge();
    const cb = await b.readChallenge();
    assert.equal(ca.length, CHALLENGE_SIZE);
    assert.notDeepEqual(ca, cb, 'two connections got the same challenge');
  });
});

test('a server with the right key is registered and can be dialed', async () => {
  await withGateway({}, async (h) => {
    const server = await h.rawServer();
    await server.handshake(KEY, 7);
    const client = await h.client();
    const connId = await client.open();
    client.sendDial(connId, 7);
    const atClient = await client.expectCommand(CommandType.Accept, connId);
    assert.equal(atClient.remoteId, 7);
    const atServer = await server.expectCommand(CommandType.Accept, connId);
    assert.notEqual(atServer.remoteId, 0);
    assert.equal(h.stats.servers, 1);
    assert.equal(h.stats.serversAuthenticated, 1);
    assert.equal(h.stats.authFailures, 0);
  });
});

test('a wrong key: the gateway closes the connection, counts it, and the ID stays unknown', async () => {
  await withGateway({}, async (h) => {
    const server = await h.rawServer();
    await server.handshake('not-the-key', 7);
    await server.expectClosed();
    await waitUntil(() => h.stats.authFailures === 1, 'authFailures to count the wrong key');
    assert.equal(h.stats.servers, 0);
    assert.equal(h.stats.serversAuthenticated, 0);

    const client = await h.client();
    const connId = await client.open();
    client.sendDial(connId, 7);
    await client.expectCommand(CommandType.Refuse, connId);
  });
});

test('a digest made for another challenge (a replayed reply) is rejected', async () => {
  await withGateway({}, async (h) => {
    const server = await h.rawServer();
    const challenge = await server.readChallenge();
    const other = Buffer.from(challenge);
    other[0] = other[0]! ^ 0xff;
    server.write(encodeHandshakeReply(other, KEY, 7));
    await server.expectClosed();
    await waitUntil(() => h.stats.authFailures === 1, 'authFailures to count the replayed reply');
    assert.equal(h.stats.servers, 0);
  });
});

test('an empty key is not a wildcard: a digest of the challenge alone is rejected', async () => {
  await withGateway({}, async (h) => {
    const server = await h.rawServer();
    const challenge = await server.readChallenge();
    server.write(encodeHandshakeReply(challenge, '', 7));
    await server.expectClosed();
    await waitUntil(() => h.stats.authFailures === 1, 'authFailures to count the empty key');
  });
});

test('the reply may arrive in pieces, and frames right behind it in the same write are read', async () => {
  await withGateway({}, async (h) => {
    const pieces = await h.rawServer();
    const challenge = await pieces.readChallenge();
    pieces.startFraming();
    const reply = encodeHandshakeReply(challenge, KEY, 1);
    for (let i = 0; i < reply.length; i += 3) pieces.write(reply.subarray(i, i + 3));
    assert.notEqual(await pieces.open(), 0);

    const glued = await h.rawServer();
    const challenge2 = await glued.readChallenge();
    glued.startFraming();
    glued.write(Buffer.concat([encodeHandshakeReply(challenge2, KEY, 2), encodeNew(), encodeNew()]));
    const first = await glued.expectCommand(CommandType.Open);
    const second = await glued.expectCommand(CommandType.Open);
    assert.notEqual(first.connId, 0);
    assert.notEqual(second.connId, 0);
    assert.notEqual(first.connId, second.connId);
    assert.equal(h.stats.serversAuthenticated, 2);
  });
});

test('auth timeout: a server that sends nothing is closed and counted', async () => {
  await withGateway({ server: { authTimeout: 100 } }, async (h) => {
    const server = await h.rawServer();
    await server.readChallenge();
    await server.expectClosed();
    await waitUntil(() => h.stats.authTimeouts === 1, 'authTimeouts to count the silent server');
    assert.equal(h.stats.authFailures, 0);
    assert.equal(h.stats.servers, 0);
  });
});

test('auth timeout: a server that sends part of its reply is closed and counted', async () => {
  await withGateway({ server: { authTimeout: 100 } }, async (h) => {
    const server = await h.rawServer();
    const challenge = await server.readChallenge();
    server.write(encodeHandshakeReply(challenge, KEY, 3).subarray(0, 19));
    await server.expectClosed();
    await waitUntil(() => h.stats.authTimeouts === 1, 'authTimeouts to count the partial reply');
    assert.equal(h.stats.servers, 0);

    // The timeout ends the handshake only: a server that finishes in time stays.
    await h.server(3);
    assert.equal(h.stats.servers, 1);
  });
});

test('several keys: a server with any of them is accepted; other keys are not', async () => {
  await withGateway({ server: { authKey: ['old-key', 'new-key'] } }, async (h) => {
    const a = await h.server(1, 'old-key');
    const b = await h.server(2, 'new-key');
    assert.equal(h.stats.servers, 2);

    const client = await h.client();
    await h.link(client, a, 1);
    await h.link(client, b, 2);

    const c = await h.rawServer();
    await c.handshake(KEY, 3);
    await c.expectClosed();
    await waitUntil(() => h.stats.authFailures === 1, 'authFailures to count the unknown key');
  });
});

test('the digest covers the key as UTF-8 bytes', async () => {
  const key = 'clé-ключ-鍵';
  await withGateway({ server: { authKey: key } }, async (h) => {
    const server = await h.rawServer();
    const challenge = await server.readChallenge();
    server.startFraming();
    const reply = Buffer.alloc(20);
    reply.set(handshakeDigest(challenge, new TextEncoder().encode(key)), 0);
    reply.writeUInt32LE(9, 16);
    server.write(reply);
    assert.notEqual(await server.open(), 0);
    assert.equal(h.stats.serversAuthenticated, 1);
  });
});
