/**
 * Swapped ports: a client that dials the gateway's server port, and a
 * server that dials its client port, are told so in plain words rather than with a frame
 * Length riddle or a bare handshake timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import net from 'node:net';
import { EndpointClosedError, HandshakeTimeoutError, dialClient, dialServer } from '../src/index.js';
import { encodeNew } from '../src/protocol/index.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { KEY, withGateway } from './support/gateway-harness.js';
import { withTimeout } from './support/raw-peer.js';

checkNoLeaks();

const CLIENT_HINT = "This looks like the gateway's server port; clients connect to the client port.";
const SERVER_HINT = "This looks like the gateway's client port; servers connect to the server port.";

test('a client on the server port: its dial fails saying it is on the server port', async () => {
  // A short auth timeout so that the rare challenge that parses as a plausible frame header
  // (then the gateway closes the connection) ends quickly too.
  await withGateway({ server: { authTimeout: 200 } }, async (h) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const client = await dialClient(`127.0.0.1:${h.serverPort}`);
      try {
        const reason = await withTimeout(client.closed, 'the endpoint to notice the wrong port');
        assert.ok(reason instanceof Error, 'the endpoint closed with a reason');
        assert.ok(reason.message.includes(CLIENT_HINT), reason.message);
        await assert.rejects(client.dial(1), (err: unknown) => {
          assert.ok(err instanceof EndpointClosedError, String(err));
          assert.ok(err.message.includes(CLIENT_HINT), err.message);
          return true;
        });
      } finally {
        await client.close();
      }
    }
  });
});

test('a server on the client port: HandshakeTimeoutError saying it is on the client port', async () => {
  await withGateway({}, async (h) => {
    await assert.rejects(dialServer(`127.0.0.1:${h.clientPort}`, { serverId: 1, authKey: KEY, authTimeout: 100 }), (err: unknown) => {
      assert.ok(err instanceof HandshakeTimeoutError, String(err));
      assert.ok(err.message.includes(SERVER_HINT), err.message);
      return true;
    });
  });
});

test('on the right ports neither hint appears', async () => {
  await withGateway({ server: { authTimeout: 100 } }, async (h) => {
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY });
    const cli = await dialClient(`127.0.0.1:${h.clientPort}`);
    try {
      const accepting = srv.accept();
      await cli.dial(1);
      await accepting;
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
    assert.equal(await cli.closed, undefined);
  });
});

test("the gateway's log names it too: a client's New on the server port", async () => {
  await withGateway({ server: { authTimeout: 100 } }, async (h) => {
    for (const news of [1, 3]) {
      // One New (then the handshake times out), or three (27 bytes, taken as a wrong reply).
      const socket = net.connect(h.serverPort, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.on('error', () => {});
      socket.resume(); // the challenge is read and dropped
      const closed = new Promise((resolve) => socket.once('close', resolve));
      for (let i = 0; i < news; i++) socket.write(encodeNew());
      await withTimeout(closed, 'the gateway to drop the connection');
    }
    const hints = h.logger.entries.filter((e) => e.msg.includes("this looks like a game client on the gateway's server port") && e.msg.includes('clients connect to the client port'));
    assert.equal(hints.length, 2, h.logger.entries.map((e) => e.msg).join('\n'));
    assert.deepEqual(hints.map((e) => (e.obj as { reason: string }).reason), ['auth timeout', 'wrong key']);
  });
});
