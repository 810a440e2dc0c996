import type { Peer } from './peer.js';

/**
 * A live virtual connection as the gateway routes it: always between one client and one
 * server (clients dial servers, servers dial clients).
 */
export class Route {
  constructor(
    readonly connId: number,
    readonly client: Peer,
    readonly server: Peer,
  ) {}

  /** The end that is not `from`, or `null` when `from` is not an end (a forgery). */
  otherEnd(from: Peer): Peer | null {
    if (from === this.client) return this.server;
    if (from === this.server) return this.client;
    return null;
  }
}
