import { MAX_U32 } from '../protocol/frame.js';

/**
 * Hands out non-zero u32 IDs in increasing order, wrapping after 2^32 - 1 and skipping IDs
 * still in use, so an ID is never given twice while it is alive.
 */
export class IdAllocator {
  private next = 1;

  /** @param inUse tells whether an ID is still taken. */
  constructor(private readonly inUse: (id: number) => boolean) {}

  /** The next free ID. The caller guarantees fewer than 2^32 - 1 are in use. */
  allocate(): number {
    let id = this.next;
    while (this.inUse(id)) id = id === MAX_U32 ? 1 : id + 1;
    this.next = id === MAX_U32 ? 1 : id + 1;
    return id;
  }
}
