/**
 * Numbered traffic for resumable-session tests: message `i` of stream `stream` in direction
 * `dir` has a fixed size and content, so a receiver can check every message arrived
 * exactly once, in order, byte-exact — a duplicate, a gap, a reordering or a flipped byte
 * each fails at the message where it happens.
 */
import type { VirtualConnection } from '../../src/index.js';

/** Message `i` of `stream` going `dir` (0: client to server, 1: back). */
export function numbered(dir: number, stream: number, i: number): Uint8Array {
  const size = 12 + ((i * 37 + stream * 11 + dir * 5) % 97);
  const m = new Uint8Array(size);
  const v = new DataView(m.buffer);
  v.setUint32(0, dir, true);
  v.setUint32(4, stream, true);
  v.setUint32(8, i, true);
  for (let k = 12; k < size; k++) m[k] = (i * 131 + k * 7 + stream * 3 + dir) & 0xff;
  return m;
}

/** Which stream a first message (number 0) belongs to. */
export function streamOf(m: Uint8Array): number {
  return new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(4, true);
}

/** Throws unless `got` is exactly message `i` of `stream` going `dir`. */
export function check(got: Uint8Array, dir: number, stream: number, i: number): void {
  const want = numbered(dir, stream, i);
  let same = got.length === want.length;
  for (let k = 0; same && k < want.length; k++) same = got[k] === want[k];
  if (!same) {
    const v = new DataView(got.buffer, got.byteOffset, got.byteLength);
    const at = got.length >= 12 ? `stream ${v.getUint32(4, true)} message ${v.getUint32(8, true)}` : `${got.length} bytes`;
    throw new Error(`direction ${dir} stream ${stream}: expected message ${i}, got ${at}`);
  }
}

/** Sends messages `from`..`to - 1` of (`dir`, `stream`), waiting on backpressure. */
export async function sendNumbered(conn: VirtualConnection, dir: number, stream: number, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    if (!conn.send(numbered(dir, stream, i))) await conn.drained();
  }
}

/** Receives and checks messages `from`..`to - 1`. */
export async function receiveNumbered(conn: VirtualConnection, dir: number, stream: number, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) check(await conn.receive(), dir, stream, i);
}
