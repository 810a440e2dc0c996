import { InvalidOptionError } from '../errors.js';
import { MIN_MAX_PACKET_SIZE } from '../protocol/command.js';
import { DEFAULT_MAX_PACKET_SIZE, LENGTH_SIZE, MAX_U32 } from '../protocol/frame.js';
import { integerOption as integer, type Range } from '../values/integer.js';
import { checkAtLeast, checkAtMost } from '../values/relation.js';
import { rejectUnknownKeys } from '../known-keys.js';
import { DEFAULT_AUTH_TIMEOUT_MS } from '../protocol/handshake.js';
import { type GatewayLogger, silentLogger } from './logger.js';
import { TrustedSources } from './trusted-sources.js';
import { type ResolvedTls, resolveTls, type ServerTlsOptions, type TlsOptions } from './tls.js';

/** Options of the WebSocket client listener (opened by `listen({ clientWs })`). */
export interface WebSocketListenerOptions {
  /** The request path upgraded to WebSocket; other paths get 404. @default '/' */
  path?: string;
  /**
   * `Origin`s allowed to connect (like `https://game.example.com`); an upgrade from another
   * origin gets 403. A request without `Origin` (not from a browser) is allowed. @default any
   */
  origins?: readonly string[];
}

/** Options of the client listener (game clients; faces the internet). */
export interface ClientListenerOptions {
  /** Live virtual connections one client may have at once (docs/protocol.md §5.2). @default 16 */
  maxConn?: number;
  /** Pending (opened, not yet dialed) IDs one client may hold; past it New gets `Open(0)`. @default 16 */
  maxPending?: number;
  /** Silence, in ms, after which the gateway pings; a second interval of silence drops the peer. @default 30000 */
  pingInterval?: number;
  /** Messages buffered for one client before it is disconnected as a slow consumer. @default 1024 */
  sendQueue?: number;
  /**
   * Bytes buffered for one client (written, not yet taken by the kernel) before it is
   * disconnected as a slow consumer; applied with `sendQueue`, whichever is reached first.
   * At least `maxPacketSize + 4` (one frame of the largest Length); unset, it is raised to
   * that when `maxPacketSize` needs it. @default 4194304 (4 MiB)
   */
  sendBuffer?: number;
  /**
   * Client connections the gateway holds at once, over the TCP, TLS and WebSocket listeners
   * together, counted from the TCP accept (TLS handshakes and upgrades in progress count);
   * past it a connection is closed at accept. 0: no bound. @default 0
   */
  maxClients?: number;
  /**
   * The same, per remote IP address (the player's, behind a trusted PROXY protocol header);
   * at most `maxClients` when both are set. 0: no bound. @default 0
   */
  maxClientsPerIp?: number;
  /**
   * The PROXY protocol (v1 and v2) on the client TCP/TLS listener and the WebSocket
   * listener, for a gateway behind an L4 balancer (HAProxy, an AWS NLB…): the addresses and
   * CIDR blocks of the balancers, like `['10.0.0.0/8', '192.0.2.7']`. When set, only these
   * may connect, and each connection must begin with a header (before any TLS or HTTP); the
   * player's address in it is the client's address for `maxClientsPerIp`, the stats and
   * every log line. A connection from another address, a malformed header or a header
   * that does not arrive in `proxyHeaderTimeout` is closed and counted. @default off
   */
  proxyProtocol?: readonly string[];
  /** Time, in ms, a connection from a trusted balancer has to send its whole PROXY header. @default 5000 */
  proxyHeaderTimeout?: number;
  /**
   * Messages (frames, commands included) one client may send a second, on average: a token
   * bucket of `messageBurst` tokens refilled at this rate. A client that goes beyond it has
   * its socket paused (one timer, no per-message cost) until it is back within the rate, so
   * a game server never sees more than this from one player. 0: no limit. @default 0
   */
  messageRate?: number;
  /** Messages a client may send at once before `messageRate` holds it back (the bucket's size). @default 100 */
  messageBurst?: number;
  /**
   * How many messages beyond its allowance a client may get (what arrives in one read, before
   * the pause takes effect, can go past it) before it is disconnected instead of paused. 0:
   * never disconnected for its rate, only paused. @default 0
   */
  messageDebtLimit?: number;
  /** Turns the client TCP listener into TLS and the WebSocket listener into WSS. @default plain */
  tls?: TlsOptions;
  /** The WebSocket client listener. */
  webSocket?: WebSocketListenerOptions;
}

