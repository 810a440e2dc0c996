import type { Socket } from 'node:net';
import { InvalidOptionError, ListenError, ProtocolError } from '../errors.js';
import { rejectUnknownKeys } from '../known-keys.js';
import { encodePing } from '../protocol/command.js';
import { BusyPoller } from './busy-poller.js';
import { FlowControl } from './flow-control.js';
import type { GatewaySocket } from './gateway-socket.js';
import { IdAllocator } from './id-allocator.js';
import { LivenessSweep } from './liveness-sweep.js';
import { MessageRate, RateVerdict } from './message-rate.js';
import { type BoundAddresses, type ListenAddresses, Listeners, type TlsUpdate } from './listeners.js';
import { type AuthKeysUpdate, type GatewayOptions, resolveAuthKeys, type ResolvedGatewayOptions, resolveGatewayOptions } from './options.js';
import { Peer, type PeerHost, PeerKind, PeerState } from './peer.js';
import { ReadTurn } from './read-turn.js';
import type { Route } from './route.js';
import { RouteTable } from './route-table.js';
import { ServerHandshakes } from './server-handshake.js';
import { Rejections } from './rejections.js';
import { ServerRegistry } from './server-registry.js';
import { Signal } from './signal.js';
import { WriteTurn } from './write-turn.js';
import { type DisconnectReason, emptyStats, type GatewayStats, snapshotStats } from './stats.js';

export type { BoundAddress, BoundAddresses, ListenAddresses, TlsUpdate } from './listeners.js';

/** Ping frames never change: encoded once. */
const PING = encodePing();

/**
 * The fastway gateway: accepts game clients and game servers and carries virtual
 * connections between them (docs/protocol.md).
 *
 * It never crashes on what a peer sends: a protocol error closes that one physical
 * connection, is logged with the remote address and counted in {@link Gateway.stats}.
 * It never buffers without bound: a client that does not read is disconnected past
 * `client.sendQueue`; a server over `server.sendQueue` pauses the clients sending to it.
 *
 * This file holds the tables of peers (clients, servers), the forwarding of data frames,
 * the teardown and the liveness sweep; the virtual connections and the commands that
 * change them (route-table.ts), the listeners, the server handshake, flow control and the
 * read-buffer turn have files of their own (see docs/architecture.md).
 *
 * @example
 * const gateway = new Gateway({ server: { authKey: 'secret' } });
 * const { client, server } = await gateway.listen({ client: '0.0.0.0:7000', server: '10.0.0.1:7001' });
 * // ...
 * await gateway.close();
 */
export class Gateway {
  /** The options in force, defaults applied (the auth keys as last set by {@link updateAuthKeys}). */
  get options(): ResolvedGatewayOptions {
    return this.resolved;
  }

  private resolved: ResolvedGatewayOptions;

  private readonly counters: GatewayStats = emptyStats();
  private readonly clients = new Map<number, Peer>();
  private readonly servers = new ServerRegistry();
  /** Server connections still in their handshake. */
  private readonly handshakes: ServerHandshakes;
  /** Virtual connections, live and pending, and the commands that change them. */
  private readonly table: RouteTable;
  /** The table's live routes, held here too so a data frame's lookup is one field away, as it always was. */
  private readonly routes: Map<number, Route<Peer>>;
  private readonly clientIds = new IdAllocator((id) => this.clients.has(id));
  private readonly listeners: Listeners;
  /** The liveness sweeps running, by kind of peer. */
  private readonly sweeps = new Map<PeerKind, LivenessSweep>();
  /** Sockets taken over and not yet closed; {@link close} waits for them. */
  private openSockets = 0;
  private readonly socketsGone = new Signal();
  private readonly rejections: Rejections;

  /** The writes of this turn: who is flushed at its end, and the arena. */
  private readonly writes = new WriteTurn();
  /** The read of the shared read buffer being decoded, and who borrowed views of it. */
  private readonly reads = new ReadTurn(this.writes.arena);
  private readonly flow: FlowControl;
  /** All a peer may call back (see PeerHost): one object for every peer. */
  private readonly host: PeerHost;
  /** Polls on after reads (`busyPollMicros`); null when off. */
  private busyPoller: BusyPoller | null;
  private closing: Promise<void> | null = null;

