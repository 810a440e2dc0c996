import { ProtocolError } from '../errors.js';
import { CONN_ID_SIZE, DEFAULT_MAX_PACKET_SIZE, HEADER_SIZE, LENGTH_SIZE, MIN_LENGTH, readU32, writeU32 } from './frame.js';

/**
 * Receives the frames a {@link FrameDecoder} finds.
 *
 * `buf[start..end)` is the whole frame, header included; the message is
 * `buf[start + 8 .. end)`. The bytes are a view of the pushed chunk (or, for a frame that
 * spanned chunks, of a buffer the decoder assembled for it alone): they stay valid as long
 * as the chunk is not reused by its owner. Return `false` to stop decoding: the rest of the
 * chunk is dropped and the decoder accepts nothing more.
 */
export interface FrameSink {
  onFrame(connId: number, buf: Uint8Array, start: number, end: number): boolean | void;
}

/** Smallest buffer started for a frame that spans chunks. */
const MIN_PARTIAL = 4096;

/**
 * A streaming decoder of frames from a byte stream split at arbitrary points.
 *
 * It works on the pushed chunks in place and copies only a frame that spans chunks. A bad
 * Length is rejected as soon as its 4 bytes are read, before any of the body is buffered, so
 * a peer cannot make it hold more than `maxPacketSize + 4` bytes. No allocation per frame.
 */
export class FrameDecoder {
  readonly maxPacketSize: number;
  /** Bytes of a split Length field read so far (0 to 3), and their value (little-endian). */
  private headLen = 0;
  private headValue = 0;
  /**
   * The frame being assembled across chunks, once its Length is known. It grows with what
   * arrives (doubling, up to `partialSize`), so a peer that announces a large frame and
   * stalls makes the decoder hold about what it really sent, not the announced size.
   */
  private partial: Uint8Array | null = null;
  private partialLen = 0;
  /** Whole size of the frame in `partial`, header included. */
  private partialSize = 0;
  private stopped = false;

  constructor(maxPacketSize: number = DEFAULT_MAX_PACKET_SIZE) {
    this.maxPacketSize = maxPacketSize;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.partial !== null ? this.partialLen : this.headLen;
  }

  /**
   * Decodes `chunk`, calling `sink.onFrame` for each complete frame in order.
   *
   * @throws ProtocolError `ERR_FRAME_TOO_SHORT` or `ERR_FRAME_TOO_LARGE`; the decoder then
   * stays stopped (the connection is unusable after a framing error).
   */
  push(chunk: Uint8Array, sink: FrameSink): void {
    if (this.stopped) return;
    let pos = 0;
    const len = chunk.length;

    // Finish a frame left over from earlier chunks.
    if (this.headLen > 0 || this.partial !== null) {
      pos = this.continuePartial(chunk, sink);
      if (pos < 0) return;
    }

    while (pos < len) {
      const available = len - pos;
      if (available < LENGTH_SIZE) {
        let value = 0;
        for (let i = 0; i < available; i++) value |= chunk[pos + i]! << (8 * i);
        this.headValue = value;
        this.headLen = available;
        return;
      }
      const length = readU32(chunk, pos);
      this.checkLength(length);
      const frameEnd = pos + LENGTH_SIZE + length;
      if (frameEnd > len) {
        this.startPartial(length, available);
        this.partial!.set(chunk.subarray(pos, len), 0);
        this.partialLen = available;
        return;
      }
      if (sink.onFrame(readU32(chunk, pos + LENGTH_SIZE), chunk, pos, frameEnd) === false) {
        this.stopped = true;
        return;
      }
      pos = frameEnd;
    }
  }

  /** Stops the decoder: later pushes are ignored and held bytes are released. */
  stop(): void {
    this.stopped = true;
    this.partial = null;
    this.headLen = 0;
    this.headValue = 0;
  }

  /** Returns the position in `chunk` after the completed frame, or -1 when the chunk is used up or decoding stopped. */
  private continuePartial(chunk: Uint8Array, sink: FrameSink): number {
    let pos = 0;
    if (this.partial === null) {
      let value = this.headValue;
      while (this.headLen < LENGTH_SIZE && pos < chunk.length) value |= chunk[pos++]! << (8 * this.headLen++);
      this.headValue = value;
      if (this.headLen < LENGTH_SIZE) return -1;
      const length = value >>> 0;
      this.checkLength(length);
      this.startPartial(length, LENGTH_SIZE + chunk.length - pos);
      writeU32(this.partial!, 0, length);
      this.partialLen = LENGTH_SIZE;
      this.headLen = 0;
      this.headValue = 0;
    }
    const take = Math.min(this.partialSize - this.partialLen, chunk.length - pos);
    let frame = this.partial!;
    if (this.partialLen + take > frame.length) {
      const grown = new Uint8Array(Math.min(this.partialSize, Math.max(frame.length * 2, this.partialLen + take)));
      grown.set(frame.subarray(0, this.partialLen), 0);
      this.partial = frame = grown;
    }
    frame.set(chunk.subarray(pos, pos + take), this.partialLen);
    this.partialLen += take;
    pos += take;
    if (this.partialLen < this.partialSize) return -1;
    const size = this.partialSize;
    this.partial = null;
    this.partialLen = 0;
    if (sink.onFrame(readU32(frame, LENGTH_SIZE), frame, 0, size) === false) {
      this.stopped = true;
      return -1;
    }
    return pos;
  }

  /** Starts assembling a frame of `length` (its Length field), with room for `have` bytes at first. */
  private startPartial(length: number, have: number): void {
    this.partialSize = LENGTH_SIZE + length;
    this.partial = new Uint8Array(Math.min(this.partialSize, Math.max(MIN_PARTIAL, 2 * have)));
    this.partialLen = 0;
  }

  private checkLength(length: number): void {
    if (length < MIN_LENGTH) {
      this.stop();
      throw new ProtocolError('ERR_FRAME_TOO_SHORT', `frame Length ${length} is below ${CONN_ID_SIZE}`);
    }
    if (length > this.maxPacketSize) {
      this.stop();
      throw new ProtocolError('ERR_FRAME_TOO_LARGE', `frame Length ${length} is over maxPacketSize ${this.maxPacketSize}`);
    }
  }
}

/** A decoded frame, for code that wants objects rather than a {@link FrameSink}. */
export interface Frame {
  connId: number;
  /** The message bytes (a view). */
  message: Uint8Array;
}

/** Decodes every complete frame of `bytes` into objects; convenient in tests and tools, not on hot paths. */
export function decodeFrames(bytes: Uint8Array, maxPacketSize = DEFAULT_MAX_PACKET_SIZE): { frames: Frame[]; rest: number } {
  const decoder = new FrameDecoder(maxPacketSize);
  const frames: Frame[] = [];
  decoder.push(bytes, {
    onFrame(connId, buf, start, end) {
      frames.push({ connId, message: buf.subarray(start + HEADER_SIZE, end) });
    },
  });
  return { frames, rest: decoder.bufferedBytes };
}
