import type { Server, Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { InvalidOptionError, ListenError, ProtocolError, type ProtocolErrorCode } from '../errors.js';
import { CommandType, commandFrameSize, parseCommand, type Command, encodeNew, encodePing, writeCommand } from '../protocol/command.js';
import { createChallenge, HANDSHAKE_REPLY_SIZE, verifyHandshakeReply, decodeHandshakeReply } from '../protocol/handshake.js';
import type { GatewaySocket } from './gateway-socket.js';
import { rejectUnknownKeys } from '../known-keys.js';
import { IdAllocator } from './id-allocator.js';
import { LogRateLimiter } from './log-rate-limiter.js';
import { type AuthKeysUpdate, type GatewayOptions, resolveAuthKeys, type ResolvedGatewayOptions, resolveGatewayOptions } from './options.js';
import { BusyPoller } from './busy-poller.js';
import { OutputArena } from './output-arena.js';
import { sharedReadSupported, startReading } from './shared-read-buffer.js';
import { Peer, PeerKind, PeerState } from './peer.js';
import { Route } from './route.js';
import { bindError, parseListenAddress } from './listen-address.js';
import { ServerRegistry } from './server-registry.js';
import { type DisconnectReason, emptyStats, type GatewayStats, type RefuseReason } from './stats.js';
import { CLIENT_TLS_HANDSHAKE_TIMEOUT_MS, createSocketListener, resolveTls, secureContextOptions, type ServerTlsOptions, type TlsOptions } from './tls.js';
import { createWebSocketListener, maxWebSocketPayload } from './websocket-listener.js';
import { admitAtAccept, ClientAdmission } from './client-admission.js';

/** An address a listener is bound to. */
export interface BoundAddress {
  host: string;
  port: number;
}

/** Where to listen, as `host:port` (port 0 picks a free port). Omit a listener to not open it. */
export interface ListenAddresses {
  client?: string;
  server?: string;
  /** The WebSocket client listener (WSS when `client.tls` is set); see `client.webSocket`. */
  clientWs?: string;
}

/**
 * The addresses {@link Gateway.listen} bound, by listener: one for each address it was
 * given. For `listen({ client: '0.0.0.0:7000' })` the type is `{ client: BoundAddress }`,
 * so `bound.client.port` needs no `!`; an address that may be `undefined` gives
 * `BoundAddress | undefined`.
 */
export type BoundAddresses<A extends ListenAddresses = ListenAddresses> = {
  -readonly [K in keyof A & keyof ListenAddresses]-?: undefined extends A[K] ? BoundAddress | undefined : BoundAddress;
};

/** New certificates for {@link Gateway.updateTls}; a listener not named keeps its own. */
export interface TlsUpdate {
  client?: TlsOptions;
  server?: ServerTlsOptions;
}

/** What the log says when a game client seems to have connected to the server listener. */
const CLIENT_ON_SERVER_PORT = "this looks like a game client on the gateway's server port (it sent New instead of a handshake reply); clients connect to the client port";
/** The frame a client endpoint sends first (its first dial's New). */
const CLIENT_NEW = encodeNew();

/** Whether handshake bytes begin with a client's New frame rather than a reply. */
function startsWithClientNew(bytes: Uint8Array): boolean {
  if (bytes.length < CLIENT_NEW.length) return false;
  for (let i = 0; i < CLIENT_NEW.length; i++) if (bytes[i] !== CLIENT_NEW[i]) return false;
  return true;
}

/** Sweeps per ping interval: silence is measured in quarters of the interval. */
const SWEEPS_PER_INTERVAL = 4;
/** Open(0), Close and Ping frames never change: encoded once. */
const PING = encodePing();
/** Size of the buffers the gateway writes its own commands into. */
const COMMAND_SLAB_SIZE = 16 * 1024;
/** Arena blocks (see OutputArena): their size, and how many are kept for the next turn (4 MiB). */
const ARENA_BLOCK_SIZE = 64 * 1024;
const ARENA_MAX_FREE_BLOCKS = 64;
/** The largest command frame (Dial and Accept). */
const MAX_COMMAND_FRAME = commandFrameSize(CommandType.Accept);

/**
 * The fastway gateway: accepts game clients and game servers and carries virtual
 * connections between them (PROTOCOL.md).
 *
 * It never crashes on what a peer sends: a protocol error closes that one physical
 * connection, is logged with the remote address and counted in {@link Gateway.stats}.
 * It never buffers without bound: a client that does not read is disconnected past
 * `client.sendQueue`; a server over `server.sendQueue` pauses the clients sending to it.
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
  /** Client connections held, in all and per address (`client.maxClients`, `client.maxClientsPerIp`). */
  private readonly admission: ClientAdmission;

  private readonly counters: GatewayStats = emptyStats();
  private readonly clients = new Map<number, Peer>();
  private readonly servers = new ServerRegistry();
  /** Server connections still in their handshake. */
  private readonly handshaking = new Set<Peer>();
  private readonly routes = new Map<number, Route>();
  /** Pending ConnID → the peer it is reserved for. */
  private readonly pendingOwners = new Map<number, Peer>();
  private readonly clientIds = new IdAllocator((id) => this.clients.has(id));
  private readonly connIds = new IdAllocator((id) => this.routes.has(id) || this.pendingOwners.has(id));
  private readonly listeners: Server[] = [];
  /** TLS listeners by side, for {@link updateTls}. */
  private readonly tlsListeners: { side: 'client' | 'server'; server: TlsServer }[] = [];
  private readonly sweeping = new Set<PeerKind>();
  /** Sockets taken over and not yet closed; {@link close} waits for them. */
  private openSockets = 0;
  private socketsGoneWaiters: (() => void)[] = [];
  private readonly sweepTimers: ReturnType<typeof setInterval>[] = [];
  private readonly command: Command = { type: 0, connId: 0, remoteId: 0 };
  private readonly logLimiter = new LogRateLimiter();
  private commandSlab = Buffer.allocUnsafe(COMMAND_SLAB_SIZE);
  private commandOffset = 0;

  private dirty: Peer[] = [];
  private flushImmediate: ReturnType<typeof setImmediate> | null = null;
  private readonly flushAll = (): void => {
    this.flushImmediate = null;
    const peers = this.dirty;
    this.dirty = [];
    for (let i = 0; i < peers.length; i++) peers[i]!.flush(this.arena);
    // Frames queued while flushing wait for the next flush: their arena bytes must stay.
    this.arena.endTurn(this.dirty.length > 0);
  };
  /** Where frames are copied when their read buffer is reused, and batches are merged (one turn at a time). */
  private readonly arena = new OutputArena(ARENA_BLOCK_SIZE, ARENA_MAX_FREE_BLOCKS);
  /** The chunk being decoded when it is a reused read buffer, else null. */
  private transient: Uint8Array | null = null;
  /** Peers that queued views of {@link transient}; they copy them out before it is reused. */
  private readonly borrowers: Peer[] = [];
  /** Polls on after reads (`busyPollMicros`); null when off. */
  private busyPoller: BusyPoller | null;
  private closing: Promise<void> | null = null;
  /** Whether the read path has been logged (once per gateway, at its first TCP listener). */
  private readPathLogged = false;
  private drainStarted = false;
  private liveEmptyWaiters: (() => void)[] = [];

  constructor(options: GatewayOptions) {
    this.resolved = resolveGatewayOptions(options);
    this.admission = new ClientAdmission(this.resolved.client.maxClients, this.resolved.client.maxClientsPerIp);
    this.busyPoller = this.options.busyPollMicros > 0 ? new BusyPoller(this.options.busyPollMicros) : null;
  }

  /** True once {@link drain} has begun: new virtual connections are refused. */
  get draining(): boolean {
    return this.drainStarted;
  }

  /** True while the gateway has at least one listener open and is neither draining nor closed. */
  get ready(): boolean {
    return this.listeners.length > 0 && !this.draining && this.closing === null;
  }

  /** A snapshot of the gateway's counters and gauges. */
  get stats(): GatewayStats {
    const c = this.counters;
    return {
      ...c,
      clients: this.clients.size,
      servers: this.servers.size,
      liveConnections: this.routes.size,
      pendingConnections: this.pendingOwners.size,
      dialsRefused: { ...c.dialsRefused },
      clientsRefused: { ...c.clientsRefused },
      protocolErrors: { ...c.protocolErrors },
    };
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
    const result: { client?: BoundAddress; server?: BoundAddress; clientWs?: BoundAddress } = {};
    const opened: Server[] = [];
    const { client, server } = this.options;
    const onTlsError = (side: 'client' | 'server') => (err: Error, remote: string) => this.tlsFailed(side, err, remote);
    try {
      if (addresses.client !== undefined) {
        const listener = createSocketListener(client.tls, CLIENT_TLS_HANDSHAKE_TIMEOUT_MS, (s) => this.handleClientSocket(s), onTlsError('client'), this.admitClient);
        opened.push(await this.openListener(listener, addresses.client, 'client'));
        result.client = boundAddress(listener);
        this.startSweep(PeerKind.Client);
      }
      if (addresses.server !== undefined) {
        const listener = createSocketListener(server.tls, server.authTimeout, (s) => this.handleServerSocket(s), onTlsError('server'));
        opened.push(await this.openListener(listener, addresses.server, 'server'));
        result.server = boundAddress(listener);
        this.startSweep(PeerKind.Server);
      }
      if (addresses.clientWs !== undefined) {
        const listener = createWebSocketListener(
          { ...client.webSocket, tls: client.tls, maxPayload: maxWebSocketPayload(this.options.maxPacketSize) },
          (s) => this.handleClientSocket(s),
          (remote, status, reason) => this.upgradeRefused(remote, status, reason),
          onTlsError('client'),
          this.admitClient,
        );
        opened.push(await this.openListener(listener, addresses.clientWs, 'client WebSocket'));
        result.clientWs = boundAddress(listener);
        this.startSweep(PeerKind.Client);
      }
    } catch (err) {
      for (const listener of opened) {
        listener.close();
        this.forgetListener(listener);
      }
      throw err;
    }
    if (!this.readPathLogged && (result.client !== undefined || result.server !== undefined)) {
      this.readPathLogged = true;
      this.logReadPath();
    }
    return result as BoundAddresses<A>; // a key for each address given (checked above, one by one)
  }

  /**
   * Says once, at info, how this Node reads plain TCP sockets: into the shared buffer, or
   * (where its internals lack the mechanism) through 'data' events, which allocates per read
   * and is slower, so a user whose figures differ sees why.
   */
  private logReadPath(): void {
    const readPath = sharedReadSupported ? 'shared-buffer' : 'data-events';
    const msg = sharedReadSupported
      ? 'plain TCP sockets read into one shared buffer'
      : 'this Node lacks the shared-buffer read mechanism: plain TCP sockets read through data events (slower)';
    this.options.logger.info({ event: 'read_path', readPath, node: process.version }, msg);
  }

  /**
   * Replaces the certificates of the TLS listeners (for a renewal; a reload on SIGHUP).
   * Connections already up keep theirs; new ones get the new. Checks everything before
   * changing anything.
   * @throws InvalidOptionError when a certificate, key or CA is unusable, or names a listener
   *   that was not configured with TLS, or adds or drops `server.tls.ca`.
   */
  updateTls(update: TlsUpdate): void {
    const client = resolveTls('client.tls', update.client, false);
    const server = resolveTls('server.tls', update.server, true);
    if (client !== null && this.options.client.tls === null) throw new InvalidOptionError('client.tls', 'the client listeners were not configured with TLS');
    if (server !== null && this.options.server.tls === null) throw new InvalidOptionError('server.tls', 'the server listener was not configured with TLS');
    if (server !== null && (server.ca === undefined) !== (this.options.server.tls!.ca === undefined)) {
      throw new InvalidOptionError('server.tls.ca', 'mutual TLS cannot be turned on or off by a reload: give a CA exactly when the gateway started with one');
    }
    for (const { side, server: listener } of this.tlsListeners) {
      const tls = side === 'client' ? client : server;
      if (tls !== null) listener.setSecureContext(secureContextOptions(tls));
    }
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
   * Takes over an accepted client connection (what the client listener does for each
   * connection; other listeners, such as WebSocket, hand theirs in the same way).
   */
  handleClientSocket(socket: GatewaySocket): void {
    if (!this.admit(socket)) return;
    const peer = new Peer(this, PeerKind.Client, socket, this.options.maxPacketSize);
    peer.id = this.clientIds.allocate();
    this.clients.set(peer.id, peer);
    this.counters.clientsAccepted++;
    attach(socket, peer, onFrameData);
    startReading(socket, onSharedRead);
    this.options.logger.info({ event: 'client_accepted', clientId: peer.id, remote: peer.remote }, 'client accepted');
  }

  /** Takes over an accepted server connection: sends the challenge and waits for the reply. */
  handleServerSocket(socket: Socket): void {
    if (!this.admit(socket)) return;
    const peer = new Peer(this, PeerKind.Server, socket, this.options.maxPacketSize);
    this.handshaking.add(peer);
    peer.challenge = createChallenge();
    peer.authTimer = setTimeout(authTimedOut, this.options.server.authTimeout, peer);
    attach(socket, peer, onHandshakeData);
    startReading(socket, onSharedRead);
    socket.write(peer.challenge);
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
    this.drainStarted = true;
    this.options.logger.info({ event: 'drain_started', liveConnections: this.routes.size, timeoutMs }, 'draining');
    const listenersClosed = this.listeners.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (this.routes.size > 0) {
      await new Promise<void>((resolve) => {
        this.liveEmptyWaiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    const left = this.routes.size;
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
      const listenersClosed = this.listeners.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      for (const server of this.listeners) {
        if ('closeAllConnections' in server) (server as { closeAllConnections(): void }).closeAllConnections();
      }
      for (const timer of this.sweepTimers) clearInterval(timer);
      this.sweepTimers.length = 0;
      for (const peer of [...this.handshaking, ...this.clients.values(), ...this.servers.peers()]) {
        this.disconnect(peer, 'gateway_closing');
      }
      const socketsClosed =
        this.openSockets === 0 ? undefined : new Promise<void>((resolve) => this.socketsGoneWaiters.push(resolve));
      await Promise.all([...listenersClosed, socketsClosed]);
      if (this.flushImmediate) clearImmediate(this.flushImmediate);
      this.flushImmediate = null;
      this.busyPoller?.stop();
      this.busyPoller = null;
      this.arena.dispose();
      this.dirty = [];
      this.listeners.length = 0;
      this.tlsListeners.length = 0;
      this.sweeping.clear();
      this.notifyIfNoRoutes();
    })();
    return this.closing;
  }

  // ---- Internal: called by Peer and the socket handlers. ----

  /** @internal Queues `peer` for the flush at the end of this turn. */
  scheduleFlush(peer: Peer): void {
    this.dirty.push(peer);
    if (this.flushImmediate === null) this.flushImmediate = setImmediate(this.flushAll);
  }

  /** @internal Routes one decoded frame from `from`. */
  route(from: Peer, connId: number, buf: Uint8Array, start: number, end: number): void {
    if (connId === 0) {
      this.handleCommand(from, buf, start, end);
      return;
    }
    const route = this.routes.get(connId);
    if (route === undefined) {
      this.counters.staleFrames++;
      this.sendCommand(from, CommandType.Close, connId, 0, from);
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

  /**
   * Queues a frame for `to` because of what `from` sent, and applies the send-queue bounds
   * (PROTOCOL.md §8) to every frame alike, forwarded or the gateway's own answer. When the
   * backlog of `to` (written, not yet taken) is over its bound: a client is dropped as a slow
   * consumer; a server makes the gateway stop reading from `from` until it drains. A peer
   * whose own commands' answers pile up (it floods commands faster than it reads) is not
   * dropped but paused the same way, so its flood slows down to its reading. What one turn
   * adds before these checks can act is bounded by what one turn reads.
   */
  private sendRange(to: Peer, buf: Uint8Array, start: number, end: number, from: Peer): void {
    if (!to.enqueue(buf, start, end)) return;
    if (buf === this.transient && !to.borrowing) {
      to.borrowing = true;
      this.borrowers.push(to);
    }
    const bound = this.sendQueueOf(to);
    if (to === from) {
      // Answers to its own commands: counted with this turn's, so its reading stops at once.
      if (to.queued > bound) this.congest(to, to);
    } else if (to.backlog > bound || to.socket.writableLength > this.sendBufferOf(to)) {
      if (to.isClient) this.slowConsumer(to);
      else this.congest(to, from);
    }
  }

  /**
   * Sends one of the gateway's own commands. Commands are written one after another into a
   * shared buffer that is never rewritten (a new one starts when it is full), so answering
   * costs no allocation, and a run of answers to one peer goes out as one range.
   */
  private sendCommand(to: Peer, type: CommandType, connId: number, remoteId: number, from: Peer): void {
    const start = this.putCommand(type, connId, remoteId);
    this.sendRange(to, this.commandSlab, start, this.commandOffset, from);
  }

  /** Writes a command frame at the end of the command buffer; it spans [returned start, commandOffset). */
  private putCommand(type: CommandType, connId: number, remoteId: number): number {
    if (this.commandOffset + MAX_COMMAND_FRAME > this.commandSlab.length) {
      this.commandSlab = Buffer.allocUnsafe(COMMAND_SLAB_SIZE);
      this.commandOffset = 0;
    }
    const start = this.commandOffset;
    this.commandOffset += writeCommand(this.commandSlab, start, type, connId, remoteId);
    return start;
  }

  private sendQueueOf(peer: Peer): number {
    return peer.isClient ? this.options.client.sendQueue : this.options.server.sendQueue;
  }

  /** The byte bound of `peer`'s backlog (`client.sendBuffer`, `server.sendBuffer`): bytes written, not yet taken by the kernel. */
  private sendBufferOf(peer: Peer): number {
    return peer.isClient ? this.options.client.sendBuffer : this.options.server.sendBuffer;
  }

  /** @internal A congested peer's write completed: resume its senders once it is half drained. */
  maybeRelieve(server: Peer): void {
    if (server.backlog > this.sendQueueOf(server) >>> 1 || server.socket.writableLength > this.sendBufferOf(server) / 2) return;
    server.congested = false;
    const blocked = server.blockedSenders;
    if (blocked === null) return;
    for (const sender of blocked) {
      if (--sender.pausedBy === 0 && sender.state !== PeerState.Closed) sender.socket.resume();
    }
    blocked.clear();
  }

  /** @internal The socket of `peer` failed; its 'close' follows. */
  socketFailed(peer: Peer, err: Error): void {
    if (err instanceof ProtocolError) this.protocolError(peer, err); // a WebSocket client's message broke the rules
    else this.disconnect(peer, 'socket_error', err);
  }

  /** @internal The socket of `peer` closed. */
  socketClosed(peer: Peer): void {
    this.disconnect(peer, 'remote_closed');
    if (--this.openSockets === 0 && this.socketsGoneWaiters.length > 0) {
      const waiters = this.socketsGoneWaiters;
      this.socketsGoneWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** @internal A read into the shared read buffer (see shared-read-buffer.ts): `chunk` is gone after this call. */
  readInto(peer: Peer, chunk: Uint8Array): void {
    if (peer.state === PeerState.Open) this.receive(peer, chunk, true);
    else if (peer.state === PeerState.Handshake) this.handshakeData(peer, chunk, true);
  }

  /** @internal The handshake bytes of a server connection; `transient` as for {@link receive}. */
  handshakeData(peer: Peer, chunk: Uint8Array, transient = false): void {
    const have = peer.handshakeBuf === null ? 0 : peer.handshakeBuf.length;
    const need = HANDSHAKE_REPLY_SIZE - have;
    let reply: Uint8Array;
    if (have === 0 && chunk.length >= HANDSHAKE_REPLY_SIZE) {
      reply = chunk.subarray(0, HANDSHAKE_REPLY_SIZE);
    } else {
      const joined = new Uint8Array(have + Math.min(need, chunk.length));
      if (peer.handshakeBuf !== null) joined.set(peer.handshakeBuf, 0);
      joined.set(chunk.subarray(0, Math.min(need, chunk.length)), have);
      if (joined.length < HANDSHAKE_REPLY_SIZE) {
        peer.handshakeBuf = joined;
        return;
      }
      reply = joined;
    }
    const rest = chunk.subarray(need);
    peer.handshakeBuf = null;
    if (peer.authTimer) clearTimeout(peer.authTimer);
    peer.authTimer = null;
    const claimedId = decodeHandshakeReply(reply).serverId;
    const { authKey, authKeysById } = this.options.server;
    const serverId = verifyHandshakeReply(peer.challenge!, reply, authKeysById.get(claimedId) ?? authKey);
    peer.challenge = null;
    if (serverId === null) {
      this.counters.authFailures++;
      if (startsWithClientNew(reply)) {
        this.logLimited('warn', peer.remote, { event: 'server_rejected', remote: peer.remote, reason: 'wrong key', hint: CLIENT_ON_SERVER_PORT }, `server rejected: ${CLIENT_ON_SERVER_PORT}`);
      } else {
        this.logLimited('warn', peer.remote, { event: 'server_rejected', remote: peer.remote, serverId: claimedId, reason: 'wrong key' }, 'server rejected: wrong auth key');
      }
      this.disconnect(peer, 'auth_failed');
      return;
    }
    this.handshaking.delete(peer);
    peer.id = serverId;
    peer.state = PeerState.Open;
    this.servers.add(peer);
    this.counters.serversAuthenticated++;
    peer.socket.removeListener('data', onHandshakeData);
    peer.socket.on('data', onFrameData);
    this.options.logger.info({ event: 'server_authenticated', serverId, remote: peer.remote }, 'server authenticated');
    if (rest.length > 0) this.receive(peer, rest, transient);
  }

  /**
   * @internal Feeds received bytes to the peer's decoder; a framing error closes the peer.
   * `transient`: `chunk` is a read buffer that is reused once this returns, so frames queued
   * as views of it are copied out first.
   */
  receive(peer: Peer, chunk: Uint8Array, transient = false): void {
    peer.heard = true;
    this.busyPoller?.activity();
    if (transient) this.transient = chunk;
    try {
      peer.decoder.push(chunk, peer);
    } catch (err) {
      if (err instanceof ProtocolError) this.protocolError(peer, err);
      else this.internalError(peer, err);
    }
    if (transient) {
      this.transient = null;
      const borrowers = this.borrowers;
      for (let i = 0; i < borrowers.length; i++) borrowers[i]!.detach(chunk, this.arena);
      borrowers.length = 0;
    }
  }

  /** @internal The auth timer of a server in its handshake fired. */
  authTimeout(peer: Peer): void {
    peer.authTimer = null;
    if (peer.state !== PeerState.Handshake) return;
    this.counters.authTimeouts++;
    if (peer.handshakeBuf !== null && startsWithClientNew(peer.handshakeBuf)) {
      this.logLimited('warn', peer.remote, { event: 'server_rejected', remote: peer.remote, reason: 'auth timeout', hint: CLIENT_ON_SERVER_PORT }, `server rejected: ${CLIENT_ON_SERVER_PORT}`);
    } else {
      this.logLimited('warn', peer.remote, { event: 'server_rejected', remote: peer.remote, reason: 'auth timeout' }, 'server rejected: handshake timed out');
    }
    this.disconnect(peer, 'auth_timeout');
  }

  // ---- Commands ----

  private handleCommand(from: Peer, buf: Uint8Array, start: number, end: number): void {
    let cmd: Command;
    try {
      cmd = parseCommand(buf, start, end, 'gateway', this.command);
    } catch (err) {
      this.protocolError(from, err as ProtocolError);
      return;
    }
    switch (cmd.type) {
      case CommandType.New:
        this.open(from);
        break;
      case CommandType.Dial:
        this.dial(from, cmd.connId, cmd.remoteId);
        break;
      case CommandType.Close:
        this.closeCommand(from, cmd.connId);
        break;
      case CommandType.Ping:
        break; // activity only; never answered (that would loop)
    }
  }

  private open(from: Peer): void {
    const max = from.isClient ? this.options.client.maxPending : this.options.server.maxPending;
    if (from.pendingCount >= max || this.drainStarted) {
      this.counters.opensRefused++;
      this.sendCommand(from, CommandType.Open, 0, 0, from);
      return;
    }
    const connId = this.connIds.allocate();
    this.pendingOwners.set(connId, from);
    (from.pending ??= new Set()).add(connId);
    this.sendCommand(from, CommandType.Open, connId, 0, from);
  }

  private dial(from: Peer, connId: number, remoteId: number): void {
    if (this.pendingOwners.get(connId) !== from) {
      this.refuse(from, connId, 'not_pending');
      return;
    }
    this.pendingOwners.delete(connId);
    from.pending!.delete(connId);
    if (this.drainStarted) {
      this.refuse(from, connId, 'draining');
      return;
    }
    const remote = from.isClient ? this.servers.route(remoteId) : this.clients.get(remoteId);
    if (remote === undefined || remote.state !== PeerState.Open) {
      this.refuse(from, connId, 'unknown_remote');
      return;
    }
    const client = from.isClient ? from : remote;
    const server = from.isClient ? remote : from;
    if (client.liveCount >= this.options.client.maxConn) {
      this.refuse(from, connId, 'client_limit');
      return;
    }
    const route = new Route(connId, client, server);
    this.routes.set(connId, route);
    (client.routes ??= new Set()).add(route);
    (server.routes ??= new Set()).add(route);
    this.counters.dialsAccepted++;
    this.sendCommand(from, CommandType.Accept, connId, remote.id, from);
    this.sendCommand(remote, CommandType.Accept, connId, from.id, from);
  }

  private refuse(from: Peer, connId: number, reason: RefuseReason): void {
    this.counters.dialsRefused[reason]++;
    this.sendCommand(from, CommandType.Refuse, connId, 0, from);
  }

  private closeCommand(from: Peer, connId: number): void {
    const route = this.routes.get(connId);
    if (route !== undefined) {
      const other = route.otherEnd(from);
      if (other === null) return; // not an end: changes nothing
      this.removeRoute(route);
      this.sendCommand(from, CommandType.Close, connId, 0, from);
      this.sendCommand(other, CommandType.Close, connId, 0, from);
      return;
    }
    if (this.pendingOwners.get(connId) === from) {
      this.pendingOwners.delete(connId);
      from.pending!.delete(connId);
    }
  }

  private removeRoute(route: Route): void {
    this.routes.delete(route.connId);
    route.client.routes?.delete(route);
    route.server.routes?.delete(route);
    this.notifyIfNoRoutes();
  }

  private notifyIfNoRoutes(): void {
    if (this.routes.size > 0 || this.liveEmptyWaiters.length === 0) return;
    const waiters = this.liveEmptyWaiters;
    this.liveEmptyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- Faults and teardown ----

  private protocolError(peer: Peer, err: ProtocolError): void {
    const code: ProtocolErrorCode = err.code;
    this.counters.protocolErrors[code] = (this.counters.protocolErrors[code] ?? 0) + 1;
    this.logLimited(
      'warn',
      peer.remote,
      { event: 'protocol_error', code, remote: peer.remote, kind: peer.isClient ? 'client' : 'server', id: peer.id, reason: err.message },
      'protocol error: connection closed',
    );
    this.disconnect(peer, 'protocol_error', err);
  }

  /** Logs a rejection, at most a few lines per remote IP address per window (see LogRateLimiter). */
  private logLimited(level: 'warn' | 'info', remote: string, obj: object, msg: string): void {
    const ip = remote.slice(0, remote.lastIndexOf(':'));
    const { log, suppressed } = this.logLimiter.allow(ip, Date.now());
    for (const [source, lines] of suppressed) {
      this.options.logger.warn({ event: 'log_suppressed', remote: source, lines }, 'repeated log lines from one address were suppressed');
    }
    if (log) this.options.logger[level](obj, msg);
  }

  private internalError(peer: Peer, err: unknown): void {
    this.options.logger.error({ event: 'internal_error', remote: peer.remote, err }, 'internal error: connection closed');
    this.disconnect(peer, 'socket_error', err instanceof Error ? err : new Error(String(err)));
  }

  private slowConsumer(client: Peer): void {
    this.counters.slowConsumerDisconnects++;
    this.logLimited(
      'warn',
      client.remote,
      { event: 'slow_consumer', clientId: client.id, remote: client.remote, queued: client.queued, bufferedBytes: client.socket.writableLength },
      'client disconnected: not reading fast enough',
    );
    this.disconnect(client, 'slow_consumer');
  }

  private congest(server: Peer, sender: Peer): void {
    server.congested = true;
    if (sender.state === PeerState.Closed) return;
    const blocked = (server.blockedSenders ??= new Set());
    if (blocked.has(sender)) return;
    blocked.add(sender);
    this.counters.backpressurePauses++;
    if (sender.pausedBy++ === 0) sender.socket.pause();
  }

  /** Tears `peer` down: releases its IDs, closes its virtual connections, destroys its socket. */
  private disconnect(peer: Peer, reason: DisconnectReason, err?: Error): void {
    if (peer.state === PeerState.Closed) return;
    const wasOpen = peer.state === PeerState.Open;
    peer.state = PeerState.Closed;
    peer.decoder.stop();
    peer.discardOutput();
    if (peer.authTimer) clearTimeout(peer.authTimer);
    peer.authTimer = null;
    if (peer.isClient) this.clients.delete(peer.id);
    else if (wasOpen) this.servers.remove(peer);
    else this.handshaking.delete(peer);
    if (peer.pending !== null) {
      for (const connId of peer.pending) this.pendingOwners.delete(connId);
      peer.pending = null;
    }
    if (peer.routes !== null) {
      for (const route of peer.routes) {
        this.routes.delete(route.connId);
        const other = route.client === peer ? route.server : route.client;
        other.routes?.delete(route);
        const start = this.putCommand(CommandType.Close, route.connId, 0);
        other.enqueue(this.commandSlab, start, this.commandOffset);
      }
      peer.routes = null;
      this.notifyIfNoRoutes();
    }
    if (peer.blockedSenders !== null) {
      for (const sender of peer.blockedSenders) {
        if (--sender.pausedBy === 0 && sender.state !== PeerState.Closed) sender.socket.resume();
      }
      peer.blockedSenders = null;
    }
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

  // ---- Listeners and liveness ----

  private admit(socket: GatewaySocket): boolean {
    if (this.closing || socket.destroyed) {
      socket.destroy();
      return false;
    }
    this.openSockets++;
    socket.setNoDelay(true);
    return true;
  }

  /** A failed TLS handshake (a server without a certificate signed by the CA, a scanner...). */
  private tlsFailed(side: 'client' | 'server', err: Error, remote: string): void {
    this.counters.tlsHandshakeFailures++;
    this.logLimited('info', remote, { event: 'tls_handshake_failed', listener: side, remote, err: err.message }, 'TLS handshake failed');
  }

  /** Every client TCP connection, at accept: `client.maxClients` and `client.maxClientsPerIp`. */
  private readonly admitClient = (raw: Socket): boolean =>
    admitAtAccept(this.admission, raw, (reason, remote) => {
      this.counters.clientsRefused[reason]++;
      this.logLimited('warn', remote, { event: 'client_refused', remote, reason }, 'client connection closed at accept: over a connection bound');
    });

  /** An HTTP request to the WebSocket listener that was not a usable upgrade. */
  private upgradeRefused(remote: string, status: number, reason: string): void {
    this.counters.webSocketUpgradesRefused++;
    this.logLimited('info', remote, { event: 'websocket_refused', remote, status, reason }, 'WebSocket upgrade refused');
  }

  private forgetListener(server: Server): void {
    const i = this.listeners.indexOf(server);
    if (i >= 0) this.listeners.splice(i, 1);
    const j = this.tlsListeners.findIndex((l) => l.server === server);
    if (j >= 0) this.tlsListeners.splice(j, 1);
  }

  private openListener(server: Server, address: string, which: 'client' | 'server' | 'client WebSocket'): Promise<Server> {
    const { host, port } = parseListenAddress(address, which);
    return new Promise<Server>((resolve, reject) => {
      server.on('error', (err: NodeJS.ErrnoException) => {
        if (!server.listening) {
          reject(bindError(which, address, err));
        } else {
          this.options.logger.error({ event: 'listener_error', listener: which, err: err.message }, 'listener error');
        }
      });
      server.listen({ host, port, backlog: this.options.listenBacklog }, () => {
        this.listeners.push(server);
        if ('setSecureContext' in server) this.tlsListeners.push({ side: which === 'server' ? 'server' : 'client', server: server as TlsServer });
        resolve(server);
      });
    });
  }

  private startSweep(kind: PeerKind): void {
    if (this.sweeping.has(kind)) return; // one sweep per kind, however many listeners
    this.sweeping.add(kind);
    const interval = kind === PeerKind.Client ? this.options.client.pingInterval : this.options.server.pingInterval;
    const timer = setInterval(() => this.sweep(kind), Math.max(1, Math.floor(interval / SWEEPS_PER_INTERVAL)));
    this.sweepTimers.push(timer);
  }

  /**
   * Runs every quarter ping interval: a peer silent for a whole interval gets a Ping; one
   * silent for two intervals is dropped. A peer paused because a server it sends to is
   * backed up is not judged; one paused for not reading its own answers is.
   */
  private sweep(kind: PeerKind): void {
    const peers = kind === PeerKind.Client ? this.clients.values() : this.servers.peers();
    const doomed: Peer[] = [];
    for (const peer of peers) {
      if (peer.heard || (peer.pausedBy > 0 && !peer.congested)) {
        peer.heard = false;
        peer.silentSweeps = 0;
        continue;
      }
      const silent = ++peer.silentSweeps;
      if (silent === SWEEPS_PER_INTERVAL) {
        this.counters.pingsSent++;
        peer.enqueue(PING, 0, PING.length);
      } else if (silent >= 2 * SWEEPS_PER_INTERVAL) {
        doomed.push(peer);
      }
    }
    for (const peer of doomed) {
      this.counters.silentPeersDropped++;
      this.options.logger.info({ event: 'peer_silent', remote: peer.remote, id: peer.id }, 'peer dropped: silent after a ping');
      this.disconnect(peer, 'ping_timeout');
    }
  }
}

// Socket handlers, defined once: `this` is the socket, its peer hangs off a symbol.
const kPeer = Symbol('fastway.peer');
type PeerSocket = GatewaySocket & { [kPeer]: Peer };

function attach(socket: GatewaySocket, peer: Peer, onData: (this: PeerSocket, chunk: Buffer) => void): void {
  (socket as PeerSocket)[kPeer] = peer;
  socket.on('data', onData);
  socket.on('error', onSocketError);
  socket.on('close', onSocketClose);
}

function onFrameData(this: PeerSocket, chunk: Buffer): void {
  const peer = this[kPeer];
  peer.gateway.receive(peer, chunk);
}

function onSharedRead(this: Socket, chunk: Uint8Array): void {
  const peer = (this as unknown as PeerSocket)[kPeer];
  peer.gateway.readInto(peer, chunk);
}

function onHandshakeData(this: PeerSocket, chunk: Buffer): void {
  const peer = this[kPeer];
  peer.gateway.handshakeData(peer, chunk);
}

function onSocketError(this: PeerSocket, err: Error): void {
  const peer = this[kPeer];
  peer.gateway.socketFailed(peer, err);
}

function onSocketClose(this: PeerSocket): void {
  const peer = this[kPeer];
  peer.gateway.socketClosed(peer);
}

function authTimedOut(peer: Peer): void {
  peer.gateway.authTimeout(peer);
}

function boundAddress(server: Server): BoundAddress {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new ListenError('ERR_LISTEN', 'listener has no TCP address');
  return { host: address.address, port: address.port };
}
