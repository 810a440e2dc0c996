import type { GatewaySocket } from './gateway-socket.js';

/** Batches up to this size are copied into one buffer (one write, one allocation); larger ones go out as a corked run of views. */
const MAX_COALESCE_BYTES = 4 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

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
  private messages = 0;
  private bytes = 0;
  /** Message counts of the writes not yet completed, oldest first from `head`. */
  private inFlight: number[] = [];
  private head = 0;


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

  /** Writes the batch to `socket` (one write, or a corked run of views for a big batch). */
  writeTo(socket: GatewaySocket, onWritten: (err?: Error | null) => void): void {
    const n = this.count;
    if (n === 0) return;
    const { bufs, starts, ends } = this;
    this.pushInFlight(this.messages);
    if (n === 1) {
      socket.write(bufs[0]!.subarray(starts[0]!, ends[0]!), onWritten);
    } else if (this.bytes <= MAX_COALESCE_BYTES) {
      const out = Buffer.allocUnsafe(this.bytes);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const s = starts[i]!;
        const e = ends[i]!;
        out.set(bufs[i]!.subarray(s, e), off);
        off += e - s;
      }
      socket.write(out, onWritten);
    } else {
      socket.cork();
      for (let i = 0; i < n - 1; i++) socket.write(bufs[i]!.subarray(starts[i]!, ends[i]!));
      socket.write(bufs[n - 1]!.subarray(starts[n - 1]!, ends[n - 1]!), onWritten);
      socket.uncork();
    }
    this.clear();
  }

  /** Drops the queued frames (their bytes are released). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.bufs[i] = EMPTY;
    this.count = 0;
    this.messages = 0;
    this.bytes = 0;
  }

  /** The oldest write in progress completed: returns how many messages it carried. */
  completeWrite(): number {
    const messages = this.inFlight[this.head++] ?? 0;
    if (this.head === this.inFlight.length) {
      this.inFlight.length = 0;
      this.head = 0;
    }
    return messages;
  }

  private pushInFlight(messages: number): void {
    if (this.head > 64 && this.head * 2 > this.inFlight.length) {
      this.inFlight.splice(0, this.head);
      this.head = 0;
    }
    this.inFlight.push(messages);
  }
}
