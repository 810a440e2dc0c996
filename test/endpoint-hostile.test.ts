/**
 * The endpoint against a scripted hostile gateway (a raw socket) that sends garbage, unknown
 * commands, oversize frames and commands that make no sense; the endpoint closes with a
 * typed `ProtocolError`, settles everything pending, and the process keeps running.
 * Also the server handshake against a gateway that misbehaves during it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  AuthError,
  ConnectionClosedError,
  EndpointClosedError,
  HandshakeTimeoutError,
  ProtocolError,
  type ProtocolErrorCode,
  dialClient,
  dialServer,
  type Endpoint,
} from '../src/index.js';
import { CommandType, encodeAccept, encodeOpen } from '../src/protocol/index.js';
import { verifyHandshakeReply } from '../src/protocol/handshake.js';
import { checkNoLeaks, early, FakeGateway, type FakePeer, withFakeGateway } from './support/fake-gateway.js';
import { withTimeout } from './support/raw-peer.js';

checkNoLeaks();

/** A client endpoint connected to `fake`, and the fake's side of the connection. */
async function client(fake: FakeGateway, options = {}): Promise<{ endpoint: Endpoint; peer: FakePeer }> {
  const [endpoint, peer] = await Promise.all([dialClient(fake.address, options), fake.accept()]);
  return { endpoint, peer };
}

/** Bytes from hex. */
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

interface Hostile {
  name: string;
  code: ProtocolErrorCode;
  /** What the fake does once the endpoint has one dial waiting for its Open, or one conn up. */
  act(peer: FakePeer): void | Promise<void>;
}

const hostile: Hostile[] = [
  { name: 'a Length below 4', code: 'ERR_FRAME_TOO_SHORT', act: (p) => p.write(hex('03000000 aabbcc')) },
  { name: 'a Length of 0', code: 'ERR_FRAME_TOO_SHORT', act: (p) => p.write(hex('00000000')) },
  {
    name: 'an oversize frame (only its header is sent: rejected before the body arrives)',
    code: 'ERR_FRAME_TOO_LARGE',
    act: (p) => p.write(hex('01000800 05000000')),
  },
  { name: 'an unknown command type', code: 'ERR_UNKNOWN_COMMAND', act: (p) => p.write(hex('05000000 00000000 c8')) },
  { name: 'a command with no type byte', code: 'ERR_COMMAND_TRUNCATED', act: (p) => p.write(hex('04000000 00000000')) },
  { name: 'a truncated Open', code: 'ERR_COMMAND_TRUNCATED', act: (p) => p.write(hex('05000000 00000000 01')) },
  { name: 'a truncated Accept', code: 'ERR_COMMAND_TRUNCATED', act: (p) => p.write(hex('09000000 00000000 04 07000000')) },
  { name: 'New sent to an endpoint', code: 'ERR_UNEXPECTED_COMMAND', act: (p) => p.write(hex('05000000 00000000 00')) },
  { name: 'Dial sent to an endpoint', code: 'ERR_UNEXPECTED_COMMAND', act: (p) => p.write(hex('0d000000 00000000 02 01000000 01000000')) },
  { name: 'a Refuse for an ID never dialed', code: 'ERR_UNKNOWN_CONN_ID', act: (p) => p.sendRefuse(4242) },
  {
    name: 'an Open with no New outstanding',
    code: 'ERR_UNKNOWN_CONN_ID',
    act: (p) => {
      p.sendOpen(10); // answers the dial's New
      p.sendOpen(11); // answers nothing
    },
  },
  { name: 'an Accept for a virtual connection already up', code: 'ERR_UNKNOWN_CONN_ID', act: (p) => p.sendAccept(77, 1) },
  { name: 'an Open giving an ID already in use', code: 'ERR_UNKNOWN_CONN_ID', act: (p) => p.sendOpen(77) },
];