/** Options of the server listener (game servers; keep it on a private network). */
export interface ServerListenerOptions {
  /**
   * Key(s) servers authenticate with. Several keys are accepted at once, for rotation.
   * Required and non-empty: the gateway never accepts servers without a key.
   */
  authKey: string | readonly string[];
  /**
   * Keys for particular server IDs. A server whose ID is listed here must authenticate with
   * one of its own keys (`authKey` is not accepted for it); other IDs use `authKey`.
   */
  authKeysById?: Readonly<Record<number, string | readonly string[]>>;
  /** Time, in ms, the whole server handshake may take. @default 3000 */
  authTimeout?: number;
  /** Pending (opened, not yet dialed) IDs one server connection may hold. @default 1024 */
  maxPending?: number;
  /** Silence, in ms, after which the gateway pings; a second interval of silence drops the peer. @default 30000 */
  pingInterval?: number;
  /** Messages buffered for one server before the gateway stops reading from its senders. @default 102400 */
  sendQueue?: number;
  /**
   * Bytes buffered for one server before the gateway stops reading from its senders; applied
   * with `sendQueue`, whichever is reached first. At least `maxPacketSize + 4`, like
   * `client.sendBuffer`. @default 67108864 (64 MiB)
   */
  sendBuffer?: number;
  /** Turns the server listener into TLS; with `ca`, servers must present a certificate signed by it. @default plain */
  tls?: ServerTlsOptions;
}

/** Options of {@link Gateway}. */
export interface GatewayOptions {
  /** Largest frame Length accepted or forwarded, in bytes. @default 524288 */
  maxPacketSize?: number;
  /** The client listener. */
  client?: ClientListenerOptions;
  /** The server listener; `server.authKey` is required. */
  server: ServerListenerOptions;
  /** Where connection events and rejections are logged (pino-compatible). @default silent */
  logger?: GatewayLogger;
  /**
   * After each read, keep polling for more input for this many microseconds instead of
   * letting the process sleep. On virtual machines waking a sleeping process costs tens of
   * microseconds per message; polling saves that on every message that arrives within the
   * window (the round trip of a lightly loaded gateway drops about 3×, see the README), at
   * the price of up to this much CPU time per read while traffic is sparse (a busy gateway
   * never sleeps anyway). 0 turns it off. @default 0
   */
  busyPollMicros?: number;
  /**
   * Connections the kernel may hold for each listener before the gateway accepts them (the
   * `listen(2)` backlog). When a gateway fails, its players reconnect to the others within a
   * second; a queue that overflows drops their connection attempts, and each waits for the
   * kernel's retransmit (1 s, then 3 s...). Linux caps it at `net.core.somaxconn` (4096 by
   * default since Linux 5.4): raise that too past it (docs/operating.md). @default 16384
   */
  listenBacklog?: number;
}

/** Options after defaults are applied and every value is checked. */
export interface ResolvedGatewayOptions {
  maxPacketSize: number;
  busyPollMicros: number;
  listenBacklog: number;
  client: Required<Omit<ClientListenerOptions, 'tls' | 'webSocket' | 'proxyProtocol'>> & {
    /** The balancers PROXY headers are believed from; null when the PROXY protocol is off. */
    proxyProtocol: TrustedSources | null;
    tls: ResolvedTls | null;
    webSocket: { path: string; origins: ReadonlySet<string> | null };
  };
  server: Required<Omit<ServerListenerOptions, 'authKey' | 'authKeysById' | 'tls'>> & {
    authKey: readonly string[];
    authKeysById: ReadonlyMap<number, readonly string[]>;
    tls: ResolvedTls | null;
  };
  logger: GatewayLogger;
}

/** Every default of the gateway, in one place. */
export const GATEWAY_DEFAULTS = {
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  busyPollMicros: 0,
  listenBacklog: 16_384,
  client: { maxConn: 16, maxPending: 16, pingInterval: 30_000, sendQueue: 1024, sendBuffer: 4 * 1024 * 1024, maxClients: 0, maxClientsPerIp: 0,
    proxyHeaderTimeout: 5000, messageRate: 0, messageBurst: 100, messageDebtLimit: 0 },
  server: { authTimeout: DEFAULT_AUTH_TIMEOUT_MS, maxPending: 1024, pingInterval: 30_000, sendQueue: 102_400, sendBuffer: 64 * 1024 * 1024 },
} as const;

/** Accepted ranges, shared by the class and the CLI's messages. */
export const GATEWAY_LIMITS = {
  maxPacketSize: { min: MIN_MAX_PACKET_SIZE, max: 64 * 1024 * 1024 },
  busyPollMicros: { min: 0, max: 10_000 },
  listenBacklog: { min: 1, max: 1_000_000 },
  maxConn: { min: 1, max: 65_535 },
  maxPending: { min: 1, max: 1_000_000 },
  pingInterval: { min: 10, max: 24 * 3600_000 },
  authTimeout: { min: 10, max: 600_000 },
  sendQueue: { min: 1, max: 100_000_000 },
  sendBuffer: { min: 64 * 1024, max: 4 * 1024 * 1024 * 1024 },
  maxClients: { min: 0, max: 100_000_000 },
  proxyHeaderTimeout: { min: 10, max: 600_000 },
  messageRate: { min: 0, max: 100_000_000 },
  messageBurst: { min: 1, max: 100_000_000 },
  messageDebtLimit: { min: 0, max: 100_000_000 },
} as const;

