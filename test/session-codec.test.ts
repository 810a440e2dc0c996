/**
 * The pure parts of resumable sessions: the in-band codec against test/vectors/sessions.json
 * (made by an independent implementation), SHA-256 and HMAC against node:crypto, and
 * property tests of the codec, the retransmit window and the reconnect policy.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidOptionError, SessionProtocolError } from '../src/errors.js';
import {
  ACCEPTED_SIZE,
  DATA_HEADER_SIZE,
  HandshakeOp,
  type StreamMessage,
  StreamType,
  decodeAnswer,
  decodeHello,
  decodeStream,
  encodeAck,
  encodeAnswer,
  encodeClose,
  encodeData,
  encodeHelloNew,
  encodeHelloResume,
  encodeVersionAnswer,
  resumeProof,
  seqDistance,
  setAck,
} from '../src/endpoint/session/codec.js';
import { resolveSessionOptions, SESSION_DEFAULTS } from '../src/endpoint/session/options.js';
import { ReconnectPolicy, RECONNECT_DEFAULTS, resolveReconnectOptions } from '../src/endpoint/session/reconnect-policy.js';
import { RetransmitWindow } from '../src/endpoint/session/retransmit-window.js';
import { hmacSha256, sha256 } from '../src/endpoint/session/sha256.js';
import { encodeDataFrame } from '../src/protocol/index.js';

interface Vectors {
  session_id_hex: string;
  secret_hex: string;
  handshake: { name: string; hex: string; op: number; next_seq: number; attempt?: number; proof_hex?: string }[];
  stream: { name: string; hex: string; type: number; seq: number; ack: number; payload_hex?: string }[];
  data_frame_on_conn_9527_hex: string;
  malformed: { name: string; hex: string }[];
}

const V = JSON.parse(readFileSync(new URL('./vectors/sessions.json', import.meta.url), 'utf8')) as Vectors;
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const vector = (name: string): { hex: string; proof_hex?: string } => (V.handshake.find((v) => v.name === name) ?? V.stream.find((v) => v.name === name))!;
const SID = bytes(V.session_id_hex);
const SECRET = bytes(V.secret_hex);

describe('session codec: the vectors', () => {
  test('hellos encode byte for byte and decode to their fields', () => {
    assert.equal(hex(encodeHelloNew(SID)), vector('hello_new').hex);
    const resume = vector('hello_resume');
    assert.equal(hex(encodeHelloResume(SID, 5, 1, SECRET)), resume.hex);
    const hello = decodeHello(bytes(resume.hex));
    assert.ok(hello !== null && hello.op === HandshakeOp.HelloResume);
    assert.equal(hex(hello.sessionId), V.session_id_hex);
    assert.equal(hello.nextSeq, 5);
    assert.equal(hello.attempt, 1);
    assert.equal(hex(hello.proof), resume.proof_hex);
    const fresh = decodeHello(bytes(vector('hello_new').hex));
    assert.ok(fresh !== null && fresh.op === HandshakeOp.HelloNew && fresh.nextSeq === 0);
  });

  test('the resume proof is HMAC-SHA-256(secret, the first 34 bytes), as node:crypto computes it', () => {
    const resume = bytes(vector('hello_resume').hex);
    const expected = createHmac('sha256', SECRET).update(resume.subarray(0, 34)).digest('hex');
    assert.equal(hex(resumeProof(SECRET, resume)), expected);
    assert.equal(vector('hello_resume').proof_hex, expected);
  });

  test('answers encode byte for byte and decode to their fields', () => {
    assert.equal(hex(encodeAnswer(HandshakeOp.Accepted, SID, 0, SECRET)), vector('answer_accepted').hex);
    assert.equal(hex(encodeAnswer(HandshakeOp.Resumed, SID, 3)), vector('answer_resumed').hex);
    assert.equal(hex(encodeAnswer(HandshakeOp.Unknown, SID, 0)), vector('answer_unknown').hex);
    assert.equal(hex(encodeAnswer(HandshakeOp.Refused, SID, 0)), vector('answer_refused').hex);
    assert.equal(hex(encodeVersionAnswer()), vector('answer_version').hex);
    for (const v of V.handshake.filter((x) => x.name.startsWith('answer_'))) {
      const a = decodeAnswer(bytes(v.hex));
      assert.ok(a !== null, v.name);
      assert.equal(a.op, v.op, v.name);
      if (a.op !== HandshakeOp.Version) assert.equal(a.nextSeq, v.next_seq, v.name);
      if (a.op === HandshakeOp.Accepted) assert.equal(hex(a.secret), V.secret_hex);
    }
  });

  test('stream messages encode byte for byte and decode to their fields; a DATA frame on the wire', () => {
    const payload = new TextEncoder().encode('Hello');
    assert.equal(hex(encodeData(7, 2, payload)), vector('data').hex);
    assert.equal(hex(encodeAck(8)), vector('ack').hex);
    assert.equal(hex(encodeClose(8, 3)), vector('close').hex);
    assert.equal(hex(encodeDataFrame(9527, encodeData(7, 2, payload))), V.data_frame_on_conn_9527_hex);
    const out: StreamMessage = { type: StreamType.Ack, seq: 0, ack: 0, payload: null };
    for (const v of V.stream) {
      const m = decodeStream(bytes(v.hex), out);
      assert.deepEqual({ type: m.type, seq: m.seq, ack: m.ack }, { type: v.type, seq: v.seq, ack: v.ack }, v.name);
      assert.equal(m.payload === null ? undefined : hex(m.payload), v.payload_hex, v.name);
    }
  });

  test('malformed messages are SessionProtocolError, never another error', () => {
    const out: StreamMessage = { type: StreamType.Ack, seq: 0, ack: 0, payload: null };
    for (const v of V.malformed) {
      const b = bytes(v.hex);
      const decode = v.name.startsWith('hello') ? () => decodeHello(b) : () => decodeStream(b, out);
      assert.throws(decode, SessionProtocolError, v.name);
    }
  });

  test('data without the magic is no hello and no answer (a plain connection)', () => {
    assert.equal(decodeHello(new TextEncoder().encode('hello, server')), null);
    assert.equal(decodeAnswer(new Uint8Array(0)), null);
    assert.equal(decodeAnswer(bytes(vector('hello_new').hex).subarray(1)), null);
  });

  test('an echoed hello is not an answer', () => {
    assert.throws(() => decodeAnswer(encodeHelloNew(SID)), SessionProtocolError);
  });
});

describe('session codec: properties', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const id = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const secret = fc.uint8Array({ minLength: 32, maxLength: 32 });

  test('SHA-256 and HMAC-SHA-256 agree with node:crypto on any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 100 }), (data, key) => {
        assert.equal(hex(sha256(data)), createHash('sha256').update(data).digest('hex'));
        assert.equal(hex(hmacSha256(key, data)), createHmac('sha256', key).update(data).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });

  test('hellos and answers round-trip; a proof checks only under its own secret and fields', () => {
    fc.assert(
      fc.property(id, u32, u32, secret, secret, (sid, seq, attempt, s1, s2) => {
        const h = encodeHelloResume(sid, seq, attempt, s1);
        const d = decodeHello(h);
        assert.ok(d !== null && d.op === HandshakeOp.HelloResume);
        assert.deepEqual([hex(d.sessionId), d.nextSeq, d.attempt], [hex(sid), seq, attempt]);
        assert.equal(hex(resumeProof(s1, h)), hex(d.proof));
        if (hex(s1) !== hex(s2)) assert.notEqual(hex(resumeProof(s2, h)), hex(d.proof));
        const tampered = h.slice();
        tampered[26] ^= 1; // another sequence number under the same proof
        assert.notEqual(hex(resumeProof(s1, tampered)), hex(d.proof));
        const a = decodeAnswer(encodeAnswer(HandshakeOp.Accepted, sid, seq, s1));
        assert.ok(a !== null && a.op === HandshakeOp.Accepted);
        assert.deepEqual([hex(a.sessionId), a.nextSeq, hex(a.secret)], [hex(sid), seq, hex(s1)]);
        assert.equal(encodeAnswer(HandshakeOp.Accepted, sid, seq, s1).length, ACCEPTED_SIZE);
      }),
    );
  });

  test('stream messages round-trip; setAck rewrites only the ack', () => {
    const out: StreamMessage = { type: StreamType.Ack, seq: 0, ack: 0, payload: null };
    fc.assert(
      fc.property(u32, u32, u32, fc.uint8Array({ maxLength: 64 }), (seq, ack, ack2, payload) => {
        const m = encodeData(seq, ack, payload);
        assert.equal(m.length, DATA_HEADER_SIZE + payload.length);
        setAck(m, ack2);
        const d = decodeStream(m, out);
        assert.deepEqual([d.type, d.seq, d.ack, hex(d.payload!)], [StreamType.Data, seq, ack2, hex(payload)]);
        assert.equal(decodeStream(encodeAck(ack), out).ack, ack);
        assert.equal(decodeStream(encodeClose(seq, ack), out).seq, seq);
      }),
    );
  });

  test('any bytes decode or fail with SessionProtocolError only', () => {
    const out: StreamMessage = { type: StreamType.Ack, seq: 0, ack: 0, payload: null };
    const withMagic = fc.uint8Array({ maxLength: 80 }).map((b) => {
      const m = new Uint8Array(8 + b.length);
      m.set(encodeHelloNew(new Uint8Array(16)).subarray(0, 8));
      m.set(b, 8);
      return m;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), withMagic), (b) => {
        for (const decode of [() => decodeHello(b), () => decodeAnswer(b), () => decodeStream(b, out)]) {
          try {
            decode();
          } catch (err) {
            assert.ok(err instanceof SessionProtocolError, String(err));
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('sequence distance wraps modulo 2^32', () => {
    fc.assert(fc.property(u32, fc.integer({ min: 0, max: 1e6 }), (a, n) => assert.equal(seqDistance((a + n) >>> 0, a), n)));
  });
});

describe('retransmit window', () => {
  test('against a model: pushes within the bounds, cumulative acks release from the front, old or bogus acks change nothing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 64, max: 400 }),
        fc.array(fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 80 }) }), fc.record({ ack: fc.integer({ min: -3, max: 25 }) })), { maxLength: 80 }),
        (start, maxMessages, maxBytes, ops) => {
          const w = new RetransmitWindow(maxMessages, maxBytes, start);
          const model: Uint8Array[] = [];
          let first = start;
          for (const op of ops) {
            if ('push' in op) {
              const m = new Uint8Array(op.push);
              const bytesHeld = model.reduce((s, x) => s + x.length, 0);
              const fits = model.length === 0 || (model.length < maxMessages && bytesHeld + m.length <= maxBytes);
              assert.equal(w.fits(m.length), fits);
              if (fits) {
                assert.equal(w.nextSeq, (first + model.length) >>> 0);
                w.push(m);
                model.push(m);
              }
            } else {
              const ack = (first + op.ack) >>> 0;
              const released = w.acknowledge(ack);
              if (op.ack < 0) {
                assert.equal(released, 0, 'an older acknowledgement releases nothing');
              } else if (op.ack > model.length) {
                assert.equal(released, -1);
              } else {
                assert.equal(released, op.ack);
                model.splice(0, op.ack);
                first = ack;
              }
            }
            assert.equal(w.length, model.length);
            assert.equal(w.startSeq, first);
            assert.equal(w.bytes, model.reduce((s, x) => s + x.length, 0));
            assert.ok(w.length <= maxMessages && (w.length <= 1 || w.bytes <= maxBytes), 'within the bounds');
            const seen: Uint8Array[] = [];
            w.forEach((m, seq) => {
              assert.equal(seq, (first + seen.length) >>> 0);
              seen.push(m);
            });
            assert.deepEqual(seen, model);
          }
        },
      ),
    );
  });
});

describe('reconnect policy and options', () => {
  test('delays grow exponentially up to maxDelay, with jitter inside [base(1-j), base]; reset starts over', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 20000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (initialDelay, extra, factor, jitter, randoms) => {
          const options = resolveReconnectOptions({ initialDelay, maxDelay: initialDelay + extra, factor, jitter });
          let i = 0;
          const policy = new ReconnectPolicy(options, () => randoms[i++ % randoms.length]!);
          for (let n = 0; n < randoms.length; n++) {
            const base = Math.min(initialDelay + extra, initialDelay * factor ** n);
            const d = policy.nextDelay();
            assert.ok(d >= Math.floor(base * (1 - jitter)) && d <= Math.ceil(base), `attempt ${n}: ${d} outside [${base * (1 - jitter)}, ${base}]`);
          }
          policy.reset();
          assert.equal(policy.attempts, 0);
        },
      ),
    );
  });

  test('full jitter spreads 10,000 clients over the whole first interval', () => {
    const policy = () => new ReconnectPolicy(RECONNECT_DEFAULTS);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.min(9, Math.floor(policy().nextDelay() / (RECONNECT_DEFAULTS.initialDelay / 10)))]!++;
    for (const b of buckets) assert.ok(b > 500, `every tenth of the interval gets some clients: ${buckets.join(' ')}`);
  });

  test('maxAttempts exhausts; options out of range name themselves', () => {
    const p = new ReconnectPolicy(resolveReconnectOptions({ maxAttempts: 2 }));
    p.nextDelay();
    assert.equal(p.exhausted, false);
    p.nextDelay();
    assert.equal(p.exhausted, true);
    assert.throws(() => resolveReconnectOptions({ jitter: 2 }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'reconnect.jitter');
    assert.throws(() => resolveReconnectOptions({ maxDelay: 5, initialDelay: 10 }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'reconnect.maxDelay');
    assert.throws(() => resolveSessionOptions({ windowMessages: 1 }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'resumable.windowMessages');
    assert.throws(() => resolveSessionOptions({ window: 3 } as never), (e: unknown) => e instanceof InvalidOptionError && e.option === 'resumable.window');
    assert.deepEqual(resolveSessionOptions({}), SESSION_DEFAULTS);
  });
});
