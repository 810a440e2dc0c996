/**
 * A live virtual connection as the gateway routes it: always between one client and one
 * server (clients dial servers, servers dial clients). Generic over the ends (the gateway's
 * peers), so that the peers, which list their routes, and the routes need not import each other.
 */
export class Route<End extends object> {
  constructor(
    readonly connId: number,
    readonly client: End,
    readonly server: End,
  ) {}

  /** The end that is not `from`, or `null` when `from` is not an end (a forgery). */
  otherEnd(from: End): End | null {
    if (from === this.client) return this.server;
    if (from === this.server) return this.client;
    return null;
  }
}