function authKeys(value: unknown, name = 'server.authKey'): readonly string[] {
  const keys = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string' && k.length > 0)) {
    throw new InvalidOptionError(name, 'is required: a non-empty string, or a non-empty array of non-empty strings');
  }
  return Object.freeze([...keys]);
}

function authKeysById(value: unknown): ReadonlyMap<number, readonly string[]> {
  const byId = new Map<number, readonly string[]>();
  if (value === undefined) return byId;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('server.authKeysById', 'must be an object mapping server IDs to keys');
  }
  for (const [id, keys] of Object.entries(value)) {
    const serverId = Number(id);
    if (!/^\d+$/.test(id) || serverId > MAX_U32) {
      throw new InvalidOptionError('server.authKeysById', `server ID ${JSON.stringify(id)} is not an integer from 0 to ${MAX_U32}`);
    }
    byId.set(serverId, authKeys(keys, `server.authKeysById[${id}]`));
  }
  return byId;
}

/** Server auth keys as {@link Gateway.updateAuthKeys} takes them: `server.authKey` and `server.authKeysById`. */
export type AuthKeysUpdate = Pick<ServerListenerOptions, 'authKey' | 'authKeysById'>;

/** Checks new server auth keys as the constructor checks them; the keys in the form the gateway uses. */
export function resolveAuthKeys(update: AuthKeysUpdate): Pick<ResolvedGatewayOptions['server'], 'authKey' | 'authKeysById'> {
  if (update === null || typeof update !== 'object') throw new InvalidOptionError('server', 'must be an object { authKey, authKeysById? }');
  return { authKey: authKeys(update.authKey), authKeysById: authKeysById(update.authKeysById) };
}

/** An `Origin` as the listener compares it: the URL origin, lower case; `null` when malformed. */
export function normaliseOrigin(text: string): string | null {
  try {
    const origin = new URL(text).origin;
    return origin === 'null' ? null : origin.toLowerCase();
  } catch {
    return null;
  }
}

/** The rule of the WebSocket listener's request path, in words. */
export const WEBSOCKET_PATH_RULE = 'path starting with / (no spaces, ? or #)';

/** True when `path` is a request path the WebSocket listener can upgrade: see {@link WEBSOCKET_PATH_RULE}. */
export function isWebSocketPath(path: unknown): path is string {
  return typeof path === 'string' && /^\/[^\s?#]*$/.test(path);
}

function webSocketOptions(value: unknown): ResolvedGatewayOptions['client']['webSocket'] {
  if (value === undefined) return { path: '/', origins: null };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('client.webSocket', 'must be an object { path?, origins? }');
  }
  const { path = '/', origins } = value as WebSocketListenerOptions;
  if (!isWebSocketPath(path)) {
    throw new InvalidOptionError('client.webSocket.path', `must be a ${WEBSOCKET_PATH_RULE}, got ${JSON.stringify(path)}`);
  }
  if (origins === undefined) return { path, origins: null };
  if (!Array.isArray(origins) || origins.length === 0) {
    throw new InvalidOptionError('client.webSocket.origins', 'must be a non-empty array of origins like https://game.example.com');
  }
  const allowed = new Set<string>();
  for (const origin of origins as unknown[]) {
    const normalised = typeof origin === 'string' ? normaliseOrigin(origin) : null;
    if (normalised === null) {
      throw new InvalidOptionError('client.webSocket.origins', `${JSON.stringify(origin)} is not an origin like https://game.example.com`);
    }
    allowed.add(normalised);
  }
  return { path, origins: allowed };
}

/** The keys each part of {@link GatewayOptions} may have; any other is rejected (a typo must not pass as a default). */
const GATEWAY_KEYS = ['maxPacketSize', 'client', 'server', 'logger', 'busyPollMicros', 'listenBacklog'];
const CLIENT_KEYS = ['maxConn', 'maxPending', 'pingInterval', 'sendQueue', 'sendBuffer', 'maxClients', 'maxClientsPerIp', 'proxyProtocol', 'proxyHeaderTimeout',
  'messageRate', 'messageBurst', 'messageDebtLimit', 'tls', 'webSocket'];
const SERVER_KEYS = ['authKey', 'authKeysById', 'authTimeout', 'maxPending', 'pingInterval', 'sendQueue', 'sendBuffer', 'tls'];
const WEBSOCKET_KEYS = ['path', 'origins'];

