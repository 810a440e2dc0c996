/**
 * Fuzzing the endpoint library from a hostile gateway: random sequences of
 * gateway frames (sensible, senseless and malformed), cut at random points, against a
 * client endpoint with dials in flight. A reference model says what must happen: the
 * endpoint closes with a typed ProtocolError of the right code exactly when the gateway
 * broke the protocol, and otherwise every dial is where the model says. Nothing throws,
 * no rejection goes unhandled, nothing is left open. Then floods: Accepts for unknown
 * IDs (bounded by acceptBacklog), data on unknown IDs from a gateway that does not read
 * (bounded by sendQueue).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import fc from 'fast-check';
import {
  DialRefusedError,
  type Endpoint,
  EndpointClosedError,
  ProtocolError,
  SendQueueFullError,
  type VirtualConnection,
  dialClient,
} from '../src/index.js';
import { CommandType, encodeAccept, encodeDataFrame, encodePing } from '../src/protocol/index.js';
import { EndpointModel, encodeGatewayFrame, gatewayFrameArb } from './support/endpoint-model.js';
import { checkNoLeaks, early, type FakeGateway, type FakePeer, withFakeGateway } from './support/fake-gateway.js';
import { splitAt, splitsArb } from './support/frame-specs.js';
import { withTimeout } from './support/raw-peer.js';

checkNoLeaks();

const LIMITS = { maxPacketSize: 256, acceptBacklog: 3, recvQueue: 2 };
const RUNS = Number(process.env.FASTWAY_FUZZ_RUNS ?? 150);
const totals = { sequences: 0, frames: 0, closedWithProtocolError: 0 };

/** A dial's promise, with its outcome recorded as soon as it settles. */
interface TrackedDial {
  promise: Promise<VirtualConnection>;
  outcome: { ok: true; conn: VirtualConnection } | { ok: false; err: unknown } | null;
}

function track(promise: Promise<VirtualConnection>): TrackedDial {
  const t: TrackedDial = { promise, outcome: null };
  promise.then(
    (conn) => (t.outcome = { ok: true, conn }),
    (err: unknown) => (t.outcome = { ok: false, err }),
  );
  return t;
}

async function connect(fake: FakeGateway): Promise<{ endpoint: Endpoint; peer: FakePeer }> {
  const [endpoint, peer] = await Promise.all([
    dialClient(fake.address, { maxPacketSize: LIMITS.maxPacketSize, acceptBacklog: LIMITS.acceptBacklog, recvQueue: LIMITS.recvQueue, dialTimeout: 0 }),
    fake.accept(),
  ]);
  return { endpoint, peer };
}

describe('a hostile gateway against the endpoint (model-based)', () => {
  test('random gateway frames: a ProtocolError of the right code exactly when the protocol is broken; otherwise every dial as the model says', async () => {
    await withFakeGateway({}, async (fake) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 4 }),
          fc.array(gatewayFrameArb(LIMITS.maxPacketSize, 1), { minLength: 1, maxLength: 20 }),
          splitsArb,
          async (dialCount, specs, splits) => {
            totals.sequences++;
            const { endpoint, peer } = await connect(fake);
            const model = new EndpointModel(LIMITS);
            try {
              const dials: TrackedDial[] = [];
              for (let i = 0; i < dialCount; i++) {
                dials.push(track(endpoint.dial(EndpointModel.remoteOf(model.dial()))));
                await peer.expectCommand(CommandType.New);
              }
              const parts: Uint8Array[] = [];
              for (const spec of specs) {
                const bytes = encodeGatewayFrame(spec, model);
                parts.push(bytes);
                model.receive(bytes);
              }
              totals.frames += specs.length;
              for (const piece of splitAt(Buffer.concat(parts), splits)) {
                peer.write(piece);
                await nextTurn();
              }
              await check(endpoint, peer, model, dials);
            } finally {
              await endpoint.close();
              await peer.destroy();
            }
          },
        ),
        { numRuns: RUNS * 3, includeErrorInReport: true },
      );
    });
    console.log(
      `# endpoint fuzz: ${totals.sequences} sequences, ${totals.frames} gateway frames; ${totals.closedWithProtocolError} closed with a ProtocolError`,
    );
  });
});

