import type { GatewaySocket } from './gateway-socket.js';
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { HandleWrite, writeToHandle } from './handle-write.js';
import type { OutputArena } from './output-arena.js';

/** A batch larger than an arena block whose runs average less than this is copied into one buffer rather than written as that many views. */
const MIN_VIEW_RUN = 1024;
const EMPTY = new Uint8Array(0);

function errnoName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return String(status);
  }
}

/**
 * The frames queued for one socket during one event-loop turn, written out together in one
 * write, and the message counts of the writes still in progress (what send-queue bounds
 * count). Frames are kept as (buffer, start, end) in parallel arrays reused across turns:
 * no allocation per frame.
 */
export class OutputBatch {
  private bufs: Uint8Array[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  /** Runs (slots used); one run may hold several adjacent frames. */
  private count = 0;
  /** Runs before this index were already looked at by {@link detach}. */
  private detached = 0;
  private messages = 0;
  private bytes = 0;
  /** Message counts of the writes not yet completed: `inFlight[head..tail)`, oldest first (the array is never shrunk: no length change per write). */
  private inFlight: number[] = [];
  private head = 0;
  private tail = 0;
  /** The socket written to and its write-completion callback (set at the first write). */
  private socket: GatewaySocket | null = null;
  private onWritten: ((err?: Error | null) => void) | null = null;
  private onHandleDone: ((status: number) => void) | null = null;


  /** Frames added since the last {@link writeTo}. */
  get unwritten(): number {
    return this.messages;
  }

  /**
   * Adds `buf[start..end)`; the bytes must stay unchanged until {@link writeTo}. A frame that
   * directly follows the previous one in the same buffer (a sender's run of frames to one
   * destination) extends it instead of taking a new slot.
   */
  add(buf: Uint8Array, start: number, end: number): void {
    this.bytes += end - start;
    this.messages++;
    const last = this.count - 1;
    if (last >= 0 && this.ends[last] === start && this.bufs[last] === buf) {
      this.ends[last] = end;
      return;
    }
    const i = this.count++;
    this.bufs[i] = buf;
    this.starts[i] = start;
    this.ends[i] = end;
  }

  /**
   * Writes the batch to `socket`: one range as it is; up to a block, copied together into
   * `arena`; larger, as a corked run of views (or one copy when its runs are small). A socket
   * that still holds earlier bytes gets a copy of its own, and a write that leaves bytes
   * behind pins the arena blocks it refers to, so a backed-up socket keeps little of the
   * arena to itself.
   */
  writeTo(socket: GatewaySocket, arena: OutputArena, onWritten: (err?: Error | null) => void): void {
    const n = this.count;
    if (n === 0) return;
    const { bufs, starts, ends, bytes } = this;
    this.pushInFlight(this.messages);
    // A write of an earlier turn still in progress (through the stream, or straight to the handle).
    const busy = socket.writableLength !== 0 || this.tail - this.head > 1;
    if (busy || (bytes > arena.blockSize && bytes < n * MIN_VIEW_RUN)) {
      this.send(socket, this.copyInto(Buffer.allocUnsafe(bytes), 0), null, arena, onWritten);
    } else if (n === 1) {
      this.send(socket, bufs[0]!.subarray(starts[0]!, ends[0]!), bufs[0]!, arena, onWritten);
    } else if (bytes <= arena.blockSize) {
      const at = arena.reserve(bytes);
      const block = arena.buffer;
      this.send(socket, this.copyInto(block, at), block, arena, onWritten);
    } else {
      socket.cork();
      for (let i = 0; i < n - 1; i++) socket.write(bufs[i]!.subarray(starts[i]!, ends[i]!));
      socket.write(bufs[n - 1]!.subarray(starts[n - 1]!, ends[n - 1]!), onWritten);
      socket.uncork();
      if (socket.writableLength !== 0) for (let i = 0; i < n; i++) arena.pin(bufs[i]!);
    }
    this.clear();
  }

  /**
   * One write of `data` (which lies in `owner`, an arena block or a read chunk, or in a buffer
   * of its own when `owner` is null): straight to the socket's handle when it can (see
   * handle-write.ts), else through the stream. A write that is not over when this returns
   * pins `owner`, so the arena does not hand its bytes out again meanwhile.
   */
  private send(socket: GatewaySocket, data: Uint8Array, owner: Uint8Array | null, arena: OutputArena, onWritten: (err?: Error | null) => void): void {
    this.onWritten = onWritten;
    this.socket = socket;
    const result = writeToHandle(socket, data, (this.onHandleDone ??= this.handleDone.bind(this)));
    if (result === HandleWrite.Done) {
      onWritten(null);
      return;
    }
    if (result === HandleWrite.Pending) {
      if (owner !== null) arena.pin(owner);
      return;
    }
    socket.write(data, onWritten);
    if (owner !== null && socket.writableLength !== 0) arena.pin(owner);
  }

  /** A write straight to the handle that went on asynchronously ended; a failed one destroys the socket, which then reports 'error' and 'close'. */
  private handleDone(status: number): void {
    if (status < 0) {
      // Only plain TCP sockets are written to straight (handle-write.ts).
      (this.socket as unknown as Socket | null)?.destroy(new Error(`write failed: ${errnoName(status)}`));
      this.onWritten?.(new Error('write failed'));
      return;
    }
    this.onWritten?.(null);
  }

  /** Copies the queued ranges one after another into `out` from `at`; returns the view of them. */
  private copyInto(out: Uint8Array, at: number): Uint8Array {
    const { bufs, starts, ends } = this;
    let off = at;
    for (let i = 0; i < this.count; i++) {
      const s = starts[i]!;
      const e = ends[i]!;
      out.set(bufs[i]!.subarray(s, e), off);
      off += e - s;
    }
    return at === 0 && off === out.length ? out : out.subarray(at, off);
  }

  /**
   * Copies the queued ranges that lie in `transient` (a read buffer about to be reused) into
   * `arena`, so the batch no longer depends on it. Ranges copied one after another into the
   * arena merge, so a destination fed by many reads in one turn still gets one range.
   */
  detach(transient: Uint8Array, arena: OutputArena): void {
    const { bufs, starts, ends } = this;
    // Ranges detached before lie in the arena or elsewhere already: only later ones can lie
    // in `transient` (the one before them may still merge with what is copied now).
    let last = this.detached - 1;
    for (let i = this.detached; i < this.count; i++) {
      let buf = bufs[i]!;
      let s = starts[i]!;
      let e = ends[i]!;
      if (buf === transient) {
        const at = arena.append(buf, s, e);
        buf = arena.buffer;
        e = at + (e - s);
        s = at;
      }
      if (last >= 0 && bufs[last] === buf && ends[last] === s) {
        ends[last] = e;
        continue;
      }
      last++;
      bufs[last] = buf;
      starts[last] = s;
      ends[last] = e;
    }
    for (let i = last + 1; i < this.count; i++) bufs[i] = EMPTY;
    this.count = last + 1;
    this.detached = this.count;
  }

  /** Drops the queued frames (their bytes are released). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.bufs[i] = EMPTY;
    this.count = 0;
    this.detached = 0;
    this.messages = 0;
    this.bytes = 0;
  }

  /** The oldest write in progress completed: returns how many messages it carried. */
  completeWrite(): number {
    if (this.head === this.tail) return 0;
    const messages = this.inFlight[this.head++]!;
    if (this.head === this.tail) this.head = this.tail = 0;
    return messages;
  }

  private pushInFlight(messages: number): void {
    if (this.head > 64 && this.head * 2 > this.tail) {
      this.inFlight.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    this.inFlight[this.tail++] = messages;
  }
}
