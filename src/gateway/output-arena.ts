/**
 * Memory a gateway copies outgoing bytes into during one event-loop turn: frames that must
 * outlive the read buffer they arrived in, and small batches merged into one write.
 *
 * It hands out space from fixed-size blocks and frees nothing piece by piece. At the end of
 * the turn's flush, every block whose bytes have all been handed to the kernel (on a
 * connected socket nearly always so) goes back to a free list and is used again, so a busy
 * gateway copies into the same few blocks turn after turn instead of allocating, and later
 * collecting, a buffer per read or per write. A block that a write still in progress refers
 * to is {@link pin}ned and left to that write (the garbage collector frees it once the write
 * completes). Blocks are small, so what a backed-up socket holds on to stays small too.
 */
/** How often spare blocks are let go: every this many ms, down to what the busiest turn since needed. */
const TRIM_INTERVAL_MS = 250;

/**
 * `bytes` bytes of uninitialised memory as a plain Uint8Array, not a Buffer: views of it
 * (`subarray`, made for every write) then come from V8's own fast path rather than from
 * Buffer's, which makes each through a JavaScript constructor.
 */
function uninitialised(bytes: number): Uint8Array {
  const b = Buffer.allocUnsafe(bytes);
  return new Uint8Array(b.buffer, b.byteOffset, bytes);
}

export class OutputArena {
  private block: Uint8Array;
  private used = 0;
  /** Blocks filled earlier in this turn. */
  private readonly full: Uint8Array[] = [];
  private readonly free: Uint8Array[] = [];
  private readonly pinned = new Set<Uint8Array>();
  /** The most blocks one turn used since the last trim. */
  private mostUsed = 0;
  private trimTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly onTrimTimer = (): void => {
    this.trimTimer = null;
    this.trim();
    if (this.free.length > 0) this.scheduleTrim();
  };

  /**
   * @param blockSize bytes per block; a larger request gets a buffer of its own.
   * @param maxFree most blocks kept for reuse between turns. Every 250 ms the spare ones are
   *   cut to what the busiest turn since then used, so a quiet gateway gives them all back.
   */
  constructor(
    readonly blockSize: number,
    private readonly maxFree: number,
  ) {
    this.block = uninitialised(blockSize);
  }

  /** The block the last {@link append} or {@link reserve} went into. */
  get buffer(): Uint8Array {
    return this.block;
  }

  /** Copies `src[start..end)` in; returns its offset in {@link buffer}. */
  append(src: Uint8Array, start: number, end: number): number {
    const at = this.reserve(end - start);
    this.block.set(src.subarray(start, end), at);
    return at;
  }

  /** Makes room for `bytes` bytes the caller writes; returns their offset in {@link buffer}. */
  reserve(bytes: number): number {
    if (this.used + bytes > this.block.length) {
      if (bytes > this.blockSize) {
        // Larger than a block: a buffer of its own, never reused.
        this.full.push(this.block);
        this.block = uninitialised(bytes);
        this.used = bytes;
        this.pinned.add(this.block);
        return 0;
      }
      this.full.push(this.block);
      this.block = this.free.pop() ?? uninitialised(this.blockSize);
      this.used = 0;
    }
    const at = this.used;
    this.used = at + bytes;
    return at;
  }

  /** Blocks kept for reuse (not counting the one in use). */
  get spareBlocks(): number {
    return this.free.length;
  }

  /**
   * Cuts the spare blocks to the most one turn used since the last trim (none after a quiet
   * stretch). Runs every 250 ms on its own while there are spare blocks.
   */
  trim(): void {
    if (this.free.length > this.mostUsed) this.free.length = this.mostUsed;
    this.mostUsed = 0;
  }

  /** Lets every spare block go and cancels the trim timer (the gateway is closing). */
  dispose(): void {
    if (this.trimTimer !== null) clearTimeout(this.trimTimer);
    this.trimTimer = null;
    this.free.length = 0;
  }

  private scheduleTrim(): void {
    this.trimTimer = setTimeout(this.onTrimTimer, TRIM_INTERVAL_MS);
    this.trimTimer.unref();
  }

  /** A write still in progress refers to `buf`: if it is a block of this turn, it is not reused. */
  pin(buf: Uint8Array): void {
    this.pinned.add(buf);
  }

  /**
   * Ends the turn: every block of it that is not pinned is free again. `keepAll`: bytes
   * handed out are still queued for a later turn, so no block of this turn is reused.
   */
  endTurn(keepAll: boolean): void {
    const { full, free, pinned } = this;
    if (this.used === 0 && full.length === 0) {
      pinned.clear();
      return;
    }
    const used = full.length + 1;
    if (used > this.mostUsed) this.mostUsed = used;
    for (let i = 0; i < full.length; i++) {
      const b = full[i]!;
      if (!keepAll && b.length === this.blockSize && !pinned.has(b) && free.length < this.maxFree) free.push(b);
    }
    full.length = 0;
    if (free.length > 0 && this.trimTimer === null) this.scheduleTrim();
    if (keepAll || pinned.has(this.block) || this.block.length !== this.blockSize) {
      this.block = free.pop() ?? uninitialised(this.blockSize);
    }
    this.used = 0;
    pinned.clear();
  }
}
