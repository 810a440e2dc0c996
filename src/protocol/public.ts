/**
 * The wire protocol as fastway exports it (`protocol` in the package's entry points): what
 * a tool needs to read and write fastway frames, commands and the server handshake. Pure,
 * no I/O, usable in Node and browsers. The byte-level helpers the implementation uses
 * inside (u32 readers and writers, in-place command writers, the digest comparison, MD5)
 * are not part of it.
 */
export {
  COMMAND_CONN_ID,
  CONN_ID_SIZE,
  DEFAULT_MAX_PACKET_SIZE,
  HEADER_SIZE,
  LENGTH_SIZE,
  MIN_LENGTH,
  encodeDataFrame,
  maxMessageSize,
} from './frame.js';
export {
  type Command,
  type CommandReceiver,
  CommandType,
  MIN_MAX_PACKET_SIZE,
  commandName,
  encodeAccept,
  encodeClose,
  encodeDial,
  encodeNew,
  encodeOpen,
  encodePing,
  encodeRefuse,
  parseCommand,
} from './command.js';
export { type Frame, FrameDecoder, type FrameSink, decodeFrames } from './decoder.js';
export {
  CHALLENGE_SIZE,
  DEFAULT_AUTH_TIMEOUT_MS,
  HANDSHAKE_REPLY_SIZE,
  type HandshakeReply,
  createChallenge,
  decodeHandshakeReply,
  encodeHandshakeReply,
  handshakeDigest,
  verifyHandshakeReply,
} from './handshake.js';
