import type { Peer } from './peer.js';

/**
 * Server connections by server ID (docs/protocol.md §4.1). Several connections may hold one ID
 * (a rolling restart): the most recently registered one takes new dials; when it leaves,
 * the most recent of those remaining takes the ID back.
 */
export class ServerRegistry {
  private readonly byId = new Map<number, Peer[]>();
  private count = 0;

  /** Server connections registered (two connections of one ID count twice). */
  get size(): number {
    return this.count;
  }

  /** Registers `peer` under its ID; it becomes the one new dials reach. */
  add(peer: Peer): void {
    const list = this.byId.get(peer.id);
    if (list === undefined) this.byId.set(peer.id, [peer]);
    else list.push(peer);
    this.count++;
  }

  /** Removes `peer`; returns false when it was not registered. */
  remove(peer: Peer): boolean {
    const list = this.byId.get(peer.id);
    if (list === undefined) return false;
    const at = list.lastIndexOf(peer);
    if (at < 0) return false;
    list.splice(at, 1);
    if (list.length === 0) this.byId.delete(peer.id);
    this.count--;
    return true;
  }

  /** The connection that new dials of `serverId` reach, if any. */
  route(serverId: number): Peer | undefined {
    const list = this.byId.get(serverId);
    return list === undefined ? undefined : list[list.length - 1];
  }

  /** Every registered connection. */
  *peers(): IterableIterator<Peer> {
    for (const list of this.byId.values()) yield* list;
  }
}
