/**
 * Fuzzing the gateway with byte streams: random bytes on both listeners — uniform garbage, and
 * "plausible" streams of random Lengths, ConnIDs, command types and arguments whose
 * Lengths may not match their bodies — cut at random points; and random handshake bytes
 * on the server listener. The reference model decodes the same bytes and says what the
 * gateway must answer and count; a bystander pair must never notice anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CommandType, encodeHandshakeReply, encodeNew, HANDSHAKE_REPLY_SIZE, MAX_U32 } from '../src/protocol/index.js';
import { Bystander } from './support/bystander.js';
import { splitAt, splitsArb } from './support/frame-specs.js';
import { FuzzWorld, fuzzTotals } from './support/fuzz-world.js';
import { GatewayHarness, KEY } from './support/gateway-harness.js';
import { RawPeer, waitUntil } from './support/raw-peer.js';

const MAX_PACKET_SIZE = 256;
/**
 * The fuzzed gateway's server handshake timeout: long, so that no handshake of a run times
 * out however loaded the machine is (the stalled-handshake test has a gateway of its own).
 */
const AUTH_TIMEOUT_MS = 10_000;
/** The stalled-handshake test's gateway: short enough to wait for, long next to a test's own steps. */
const STALL_AUTH_TIMEOUT_MS = 1000;
const LIMITS = { maxPacketSize: MAX_PACKET_SIZE, clientMaxPending: 4, clientMaxConn: 3, serverMaxPending: 4 };
const BYSTANDER_SERVER_ID = 0xb0057;
const RUNS = Number(process.env.FASTWAY_FUZZ_RUNS ?? 150);
const FC = { numRuns: RUNS, includeErrorInReport: true };

let h: GatewayHarness;
let bystander: Bystander;

before(async () => {
  h = await GatewayHarness.start({
    maxPacketSize: MAX_PACKET_SIZE,
    client: { maxPending: LIMITS.clientMaxPending, maxConn: LIMITS.clientMaxConn },
    server: { maxPending: LIMITS.serverMaxPending, authTimeout: AUTH_TIMEOUT_MS },
  });
  bystander = await Bystander.start({ clientPort: h.clientPort, serverPort: h.serverPort, key: KEY, serverId: BYSTANDER_SERVER_ID });
});

after(async () => {
  let passed = false;
  try {
    await bystander.progress();
    const exchanged = await bystander.stop();
    const errors = h.logger.entries.filter((e) => e.level === 'error');
    assert.deepEqual(errors.map((e) => e.text), [], 'the gateway logged errors');
    console.log(
      `# byte-stream fuzz: ${fuzzTotals.actions} streams, ${fuzzTotals.bytesSent} bytes, ${fuzzTotals.framesChecked} frames checked, ` +
        `${fuzzTotals.protocolErrors} peers closed for protocol errors; bystander made ${exchanged} round trips`,
    );
    passed = true;
  } finally {
    await h.finish(passed);
  }
});

/** Little-endian u32 bytes. */
function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/**
 * Frame-shaped garbage: a random Length (mostly small, sometimes around maxPacketSize),
 * a small or zero ConnID, a body whose first byte is usually a command type or close to
 * one — and whose size need not match the Length.
 */
const plausibleChunk = fc
  .record({
    length: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 16 }) },
      { weight: 2, arbitrary: fc.integer({ min: MAX_PACKET_SIZE - 2, max: MAX_PACKET_SIZE + 2 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: MAX_U32 }) },
    ),
    connId: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 20 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: MAX_U32 }) }),
    type: fc.integer({ min: 0, max: 9 }),
    args: fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 3 }),
    sizeDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
  })
  .map(({ length, connId, type, args, sizeDelta }) => {
    const body = [type, ...args.flatMap(u32le)];
    const bodySize = Math.max(0, Math.min(body.length, length - 4 + sizeDelta));
    return [...u32le(length), ...u32le(connId), ...body.slice(0, bodySize)];
  });
const plausibleBytes = fc.array(plausibleChunk, { minLength: 1, maxLength: 8 }).map((chunks) => Uint8Array.from(chunks.flat()));
const uniformBytes = fc.uint8Array({ minLength: 1, maxLength: 96 });

/** One client and one server of a fresh world; `who` 0 is the server, 1 the client. */
async function streamProperty(bytes: Uint8Array, splits: number[] | 'bytewise', who: 0 | 1): Promise<void> {
  const world = await FuzzWorld.create(h, bystander, { limits: LIMITS, serverIds: [201], clients: 1, key: KEY });
  try {
    await world.send(who, [{ t: 'garbage', bytes }], splits);
    bystander.assertHealthy();
  } finally {
    await world.finish();
  }
  await world.checkStats('after both peers left');
}