  constructor(options: GatewayOptions) {
    this.resolved = resolveGatewayOptions(options);
    const { client, server, logger } = this.options;
    this.rejections = new Rejections(this.counters, logger);
    this.handshakes = new ServerHandshakes(server.authTimeout, () => this.resolved.server, (peer) => this.authTimeout(peer));
    this.busyPoller = this.options.busyPollMicros > 0 ? new BusyPoller(this.options.busyPollMicros) : null;
    this.flow = new FlowControl(client, server, this.counters, (peer) => {
      this.rejections.slowConsumer(peer);
      this.disconnect(peer, 'slow_consumer');
    });
    this.host = {
      received: (peer, chunk, transient) => this.received(peer, chunk, transient),
      frame: (peer, connId, buf, start, end) => this.route(peer, connId, buf, start, end),
      scheduleFlush: (peer) => this.writes.schedule(peer),
      written: (peer) => this.flow.written(peer),
      failed: (peer, err) => this.socketFailed(peer, err),
      closed: (peer) => this.socketClosed(peer),
      overRate: (peer, verdict) => this.overRate(peer, verdict),
    };
    this.table = new RouteTable(
      {
        sendRange: (to, buf, start, end, from) => this.sendRange(to, buf, start, end, from),
        remote: (from, remoteId) => (from.isClient ? this.servers.route(remoteId) : this.clients.get(remoteId)),
        protocolError: (from, err) => this.protocolError(from, err),
      },
      { clientMaxPending: client.maxPending, serverMaxPending: server.maxPending, clientMaxConn: client.maxConn },
      this.counters,
    );
    this.routes = this.table.routes;
    this.listeners = new Listeners(
      this.options,
      { clientSocket: (socket) => this.acceptClient(socket), serverSocket: (socket) => this.acceptServer(socket) },
      this.rejections,
    );
  }

  /** True once {@link drain} has begun: new virtual connections are refused. */
  get draining(): boolean {
    return this.table.draining;
  }

  /** True while the gateway has at least one listener open and is neither draining nor closed. */
  get ready(): boolean {
    return this.listeners.count > 0 && !this.draining && this.closing === null;
  }

  /** A snapshot of the gateway's counters and gauges. */
  get stats(): GatewayStats {
    return snapshotStats(this.counters, {
      clients: this.clients.size,
      servers: this.servers.size,
      liveConnections: this.table.live,
      pendingConnections: this.table.pending,
    });
  }

  /**
   * Opens the listeners named in `addresses` and resolves with the addresses they are bound
   * to. Rejects with a {@link ListenError} (`ERR_ADDRESS_IN_USE` when the port is taken),
   * closing any listener it opened.
   */
  async listen<A extends ListenAddresses>(addresses: A): Promise<BoundAddresses<A>> {
    if (this.closing) throw new ListenError('ERR_LISTEN', 'the gateway is closed');
    if (addresses === null || typeof addresses !== 'object') throw new InvalidOptionError('addresses', 'must be an object: { client?, server?, clientWs? }');
    rejectUnknownKeys(addresses, ['client', 'server', 'clientWs']);
    const bound = await this.listeners.listen(addresses);
    if (bound.client !== undefined || bound.clientWs !== undefined) this.startSweep(PeerKind.Client);
    if (bound.server !== undefined) this.startSweep(PeerKind.Server);
    return bound;
  }

  /**
   * Replaces the certificates of the TLS listeners (for a renewal; a reload on SIGHUP).
   * Connections already up keep theirs; new ones get the new. Checks everything before
   * changing anything.
   * @throws InvalidOptionError when a certificate, key or CA is unusable, or names a listener
   *   that was not configured with TLS, or adds or drops `server.tls.ca`.
   */
  updateTls(update: TlsUpdate): void {
    this.listeners.updateTls(update);
  }

  /**
   * Replaces the server auth keys (a rotation; a reload on SIGHUP). Every handshake from now
   * on is checked against the new keys; servers already authenticated stay connected.
   * @throws InvalidOptionError as the constructor does for `server.authKey` and `server.authKeysById`;
   *   the keys in force are then kept.
   */
  updateAuthKeys(keys: AuthKeysUpdate): void {
    const resolved = resolveAuthKeys(keys);
    this.resolved = { ...this.resolved, server: { ...this.resolved.server, ...resolved } };
  }

