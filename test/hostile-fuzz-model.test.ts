/**
 * Fuzzing the gateway against a model: random sequences of frames — valid commands and data with
 * IDs picked to hit every rule, plus protocol violations of every kind — sent by several
 * clients and servers at once, cut at random points. After every write each peer's frames
 * are compared with what a reference model of docs/protocol.md says the gateway must send, and
 * every counter with what it must count. Meanwhile a bystander pair exchanges data and must
 * never notice anything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Bystander } from './support/bystander.js';
import { frameSpecArb, type FrameSpec, splitsArb } from './support/frame-specs.js';
import { FuzzWorld, fuzzTotals } from './support/fuzz-world.js';
import { KEY, withGateway } from './support/gateway-harness.js';

const MAX_PACKET_SIZE = 256;
const LIMITS = { maxPacketSize: MAX_PACKET_SIZE, clientMaxPending: 4, clientMaxConn: 3, serverMaxPending: 4 };
const GATEWAY_OPTIONS = {
  maxPacketSize: MAX_PACKET_SIZE,
  client: { maxPending: LIMITS.clientMaxPending, maxConn: LIMITS.clientMaxConn },
  server: { maxPending: LIMITS.serverMaxPending },
};
const BYSTANDER_SERVER_ID = 0xb0057;
/** Runs per property; FASTWAY_FUZZ_RUNS raises it for a longer local run. */
const RUNS = Number(process.env.FASTWAY_FUZZ_RUNS ?? 150);

type Action =
  | { a: 'send'; who: number; specs: FrameSpec[]; splits: number[] | 'bytewise' }
  | { a: 'leave'; who: number };

const validSpecs = fc.array(frameSpecArb(MAX_PACKET_SIZE, 0), { minLength: 1, maxLength: 6 });
const badSpec = frameSpecArb(MAX_PACKET_SIZE, 1_000_000); // (almost) always a violation

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ a: fc.constant('send' as const), who: fc.nat(), specs: validSpecs, splits: splitsArb }) },
  {
    // Valid frames, one violation, then more frames the gateway must ignore.
    weight: 1,
    arbitrary: fc
      .record({ who: fc.nat(), before: validSpecs, bad: badSpec, after: validSpecs, splits: splitsArb })
      .map(({ who, before, bad, after, splits }): Action => ({ a: 'send', who, specs: [...before, bad, ...after], splits })),
  },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('leave' as const), who: fc.nat() }) },
);

test('random command sequences from 3 clients and 2 servers are handled exactly as docs/protocol.md says', async (t) => {
  await withGateway(GATEWAY_OPTIONS, async (h) => {
    const bystander = await Bystander.start({ clientPort: h.clientPort, serverPort: h.serverPort, key: KEY, serverId: BYSTANDER_SERVER_ID });
    const before = bystander.exchanged;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 5, maxLength: 30, size: 'max' }), async (actions) => {
        runs++;
        const world = await FuzzWorld.create(h, bystander, { limits: LIMITS, serverIds: [101, 102], clients: 3, key: KEY });
        try {
          for (const action of actions) {
            if (action.a === 'send') {
              if (!(await world.send(action.who, action.specs, action.splits))) break;
            } else {
              await world.leave(action.who);
            }
            bystander.assertHealthy();
          }
        } finally {
          await world.finish();
        }
        await world.checkStats('after every peer left');
      }),
      { numRuns: RUNS, includeErrorInReport: true },
    );
    await bystander.progress();
    const exchanged = await bystander.stop();
    assert.ok(exchanged > before, 'the bystander exchanged nothing during the fuzz');
    assert.equal(
      h.logger.entries.filter((e) => e.level === 'error').length,
      0,
      `the gateway logged errors:\n${h.logger.entries.filter((e) => e.level === 'error').map((e) => e.text).join('\n')}`,
    );
    t.diagnostic(
      `${runs} sequences (incl. shrinking), ${fuzzTotals.actions} writes, ${fuzzTotals.framesSent} frames, ` +
        `${fuzzTotals.bytesSent} bytes sent; ${fuzzTotals.framesChecked} frames checked; ${fuzzTotals.protocolErrors} peers closed ` +
        `for protocol errors; bystander made ${exchanged} round trips`,
    );
  });
});
