import type { Server, Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { InvalidOptionError, ListenError } from '../errors.js';
import { admitAtAccept, ClientAdmission } from './client-admission.js';
import type { GatewaySocket } from './gateway-socket.js';
import { bindError, parseListenAddress } from './listen-address.js';
import type { ResolvedGatewayOptions } from './options.js';
import { ProxyHeaderGate } from './proxy-header-gate.js';
import type { ListenerSide, Rejections } from './rejections.js';
import { sharedReadSupported } from './shared-read-buffer.js';
import {
  CLIENT_TLS_HANDSHAKE_TIMEOUT_MS,
  createSocketListener,
  resolveTls,
  secureContextOptions,
  type ServerTlsOptions,
  type TlsErrorHandler,
  type TlsOptions,
} from './tls.js';
import { createWebSocketListener, maxWebSocketPayload } from './websocket-listener.js';

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

/** Where the listeners hand the connections they accept. */
export interface ListenerEvents {
  /** An accepted game client connection (TCP, TLS or WebSocket), usable at once. */
  clientSocket(socket: GatewaySocket): void;
  /** An accepted game server connection (TCP or TLS, past any TLS handshake). */
  serverSocket(socket: Socket): void;
}

type Which = 'client' | 'server' | 'client WebSocket';

/**
 * The gateway's listeners: the client TCP (or TLS) listener, the server listener and the
 * WebSocket client listener; how they are opened on their addresses, given new
 * certificates, and closed.
 */
export class Listeners {
  readonly #open: Server[] = [];
  /** TLS listeners by side, for {@link updateTls}. */
  readonly #tls: { side: ListenerSide; server: TlsServer }[] = [];

  /** Client connections held, in all and per address (`client.maxClients`, `client.maxClientsPerIp`), across the client listeners. */
  readonly #admission: ClientAdmission;
  /** Every client TCP connection, at accept: admitted, or closed and reported. */
  readonly #admitClient = (raw: Socket): boolean =>
    admitAtAccept(this.#admission, raw, (reason, remote) => this.rejections.clientRefused(reason, remote));
  /** The PROXY protocol gates of the client listeners (`client.proxyProtocol`), closed with them. */
  readonly #gates: ProxyHeaderGate[] = [];
  /** Whether the read path has been logged (once, at the first TCP listener). */
  #readPathLogged = false;

  constructor(
    private readonly options: ResolvedGatewayOptions,
    private readonly events: ListenerEvents,
    /** Where failed TLS handshakes and refused WebSocket upgrades are counted and logged. */
    private readonly rejections: Rejections,
  ) {
    this.#admission = new ClientAdmission(options.client.maxClients, options.client.maxClientsPerIp);
  }

  /** How many listeners are open. */
  get count(): number {
    return this.#open.length;
  }

  /**
   * Opens the listeners named in `addresses` and resolves with the addresses they are bound
   * to. Rejects with a {@link ListenError} (`ERR_ADDRESS_IN_USE` when the port is taken),
   * closing any listener it opened.
   */
  async listen<A extends ListenAddresses>(addresses: A): Promise<BoundAddresses<A>> {
    const result: { client?: BoundAddress; server?: BoundAddress; clientWs?: BoundAddress } = {};
    const opened: Server[] = [];
    const { client, server } = this.options;
    const { events } = this;
    const onTlsError = (side: ListenerSide): TlsErrorHandler => (err, remote) => this.rejections.tlsFailed(side, err, remote);
    try {
      if (addresses.client !== undefined) {
        const listener = createSocketListener(client.tls, CLIENT_TLS_HANDSHAKE_TIMEOUT_MS, (s) => events.clientSocket(s), onTlsError('client'), this.#admitClient);
        this.#gateProxyHeaders(listener);
        opened.push(await this.#bind(listener, addresses.client, 'client'));
        result.client = boundAddress(listener);
      }
      if (addresses.server !== undefined) {
        const listener = createSocketListener(server.tls, server.authTimeout, (s) => events.serverSocket(s), onTlsError('server'));
        opened.push(await this.#bind(listener, addresses.server, 'server'));
        result.server = boundAddress(listener);
      }
      if (addresses.clientWs !== undefined) {
        const listener = createWebSocketListener(
          { ...client.webSocket, tls: client.tls, maxPayload: maxWebSocketPayload(this.options.maxPacketSize) },
          (s) => events.clientSocket(s),
          (remote, status, reason) => this.rejections.upgradeRefused(remote, status, reason),
          onTlsError('client'),
          this.#admitClient,
        );
        this.#gateProxyHeaders(listener);
        opened.push(await this.#bind(listener, addresses.clientWs, 'client WebSocket'));
        result.clientWs = boundAddress(listener);
      }
    } catch (err) {
      for (const listener of opened) {
        listener.close();
        this.#forget(listener);
      }
      throw err;
    }
    if (!this.#readPathLogged && (result.client !== undefined || result.server !== undefined)) {
      this.#readPathLogged = true;
      this.#logReadPath();
    }
    return result as BoundAddresses<A>; // a key for each address given (checked above, one by one)
  }

  /** With `client.proxyProtocol`, puts a PROXY header gate in front of a client listener. */
  #gateProxyHeaders(listener: Server): void {
    const { proxyProtocol, proxyHeaderTimeout } = this.options.client;
    if (proxyProtocol === null) return;
    const onRefused = this.rejections.proxyRefused.bind(this.rejections);
    this.#gates.push(new ProxyHeaderGate(listener, proxyProtocol, proxyHeaderTimeout, onRefused));
  }

  /**
   * Says once, at info, how this Node reads plain TCP sockets: into the shared buffer, or
   * (where its internals lack the mechanism) through 'data' events, which allocates per read
   * and is slower, so a user whose figures differ sees why.
   */
  #logReadPath(): void {
    const readPath = sharedReadSupported ? 'shared-buffer' : 'data-events';
    const msg = sharedReadSupported
      ? 'plain TCP sockets read into one shared buffer'
      : 'this Node lacks the shared-buffer read mechanism: plain TCP sockets read through data events (slower)';
    this.options.logger.info({ event: 'read_path', readPath, node: process.version }, msg);
  }

  /**
   * Replaces the certificates of the TLS listeners. Checks everything before changing anything.
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
    for (const { side, server: listener } of this.#tls) {
      const tls = side === 'client' ? client : server;
      if (tls !== null) listener.setSecureContext(secureContextOptions(tls));
    }
  }

  /** Stops accepting; resolves when every listener has closed (their connections are the gateway's to close). */
  stopAccepting(): Promise<void>[] {
    return this.#open.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  }

  /** Stops accepting and cuts the connections the listeners still hold (WebSocket upgrades in progress). */
  close(): Promise<void>[] {
    const closed = this.stopAccepting();
    for (const gate of this.#gates) gate.closeAll();
    for (const server of this.#open) {
      if ('closeAllConnections' in server) (server as { closeAllConnections(): void }).closeAllConnections();
    }
    return closed;
  }

  /** Forgets every listener (after {@link close} resolved). */
  clear(): void {
    this.#open.length = 0;
    this.#tls.length = 0;
    this.#gates.length = 0;
  }

  #forget(server: Server): void {
    const i = this.#open.indexOf(server);
    if (i >= 0) this.#open.splice(i, 1);
    const j = this.#tls.findIndex((l) => l.server === server);
    if (j >= 0) this.#tls.splice(j, 1);
  }

  #bind(server: Server, address: string, which: Which): Promise<Server> {
    const { host, port } = parseListenAddress(address, which);
    return new Promise<Server>((resolve, reject) => {
      server.on('error', (err: NodeJS.ErrnoException) => {
        if (!server.listening) reject(bindError(which, address, err));
        else this.options.logger.error({ event: 'listener_error', listener: which, err: err.message }, 'listener error');
      });
      server.listen({ host, port, backlog: this.options.listenBacklog }, () => {
        this.#open.push(server);
        if ('setSecureContext' in server) this.#tls.push({ side: which === 'server' ? 'server' : 'client', server: server as TlsServer });
        resolve(server);
      });
    });
  }
}

function boundAddress(server: Server): BoundAddress {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new ListenError('ERR_LISTEN', 'listener has no TCP address');
  return { host: address.address, port: address.port };
}
