/**
 * The messages a resumable connection sent and the peer has not acknowledged yet, oldest
 * first, numbered from {@link RetransmitWindow.startSeq}. Bounded in messages and in bytes:
 * the session refuses a send that would go past either bound ({@link fits}) rather than
 * drop anything. Acknowledgements release from the front; a resume resends the rest.
 */
import { Deque } from '../deque.js';
import { seqDistance } from './codec.js';

export class RetransmitWindow {
  /** Most messages held. */
  readonly maxMessages: number;
  /** Most bytes held (encoded messages, headers included). */
  readonly maxBytes: number;
  private items: Deque<Uint8Array>;
  private held = 0;
  private start: number;

  constructor(maxMessages: number, maxBytes: number, startSeq = 0) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
    this.start = startSeq >>> 0;
    let capacity = 8;
    while (capacity < Math.min(maxMessages, 1024)) capacity *= 2;
    this.items = new Deque<Uint8Array>(capacity);
  }

  /** The sequence number of the oldest message held (the peer's last acknowledgement). */
  get startSeq(): number {
    return this.start;
  }

  /** The sequence number the next message pushed takes. */
  get nextSeq(): number {
    return (this.start + this.items.length) >>> 0;
  }

  /** Messages held. */
  get length(): number {
    return this.items.length;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** True when a message of `size` bytes may be pushed. An empty window takes any one message. */
  fits(size: number): boolean {
    const length = this.items.length;
    if (length === 0) return true;
    return length < this.maxMessages && this.held + size <= this.maxBytes;
  }

  /** True at or past half of either bound: the point where `send()` starts asking the caller to wait. */
  get pressing(): boolean {
    return this.items.length * 2 >= this.maxMessages || this.held * 2 >= this.maxBytes;
  }

  /** Adds `message` as number {@link nextSeq}. The caller checked {@link fits}. */
  push(message: Uint8Array): void {
    this.items.push(message);
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
    if (n > this.items.length) return seqDistance(this.start, ack) < 0x80000000 ? 0 : -1;
    for (let i = 0; i < n; i++) this.held -= this.items.shift()!.length;
    this.start = (this.start + n) >>> 0;
    return n;
  }

  /** Calls `fn` with every message held, oldest first (a resume's retransmission). */
  forEach(fn: (message: Uint8Array, seq: number) => void): void {
    const start = this.start;
    this.items.forEach((message, i) => fn(message, (start + i) >>> 0));
  }

  /** Drops everything (the session ended). */
  clear(): void {
    this.items = new Deque<Uint8Array>();
    this.held = 0;
  }
}
