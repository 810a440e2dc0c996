/**
 * A first-in first-out queue on a ring buffer: `push` and `shift` in constant time, no
 * allocation once it has grown to its working size.
 */
export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private size = 0;

  /** `capacity`: the slots it starts with, a power of two (it doubles when full). */
  constructor(capacity = 8) {
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & (this.items.length - 1)] = item;
    this.size++;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.size--;
    return item;
  }

  /** The oldest item without removing it, or `undefined` when empty. */
  peek(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  /**
   * Removes `item` (the first occurrence), keeping the order of the rest; false when it is
   * not there. Linear: for the rare wait that is given up on, not for the common path.
   */
  remove(item: T): boolean {
    const mask = this.items.length - 1;
    for (let i = 0; i < this.size; i++) {
      if (this.items[(this.head + i) & mask] !== item) continue;
      for (let j = i; j < this.size - 1; j++) this.items[(this.head + j) & mask] = this.items[(this.head + j + 1) & mask];
      this.items[(this.head + this.size - 1) & mask] = undefined;
      this.size--;
      return true;
    }
    return false;
  }

  /** Calls `fn` with every item and its position (0: the oldest), oldest first. */
  forEach(fn: (item: T, index: number) => void): void {
    const mask = this.items.length - 1;
    for (let i = 0; i < this.size; i++) fn(this.items[(this.head + i) & mask]!, i);
  }

  /** Removes every item and returns them, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  private grow(): void {
    const old = this.items;
    const items = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.size; i++) items[i] = old[(this.head + i) & (old.length - 1)];
    this.items = items;
    this.head = 0;
  }
}
