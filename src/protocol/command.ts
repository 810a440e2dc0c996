import { ProtocolError } from '../errors.js';
import { COMMAND_CONN_ID, CONN_ID_SIZE, HEADER_SIZE, readU32, writeFrameHeader, writeU32 } from './frame.js';

/** Command types carried in frames with ConnID 0 (docs/protocol.md §2). */
export const CommandType = {
  /** endpoint → gateway: asks for a new virtual connection ID. */
  New: 0,
  /** gateway → endpoint: the ID asked for (0 = refused). */
  Open: 1,
  /** endpoint → gateway: connect ConnID to RemoteID. */
  Dial: 2,
  /** gateway → dialer: the dial failed. */
  Refuse: 3,
  /** gateway → both ends: the virtual connection is up; RemoteID is the other end. */
  Accept: 4,
  /** any direction: close ConnID. */
  Close: 5,
  /** gateway → endpoint, and the endpoint's answer. */
  Ping: 6,
} as const;
export type CommandType = (typeof CommandType)[keyof typeof CommandType];

const COMMAND_NAMES = ['New', 'Open', 'Dial', 'Refuse', 'Accept', 'Close', 'Ping'] as const;

/** Bytes of the message (type byte plus arguments) each command type needs, by type. */
const COMMAND_SIZES = [1, 5, 9, 5, 9, 5, 1] as const;

/** Bytes of the largest command message (Dial and Accept: type, ConnID, RemoteID). */
const MAX_COMMAND_SIZE = Math.max(...COMMAND_SIZES);

/** The largest command frame, header included. */
export const MAX_COMMAND_FRAME_SIZE = HEADER_SIZE + MAX_COMMAND_SIZE;

/**
 * The smallest `maxPacketSize` either side may use: the Length of the largest command
 * frame (13). Under it a side could not carry a Dial or an Accept, so a gateway and an
 * endpoint that both accept it can always talk.
 */
export const MIN_MAX_PACKET_SIZE = CONN_ID_SIZE + MAX_COMMAND_SIZE;

/** A decoded command. `connId`/`remoteId` are 0 where the type has no such argument. */
export interface Command {
  type: CommandType;
  connId: number;
  remoteId: number;
}

/** Which side a command arrives at; each side accepts a different set of types. */
export type CommandReceiver = 'gateway' | 'endpoint';

const ACCEPTED_BY: Record<CommandReceiver, readonly boolean[]> = {
  //          New    Open   Dial   Refuse Accept Close  Ping
  gateway: [true, false, true, false, false, true, true],
  endpoint: [false, true, false, true, true, true, true],
};

/** The name of a command type ("Dial"), or `type N` for an unknown one; for logs. */
export function commandName(type: number): string {
  return COMMAND_NAMES[type] ?? `type ${type}`;
}

/**
 * Parses the command in `buf[start..end)` — a whole frame including its 8-byte header,
 * whose ConnID is 0 — as received by `receiver`. Bytes past the command's arguments are
 * ignored (room for compatible extensions).
 *
 * @throws ProtocolError `ERR_COMMAND_TRUNCATED`, `ERR_UNKNOWN_COMMAND` or `ERR_UNEXPECTED_COMMAND`.
 */
export function parseCommand(buf: Uint8Array, start: number, end: number, receiver: CommandReceiver, into?: Command): Command {
  const body = start + HEADER_SIZE;
  if (end <= body) throw new ProtocolError('ERR_COMMAND_TRUNCATED', 'command frame has no type byte');
  const type = buf[body]!;
  if (type >= COMMAND_SIZES.length) throw new ProtocolError('ERR_UNKNOWN_COMMAND', `unknown command type ${type}`);
  const need = COMMAND_SIZES[type]!;
  if (end - body < need) {
    throw new ProtocolError('ERR_COMMAND_TRUNCATED', `${COMMAND_NAMES[type]} needs ${need} bytes, got ${end - body}`);
  }
  if (!ACCEPTED_BY[receiver][type]) {
    throw new ProtocolError('ERR_UNEXPECTED_COMMAND', `${COMMAND_NAMES[type]} is never sent to the ${receiver}`);
  }
  const cmd = into ?? { type: 0, connId: 0, remoteId: 0 };
  cmd.type = type as CommandType;
  cmd.connId = need >= 5 ? readU32(buf, body + 1) : 0;
  cmd.remoteId = need >= 9 ? readU32(buf, body + 5) : 0;
  return cmd;
}

function encode(type: CommandType, connId: number, remoteId: number): Uint8Array {
  const size = COMMAND_SIZES[type];
  const frame = new Uint8Array(HEADER_SIZE + size);
  writeFrameHeader(frame, 0, COMMAND_CONN_ID, size);
  frame[HEADER_SIZE] = type;
  if (size >= 5) writeU32(frame, HEADER_SIZE + 1, connId);
  if (size >= 9) writeU32(frame, HEADER_SIZE + 5, remoteId);
  return frame;
}

/**
 * Writes a command frame into `buf` at `offset` without allocating, and returns its size.
 * `buf` must have room for {@link commandFrameSize}(type) bytes.
 */
export function writeCommand(buf: Uint8Array, offset: number, type: CommandType, connId = 0, remoteId = 0): number {
  const size = COMMAND_SIZES[type];
  writeFrameHeader(buf, offset, COMMAND_CONN_ID, size);
  buf[offset + HEADER_SIZE] = type;
  if (size >= 5) writeU32(buf, offset + HEADER_SIZE + 1, connId);
  if (size >= 9) writeU32(buf, offset + HEADER_SIZE + 5, remoteId);
  return HEADER_SIZE + size;
}

/** Whole-frame size of a command of `type`, header included. */
export function commandFrameSize(type: CommandType): number {
  return HEADER_SIZE + COMMAND_SIZES[type];
}

/** `New`: ask the gateway for a virtual connection ID. */
export const encodeNew = (): Uint8Array => encode(CommandType.New, 0, 0);
/** `Open(connId)`: the gateway's answer to New; 0 refuses. */
export const encodeOpen = (connId: number): Uint8Array => encode(CommandType.Open, connId, 0);
/** `Dial(connId, remoteId)`: connect a pending ID to a remote. */
export const encodeDial = (connId: number, remoteId: number): Uint8Array => encode(CommandType.Dial, connId, remoteId);
/** `Refuse(connId)`: the dial of connId failed. */
export const encodeRefuse = (connId: number): Uint8Array => encode(CommandType.Refuse, connId, 0);
/** `Accept(connId, remoteId)`: the virtual connection is up; remoteId is the other end. */
export const encodeAccept = (connId: number, remoteId: number): Uint8Array => encode(CommandType.Accept, connId, remoteId);
/** `Close(connId)`. */
export const encodeClose = (connId: number): Uint8Array => encode(CommandType.Close, connId, 0);
/** `Ping`. */
export const encodePing = (): Uint8Array => encode(CommandType.Ping, 0, 0);
