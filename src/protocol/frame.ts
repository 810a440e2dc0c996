/**
 * Frame layout (docs/protocol.md §1):
 *
 *     | Length: u32 LE | ConnID: u32 LE | Message: Length - 4 bytes |
 *
 * `Length` counts the bytes after itself. ConnID 0 carries a command.
 */

/** Bytes of the Length field. */
export const LENGTH_SIZE = 4;
/** Bytes of the ConnID field. */
export const CONN_ID_SIZE = 4;
/** Bytes before the message: Length + ConnID. */
export const HEADER_SIZE = LENGTH_SIZE + CONN_ID_SIZE;
/** The smallest legal Length: a frame must at least hold its ConnID. */
export const MIN_LENGTH = CONN_ID_SIZE;
/** Default largest Length (the original's MaxPacketSize): 512 KiB. */
export const DEFAULT_MAX_PACKET_SIZE = 512 * 1024;
/** The ConnID of command frames. */
export const COMMAND_CONN_ID = 0;
/** Largest value of a u32 field (ConnIDs, client and server IDs). */
export const MAX_U32 = 0xffffffff;

/** Reads a u32 little-endian at `offset`. The caller guarantees 4 bytes are there. */
export function readU32(buf: Uint8Array, offset: number): number {
  return (buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16) | (buf[offset + 3]! << 24)) >>> 0;
}

/** Writes `value` as u32 little-endian at `offset`. */
export function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
}

/** Writes a frame header (Length, ConnID) for a message of `messageLength` bytes at `offset`. */
export function writeFrameHeader(buf: Uint8Array, offset: number, connId: number, messageLength: number): void {
  writeU32(buf, offset, CONN_ID_SIZE + messageLength);
  writeU32(buf, offset + LENGTH_SIZE, connId);
}

/** The largest message an endpoint may send under `maxPacketSize`. */
export function maxMessageSize(maxPacketSize: number): number {
  return maxPacketSize - CONN_ID_SIZE;
}

/** Encodes one data frame carrying `message` on virtual connection `connId` (a new buffer). */
export function encodeDataFrame(connId: number, message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + message.length);
  writeFrameHeader(frame, 0, connId, message.length);
  frame.set(message, HEADER_SIZE);
  return frame;
}
