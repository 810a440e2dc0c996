/**
 * The byte-exact vectors of the shared protocol contract. `test/vectors/frames.json` is a
 * copy of the contract's `vectors/frames.json`, kept in the repository so the tests never
 * depend on what sits beside a clone; the first test checks the copy is still current
 * whenever the contract folder is there to compare against.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ProtocolErrorCode } from '../src/errors.js';
import { ProtocolError } from '../src/errors.js';
import {
  type Command,
  type CommandReceiver,
  CommandType,
  FrameDecoder,
  decodeFrames,
  decodeHandshakeReply,
  encodeAccept,
  encodeClose,
  encodeDataFrame,
  encodeDial,
  encodeHandshakeReply,
  encodeNew,
  encodeOpen,
  encodePing,
  encodeRefuse,
  handshakeDigest,
  parseCommand,
  verifyHandshakeReply,
} from '../src/protocol/index.js';

interface Vectors {
  frames: { name: string; hex: string }[];
  handshake: { challenge_hex: string; key: string; server_id: number; digest_hex: string; reply_hex: string }[];
  protocol_errors: { name: string; hex: string }[];
}

const repoCopy = fileURLToPath(new URL('./vectors/frames.json', import.meta.url));
const contractFile = fileURLToPath(new URL('../../shared/vectors/frames.json', import.meta.url));

function loadVectors(): Vectors {
  if (!existsSync(repoCopy)) {
    throw new Error(`protocol vectors not found at ${repoCopy}: copy the contract's vectors/frames.json there`);
  }
  return JSON.parse(readFileSync(repoCopy, 'utf8')) as Vectors;
}

const vectors = loadVectors();
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** What each named frame vector means. Every vector must be listed here, and nothing else. */
type Expected =
  | { command: Command; receivers: CommandReceiver[] }
  | { connId: number; message: Uint8Array };

const cmd = (type: CommandType, connId = 0, remoteId = 0): Command => ({ type, connId, remoteId });
const EXPECTED_FRAMES: Record<string, Expected> = {
  new: { command: cmd(CommandType.New), receivers: ['gateway'] },
  open: { command: cmd(CommandType.Open, 9527), receivers: ['endpoint'] },
  open_refused: { command: cmd(CommandType.Open, 0), receivers: ['endpoint'] },
  dial: { command: cmd(CommandType.Dial, 9527, 1), receivers: ['gateway'] },
  refuse: { command: cmd(CommandType.Refuse, 9527), receivers: ['endpoint'] },
  accept_to_server: { command: cmd(CommandType.Accept, 9527, 1), receivers: ['endpoint'] },
  accept_to_client: { command: cmd(CommandType.Accept, 9527, 1), receivers: ['endpoint'] },
  close: { command: cmd(CommandType.Close, 9527), receivers: ['gateway', 'endpoint'] },
  ping: { command: cmd(CommandType.Ping), receivers: ['gateway', 'endpoint'] },
  data_hello: { connId: 9527, message: new TextEncoder().encode('Hello') },
  data_empty: { connId: 7, message: new Uint8Array(0) },
  data_big_ids: { connId: 0xdeadbeef, message: new Uint8Array([0xff, 0x00]) },
};

function encodeCommand(c: Command): Uint8Array {
  switch (c.type) {
    case CommandType.New:
      return encodeNew();
    case CommandType.Open:
      return encodeOpen(c.connId);
    case CommandType.Dial:
      return encodeDial(c.connId, c.remoteId);
    case CommandType.Refuse:
      return encodeRefuse(c.connId);
    case CommandType.Accept:
      return encodeAccept(c.connId, c.remoteId);
    case CommandType.Close:
      return encodeClose(c.connId);
    case CommandType.Ping:
      return encodePing();
  }
}

/** Where each protocol-error vector is caught and with which code. */
const EXPECTED_ERRORS: Record<string, { code: ProtocolErrorCode; receivers: CommandReceiver[] }> = {
  length_below_4: { code: 'ERR_FRAME_TOO_SHORT', receivers: ['gateway', 'endpoint'] },
  short_open: { code: 'ERR_COMMAND_TRUNCATED', receivers: ['endpoint'] },
  short_dial: { code: 'ERR_COMMAND_TRUNCATED', receivers: ['gateway'] },
  unknown_command: { code: 'ERR_UNKNOWN_COMMAND', receivers: ['gateway', 'endpoint'] },
  too_large: { code: 'ERR_FRAME_TOO_LARGE', receivers: ['gateway', 'endpoint'] },
};

/** Runs bytes through the receive path (decoder, then command parsing for ConnID 0) as `receiver` would. */
function receive(bytes: Uint8Array, receiver: CommandReceiver): void {
  const decoder = new FrameDecoder();
  decoder.push(bytes, {
    onFrame(connId, buf, start, end) {
      if (connId === 0) parseCommand(buf, start, end, receiver);
    },
  });
}

