import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError, type ProtocolErrorCode } from '../src/errors.js';
import {
  DEFAULT_MAX_PACKET_SIZE,
  FrameDecoder,
  HEADER_SIZE,
  decodeFrames,
  encodeDataFrame,
  writeU32,
} from '../src/protocol/index.js';

interface DecodedFrame {
  connId: number;
  message: number[];
}

/** A decoder plus a sink that copies out every frame it yields. */
function collector(maxPacketSize = DEFAULT_MAX_PACKET_SIZE) {
  const decoder = new FrameDecoder(maxPacketSize);
  const frames: DecodedFrame[] = [];
  const sink = {
    onFrame(connId: number, buf: Uint8Array, start: number, end: number) {
      frames.push({ connId, message: [...buf.subarray(start + HEADER_SIZE, end)] });
    },
  };
  return { decoder, frames, push: (chunk: Uint8Array) => decoder.push(chunk, sink) };
}

const frameArb = fc.record({
  connId: fc.nat({ max: 0xffffffff }),
  message: fc.uint8Array({ maxLength: 300 }),
});

function encodeAll(frames: { connId: number; message: Uint8Array }[]): Uint8Array {
  return new Uint8Array(Buffer.concat(frames.map((f) => encodeDataFrame(f.connId, f.message))));
}

const plain = (frames: { connId: number; message: Uint8Array }[]): DecodedFrame[] =>
  frames.map((f) => ({ connId: f.connId, message: [...f.message] }));

/** A header declaring `length`, as bytes. */
function header(length: number, connId = 1): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  writeU32(bytes, 0, length);
  writeU32(bytes, 4, connId);
  return bytes;
}

const isProtocolError = (code: ProtocolErrorCode) => (err: unknown) => err instanceof ProtocolError && err.code === code;

describe('FrameDecoder splits a stream into the frames that were sent', () => {
  test('one chunk holding many frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 40 }), (sent) => {
        const c = collector();
        c.push(encodeAll(sent));
        assert.deepEqual(c.frames, plain(sent));
        assert.equal(c.decoder.bufferedBytes, 0);
      }),
    );
  });

  test('one byte at a time', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 10 }), (sent) => {
        const c = collector();
        const bytes = encodeAll(sent);
        for (let i = 0; i < bytes.length; i++) c.push(bytes.subarray(i, i + 1));
        assert.deepEqual(c.frames, plain(sent));
        assert.equal(c.decoder.bufferedBytes, 0);
      }),
    );
  });

  test('split at random points, including empty chunks', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (sent, cutSeeds) => {
          const bytes = encodeAll(sent);
          const cuts = cutSeeds.map((s) => s % (bytes.length + 1)).sort((a, b) => a - b);
          const c = collector();
          let from = 0;
          for (const cut of [...cuts, bytes.length]) {
            c.push(bytes.subarray(from, cut));
            from = cut;
          }
          assert.deepEqual(c.frames, plain(sent));
          assert.equal(c.decoder.bufferedBytes, 0);
        },
      ),
    );
  });

  test('bufferedBytes counts the bytes of an incomplete frame, and nothing after it completes', () => {
    const frame = encodeDataFrame(5, new Uint8Array([1, 2, 3, 4, 5, 6]));
    const c = collector();
    c.push(frame.subarray(0, 2));
    assert.equal(c.decoder.bufferedBytes, 2);
    c.push(frame.subarray(2, 10));
    assert.equal(c.decoder.bufferedBytes, 10);
    assert.equal(c.frames.length, 0);
    c.push(frame.subarray(10));
    assert.equal(c.decoder.bufferedBytes, 0);
    assert.deepEqual(c.frames, [{ connId: 5, message: [1, 2, 3, 4, 5, 6] }]);
  });

  test('a frame wholly inside a chunk is handed over as a view of that chunk; a spanning one is assembled', () => {
    const first = encodeDataFrame(1, new Uint8Array([9, 9]));
    const second = encodeDataFrame(2, new Uint8Array([7, 7, 7]));
    const chunk = new Uint8Array(Buffer.concat([first, second.subarray(0, 5)]));
    const seen: { buf: Uint8Array; start: number; end: number }[] = [];
    const decoder = new FrameDecoder();
    const sink = { onFrame: (_id: number, buf: Uint8Array, start: number, end: number) => void seen.push({ buf, start, end }) };
    decoder.push(chunk, sink);
    decoder.push(second.subarray(5), sink);
    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.buf, chunk, 'first frame is a view of the pushed chunk');
    assert.deepEqual([seen[0]!.start, seen[0]!.end], [0, first.length]);
    assert.notEqual(seen[1]!.buf, chunk);
    assert.deepEqual([...seen[1]!.buf.subarray(seen[1]!.start, seen[1]!.end)], [...second]);
  });

  test('a sink returning false stops decoding: the rest of the chunk and later chunks are dropped', () => {
    const bytes = encodeAll([
      { connId: 1, message: new Uint8Array([1]) },
      { connId: 2, message: new Uint8Array([2]) },
      { connId: 3, message: new Uint8Array([3]) },
    ]);
    const decoder = new FrameDecoder();
    const ids: number[] = [];
    const sink = { onFrame: (connId: number) => (ids.push(connId), connId !== 2) };
    decoder.push(bytes, sink);
    decoder.push(bytes, sink);
    assert.deepEqual(ids, [1, 2]);
  });

  test('decodeFrames reports the bytes of a trailing partial frame', () => {
    const bytes = encodeAll([{ connId: 4, message: new Uint8Array([1, 2]) }]);
    const { frames, rest } = decodeFrames(new Uint8Array(Buffer.concat([bytes, bytes.subarray(0, 7)])));
    assert.equal(frames.length, 1);
    assert.equal(rest, 7);
  });
});