describe('a hostile gateway closes the endpoint with a typed ProtocolError', () => {
  for (const h of hostile) {
    test(h.name, async () => {
      await withFakeGateway({}, async (fake) => {
        const { endpoint, peer } = await client(fake);
        // Something of every kind pending: an up connection with a receive waiting, a dial, an accept.
        peer.sendAccept(77, 1);
        const conn = await endpoint.accept();
        const receive = early(conn.receive());
        const dial = early(endpoint.dial(5));
        await peer.expectCommand(CommandType.New);
        const accept = early(endpoint.accept());

        await h.act(peer);

        const reason = await withTimeout(endpoint.closed, 'the endpoint to close');
        assert.ok(reason instanceof ProtocolError, `closed with ${String(reason)}`);
        assert.equal(reason.code, h.code);
        await peer.expectClosed('the endpoint to drop the hostile gateway');

        for (const [what, p] of [['dial', dial], ['accept', accept]] as const) {
          await assert.rejects(p, (err: unknown) => {
            assert.ok(err instanceof EndpointClosedError, `${what} rejected with ${String(err)}`);
            assert.equal(err.cause, reason, `${what}: the cause is the protocol error`);
            return true;
          });
        }
        await assert.rejects(receive, ConnectionClosedError);
        const connReason = await conn.closed;
        assert.ok(connReason instanceof EndpointClosedError);
        assert.equal(connReason.cause, reason);
        await assert.rejects(endpoint.dial(5), EndpointClosedError);
        await endpoint.close(); // idempotent, resolves
      });
    });
  }

  test('a frame split at every byte is still decoded, and then garbage is still caught', async () => {
    await withFakeGateway({}, async (fake) => {
      const { endpoint, peer } = await client(fake);
      const accept = encodeAccept(9, 3);
      for (const byte of accept) peer.write(Uint8Array.of(byte));
      const conn = await endpoint.accept();
      assert.equal(conn.connId, 9);
      assert.equal(conn.remoteId, 3);
      peer.write(hex('05000000 00000000 07')); // type 7: unknown
      const reason = await endpoint.closed;
      assert.ok(reason instanceof ProtocolError);
      assert.equal(reason.code, 'ERR_UNKNOWN_COMMAND');
    });
  });

  test('random bytes: the endpoint never throws; it closes with a ProtocolError or when the gateway leaves', async () => {
    await withFakeGateway({}, async (fake) => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (garbage) => {
          const { endpoint, peer } = await client(fake);
          peer.write(garbage);
          await peer.end();
          const reason = await withTimeout(endpoint.closed, 'the endpoint to close');
          assert.ok(
            reason instanceof ProtocolError || (reason instanceof EndpointClosedError && /gateway closed/.test(reason.message)),
            `closed with ${String(reason)}`,
          );
        }),
        { numRuns: 60 },
      );
    });
  });

  test('a protocol error on one endpoint leaves another endpoint of the process untouched', async () => {
    await withFakeGateway({}, async (fake) => {
      const a = await client(fake);
      const b = await client(fake);
      a.peer.write(hex('03000000 000000'));
      const reason = await a.endpoint.closed;
      assert.ok(reason instanceof ProtocolError);
      b.peer.sendAccept(3, 1);
      const conn = await b.endpoint.accept();
      b.peer.sendData(3, Buffer.from('still here'));
      assert.equal(Buffer.from(await conn.receive()).toString(), 'still here');
      await b.endpoint.close();
    });
  });
});