test('the repository copy of the vectors matches the protocol contract', { skip: !existsSync(contractFile) && 'contract folder not beside this clone' }, () => {
  assert.equal(readFileSync(repoCopy, 'utf8'), readFileSync(contractFile, 'utf8'));
});

describe('frame vectors', () => {
  test('every vector has an expected meaning, and every expectation a vector', () => {
    assert.deepEqual(vectors.frames.map((v) => v.name).sort(), Object.keys(EXPECTED_FRAMES).sort());
  });

  for (const vector of vectors.frames) {
    const expected = EXPECTED_FRAMES[vector.name];
    test(`${vector.name}: encodes to exactly ${vector.hex}`, () => {
      assert.ok(expected, `no expectation for vector ${vector.name}`);
      const bytes = 'command' in expected ? encodeCommand(expected.command) : encodeDataFrame(expected.connId, expected.message);
      assert.equal(toHex(bytes), vector.hex);
    });

    test(`${vector.name}: decodes to what it means`, () => {
      assert.ok(expected, `no expectation for vector ${vector.name}`);
      const bytes = hex(vector.hex);
      const { frames, rest } = decodeFrames(bytes);
      assert.equal(rest, 0, 'no bytes left over');
      assert.equal(frames.length, 1);
      const frame = frames[0]!;
      if ('command' in expected) {
        assert.equal(frame.connId, 0);
        for (const receiver of expected.receivers) {
          assert.deepEqual(parseCommand(bytes, 0, bytes.length, receiver), expected.command, `as received by the ${receiver}`);
        }
      } else {
        assert.equal(frame.connId, expected.connId);
        assert.deepEqual([...frame.message], [...expected.message]);
      }
    });
  }

  test('all frame vectors back to back in one chunk decode in order', () => {
    const all = Buffer.concat(vectors.frames.map((v) => hex(v.hex)));
    const { frames, rest } = decodeFrames(all);
    assert.equal(rest, 0);
    assert.deepEqual(
      frames.map((f) => toHex(encodeDataFrame(f.connId, f.message))),
      vectors.frames.map((v) => v.hex),
    );
  });
});

describe('handshake vectors', () => {
  test('there are vectors to check', () => {
    assert.ok(vectors.handshake.length >= 2);
  });

  for (const [i, v] of vectors.handshake.entries()) {
    const challenge = hex(v.challenge_hex);
    const reply = hex(v.reply_hex);

    test(`#${i} (key ${JSON.stringify(v.key)}): digest and reply are byte-exact`, () => {
      assert.equal(toHex(handshakeDigest(challenge, v.key)), v.digest_hex);
      assert.equal(toHex(encodeHandshakeReply(challenge, v.key, v.server_id)), v.reply_hex);
      const decoded = decodeHandshakeReply(reply);
      assert.equal(toHex(decoded.digest), v.digest_hex);
      assert.equal(decoded.serverId, v.server_id);
    });

    test(`#${i}: the reply verifies with the key, alone or among others`, () => {
      assert.equal(verifyHandshakeReply(challenge, reply, [v.key]), v.server_id);
      assert.equal(verifyHandshakeReply(challenge, reply, ['old-key', v.key, 'other']), v.server_id);
      assert.equal(verifyHandshakeReply(challenge, reply, [new TextEncoder().encode(v.key)]), v.server_id);
    });

    test(`#${i}: a wrong key, challenge or digest does not verify`, () => {
      assert.equal(verifyHandshakeReply(challenge, reply, [v.key + 'x']), null);
      assert.equal(verifyHandshakeReply(challenge, reply, []), null);
      const otherChallenge = challenge.slice();
      otherChallenge[0]! ^= 1;
      assert.equal(verifyHandshakeReply(otherChallenge, reply, [v.key]), null);
      for (let byte = 0; byte < 16; byte++) {
        const tampered = reply.slice();
        tampered[byte]! ^= 0x80;
        assert.equal(verifyHandshakeReply(challenge, tampered, [v.key]), null, `digest byte ${byte} flipped`);
      }
    });
  }
});

describe('protocol error vectors', () => {
  test('every vector has an expected error, and every expectation a vector', () => {
    assert.deepEqual(vectors.protocol_errors.map((v) => v.name).sort(), Object.keys(EXPECTED_ERRORS).sort());
  });

  for (const vector of vectors.protocol_errors) {
    const expected = EXPECTED_ERRORS[vector.name];
    for (const receiver of expected?.receivers ?? ['gateway']) {
      test(`${vector.name}: rejected by the ${receiver} with ${expected?.code}`, () => {
        assert.ok(expected, `no expected error for vector ${vector.name}`);
        assert.throws(
          () => receive(hex(vector.hex), receiver),
          (err: unknown) => err instanceof ProtocolError && err.code === expected.code,
        );
      });
    }
  }
});
