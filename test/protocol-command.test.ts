import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError, type ProtocolErrorCode } from '../src/errors.js';
import {
  type Command,
  type CommandReceiver,
  CommandType,
  HEADER_SIZE,
  commandFrameSize,
  commandName,
  encodeAccept,
  encodeClose,
  encodeDial,
  encodeNew,
  encodeOpen,
  encodePing,
  encodeRefuse,
  parseCommand,
  readU32,
  writeCommand,
  writeFrameHeader,
} from '../src/protocol/index.js';

const u32 = fc.nat({ max: 0xffffffff });
const ALL_TYPES = Object.values(CommandType);
/** Message bytes (type byte + args) per command type, from docs/protocol.md §2 (Length minus 4). */
const MESSAGE_SIZE: Record<CommandType, number> = { 0: 1, 1: 5, 2: 9, 3: 5, 4: 9, 5: 5, 6: 1 };
const ACCEPTED: Record<CommandReceiver, CommandType[]> = {
  gateway: [CommandType.New, CommandType.Dial, CommandType.Close, CommandType.Ping],
  endpoint: [CommandType.Open, CommandType.Refuse, CommandType.Accept, CommandType.Close, CommandType.Ping],
};
const RECEIVERS: CommandReceiver[] = ['gateway', 'endpoint'];

/** A command frame whose message is `messageSize` bytes: the type byte, then as much of the two args as fits, then zeros. */
function commandFrame(type: number, connId: number, remoteId: number, messageSize: number): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + messageSize);
  writeFrameHeader(frame, 0, 0, messageSize);
  if (messageSize > 0) frame[HEADER_SIZE] = type;
  const args = new Uint8Array(8);
  new DataView(args.buffer).setUint32(0, connId, true);
  new DataView(args.buffer).setUint32(4, remoteId, true);
  if (messageSize > 1) frame.set(args.subarray(0, Math.min(8, messageSize - 1)), HEADER_SIZE + 1);
  return frame;
}

function expectedCommand(type: CommandType, connId: number, remoteId: number): Command {
  const size = MESSAGE_SIZE[type];
  return { type, connId: size >= 5 ? connId : 0, remoteId: size >= 9 ? remoteId : 0 };
}

const throwsCode = (fn: () => unknown, code: ProtocolErrorCode, what?: string) =>
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === code, what);

describe('command encoders', () => {
  test('each encoder writes the Length of docs/protocol.md §2 and its arguments little-endian', () => {
    fc.assert(
      fc.property(u32, u32, (connId, remoteId) => {
        const cases: [CommandType, Uint8Array][] = [
          [CommandType.New, encodeNew()],
          [CommandType.Open, encodeOpen(connId)],
          [CommandType.Dial, encodeDial(connId, remoteId)],
          [CommandType.Refuse, encodeRefuse(connId)],
          [CommandType.Accept, encodeAccept(connId, remoteId)],
          [CommandType.Close, encodeClose(connId)],
          [CommandType.Ping, encodePing()],
        ];
        for (const [type, frame] of cases) {
          assert.equal(frame.length, 4 + 4 + MESSAGE_SIZE[type]);
          assert.equal(readU32(frame, 0), 4 + MESSAGE_SIZE[type], `Length of ${commandName(type)}`);
          assert.equal(readU32(frame, 4), 0, 'ConnID 0');
          assert.equal(frame[8], type);
          assert.deepEqual([...frame], [...commandFrame(type, connId, remoteId, MESSAGE_SIZE[type])]);
        }
      }),
    );
  });

  test('writeCommand writes the same bytes in place at an offset, and returns the frame size', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_TYPES), u32, u32, fc.nat({ max: 20 }), (type, connId, remoteId, offset) => {
        const buf = new Uint8Array(offset + 30).fill(0xee);
        const size = writeCommand(buf, offset, type, connId, remoteId);
        assert.equal(size, commandFrameSize(type));
        assert.equal(size, HEADER_SIZE + MESSAGE_SIZE[type]);
        assert.deepEqual([...buf.subarray(offset, offset + size)], [...commandFrame(type, connId, remoteId, MESSAGE_SIZE[type])]);
        assert.ok(buf.subarray(0, offset).every((b) => b === 0xee), 'bytes before the offset untouched');
        assert.ok(buf.subarray(offset + size).every((b) => b === 0xee), 'bytes after the frame untouched');
      }),
    );
  });

  test('commandName names known types and shows unknown ones', () => {
    assert.deepEqual(ALL_TYPES.map(commandName), ['New', 'Open', 'Dial', 'Refuse', 'Accept', 'Close', 'Ping']);
    assert.equal(commandName(200), 'type 200');
  });
});

