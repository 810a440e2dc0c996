import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gateway, InvalidOptionError } from '../src/index.js';
import { withGateway } from './support/gateway-harness.js';

test('key rotation: the old and the new key both authenticate; others do not', async () => {
  await withGateway({ server: { authKey: ['old-key', 'new-key'] } }, async (h) => {
    await h.server(1, 'old-key');
    await h.server(2, 'new-key');
    const stranger = await h.rawServer();
    await stranger.handshake('other-key', 3);
    await stranger.expectClosed();
    assert.equal(h.stats.serversAuthenticated, 2);
    assert.equal(h.stats.authFailures, 1);
  });
});

test('a server ID with keys of its own accepts only those keys', async () => {
  await withGateway({ server: { authKey: 'shared', authKeysById: { 9: 'nine-only' } } }, async (h) => {
    await h.server(9, 'nine-only');
    await h.server(1, 'shared');
    const wrong = await h.rawServer();
    await wrong.handshake('shared', 9);
    await wrong.expectClosed();
    const misuse = await h.rawServer();
    await misuse.handshake('nine-only', 2);
    await misuse.expectClosed();
    assert.equal(h.stats.authFailures, 2);
  });
});

test('updateAuthKeys: new handshakes use the new keys, servers already in stay; bad keys are refused and change nothing', async () => {
  await withGateway({ server: { authKey: 'old-key', authKeysById: { 9: 'nine-old' } } }, async (h) => {
    const before = await h.server(1, 'old-key');
    const nineBefore = await h.server(9, 'nine-old');
    h.gw.updateAuthKeys({ authKey: ['new-key'], authKeysById: { 9: 'nine-new' } });
    assert.deepEqual(h.gw.options.server.authKey, ['new-key']);
    await h.server(2, 'new-key');
    await h.server(9, 'nine-new');
    for (const [key, id] of [['old-key', 3], ['nine-old', 9], ['new-key', 9]] as const) {
      const refused = await h.rawServer();
      await refused.handshake(key, id);
      await refused.expectClosed();
    }
    assert.equal(h.stats.authFailures, 3);
    // Authenticated before the change, still routed to.
    assert.equal(before.isClosed, false);
    assert.equal(nineBefore.isClosed, false);
    assert.equal(h.stats.servers, 4);
    assert.throws(() => h.gw.updateAuthKeys({ authKey: [] }), /server\.authKey/);
    assert.throws(() => h.gw.updateAuthKeys({ authKey: 'k', authKeysById: { 1: '' } }), /server\.authKeysById\[1\]/);
    await h.server(4, 'new-key');
  });
});

test('authKeysById is validated', () => {
  assert.throws(() => new Gateway({ server: { authKey: 'k', authKeysById: { abc: 'x' } as never } }), InvalidOptionError);
  assert.throws(() => new Gateway({ server: { authKey: 'k', authKeysById: { 1: '' } } }), /server\.authKeysById\[1\]/);
});

test('protocol errors from one address are logged a few times, then held back (but all counted)', async () => {
  await withGateway({}, async (h) => {
    for (let i = 0; i < 12; i++) {
      const bad = await h.client();
      bad.write(Buffer.from([1, 0, 0, 0])); // Length 1 < 4
      await bad.expectClosed();
    }
    assert.equal(h.stats.protocolErrors.ERR_FRAME_TOO_SHORT, 12);
    const lines = h.logger.entries.filter((e) => (e.obj as { event?: string }).event === 'protocol_error');
    assert.ok(lines.length >= 1 && lines.length <= 5, `expected 1..5 protocol_error lines, got ${lines.length}`);
  });
});