  /**
   * Graceful shutdown: stops accepting connections and refuses new virtual connections
   * (`Open(0)` to New, `Refuse` to Dial), lets live virtual connections go on until they
   * all close or `timeoutMs` passes, then closes everything as {@link close} does.
   * Resolves with the number of virtual connections that were still live at the deadline.
   */
  async drain(timeoutMs: number): Promise<number> {
    if (this.closing) {
      await this.closing;
      return 0;
    }
    this.table.draining = true;
    this.options.logger.info({ event: 'drain_started', liveConnections: this.table.live, timeoutMs }, 'draining');
    const listenersClosed = this.listeners.stopAccepting();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (this.table.live > 0) {
      await Promise.race([this.table.empty.wait(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    const left = this.table.live;
    await this.close();
    await Promise.all(listenersClosed);
    return left;
  }

  /**
   * Stops accepting connections, closes every connection, and resolves when every socket,
   * listener and timer is released. Safe to call more than once.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      const listenersClosed = this.listeners.close();
      for (const sweep of this.sweeps.values()) sweep.stop();
      for (const peer of [...this.handshakes.peers(), ...this.clients.values(), ...this.servers.peers()]) {
        this.disconnect(peer, 'gateway_closing');
      }
      const socketsClosed = this.openSockets === 0 ? undefined : this.socketsGone.wait();
      await Promise.all([...listenersClosed, socketsClosed]);
      this.busyPoller?.stop();
      this.busyPoller = null;
      this.writes.dispose();
      this.listeners.clear();
      this.sweeps.clear();
      this.table.empty.fire();
    })();
    return this.closing;
  }

  // ---- Accepting ----

  /** Takes over an accepted client connection (from the TCP, TLS or WebSocket listener). */
  private acceptClient(socket: GatewaySocket): void {
    if (!this.admit(socket)) return;
    const peer = new Peer(this.host, PeerKind.Client, socket, this.options.maxPacketSize);
    peer.open(this.clientIds.allocate());
    if (this.options.client.messageRate > 0) peer.limitRate(new MessageRate(this.options.client));
    this.clients.set(peer.id, peer);
    this.counters.clientsAccepted++;
    peer.startReading();
    this.options.logger.info({ event: 'client_accepted', clientId: peer.id, remote: peer.remote }, 'client accepted');
  }

  /** Takes over an accepted server connection: sends the challenge and waits for the reply. */
  private acceptServer(socket: Socket): void {
    if (!this.admit(socket)) return;
    const peer = new Peer(this.host, PeerKind.Server, socket, this.options.maxPacketSize);
    this.handshakes.start(peer);
    peer.startReading();
  }

  private admit(socket: GatewaySocket): boolean {
    if (this.closing || socket.destroyed) {
      socket.destroy();
      return false;
    }
    this.openSockets++;
    socket.setNoDelay(true);
    return true;
  }

  // ---- Reading ----

  /** Bytes from `peer`: the handshake reply of a server, or frames. */
  private received(peer: Peer, chunk: Uint8Array, transient: boolean): void {
    if (peer.state === PeerState.Open) this.decode(peer, chunk, transient);
    else if (peer.state === PeerState.Handshake) this.handshakeData(peer, chunk, transient);
  }

  /**
   * Feeds received bytes to the peer's decoder; a framing error closes the peer.
   * `transient`: `chunk` is a read buffer that is reused once this returns, so frames queued
   * as views of it are copied out first (see ReadTurn).
   */
  private decode(peer: Peer, chunk: Uint8Array, transient: boolean): void {
    this.busyPoller?.activity();
    if (transient) this.reads.begin(chunk);
    try {
      peer.decoder.push(chunk, peer);
    } catch (err) {
      if (err instanceof ProtocolError) this.protocolError(peer, err);
      else this.internalError(peer, err);
    }
    if (transient) this.reads.end();
  }

  /** Handshake bytes of a server connection; `transient` as for {@link decode}. */
  private handshakeData(peer: Peer, chunk: Uint8Array, transient: boolean): void {
    const outcome = this.handshakes.feed(peer, chunk);
    if (outcome === null) return;
    const { serverId, claimedId, rest } = outcome;
    if (serverId === null) {
      this.rejections.wrongKey(peer, claimedId, outcome.reply);
      this.disconnect(peer, 'auth_failed');
      return;
    }
    peer.open(serverId);
    this.servers.add(peer);
    this.counters.serversAuthenticated++;
    this.options.logger.info({ event: 'server_authenticated', serverId, remote: peer.remote }, 'server authenticated');
    if (rest.length > 0) this.decode(peer, rest, transient);
  }

  /** The auth timer of a server in its handshake fired. */
  private authTimeout(peer: Peer): void {
    if (peer.state !== PeerState.Handshake) return;
    this.rejections.authTimeout(peer, this.handshakes.received(peer));
    this.disconnect(peer, 'auth_timeout');
  }

  // ---- Dispatch ----

  /** One decoded frame from `from`: a command, or data for the other end of its virtual connection. */
  private route(from: Peer, connId: number, buf: Uint8Array, start: number, end: number): void {
    if (connId === 0) {
      this.table.handle(from, buf, start, end);
      return;
    }
    const route = this.routes.get(connId);
    if (route === undefined) {
      this.table.stale(from, connId);
      return;
    }
    let to: Peer;
    const c = this.counters;
    if (from === route.client) {
      to = route.server;
      c.framesClientToServer++;
      c.bytesClientToServer += end - start;
    } else if (from === route.server) {
      to = route.client;
      c.framesServerToClient++;
      c.bytesServerToClient += end - start;
    } else {
      c.forgedFrames++;
      this.protocolError(from, new ProtocolError('ERR_FORGED_CONN_ID', `data on virtual connection ${connId}, which it is not an end of`));
      return;
    }
    this.sendRange(to, buf, start, end, from);
  }

  /** Queues a frame for `to` because of what `from` sent, and applies the send-queue bounds (see FlowControl). */
  private sendRange(to: Peer, buf: Uint8Array, start: number, end: number, from: Peer): void {
    if (!to.enqueue(buf, start, end)) return;
    this.reads.noteQueued(to, buf);
    this.flow.queued(to, from);
  }

  // ---- Faults and teardown ----

  private protocolError(peer: Peer, err: ProtocolError): void {
    this.rejections.protocolError(peer, err);
    this.disconnect(peer, 'protocol_error', err);
  }

  private internalError(peer: Peer, err: unknown): void {
    this.options.logger.error({ event: 'internal_error', remote: peer.remote, err }, 'internal error: connection closed');
    this.disconnect(peer, 'socket_error', err instanceof Error ? err : new Error(String(err)));
  }

  /** A client went past its message rate: paused until it is within it again, or disconnected past the debt limit. */
  private overRate(peer: Peer, verdict: RateVerdict.Pause | RateVerdict.Disconnect): void {
    if (verdict === RateVerdict.Disconnect) {
      this.rejections.overRate(peer, true);
      this.disconnect(peer, 'rate_limit');
    } else if (peer.holdForRate()) {
      this.rejections.overRate(peer, false);
    }
  }

  /** The socket of `peer` failed; its 'close' follows. */
  private socketFailed(peer: Peer, err: Error): void {
    if (err instanceof ProtocolError) this.protocolError(peer, err); // a WebSocket client's message broke the rules
    else this.disconnect(peer, 'socket_error', err);
  }

  /** The socket of `peer` closed. */
  private socketClosed(peer: Peer): void {
    this.disconnect(peer, 'remote_closed');
    if (--this.openSockets === 0) this.socketsGone.fire();
  }

  /** Tears `peer` down: releases its IDs, closes its virtual connections, destroys its socket. */
  private disconnect(peer: Peer, reason: DisconnectReason, err?: Error): void {
    const was = peer.shutDown();
    if (was === null) return;
    const wasOpen = was === PeerState.Open;
    if (peer.isClient) this.clients.delete(peer.id);
    else if (wasOpen) this.servers.remove(peer);
    else this.handshakes.drop(peer);
    this.table.release(peer);
    this.flow.release(peer);
    if (peer.socket.closeFor !== undefined) peer.socket.closeFor(reason);
    else peer.socket.destroy();
    if (wasOpen) {
      const what = peer.isClient ? 'client' : 'server';
      this.options.logger.info(
        { event: `${what}_disconnected`, [peer.isClient ? 'clientId' : 'serverId']: peer.id, remote: peer.remote, reason, err: err?.message },
        `${what} disconnected`,
      );
    }
  }

  // ---- Liveness ----

  /** Starts the liveness sweep of `kind` (one per kind, however many listeners). */
  private startSweep(kind: PeerKind): void {
    if (this.sweeps.has(kind)) return;
    const isClient = kind === PeerKind.Client;
    const interval = isClient ? this.options.client.pingInterval : this.options.server.pingInterval;
    const peers = isClient ? () => this.clients.values() : () => this.servers.peers();
    this.sweeps.set(kind, new LivenessSweep(interval, peers, this.ping, this.dropSilent));
  }

  private readonly ping = (peer: Peer): void => {
    this.counters.pingsSent++;
    peer.enqueue(PING, 0, PING.length);
  };

  private readonly dropSilent = (peer: Peer): void => {
    this.counters.silentPeersDropped++;
    this.options.logger.info({ event: 'peer_silent', remote: peer.remote, id: peer.id }, 'peer dropped: silent after a ping');
    this.disconnect(peer, 'ping_timeout');
  };
}
