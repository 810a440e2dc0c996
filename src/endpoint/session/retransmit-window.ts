/**
 * The messages a resumable connection sent and the peer has not acknowledged yet, oldest
 * first, numbered from {@link RetransmitWindow.startSeq}. Bounded in messages and in bytes:
 * the session refuses a send that would go past either bound ({@link fits}) rather than
 * drop anything. Acknowledgements release from the front; a resume resends the rest.
 */
import { seqDistance } from './codec.js';

export class RetransmitWindow {
  /** Most messages held. */
  readonly maxMessages: number;
  /** Most bytes held (encoded messages, headers included). */
  readonly maxBytes: number;
  private items: (Uint8Array | undefined)[];
  private head = 0;
  private size = 0;
  private held = 0;
  private start: number;

  constructor(maxMessages: number, maxBytes: number, startSeq = 0) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
    this.start = startSeq >>> 0;
    let capacity = 8;
    while (capacity < Math.min(maxMessages, 1024)) capacity *= 2;
    this.items = new Array<Uint8Array | undefined>(capacity);
  }

  /** The sequence number of the oldest message held (the peer's last acknowledgement). */
  get startSeq(): number {
    return this.start;
  }

  /** The sequence number the next message pushed takes. */
  get nextSeq(): number {
    return (this.start + this.size) >>> 0;
  }

  /** Messages held. */
  get length(): number {
    return this.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** True when a message of `size` bytes may be pushed. An empty window takes any one message. */
  fits(size: number): boolean {
    if (this.size === 0) return true;
    return this.size < this.maxMessages && this.held + size <= this.maxBytes;
  }

  /** True at or past half of either bound: the point where `send()` starts asking the caller to wait. */
  get pressing(): boolean {
    return this.size * 2 >= this.maxMessages || this.held * 2 >= this.maxBytes;
  }

  /** Adds `message` as number {@link nextSeq}. The caller checked {@link fits}. */
  push(message: Uint8Array): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & (this.items.length - 1)] = message;
    this.size++;
    this.held += message.length;
  }

  /**
   * The peer acknowledged everything before `ack`: releases those messages and returns how
   * many. An `ack` before {@link startSeq} (an older acknowledgement overtaken by a newer
   * one) releases nothing and returns 0. Returns -1 (and changes nothing) when `ack` is past
   * {@link nextSeq}: a peer acknowledging what was never sent.
   */
  acknowledge(ack: number): number {
    const n = seqDistance(ack, this.start);
    if (n > this.size) return seqDistance(this.start, ack) < 0x80000000 ? 0 : -1;
    const mask = this.items.length - 1;
    for (let i = 0; i < n; i++) {
      this.held -= this.items[this.head]!.length;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) & mask;
    }
    this.size -= n;
    this.start = (this.start + n) >>> 0;
    return n;
  }

  /** Calls `fn` with every message held, oldest first (a resume's retransmission). */
  forEach(fn: (message: Uint8Array, seq: number) => void): void {
    const mask = this.items.length - 1;
    for (let i = 0; i < this.size; i++) fn(this.items[(this.head + i) & mask]!, (this.start + i) >>> 0);
  }

  /** Drops everything (the session ended). */
  clear(): void {
    this.items = new Array<Uint8Array | undefined>(8);
    this.head = 0;
    this.size = 0;
    this.held = 0;
  }

  private grow(): void {
    const old = this.items;
    const items = new Array<Uint8Array | undefined>(old.length * 2);
    for (let i = 0; i < this.size; i++) items[i] = old[(this.head + i) & (old.length - 1)];
    this.items = items;
    this.head = 0;
  }
}