describe('random byte streams', () => {
  test('uniform random bytes from a client', async () => {
    await fc.assert(fc.asyncProperty(uniformBytes, splitsArb, (bytes, splits) => streamProperty(bytes, splits, 1)), FC);
  });

  test('uniform random bytes from an authenticated server', async () => {
    await fc.assert(fc.asyncProperty(uniformBytes, splitsArb, (bytes, splits) => streamProperty(bytes, splits, 0)), FC);
  });

  test('frame-shaped garbage (random Lengths, ConnIDs, types, arguments) from a client', async () => {
    await fc.assert(fc.asyncProperty(plausibleBytes, splitsArb, (bytes, splits) => streamProperty(bytes, splits, 1)), FC);
  });

  test('frame-shaped garbage from an authenticated server', async () => {
    await fc.assert(fc.asyncProperty(plausibleBytes, splitsArb, (bytes, splits) => streamProperty(bytes, splits, 0)), FC);
  });
});

describe('random handshake bytes on the server listener', () => {
  test('20 bytes or more that are not a valid reply: closed and counted as an auth failure; bytes after them ignored', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: HANDSHAKE_REPLY_SIZE, maxLength: 64 }), splitsArb, async (bytes, splits) => {
        const { authFailures, servers, protocolErrors } = h.stats;
        const peer = await RawPeer.connect(h.serverPort, { framing: false });
        try {
          await peer.readChallenge();
          for (const piece of splitAt(bytes, splits)) peer.write(piece);
          await peer.expectClosed('the gateway to reject a random reply');
          await waitUntil(() => h.stats.authFailures === authFailures + 1, 'the auth failure to be counted');
          assert.equal(h.stats.servers, servers, 'a random reply registered a server');
          assert.deepEqual(h.stats.protocolErrors, protocolErrors, 'bytes after the reply were decoded as frames');
        } finally {
          await peer.end();
        }
        bystander.assertHealthy();
      }),
      { ...FC, numRuns: Math.ceil(RUNS / 2) },
    );
  });

  test('fewer than 20 bytes, then the server leaves or stalls: nothing counted, or an auth timeout', async () => {
    const g = await GatewayHarness.start({ server: { authTimeout: STALL_AUTH_TIMEOUT_MS } });
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: HANDSHAKE_REPLY_SIZE - 1 }), splitsArb, fc.boolean(), async (bytes, splits, stall) => {
          const before = g.stats;
          const connectedAt = performance.now();
          const peer = await RawPeer.connect(g.serverPort, { framing: false });
          try {
            await peer.readChallenge();
            for (const piece of splitAt(bytes, splits)) peer.write(piece);
            if (stall) {
              await peer.expectClosed('the gateway to drop a stalled handshake at authTimeout');
              await waitUntil(() => g.stats.authTimeouts === before.authTimeouts + 1, 'the auth timeout to be counted');
            } else {
              await peer.end();
              // A machine so loaded that this end came late may have seen the gateway time it out first, rightly.
              const mayHaveTimedOut = performance.now() - connectedAt >= STALL_AUTH_TIMEOUT_MS / 2;
              // A handshake that starts later and stalls times out later: if the abandoned one
              // were still timed, it would be counted too.
              const later = await RawPeer.connect(g.serverPort, { framing: false });
              await later.readChallenge();
              await later.expectClosed('the gateway to drop a stalled handshake at authTimeout');
              await waitUntil(() => g.stats.authTimeouts >= before.authTimeouts + 1, 'the auth timeout to be counted');
              const counted = g.stats.authTimeouts - before.authTimeouts;
              if (mayHaveTimedOut) assert.ok(counted === 1 || counted === 2, `${counted} auth timeouts counted for two handshakes`);
              else assert.equal(counted, 1, 'a handshake the server abandoned was timed out too');
            }
            assert.equal(g.stats.authFailures, before.authFailures);
            assert.equal(g.stats.servers, before.servers);
          } finally {
            await peer.end();
          }
        }),
        { ...FC, numRuns: 8 },
      );
      await waitUntil(() => g.stats.servers === 0 && g.stats.clients === 0, 'the stalled-handshake gateway to hold nobody');
    } finally {
      // Its own check of open handles would see the fuzzed gateway's: that one runs at the end of the file.
      await g.finish(false);
    }
  });

  test('a valid reply for a random server ID, cut anywhere and followed by a New in the same bytes: registered, answered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: MAX_U32 }).filter((id) => id !== BYSTANDER_SERVER_ID), splitsArb, async (serverId, splits) => {
        const peer = await RawPeer.connect(h.serverPort, { framing: false });
        const client = await RawPeer.connect(h.clientPort);
        try {
          const challenge = await peer.readChallenge();
          peer.startFraming();
          const bytes = Buffer.concat([encodeHandshakeReply(challenge, KEY, serverId), encodeNew()]);
          for (const piece of splitAt(bytes, splits)) peer.write(piece);
          const { connId } = await peer.expectCommand(CommandType.Open);
          assert.notEqual(connId, 0);
          // A client reaches it by that ID.
          const id = await client.open();
          client.sendDial(id, serverId);
          const accept = await client.expectCommand(CommandType.Accept, id);
          assert.equal(accept.remoteId, serverId);
          await peer.expectCommand(CommandType.Accept, id);
        } finally {
          await Promise.all([peer.end(), client.end()]);
        }
        bystander.assertHealthy();
      }),
      { ...FC, numRuns: Math.ceil(RUNS / 3) },
    );
  });
});
