import { Socket } from 'node:net';
import type { GatewaySocket } from './gateway-socket.js';

/**
 * Writes to a plain TCP socket straight through its handle, skipping the stream machinery
 * (`Writable.write`, a write request object, a `process.nextTick` and a callback per write).
 * Most writes of a busy gateway go to a socket with nothing queued and are taken by the
 * kernel at once; for those this is one native call. A write the kernel takes only in part
 * goes on asynchronously, queued by libuv behind nothing else (and anything written later,
 * by either path, is queued behind it), and reports its end through a callback.
 *
 * Node has no public API for this: the handle's `writeBuffer` takes a `WriteWrap` request,
 * whose class only `process.binding('stream_wrap')` exposes. Where it is missing (another
 * runtime, a future Node), {@link handleWriteSupported} is false and the gateway writes
 * through the stream as before.
 */

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

/** A `WriteWrap`: what the handle fills in and calls back when an asynchronous write ends. */
interface WriteRequest {
  handle: unknown;
  oncomplete: (this: WriteRequest, status: number) => void;
  /** Keeps the bytes alive while the kernel has not taken them. */
  buffer: Uint8Array | null;
  /** Ours: who to tell when the write ends. */
  done: ((status: number) => void) | null;
}

interface TcpHandle {
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
}

const binding: StreamWrapBinding | null = (() => {
  try {
    const get = (process as unknown as { binding?: (name: string) => unknown }).binding;
    if (typeof get !== 'function') return null;
    const b = get.call(process, 'stream_wrap') as Partial<StreamWrapBinding>;
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) || typeof b.kLastWriteWasAsync !== 'number') return null;
    return b as StreamWrapBinding;
  } catch {
    return null;
  }
})();

/** Where the handle says whether its last write went on asynchronously (read after every write: kept in constants, not looked up on the binding). */
const writeState: Int32Array = binding?.streamBaseState ?? new Int32Array(1);
const kLastWriteWasAsync: number = binding?.kLastWriteWasAsync ?? 0;

/** True when this Node lets {@link writeToHandle} write straight to TCP handles. */
export const handleWriteSupported = binding !== null;

/** What {@link writeToHandle} did. */
export const HandleWrite = {
  /** The kernel took every byte: the write is over. */
  Done: 0,
  /** The rest goes on asynchronously: `onDone` is called when it ends. */
  Pending: 1,
  /** Nothing was written: use `socket.write` (the socket is not a plain TCP one, is busy, or the write failed). */
  Unavailable: 2,
} as const;
export type HandleWrite = (typeof HandleWrite)[keyof typeof HandleWrite];

function onRequestComplete(this: WriteRequest, status: number): void {
  const done = this.done;
  this.done = null;
  this.buffer = null;
  done?.(status);
}

/** A request kept for the next write: a write that completes at once leaves it unused, so requests are made only for writes that go asynchronous. */
let spare: WriteRequest | null = null;

/**
 * Writes `data` to `socket`'s handle when the socket is a plain, connected TCP socket with
 * nothing queued in its stream (so the order of bytes cannot change). Returns
 * {@link HandleWrite.Done} when the kernel took all of it, {@link HandleWrite.Pending} when
 * the rest is being written (then `onDone(status)` is called once, status < 0 on failure;
 * `data` must stay unchanged until then), and {@link HandleWrite.Unavailable} when nothing
 * was written: the caller then writes through `socket.write`, which also reports an error
 * the way the socket's owner expects ('error', then 'close').
 */
export function writeToHandle(socket: GatewaySocket, data: Uint8Array, onDone: (status: number) => void): HandleWrite {
  if (binding === null || !(socket instanceof Socket)) return HandleWrite.Unavailable;
  const s = socket as Socket & { _handle: TcpHandle | null; encrypted?: boolean };
  if (s.encrypted === true || s.connecting || s.destroyed || s.writableLength !== 0 || s.writableCorked !== 0 || !s.writable) return HandleWrite.Unavailable;
  const handle = s._handle;
  if (handle === null || typeof handle.writeBuffer !== 'function') return HandleWrite.Unavailable;
  const req = spare ?? new binding.WriteWrap();
  spare = null;
  req.handle = handle;
  req.oncomplete = onRequestComplete;
  const err = handle.writeBuffer(req, data);
  if (err !== 0) {
    spare = req;
    return HandleWrite.Unavailable;
  }
  if (writeState[kLastWriteWasAsync] === 0) {
    spare = req;
    return HandleWrite.Done;
  }
  req.buffer = data;
  req.done = onDone;
  return HandleWrite.Pending;
}