async function check(endpoint: Endpoint, peer: FakePeer, model: EndpointModel, dials: TrackedDial[]): Promise<void> {
  // Everything sent was handled when the endpoint answers a Ping. If part of a frame is
  // still held, the Ping's bytes complete it (in the model too): send Pings until one is one.
  for (let tries = 0; model.error === null; tries++) {
    assert.ok(tries < 100, 'no Ping was ever decoded');
    const pings = model.pings;
    const ping = encodePing();
    peer.write(ping);
    model.receive(ping);
    if (model.pings > pings) break;
  }
  if (model.error !== null) {
    const reason = await withTimeout(endpoint.closed, `the endpoint to close with ${model.error}`);
    assert.ok(reason instanceof ProtocolError, `closed with ${String(reason)}, expected ProtocolError ${model.error}`);
    assert.equal(reason.code, model.error);
    totals.closedWithProtocolError++;
    await peer.expectClosed('the endpoint to drop the hostile gateway');
    for (const [i, d] of dials.entries()) {
      await d.promise.catch(() => {});
      const fate = model.dials[i]!;
      if (fate.state === 'up') {
        assert.ok(d.outcome?.ok, `dial ${i} should have resolved before the error`);
      } else if (fate.state === 'refused') {
        assert.ok(d.outcome !== null && !d.outcome.ok && d.outcome.err instanceof DialRefusedError, `dial ${i}: ${String(d.outcome)}`);
      } else {
        assert.ok(d.outcome !== null && !d.outcome.ok && d.outcome.err instanceof EndpointClosedError, `dial ${i} pending at the error`);
        assert.equal((d.outcome.err as EndpointClosedError).cause, reason);
      }
    }
    return;
  }
  // What the endpoint sent before answering must include exactly the Dials the model expects.
  const sentDials: { connId: number; remoteId: number }[] = [];
  for (let pings = 0; pings < model.pings; ) {
    const frame = await peer.nextFrame('the endpoint to answer every Ping');
    const cmd = frame.command;
    if (cmd?.type === CommandType.Ping) {
      pings++;
      continue;
    }
    assert.ok(cmd !== null && (cmd.type === CommandType.Dial || cmd.type === CommandType.Close), `unexpected frame from the endpoint`);
    if (cmd.type === CommandType.Dial) sentDials.push({ connId: cmd.connId, remoteId: cmd.remoteId });
  }
  assert.deepEqual(sentDials, model.dialsSent, 'the Dials the endpoint sent');
  assert.equal(endpoint.isClosed, false, 'the endpoint closed though the gateway kept to the protocol');
  assert.equal(endpoint.liveConnections, model.conns.size, 'live connections');
  assert.equal(endpoint.acceptBacklog, model.backlog, 'accept backlog');
  assert.equal(endpoint.pendingDials, model.opening.length + model.dialing.size, 'pending dials');
  for (const [i, d] of dials.entries()) {
    const fate = model.dials[i]!;
    if (fate.state === 'up') {
      assert.ok(d.outcome?.ok, `dial ${i} should have resolved`);
      assert.deepEqual([d.outcome.conn.connId, d.outcome.conn.remoteId], [fate.connId, fate.remoteId]);
    } else if (fate.state === 'refused') {
      assert.ok(d.outcome !== null && !d.outcome.ok && d.outcome.err instanceof DialRefusedError, `dial ${i} should be refused`);
      assert.equal((d.outcome.err as DialRefusedError).remoteId, EndpointModel.remoteOf(i));
    } else {
      assert.equal(d.outcome, null, `dial ${i} settled, but the gateway has not answered it`);
    }
  }
}

describe('floods from a hostile gateway stay bounded', () => {
  test('20,000 Accepts for unknown IDs: the backlog holds acceptBacklog, each of the rest is closed, the endpoint works on', async () => {
    await withFakeGateway({}, async (fake) => {
      const { endpoint, peer } = await connect(fake);
      try {
        const count = 20_000;
        const flood = Buffer.concat(Array.from({ length: count }, (_, i) => encodeAccept(100_000 + i, 7)));
        peer.write(flood);
        let closes = 0;
        for (;;) {
          const frame = await peer.nextFrame('a Close for each Accept past the backlog');
          assert.equal(frame.command?.type, CommandType.Close);
          if (++closes === count - LIMITS.acceptBacklog) break;
        }
        await peer.sync();
        assert.equal(endpoint.acceptBacklog, LIMITS.acceptBacklog);
        assert.equal(endpoint.liveConnections, LIMITS.acceptBacklog);
        const first = await endpoint.accept();
        assert.equal(first.connId, 100_000);
        peer.sendData(100_000, Buffer.from('still works'));
        assert.equal(Buffer.from(await first.receive()).toString(), 'still works');
      } finally {
        await endpoint.close();
        await peer.destroy();
      }
    });
  });

  test('data on unknown IDs from a gateway that never reads: closed with SendQueueFullError, not unbounded memory', async () => {
    await withFakeGateway({}, async (fake) => {
      const [endpoint, peer] = await Promise.all([
        dialClient(fake.address, { maxPacketSize: LIMITS.maxPacketSize, sendQueue: LIMITS.maxPacketSize + 4 }),
        fake.accept(),
      ]);
      const early2 = early(endpoint.dial(1));
      try {
        peer.pauseReading();
        // Each distinct unknown ID gets a Close back; none of them is ever read.
        let next = 1;
        while (!endpoint.isClosed) {
          const burst = Buffer.concat(Array.from({ length: 2000 }, () => encodeDataFrame(next++, Buffer.alloc(0))));
          peer.write(burst);
          await nextTurn();
          assert.ok(next < 50_000_000, 'the endpoint kept queueing Closes without bound');
        }
        const reason = await endpoint.closed;
        assert.ok(reason instanceof SendQueueFullError, `closed with ${String(reason)}`);
        await assert.rejects(early2, EndpointClosedError);
      } finally {
        await endpoint.close();
        await peer.destroy();
      }
    });
  });
});
