import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CHALLENGE_SIZE,
  HANDSHAKE_REPLY_SIZE,
  createChallenge,
  decodeHandshakeReply,
  encodeHandshakeReply,
  handshakeDigest,
  md5,
  timingSafeEqual,
  verifyHandshakeReply,
} from '../src/protocol/index.js';

const nodeMd5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('md5', () => {
  test('matches the RFC 1321 test suite', () => {
    const suite: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [input, digest] of suite) assert.equal(toHex(md5(new TextEncoder().encode(input))), digest, JSON.stringify(input));
  });

  test('agrees with node:crypto on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (data) => {
        assert.equal(toHex(md5(data)), nodeMd5(data));
      }),
      { numRuns: 300 },
    );
  });

  test('agrees with node:crypto at every length around the padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const data = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff);
      assert.equal(toHex(md5(data)), nodeMd5(data), `length ${length}`);
    }
  });

  test('hashes a view by its own bytes, not the whole underlying buffer', () => {
    const backing = new Uint8Array(64).map((_, i) => i);
    const view = backing.subarray(10, 30);
    assert.equal(toHex(md5(view)), nodeMd5(view));
  });
});

describe('handshake', () => {
  test('createChallenge gives 8 bytes, fresh each time', () => {
    const a = createChallenge();
    const b = createChallenge();
    assert.equal(a.length, CHALLENGE_SIZE);
    assert.equal(b.length, CHALLENGE_SIZE);
    assert.notDeepEqual([...a], [...b], 'two challenges are equal: 2^-64 odds, or the source is not random');
  });

  test('the digest is MD5 of the challenge followed by the UTF-8 key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 40 }), (challenge, key) => {
        const expected = nodeMd5(Buffer.concat([challenge, Buffer.from(key, 'utf8')]));
        assert.equal(toHex(handshakeDigest(challenge, key)), expected);
      }),
    );
  });

  test('a reply round-trips and verifies with its key, and only with it', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.nat({ max: 0xffffffff }),
        (challenge, key, otherKey, serverId) => {
          fc.pre(key !== otherKey);
          const reply = encodeHandshakeReply(challenge, key, serverId);
          assert.equal(reply.length, HANDSHAKE_REPLY_SIZE);
          assert.equal(decodeHandshakeReply(reply).serverId, serverId);
          assert.equal(verifyHandshakeReply(challenge, reply, [key]), serverId);
          assert.equal(verifyHandshakeReply(challenge, reply, [otherKey]), null);
          assert.equal(verifyHandshakeReply(challenge, reply, [otherKey, key]), serverId);
        },
      ),
    );
  });
});

describe('timingSafeEqual', () => {
  test('equal bytes are equal, including empty ones', () => {
    assert.equal(timingSafeEqual(new Uint8Array(0), new Uint8Array(0)), true);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (a) => assert.equal(timingSafeEqual(a, a.slice()), true)));
  });

  test('a difference in any single bit at any position is found', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (a, at, bit) => {
        const b = a.slice();
        b[at % b.length]! ^= 1 << bit;
        assert.equal(timingSafeEqual(a, b), false);
      }),
    );
  });

  test('different lengths are never equal, even when one is a prefix of the other', () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    assert.equal(timingSafeEqual(a, a.subarray(0, 3)), false);
    assert.equal(timingSafeEqual(a.subarray(0, 0), a), false);
  });
});
