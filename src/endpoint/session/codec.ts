/**
 * The in-band session protocol of resumable virtual connections (docs/protocol.md §10,
 * "Resumable sessions"): pure encoders and decoders over Uint8Array, no I/O, browser-safe.
 *
 * Every message here travels as the message of an ordinary data frame; the gateway sees
 * nothing but data. A carrier (one virtual connection through one gateway) starts with a
 * handshake — the client's hello, the server's answer — and then carries stream messages:
 * DATA, ACK and CLOSE, with 32-bit sequence numbers that wrap (compared modulo 2^32).
 */
import { SessionProtocolError } from '../../errors.js';
import { hmacSha256 } from './sha256.js';

/** The first 8 bytes of every hello and answer: `\x89FWSESS\n`. */
export const SESSION_MAGIC: Uint8Array = Uint8Array.of(0x89, 0x46, 0x57, 0x53, 0x45, 0x53, 0x53, 0x0a);
/** The version of the session protocol this code speaks. */
export const SESSION_VERSION = 1;
/** Bytes in a session ID. */
export const SESSION_ID_SIZE = 16;
/** Bytes in a session secret. */
export const SECRET_SIZE = 32;
/** Bytes in a resume proof (HMAC-SHA-256). */
export const PROOF_SIZE = 32;

/** Handshake operations (byte 9 of a hello or an answer). */
export const HandshakeOp = {
  /** Client: open a new session with this ID. */
  HelloNew: 0x01,
  /** Client: resume this session (with a proof). */
  HelloResume: 0x02,
  /** Server: new session accepted; carries the session secret. */
  Accepted: 0x81,
  /** Server: resume accepted. */
  Resumed: 0x82,
  /** Server: no such session (expired, or the server restarted). */
  Unknown: 0x83,
  /** Server: refused (the proof did not check out, or the ID is taken). */
  Refused: 0x84,
  /** Server: the hello's version is not spoken here; byte 8 holds the server's. */
  Version: 0x85,
} as const;
export type HandshakeOp = (typeof HandshakeOp)[keyof typeof HandshakeOp];

/** Stream message types (byte 0 of a stream message). */
export const StreamType = {
  /** `10 seq ack payload…`: one application message. */
  Data: 0x10,
  /** `20 ack`: an acknowledgement alone. */
  Ack: 0x20,
  /** `30 seq ack`: the sender closed the session; sequenced like data. */
  Close: 0x30,
} as const;
export type StreamType = (typeof StreamType)[keyof typeof StreamType];

/** Offsets and sizes of the handshake messages. */
const OFF_VERSION = 8;
const OFF_OP = 9;
const OFF_ID = 10;
const OFF_SEQ = 26;
const OFF_ATTEMPT = 30;
const OFF_PROOF = 34;
const OFF_SECRET = 30;
/** A hello-new, and every answer but Accepted. */
export const HELLO_NEW_SIZE = 30;
/** A hello-resume: the new fields plus the attempt counter and the proof. */
export const HELLO_RESUME_SIZE = 66;
/** An answer without a secret. */
export const ANSWER_SIZE = 30;
/** An Accepted answer (with the secret). */
export const ACCEPTED_SIZE = 62;

/** DATA and CLOSE header: type, seq, ack. */
export const DATA_HEADER_SIZE = 9;
/** An ACK message. */
export const ACK_SIZE = 5;

/** A decoded hello (client → server, the first message of a carrier). */
export type Hello =
  | { op: typeof HandshakeOp.HelloNew; sessionId: Uint8Array; nextSeq: number }
  | { op: typeof HandshakeOp.HelloResume; sessionId: Uint8Array; nextSeq: number; attempt: number; proof: Uint8Array }
  /** A hello of another version: answer {@link HandshakeOp.Version}. */
  | { op: 'version'; version: number };

/** A decoded answer (server → client, the first message back on a carrier). */
export type Answer =
  | { op: typeof HandshakeOp.Accepted; sessionId: Uint8Array; nextSeq: number; secret: Uint8Array }
  | { op: typeof HandshakeOp.Resumed | typeof HandshakeOp.Unknown | typeof HandshakeOp.Refused; sessionId: Uint8Array; nextSeq: number }
  | { op: typeof HandshakeOp.Version; version: number };

/** Reads a u32 LE. */
export function readU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

/** Writes a u32 LE. */
export function writeU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value;
  buf[at + 1] = value >>> 8;
  buf[at + 2] = value >>> 16;
  buf[at + 3] = value >>> 24;
}