describe('server handshake against a misbehaving gateway', () => {
  const key = 'k3y';

  test('closed before the challenge: AuthError', async () => {
    await withFakeGateway({ framing: false }, async (fake) => {
      const dialing = early(dialServer(fake.address, { serverId: 1, authKey: key }));
      const peer = await fake.accept();
      await peer.destroy();
      await assert.rejects(dialing, (err: unknown) => err instanceof AuthError && err.code === 'ERR_AUTH_FAILED');
    });
  });

  test('closed halfway through the challenge: AuthError', async () => {
    await withFakeGateway({ framing: false }, async (fake) => {
      const dialing = early(dialServer(fake.address, { serverId: 1, authKey: key }));
      const peer = await fake.accept();
      peer.write(hex('01020304'));
      await peer.end();
      await assert.rejects(dialing, AuthError);
    });
  });

  test('silent: HandshakeTimeoutError after authTimeout', async () => {
    await withFakeGateway({ framing: false }, async (fake) => {
      const dialing = early(dialServer(fake.address, { serverId: 1, authKey: key, authTimeout: 50 }));
      const peer = await fake.accept();
      await assert.rejects(dialing, (err: unknown) => err instanceof HandshakeTimeoutError && err.code === 'ERR_HANDSHAKE_TIMEOUT');
      await peer.expectClosed();
    });
  });

  test('reply read, then the connection closed (what a gateway does on a wrong key): AuthError', async () => {
    await withFakeGateway({ framing: false }, async (fake) => {
      const dialing = early(dialServer(fake.address, { serverId: 42, authKey: key }));
      const peer = await fake.accept();
      const challenge = peer.sendChallenge();
      const reply = await peer.readReply();
      assert.equal(verifyHandshakeReply(challenge, reply, ['other key']), null);
      assert.equal(verifyHandshakeReply(challenge, reply, [key]), 42, 'the reply is MD5(challenge ‖ key) and the server ID');
      await peer.destroy();
      await assert.rejects(dialing, (err: unknown) => {
        assert.ok(err instanceof AuthError, String(err));
        assert.match(err.message, /rejected the key/);
        return true;
      });
    });
  });

  test('reply read, New never answered: HandshakeTimeoutError', async () => {
    await withFakeGateway({ framing: false }, async (fake) => {
      // Long enough for the endpoint to answer the challenge in time, even on a loaded machine.
      const dialing = early(dialServer(fake.address, { serverId: 1, authKey: key, authTimeout: 500 }));
      const peer = await fake.accept();
      peer.sendChallenge();
      await peer.readReply();
      await peer.expectCommand(CommandType.New);
      await assert.rejects(dialing, HandshakeTimeoutError);
      await peer.expectClosed();
    });
  });

  test('garbage after the reply: the ProtocolError itself', async () => {
    await withFakeGateway({ framing: false }, async (fake) => {
      const dialing = early(dialServer(fake.address, { serverId: 1, authKey: key }));
      const peer = await fake.accept();
      peer.sendChallenge();
      await peer.readReply();
      peer.write(hex('05000000 00000000 ff'));
      await assert.rejects(dialing, (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_UNKNOWN_COMMAND');
    });
  });

  test('challenge and the confirming Open in one chunk: the handshake completes', async () => {
    await withFakeGateway({ framing: false }, async (fake) => {
      const dialing = early(dialServer(fake.address, { serverId: 1, authKey: key }));
      const peer = await fake.accept();
      // A gateway cannot know the New is coming, but bytes after the challenge must be framed, not lost.
      const challenge = crypto.getRandomValues(new Uint8Array(8));
      peer.write(Buffer.concat([challenge, encodeOpen(5)]));
      await peer.readReply();
      const endpoint = await dialing;
      await peer.expectCommand(CommandType.New);
      await peer.expectCommand(CommandType.Close, 5); // the probe's ID is released
      assert.equal(endpoint.kind, 'server');
      assert.equal(endpoint.serverId, 1);
      await endpoint.close();
    });
  });
});

test('u32 fields are read little-endian (the frames.json vector, and ConnID 0xdeadbeef)', async () => {
  await withFakeGateway({}, async (fake) => {
    const { endpoint, peer } = await client(fake);
    peer.write(hex('0d000000 00000000 04 37250000 01000000')); // accept_to_client: ConnID 9527, server 1
    const first = await endpoint.accept();
    assert.deepEqual([first.connId, first.remoteId], [9527, 1]);
    peer.write(encodeAccept(0xdeadbeef, 0xfeedface));
    const conn = await endpoint.accept();
    assert.deepEqual([conn.connId, conn.remoteId], [0xdeadbeef, 0xfeedface]);
    peer.write(hex('06000000 efbeadde ff00')); // data_big_ids
    assert.deepEqual([...(await conn.receive())], [0xff, 0x00]);
    await endpoint.close();
  });
});
