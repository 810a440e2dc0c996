import type { Socket } from 'node:net';

/**
 * Output helpers for the bench's echo servers and load clients.
 *
 * - {@link writeInTurn} coalesces writes per event-loop turn: the first write to a socket in
 *   a turn corks it, and one `setImmediate` uncorks every socket written to, so each goes out
 *   as one `writev`.
 * - {@link copyToSlab} copies bytes that live in a reused read buffer into a fresh region of a
 *   large slab, so they can be written later without one allocation per message.
 * - {@link sharedReadBuffer} is the one buffer every socket of the process reads into (the
 *   `onread` option): no allocation per read. Bytes in it are valid only during the read
 *   callback.
 */

const corked: Socket[] = [];
let scheduled = false;

function uncorkAll(): void {
  scheduled = false;
  for (let i = 0; i < corked.length; i++) corked[i]!.uncork();
  corked.length = 0;
}

/** Writes `bytes` (kept as is, not copied: the caller must not reuse them) in this turn's batch. */
export function writeInTurn(socket: Socket, bytes: Uint8Array): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
    if (!scheduled) {
      scheduled = true;
      setImmediate(uncorkAll);
    }
  }
  socket.write(bytes);
}

const SLAB_SIZE = 1024 * 1024;
let slab = Buffer.allocUnsafe(SLAB_SIZE);
let slabPos = 0;

/**
 * Reserves `length` bytes in the output slab and returns them as a view. Slab regions are
 * never handed out twice (a write may still hold an earlier one), so the caller must fill
 * every byte it writes.
 */
export function reserveInSlab(length: number): Buffer {
  if (slabPos + length > slab.length) {
    slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, length));
    slabPos = 0;
  }
  const view = slab.subarray(slabPos, slabPos + length);
  slabPos += length;
  return view;
}

/** Copies `bytes[start..end)` into the output slab and returns the copy. */
export function copyToSlab(bytes: Uint8Array, start: number, end: number): Buffer {
  const view = reserveInSlab(end - start);
  view.set(bytes.subarray(start, end), 0);
  return view;
}

/** The read buffer every socket of this process shares (see the module comment). */
export const sharedReadBuffer = Buffer.allocUnsafe(64 * 1024);
