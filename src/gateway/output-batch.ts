import type { Socket } from 'node:net';

/** Batches up to this size are copied into one buffer; larger ones go out as views. */
const MAX_COALESCE_BYTES = 256 * 1024;
/** Frames up to this size are copied byte by byte (cheaper than making a view to copy from). */
const SMALL_FRAME = 96;
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
  private count = 0;
  private bytes = 0;
  /** Message counts of the writes not yet completed, oldest first from `head`. */
  private inFlight: number[] = [];
  private head = 0;

  /** Frames waiting for the next {@link writeTo}. */
  get size(): number {
    return this.count;
  }

  /** Adds `buf[start..end)`; the bytes must stay unchanged until {@link writeTo}. */
  add(buf: Uint8Array, start: number, end: number): void {
    const i = this.count++;
    this.bufs[i] = buf;
    this.starts[i] = start;
    this.ends[i] = end;
    this.bytes += end - start;
  }

  /** Writes the batch to `socket` (one write, or a corked run of views for a big batch). */
  writeTo(socket: Socket, onWritten: (err?: Error | null) => void): void {
    const n = this.count;
    if (n === 0) return;
    const { bufs, starts, ends } = this;
    this.pushInFlight(n);
    if (n === 1) {
      socket.write(bufs[0]!.subarray(starts[0]!, ends[0]!), onWritten);
    } else if (this.bytes <= MAX_COALESCE_BYTES) {
      const out = Buffer.allocUnsafe(this.bytes);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const b = bufs[i]!;
        const s = starts[i]!;
        const e = ends[i]!;
        if (e - s <= SMALL_FRAME) {
          for (let j = s; j < e; j++) out[off++] = b[j]!;
        } else {
          out.set(b.subarray(s, e), off);
          off += e - s;
        }
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
