import { OutputArena } from './output-arena.js';
import type { Peer } from './peer.js';

/** Arena blocks (see OutputArena): their size, and how many are kept for the next turn (4 MiB). */
const ARENA_BLOCK_SIZE = 64 * 1024;
const ARENA_MAX_FREE_BLOCKS = 64;

/**
 * The writes of one event-loop turn: every peer that was queued a frame during the turn is
 * flushed once, at its end (one socket write per peer per turn), with the arena the
 * batches are merged into and read buffers' frames are copied into (see ReadTurn).
 */
export class WriteTurn {
  /** Where frames are copied when their read buffer is reused, and batches are merged (one turn at a time). */
  readonly arena = new OutputArena(ARENA_BLOCK_SIZE, ARENA_MAX_FREE_BLOCKS);
  /**
   * The peers to flush at the end of this turn, `#dirty[0..#count)`, and a second list that
   * takes their place while they are flushed (peers queued meanwhile wait for the next
   * flush). The two are swapped, never reallocated or resized: no allocation per turn.
   */
  #dirty: (Peer | null)[] = [];
  #count = 0;
  #flushing: (Peer | null)[] = [];
  #immediate: ReturnType<typeof setImmediate> | null = null;
  readonly #flushAll = (): void => {
    this.#immediate = null;
    const peers = this.#dirty;
    const n = this.#count;
    this.#dirty = this.#flushing;
    this.#flushing = peers;
    this.#count = 0;
    for (let i = 0; i < n; i++) {
      const peer = peers[i]!;
      peers[i] = null;
      peer.flush(this.arena);
    }
    // Frames queued while flushing wait for the next flush: their arena bytes must stay.
    this.arena.endTurn(this.#count > 0);
  };

  /** `peer` queued its first frame of this turn: it is flushed at the end of the turn. */
  schedule(peer: Peer): void {
    this.#dirty[this.#count++] = peer;
    if (this.#immediate === null) this.#immediate = setImmediate(this.#flushAll);
  }

  /** Drops what is scheduled and releases the arena (the gateway is closed). */
  dispose(): void {
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    this.#dirty.fill(null, 0, this.#count);
    this.#count = 0;
    this.arena.dispose();
  }
}
