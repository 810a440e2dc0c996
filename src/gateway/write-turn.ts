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
  #dirty: Peer[] = [];
  #immediate: ReturnType<typeof setImmediate> | null = null;
  readonly #flushAll = (): void => {
    this.#immediate = null;
    const peers = this.#dirty;
    this.#dirty = [];
    for (let i = 0; i < peers.length; i++) peers[i]!.flush(this.arena);
    // Frames queued while flushing wait for the next flush: their arena bytes must stay.
    this.arena.endTurn(this.#dirty.length > 0);
  };

  /** `peer` queued its first frame of this turn: it is flushed at the end of the turn. */
  schedule(peer: Peer): void {
    this.#dirty.push(peer);
    if (this.#immediate === null) this.#immediate = setImmediate(this.#flushAll);
  }

  /** Drops what is scheduled and releases the arena (the gateway is closed). */
  dispose(): void {
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    this.#dirty = [];
    this.arena.dispose();
  }
}