describe('parseCommand', () => {
  for (const receiver of RECEIVERS) {
    test(`round-trips every command the ${receiver} accepts, from any offset of a larger buffer`, () => {
      fc.assert(
        fc.property(fc.constantFrom(...ACCEPTED[receiver]), u32, u32, fc.uint8Array({ maxLength: 16 }), (type, connId, remoteId, before) => {
          const frame = commandFrame(type, connId, remoteId, MESSAGE_SIZE[type]);
          const buf = new Uint8Array(Buffer.concat([before, frame, new Uint8Array([1, 2, 3])]));
          const start = before.length;
          assert.deepEqual(parseCommand(buf, start, start + frame.length, receiver), expectedCommand(type, connId, remoteId));
        }),
      );
    });
  }

  test('bytes after the arguments are ignored', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_TYPES), u32, u32, fc.uint8Array({ minLength: 1, maxLength: 40 }), (type, connId, remoteId, extra) => {
        const receiver: CommandReceiver = ACCEPTED.gateway.includes(type) ? 'gateway' : 'endpoint';
        const base = commandFrame(type, connId, remoteId, MESSAGE_SIZE[type]);
        const frame = new Uint8Array(Buffer.concat([base, extra]));
        writeFrameHeader(frame, 0, 0, MESSAGE_SIZE[type] + extra.length);
        assert.deepEqual(parseCommand(frame, 0, frame.length, receiver), expectedCommand(type, connId, remoteId));
      }),
    );
  });

  test('fills and returns the object passed as `into` instead of allocating', () => {
    const into: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
    const frame = encodeDial(11, 22);
    assert.equal(parseCommand(frame, 0, frame.length, 'gateway', into), into);
    assert.deepEqual(into, { type: CommandType.Dial, connId: 11, remoteId: 22 });
    const ping = encodePing();
    parseCommand(ping, 0, ping.length, 'gateway', into);
    assert.deepEqual(into, { type: CommandType.Ping, connId: 0, remoteId: 0 }, 'args of the previous command are cleared');
  });

  test('a command with no type byte (Length 4) is ERR_COMMAND_TRUNCATED', () => {
    const frame = commandFrame(0, 0, 0, 0);
    for (const receiver of RECEIVERS) throwsCode(() => parseCommand(frame, 0, frame.length, receiver), 'ERR_COMMAND_TRUNCATED', receiver);
  });

  for (const type of ALL_TYPES.filter((t) => MESSAGE_SIZE[t] > 1)) {
    test(`${commandName(type)} shorter than ${MESSAGE_SIZE[type]} message bytes is ERR_COMMAND_TRUNCATED`, () => {
      const receiver: CommandReceiver = ACCEPTED.gateway.includes(type) ? 'gateway' : 'endpoint';
      for (let size = 1; size < MESSAGE_SIZE[type]; size++) {
        const frame = commandFrame(type, 9527, 1, size);
        throwsCode(() => parseCommand(frame, 0, frame.length, receiver), 'ERR_COMMAND_TRUNCATED', `${size} bytes`);
      }
    });
  }

  test('every type from 7 to 255 is ERR_UNKNOWN_COMMAND, whatever follows it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 7, max: 255 }), fc.nat({ max: 12 }), fc.constantFrom(...RECEIVERS), (type, size, receiver) => {
        const frame = commandFrame(type, 1, 2, size + 1);
        throwsCode(() => parseCommand(frame, 0, frame.length, receiver), 'ERR_UNKNOWN_COMMAND');
      }),
    );
  });

  test('Open, Refuse and Accept arriving at the gateway are ERR_UNEXPECTED_COMMAND', () => {
    for (const frame of [encodeOpen(1), encodeRefuse(1), encodeAccept(1, 2)]) {
      throwsCode(() => parseCommand(frame, 0, frame.length, 'gateway'), 'ERR_UNEXPECTED_COMMAND', commandName(frame[8]!));
    }
  });

  test('New and Dial arriving at an endpoint are ERR_UNEXPECTED_COMMAND', () => {
    for (const frame of [encodeNew(), encodeDial(1, 2)]) {
      throwsCode(() => parseCommand(frame, 0, frame.length, 'endpoint'), 'ERR_UNEXPECTED_COMMAND', commandName(frame[8]!));
    }
  });

  test('Close and Ping are accepted in both directions', () => {
    for (const receiver of RECEIVERS) {
      const close = encodeClose(5);
      assert.deepEqual(parseCommand(close, 0, close.length, receiver), { type: CommandType.Close, connId: 5, remoteId: 0 });
      const ping = encodePing();
      assert.equal(parseCommand(ping, 0, ping.length, receiver).type, CommandType.Ping);
    }
  });

  test('random command bodies parse or fail with a command ProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.constantFrom(...RECEIVERS), (message, receiver) => {
        const frame = new Uint8Array(HEADER_SIZE + message.length);
        writeFrameHeader(frame, 0, 0, message.length);
        frame.set(message, HEADER_SIZE);
        try {
          const cmd = parseCommand(frame, 0, frame.length, receiver);
          assert.ok(ACCEPTED[receiver].includes(cmd.type));
        } catch (err) {
          assert.ok(err instanceof ProtocolError, String(err));
          assert.ok(['ERR_COMMAND_TRUNCATED', 'ERR_UNKNOWN_COMMAND', 'ERR_UNEXPECTED_COMMAND'].includes(err.code), err.code);
        }
      }),
    );
  });
});
