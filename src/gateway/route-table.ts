/**
 * The gateway's table of virtual connections — live ones (routes) and reserved IDs
 * (pending) — and what peers' commands do to it: `New` reserves an ID, `Dial` connects two
 * peers or is refused, `Close` closes one; a peer torn down takes its own with it. The
 * gateway looks routes up on the forwarding path ({@link RouteTable.routes}) and hands
 * every command frame here.
 */
import type { ProtocolError } from '../errors.js';
import { type Command, CommandType, parseCommand } from '../protocol/command.js';
import { CommandSlab } from './command-slab.js';
import { IdAllocator } from './id-allocator.js';
import { type Peer, PeerState } from './peer.js';
import { Route } from './route.js';
import { Signal } from './signal.js';
import type { GatewayStats, RefuseReason } from './stats.js';

/** What the table asks of the gateway. */
export interface RouteTableHost {
  /** Queues `buf[start..end)` for `to` because of what `from` sent (the read turn and flow control apply). */
  sendRange(to: Peer, buf: Uint8Array, start: number, end: number, from: Peer): void;
  /** The peer a Dial of `from` names: a server by ID for a client, a client by ID for a server. */
  remote(from: Peer, remoteId: number): Peer | undefined;
  /** `from` sent a command that breaks the protocol. */
  protocolError(from: Peer, err: ProtocolError): void;
}

/** The bounds the table enforces (from the gateway's options). */
export interface RouteLimits {
  /** `client.maxPending`: IDs one client may hold reserved. */
  clientMaxPending: number;
  /** `server.maxPending`: IDs one server may hold reserved. */
  serverMaxPending: number;
  /** `client.maxConn`: live virtual connections per client. */
  clientMaxConn: number;
}

export class RouteTable {
  /** Live virtual connections by ConnID. */
  readonly routes = new Map<number, Route<Peer>>();
  /** Fired whenever the last live virtual connection goes (what a drain waits for). */
  readonly empty = new Signal();
  /** Set when the gateway drains: every New and Dial is refused. */
  draining = false;
  /** Reserved ConnID → the peer it is reserved for. */
  private readonly pendingOwners = new Map<number, Peer>();
  private readonly connIds = new IdAllocator((id) => this.routes.has(id) || this.pendingOwners.has(id));
  private readonly command: Command = { type: 0, connId: 0, remoteId: 0 };
  /** Where the gateway's own commands are written. */
  private readonly slab = new CommandSlab();

  constructor(
    private readonly host: RouteTableHost,
    private readonly limits: RouteLimits,
    private readonly counters: GatewayStats,
  ) {}

  /** Live virtual connections. */
  get live(): number {
    return this.routes.size;
  }

  /** Reserved IDs. */
  get pending(): number {
    return this.pendingOwners.size;
  }

  /** Data from `from` for a ConnID that is not live: counted, and answered with Close. */
  stale(from: Peer, connId: number): void {
    this.counters.staleFrames++;
    this.send(from, CommandType.Close, connId, 0, from);
  }

  /** A command frame (`buf[start..end)`, ConnID 0) from `from`. */
  handle(from: Peer, buf: Uint8Array, start: number, end: number): void {
    let cmd: Command;
    try {
      cmd = parseCommand(buf, start, end, 'gateway', this.command);
    } catch (err) {
      this.host.protocolError(from, err as ProtocolError);
      return;
    }
    if (cmd.type === CommandType.New) this.open(from);
    else if (cmd.type === CommandType.Dial) this.dial(from, cmd.connId, cmd.remoteId);
    else if (cmd.type === CommandType.Close) this.close(from, cmd.connId);
    // Ping: activity only; never answered (that would loop).
  }

  /**
   * `peer` is torn down: its reserved IDs are released, and each of its virtual
   * connections is closed, with a Close queued for the other end.
   */
  release(peer: Peer): void {
    const pending = peer.takePending();
    if (pending !== null) for (const connId of pending) this.pendingOwners.delete(connId);
    const routes = peer.takeRoutes();
    if (routes === null) return;
    for (const route of routes) {
      this.forget(route);
      const other = route.otherEnd(peer)!;
      other.removeRoute(route);
      const start = this.slab.put(CommandType.Close, route.connId, 0);
      other.enqueue(this.slab.buffer, start, this.slab.end);
    }
  }

  /** Sends one of the gateway's own commands (see CommandSlab) to `to`, because of what `from` sent. */
  private send(to: Peer, type: CommandType, connId: number, remoteId: number, from: Peer): void {
    const start = this.slab.put(type, connId, remoteId);
    this.host.sendRange(to, this.slab.buffer, start, this.slab.end, from);
  }

  private open(from: Peer): void {
    const max = from.isClient ? this.limits.clientMaxPending : this.limits.serverMaxPending;
    if (from.pendingCount >= max || this.draining) {
      this.counters.opensRefused++;
      this.send(from, CommandType.Open, 0, 0, from);
      return;
    }
    const connId = this.connIds.allocate();
    this.pendingOwners.set(connId, from);
    from.addPending(connId);
    this.send(from, CommandType.Open, connId, 0, from);
  }

  private dial(from: Peer, connId: number, remoteId: number): void {
    if (this.pendingOwners.get(connId) !== from) {
      this.refuse(from, connId, 'not_pending');
      return;
    }
    this.pendingOwners.delete(connId);
    from.removePending(connId);
    if (this.draining) {
      this.refuse(from, connId, 'draining');
      return;
    }
    const remote = this.host.remote(from, remoteId);
    if (remote === undefined || remote.state !== PeerState.Open) {
      this.refuse(from, connId, 'unknown_remote');
      return;
    }
    const client = from.isClient ? from : remote;
    const server = from.isClient ? remote : from;
    if (client.liveCount >= this.limits.clientMaxConn) {
      this.refuse(from, connId, 'client_limit');
      return;
    }
    const route = new Route(connId, client, server);
    this.routes.set(connId, route);
    client.addRoute(route);
    server.addRoute(route);
    this.counters.dialsAccepted++;
    this.send(from, CommandType.Accept, connId, remote.id, from);
    this.send(remote, CommandType.Accept, connId, from.id, from);
  }

  private refuse(from: Peer, connId: number, reason: RefuseReason): void {
    this.counters.dialsRefused[reason]++;
    this.send(from, CommandType.Refuse, connId, 0, from);
  }

  private close(from: Peer, connId: number): void {
    const route = this.routes.get(connId);
    if (route !== undefined) {
      const other = route.otherEnd(from);
      if (other === null) return; // not an end: changes nothing
      this.forget(route);
      other.removeRoute(route);
      from.removeRoute(route);
      this.send(from, CommandType.Close, connId, 0, from);
      this.send(other, CommandType.Close, connId, 0, from);
      return;
    }
    if (this.pendingOwners.get(connId) === from) {
      this.pendingOwners.delete(connId);
      from.removePending(connId);
    }
  }

  /** Takes `route` out of the table (its ends forget it themselves). */
  private forget(route: Route<Peer>): void {
    this.routes.delete(route.connId);
    if (this.routes.size === 0) this.empty.fire();
  }
}