/**
 * A send buffer bound (`client.sendBuffer`, `server.sendBuffer`): it must hold one frame of
 * the largest Length, or a peer sent one such frame is over its bound at once. Unset, its
 * default is raised to that floor when `maxPacketSize` needs it.
 */
function sendBuffer(name: string, value: unknown, fallback: number, range: Range, maxPacketSize: number): number {
  const floor = maxPacketSize + LENGTH_SIZE;
  if (value === undefined) return Math.max(fallback, floor);
  return checkAtLeast(name, integer(name, value, fallback, range), 'maxPacketSize + 4', floor, 'one frame of the largest Length must fit');
}

/** Checks that `value`, if given, is an object with only `known` keys. */
function section(value: unknown, path: string, known: readonly string[]): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError(path, 'must be an object');
  rejectUnknownKeys(value, known, `${path}.`);
}

/** Applies defaults to `options` and validates every field; never mutates the input. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'must be an object with at least server.authKey');
  }
  rejectUnknownKeys(options, GATEWAY_KEYS);
  section(options.client, 'client', CLIENT_KEYS);
  section(options.server, 'server', SERVER_KEYS);
  section(options.client?.webSocket, 'client.webSocket', WEBSOCKET_KEYS);
  const L = GATEWAY_LIMITS;
  const D = GATEWAY_DEFAULTS;
  const c = options.client ?? {};
  const s = options.server ?? ({} as ServerListenerOptions);
  const maxPacketSize = integer('maxPacketSize', options.maxPacketSize, D.maxPacketSize, {
    min: L.maxPacketSize.min,
    max: Math.min(L.maxPacketSize.max, MAX_U32),
  });
  const maxClients = integer('client.maxClients', c.maxClients, D.client.maxClients, L.maxClients);
  const maxClientsPerIp = integer('client.maxClientsPerIp', c.maxClientsPerIp, D.client.maxClientsPerIp, L.maxClients);
  if (maxClients > 0 && maxClientsPerIp > 0) {
    checkAtMost('client.maxClientsPerIp', maxClientsPerIp, 'client.maxClients', maxClients, 'one address cannot have more clients than the gateway holds');
  }
  return {
    maxPacketSize,
    busyPollMicros: integer('busyPollMicros', options.busyPollMicros, D.busyPollMicros, L.busyPollMicros),
    listenBacklog: integer('listenBacklog', options.listenBacklog, D.listenBacklog, L.listenBacklog),
    client: {
      maxConn: integer('client.maxConn', c.maxConn, D.client.maxConn, L.maxConn),
      maxPending: integer('client.maxPending', c.maxPending, D.client.maxPending, L.maxPending),
      pingInterval: integer('client.pingInterval', c.pingInterval, D.client.pingInterval, L.pingInterval),
      sendQueue: integer('client.sendQueue', c.sendQueue, D.client.sendQueue, L.sendQueue),
      sendBuffer: sendBuffer('client.sendBuffer', c.sendBuffer, D.client.sendBuffer, L.sendBuffer, maxPacketSize),
      maxClients,
      maxClientsPerIp,
      proxyProtocol: c.proxyProtocol === undefined ? null : new TrustedSources('client.proxyProtocol', c.proxyProtocol),
      proxyHeaderTimeout: integer('client.proxyHeaderTimeout', c.proxyHeaderTimeout, D.client.proxyHeaderTimeout, L.proxyHeaderTimeout),
      messageRate: integer('client.messageRate', c.messageRate, D.client.messageRate, L.messageRate),
      messageBurst: integer('client.messageBurst', c.messageBurst, D.client.messageBurst, L.messageBurst),
      messageDebtLimit: integer('client.messageDebtLimit', c.messageDebtLimit, D.client.messageDebtLimit, L.messageDebtLimit),
      tls: resolveTls('client.tls', c.tls, false),
      webSocket: webSocketOptions(c.webSocket),
    },
    server: {
      authKey: authKeys(s.authKey),
      authKeysById: authKeysById(s.authKeysById),
      authTimeout: integer('server.authTimeout', s.authTimeout, D.server.authTimeout, L.authTimeout),
      maxPending: integer('server.maxPending', s.maxPending, D.server.maxPending, L.maxPending),
      pingInterval: integer('server.pingInterval', s.pingInterval, D.server.pingInterval, L.pingInterval),
      sendQueue: integer('server.sendQueue', s.sendQueue, D.server.sendQueue, L.sendQueue),
      sendBuffer: sendBuffer('server.sendBuffer', s.sendBuffer, D.server.sendBuffer, L.sendBuffer, maxPacketSize),
      tls: resolveTls('server.tls', s.tls, true),
    },
    logger: options.logger ?? silentLogger,
  };
}