/** `(a - b) mod 2^32`: how far sequence number `a` is past `b`. */
export function seqDistance(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** True when `bytes` starts with the session magic (a hello or an answer, well formed or not). */
export function hasSessionMagic(bytes: Uint8Array): boolean {
  if (bytes.length < SESSION_MAGIC.length) return false;
  for (let i = 0; i < SESSION_MAGIC.length; i++) if (bytes[i] !== SESSION_MAGIC[i]) return false;
  return true;
}

function handshakeHead(size: number, version: number, op: number, sessionId: Uint8Array | null, nextSeq: number): Uint8Array {
  const buf = new Uint8Array(size);
  buf.set(SESSION_MAGIC, 0);
  buf[OFF_VERSION] = version;
  buf[OFF_OP] = op;
  if (sessionId !== null) {
    if (sessionId.length !== SESSION_ID_SIZE) throw new RangeError(`a session ID is ${SESSION_ID_SIZE} bytes, got ${sessionId.length}`);
    buf.set(sessionId, OFF_ID);
  }
  writeU32(buf, OFF_SEQ, nextSeq);
  return buf;
}

/** The hello that opens session `sessionId` (the first message on its first carrier). */
export function encodeHelloNew(sessionId: Uint8Array): Uint8Array {
  return handshakeHead(HELLO_NEW_SIZE, SESSION_VERSION, HandshakeOp.HelloNew, sessionId, 0);
}

/**
 * The hello that resumes a session: `nextSeq` is the next sequence number this side
 * expects (everything before it arrived), `attempt` counts this side's resumes (each
 * must be higher than the last the server accepted), and the proof is
 * HMAC-SHA-256(secret, the 34 bytes before it).
 */
export function encodeHelloResume(sessionId: Uint8Array, nextSeq: number, attempt: number, secret: Uint8Array): Uint8Array {
  const buf = handshakeHead(HELLO_RESUME_SIZE, SESSION_VERSION, HandshakeOp.HelloResume, sessionId, nextSeq);
  writeU32(buf, OFF_ATTEMPT, attempt);
  buf.set(resumeProof(secret, buf), OFF_PROOF);
  return buf;
}

/** The proof a hello-resume must carry: HMAC-SHA-256(secret, its first 34 bytes). */
export function resumeProof(secret: Uint8Array, hello: Uint8Array): Uint8Array {
  return hmacSha256(secret, hello.subarray(0, OFF_PROOF));
}

/** The answer to a hello. `secret` only (and always) with {@link HandshakeOp.Accepted}. */
export function encodeAnswer(
  op: typeof HandshakeOp.Accepted | typeof HandshakeOp.Resumed | typeof HandshakeOp.Unknown | typeof HandshakeOp.Refused,
  sessionId: Uint8Array,
  nextSeq: number,
  secret?: Uint8Array,
): Uint8Array {
  if (op === HandshakeOp.Accepted) {
    if (secret === undefined || secret.length !== SECRET_SIZE) throw new RangeError(`an Accepted answer carries a ${SECRET_SIZE}-byte secret`);
    const buf = handshakeHead(ACCEPTED_SIZE, SESSION_VERSION, op, sessionId, nextSeq);
    buf.set(secret, OFF_SECRET);
    return buf;
  }
  return handshakeHead(ANSWER_SIZE, SESSION_VERSION, op, sessionId, nextSeq);
}

/** The answer to a hello of a version this side does not speak. */
export function encodeVersionAnswer(): Uint8Array {
  return handshakeHead(ANSWER_SIZE, SESSION_VERSION, HandshakeOp.Version, null, 0);
}

function malformed(what: string): SessionProtocolError {
  return new SessionProtocolError(`malformed session ${what}`);
}

/**
 * Decodes the first message of a carrier on the server side. Returns `null` when it is
 * not a hello at all (no magic: a plain virtual connection's first message). Throws
 * `SessionProtocolError` for a message with the magic that is not a well-formed hello.
 */
export function decodeHello(bytes: Uint8Array): Hello | null {
  if (!hasSessionMagic(bytes)) return null;
  if (bytes.length < HELLO_NEW_SIZE) throw malformed(`hello: ${bytes.length} bytes, at least ${HELLO_NEW_SIZE} expected`);
  const version = bytes[OFF_VERSION]!;
  if (version !== SESSION_VERSION) return { op: 'version', version };
  const op = bytes[OFF_OP]!;
  const sessionId = bytes.slice(OFF_ID, OFF_ID + SESSION_ID_SIZE);
  const nextSeq = readU32(bytes, OFF_SEQ);
  if (op === HandshakeOp.HelloNew) {
    if (bytes.length !== HELLO_NEW_SIZE) throw malformed(`hello: ${bytes.length} bytes for a new session, ${HELLO_NEW_SIZE} expected`);
    if (nextSeq !== 0) throw malformed('hello: a new session starts at sequence number 0');
    return { op, sessionId, nextSeq };
  }
  if (op === HandshakeOp.HelloResume) {
    if (bytes.length !== HELLO_RESUME_SIZE) throw malformed(`hello: ${bytes.length} bytes for a resume, ${HELLO_RESUME_SIZE} expected`);
    return { op, sessionId, nextSeq, attempt: readU32(bytes, OFF_ATTEMPT), proof: bytes.slice(OFF_PROOF, OFF_PROOF + PROOF_SIZE) };
  }
  throw malformed(`hello: operation 0x${op.toString(16)} is not a hello`);
}

/**
 * Decodes the first message back on a carrier, on the client side. Returns `null` when it
 * has no magic (the server does not speak the session protocol); throws
 * `SessionProtocolError` for one with the magic that is not a well-formed answer.
 */
export function decodeAnswer(bytes: Uint8Array): Answer | null {
  if (!hasSessionMagic(bytes)) return null;
  if (bytes.length < ANSWER_SIZE) throw malformed(`answer: ${bytes.length} bytes, at least ${ANSWER_SIZE} expected`);
  const op = bytes[OFF_OP]!;
  if (op === HandshakeOp.Version) return { op, version: bytes[OFF_VERSION]! };
  if (bytes[OFF_VERSION] !== SESSION_VERSION) throw malformed(`answer: version ${bytes[OFF_VERSION]} to a version ${SESSION_VERSION} hello`);
  const sessionId = bytes.slice(OFF_ID, OFF_ID + SESSION_ID_SIZE);
  const nextSeq = readU32(bytes, OFF_SEQ);
  if (op === HandshakeOp.Accepted) {
    if (bytes.length !== ACCEPTED_SIZE) throw malformed(`answer: ${bytes.length} bytes for Accepted, ${ACCEPTED_SIZE} expected`);
    return { op, sessionId, nextSeq, secret: bytes.slice(OFF_SECRET, OFF_SECRET + SECRET_SIZE) };
  }
  if (op === HandshakeOp.Resumed || op === HandshakeOp.Unknown || op === HandshakeOp.Refused) {
    if (bytes.length !== ANSWER_SIZE) throw malformed(`answer: ${bytes.length} bytes, ${ANSWER_SIZE} expected`);
    return { op, sessionId, nextSeq };
  }
  throw malformed(`answer: operation 0x${op.toString(16)} is not an answer`);
}

/** A DATA message: header (seq, ack) then `payload`. One allocation, one copy. */
export function encodeData(seq: number, ack: number, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(DATA_HEADER_SIZE + payload.length);
  buf[0] = StreamType.Data;
  writeU32(buf, 1, seq);
  writeU32(buf, 5, ack);
  buf.set(payload, DATA_HEADER_SIZE);
  return buf;
}

/** A CLOSE message (sequenced: it takes the next sequence number, and is acknowledged). */
export function encodeClose(seq: number, ack: number): Uint8Array {
  const buf = new Uint8Array(DATA_HEADER_SIZE);
  buf[0] = StreamType.Close;
  writeU32(buf, 1, seq);
  writeU32(buf, 5, ack);
  return buf;
}

/** An ACK: everything before `ack` arrived. */
export function encodeAck(ack: number): Uint8Array {
  const buf = new Uint8Array(ACK_SIZE);
  buf[0] = StreamType.Ack;
  writeU32(buf, 1, ack);
  return buf;
}

/** Rewrites the ack field of an encoded DATA or CLOSE (before a retransmission). */
export function setAck(message: Uint8Array, ack: number): void {
  writeU32(message, 5, ack);
}

/** A decoded stream message; `payload` is a view of the input (DATA only). */
export interface StreamMessage {
  type: StreamType;
  seq: number;
  ack: number;
  payload: Uint8Array | null;
}

/**
 * Decodes a stream message into `out` (reused: no allocation but the payload view).
 * Throws `SessionProtocolError` for an unknown type or a short message.
 */
export function decodeStream(bytes: Uint8Array, out: StreamMessage): StreamMessage {
  const type = bytes[0];
  if (type === StreamType.Data || type === StreamType.Close) {
    if (bytes.length < DATA_HEADER_SIZE) throw malformed(`${type === StreamType.Data ? 'DATA' : 'CLOSE'}: ${bytes.length} bytes, at least ${DATA_HEADER_SIZE} expected`);
    out.type = type;
    out.seq = readU32(bytes, 1);
    out.ack = readU32(bytes, 5);
    out.payload = type === StreamType.Data ? bytes.subarray(DATA_HEADER_SIZE) : null;
    return out;
  }
  if (type === StreamType.Ack) {
    if (bytes.length < ACK_SIZE) throw malformed(`ACK: ${bytes.length} bytes, ${ACK_SIZE} expected`);
    out.type = type;
    out.seq = 0;
    out.ack = readU32(bytes, 1);
    out.payload = null;
    return out;
  }
  throw malformed(type === undefined ? 'message: empty' : `message: type 0x${type.toString(16)}`);
}
