import type { OutputArena } from './output-arena.js';
import type { Peer } from './peer.js';

/**
 * The lifetime of one read out of the shared read buffer (see shared-read-buffer.ts): frames
 * decoded from it are queued for their destinations as views, with no copy; before the
 * buffer is reused, the views still queued are copied into the arena. This object is the
 * one place that knows which chunk is being read and which peers borrowed views of it.
 *
 * {@link begin} a read, {@link noteQueued} each frame queued while it lasts (one comparison
 * for a frame that is not a view of it), {@link end} it once decoded.
 */
export class ReadTurn {
  /** The chunk being decoded when it is the reused read buffer, else null. */
  #chunk: Uint8Array | null = null;
  /** Peers that queued views of {@link #chunk}; they copy them out at {@link end}. */
  readonly #borrowers: (Peer | null)[] = [];
  /** How many of {@link #borrowers} are this read's (the array keeps its length: no resize per read). */
  #borrowed = 0;

  constructor(private readonly arena: OutputArena) {}

  /** A read of the shared buffer begins: `chunk` is reused once {@link end} is called. */
  begin(chunk: Uint8Array): void {
    this.#chunk = chunk;
  }

  /** `to` queued a frame that lies in `buf`; a view of the chunk being read makes it a borrower. */
  noteQueued(to: Peer, buf: Uint8Array): void {
    if (buf === this.#chunk && to.borrow()) this.#borrowers[this.#borrowed++] = to;
  }

  /** The read is decoded: every borrower copies its views of the chunk out, so the buffer may be reused. */
  end(): void {
    const chunk = this.#chunk;
    this.#chunk = null;
    if (chunk === null) return;
    const borrowers = this.#borrowers;
    const n = this.#borrowed;
    this.#borrowed = 0;
    for (let i = 0; i < n; i++) {
      borrowers[i]!.detach(chunk, this.arena);
      borrowers[i] = null;
    }
  }
}