describe('FrameDecoder rejects a bad Length as soon as its 4 bytes are read', () => {
  const MAX = 100;

  test('Length 4 (an empty message) and Length = maxPacketSize are accepted', () => {
    const c = collector(MAX);
    c.push(header(4, 3));
    assert.deepEqual(c.frames, [{ connId: 3, message: [] }]);
    c.push(header(MAX, 8));
    assert.equal(c.decoder.bufferedBytes, HEADER_SIZE, 'waits for the body of a legal frame');
    c.push(new Uint8Array(MAX - 4));
    assert.equal(c.frames.length, 2);
    assert.equal(c.frames[1]!.message.length, MAX - 4);
  });

  for (const length of [0, 1, 2, 3]) {
    test(`Length ${length}: ERR_FRAME_TOO_SHORT on the 4th header byte`, () => {
      const c = collector(MAX);
      const bytes = header(length);
      for (let i = 0; i < 3; i++) c.push(bytes.subarray(i, i + 1));
      assert.equal(c.decoder.bufferedBytes, 3);
      assert.throws(() => c.push(bytes.subarray(3, 4)), isProtocolError('ERR_FRAME_TOO_SHORT'));
      assert.equal(c.decoder.bufferedBytes, 0);
    });
  }

  for (const length of [MAX + 1, DEFAULT_MAX_PACKET_SIZE + 1, 0xffffffff]) {
    test(`Length ${length} over maxPacketSize ${MAX}: ERR_FRAME_TOO_LARGE with no body buffered`, () => {
      const c = collector(MAX);
      const lengthField = header(length).subarray(0, 4);
      c.push(lengthField.subarray(0, 2));
      assert.equal(c.decoder.bufferedBytes, 2);
      assert.throws(() => c.push(lengthField.subarray(2, 4)), isProtocolError('ERR_FRAME_TOO_LARGE'));
      assert.equal(c.decoder.bufferedBytes, 0);
    });
  }

  test('an over-long Length at the start of a chunk with body bytes behind it: rejected, nothing held', () => {
    const c = collector(MAX);
    const chunk = new Uint8Array(4 + 64);
    writeU32(chunk, 0, MAX + 1);
    assert.throws(() => c.push(chunk), isProtocolError('ERR_FRAME_TOO_LARGE'));
    assert.equal(c.decoder.bufferedBytes, 0);
  });

  test('an over-long Length after good frames in the same chunk: the good frames come out first', () => {
    const c = collector(MAX);
    const good = encodeAll([{ connId: 1, message: new Uint8Array([1]) }]);
    assert.throws(() => c.push(new Uint8Array(Buffer.concat([good, header(MAX + 1)]))), isProtocolError('ERR_FRAME_TOO_LARGE'));
    assert.deepEqual(c.frames, [{ connId: 1, message: [1] }]);
  });

  test('with the default maxPacketSize, 524288 is accepted and 524289 rejected', () => {
    const ok = collector();
    ok.push(header(DEFAULT_MAX_PACKET_SIZE));
    assert.equal(ok.decoder.bufferedBytes, HEADER_SIZE);
    const bad = collector();
    assert.throws(() => bad.push(header(DEFAULT_MAX_PACKET_SIZE + 1)), isProtocolError('ERR_FRAME_TOO_LARGE'));
  });

  test('after a framing error the decoder yields nothing more', () => {
    const c = collector(MAX);
    assert.throws(() => c.push(header(2)), isProtocolError('ERR_FRAME_TOO_SHORT'));
    c.push(encodeAll([{ connId: 1, message: new Uint8Array([1]) }]));
    assert.deepEqual(c.frames, []);
    assert.equal(c.decoder.bufferedBytes, 0);
  });

  test('stop() releases a partial frame and ignores later chunks', () => {
    const c = collector(MAX);
    const bytes = encodeAll([{ connId: 1, message: new Uint8Array(20) }]);
    c.push(bytes.subarray(0, 10));
    assert.equal(c.decoder.bufferedBytes, 10);
    c.decoder.stop();
    assert.equal(c.decoder.bufferedBytes, 0);
    c.push(bytes.subarray(10));
    assert.deepEqual(c.frames, []);
  });

  test('random garbage either decodes or fails with a framing ProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 199 }), (bytes, cut) => {
        const c = collector(MAX);
        try {
          c.push(bytes.subarray(0, cut));
          c.push(bytes.subarray(cut));
        } catch (err) {
          assert.ok(err instanceof ProtocolError, String(err));
          assert.ok(err.code === 'ERR_FRAME_TOO_SHORT' || err.code === 'ERR_FRAME_TOO_LARGE', err.code);
          assert.equal(c.decoder.bufferedBytes, 0);
          return;
        }
        assert.ok(c.decoder.bufferedBytes <= MAX + 4);
      }),
    );
  });
});
