import { InvalidOptionError } from '../errors.js';
import { MIN_MAX_PACKET_SIZE } from '../protocol/command.js';
import { rejectUnknownKeys } from '../known-keys.js';
import { DEFAULT_MAX_PACKET_SIZE, HEADER_SIZE, MAX_U32, maxMessageSize } from '../protocol/frame.js';
import { integerOption } from '../values/integer.js';
import { checkAtLeast } from '../values/relation.js';
import { DEFAULT_AUTH_TIMEOUT_MS } from '../protocol/handshake.js';
import { type Format, isFormat, raw } from './format.js';
import { describeValue } from '../values/describe-value.js';
import { checkSignal } from './wait.js';

/** Options of every endpoint, client or server. */
export interface EndpointOptions<T = Uint8Array> {
  /** How messages are encoded (see `raw`, `utf8`, `json()`, `defineFormat()`). @default raw */
  format?: Format<T>;
  /**
   * Largest frame Length, in bytes, sent or accepted; it must match the gateway's. The
   * largest message is `maxPacketSize - 4` bytes. A larger frame from the gateway is a
   * protocol error. @default 524288
   */
  maxPacketSize?: number;
  /**
   * Bytes that may wait to be sent to the gateway. A send that would go past it throws
   * `SendQueueFullError` and sends nothing. Must be at least `maxPacketSize + 4`.
   * @default 8388608 (8 MiB)
   */
  sendQueue?: number;
  /**
   * Messages that may wait unread on one virtual connection. One more closes that
   * connection with `ReceiveQueueFullError` as its reason (and tells the gateway).
   * @default 1024
   */
  recvQueue?: number;
  /**
   * Incoming virtual connections that may wait for `accept()`. Past it, new ones are
   * closed at once. 0 refuses every incoming connection. @default 128
   */
  acceptBacklog?: number;
  /**
   * Close the endpoint with `PingTimeoutError` when the gateway has sent nothing for this
   * many ms (a dead gateway or a half-open TCP path). Halfway through a silence the
   * endpoint asks the gateway for an answer (see docs/api.md), so it works however busy
   * or idle the endpoint is. 0 turns it off. @default 0
   */
  pingTimeout?: number;
  /** Time, in ms, a `dial()` may take unless its own `timeout` says otherwise; 0 = no limit. @default 10000 */
  dialTimeout?: number;
  /** Time, in ms, opening the connection to the gateway may take. @default 10000 */
  connectTimeout?: number;
  /**
   * Cancels connecting: `dialClient`/`dialServer` (and `attachServer`'s handshake) reject
   * with `AbortError` (`cause`: the signal's reason) and release the connection. It has no
   * effect once the endpoint is up; close it with `close()`.
   */
  signal?: AbortSignal;
}

/** Options of a server endpoint (`dialServer`). */
export interface ServerEndpointOptions<T = Uint8Array> extends EndpointOptions<T> {
  /** The server ID this server registers under (a u32; clients dial it). */
  serverId: number;
  /** The gateway's server key. */
  authKey: string | Uint8Array;
  /**
   * Time, in ms, the server handshake may take, from the connection being open to the
   * gateway confirming the key (see docs/api.md). @default 3000
   */
  authTimeout?: number;
}

/** The keys of {@link EndpointOptions}; any other key is rejected. */
export const ENDPOINT_OPTION_KEYS: readonly string[] = [
  'format',
  'maxPacketSize',
  'sendQueue',
  'recvQueue',
  'acceptBacklog',
  'pingTimeout',
  'dialTimeout',
  'connectTimeout',
  'signal',
];

/** The keys {@link ServerEndpointOptions} adds. */
export const SERVER_OPTION_KEYS: readonly string[] = ['serverId', 'authKey', 'authTimeout'];

/** Every default, in one place. */
export const ENDPOINT_DEFAULTS = {
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  sendQueue: 8 * 1024 * 1024,
  recvQueue: 1024,
  acceptBacklog: 128,
  pingTimeout: 0,
  dialTimeout: 10_000,
  connectTimeout: 10_000,
  authTimeout: DEFAULT_AUTH_TIMEOUT_MS,
} as const;

/** Options with defaults applied and checked. */
export interface ResolvedEndpointOptions<T> {
  format: Format<T>;
  maxPacketSize: number;
  /** `maxPacketSize - 4`. */
  maxMessageSize: number;
  sendQueue: number;
  recvQueue: number;
  acceptBacklog: number;
  pingTimeout: number;
  dialTimeout: number;
  connectTimeout: number;
}

/** Server options with defaults applied and checked. */
export interface ResolvedServerOptions<T> extends ResolvedEndpointOptions<T> {
  serverId: number;
  authKey: string | Uint8Array;
  authTimeout: number;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  return integerOption(name, value, fallback, { min, max });
}

/**
 * Applies defaults to `options` and checks every field; never changes the input.
 * @param extraKeys keys the caller accepts besides {@link ENDPOINT_OPTION_KEYS} (such as
 *   `tls`); any other key is rejected.
 */
export function resolveEndpointOptions<T>(options: EndpointOptions<T> | undefined, extraKeys: readonly string[] = []): ResolvedEndpointOptions<T> {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options', 'must be an object');
  rejectUnknownKeys(o, extraKeys.length === 0 ? ENDPOINT_OPTION_KEYS : [...ENDPOINT_OPTION_KEYS, ...extraKeys]);
  checkSignal(o.signal);
  const D = ENDPOINT_DEFAULTS;
  const format = o.format ?? (raw as unknown as Format<T>);
  if (!isFormat(format)) throw new InvalidOptionError('format', notAFormat(format));
  const maxPacketSize = integer('maxPacketSize', o.maxPacketSize, D.maxPacketSize, MIN_MAX_PACKET_SIZE, MAX_U32);
  const minSendQueue = HEADER_SIZE + maxMessageSize(maxPacketSize);
  const sendQueue =
    o.sendQueue === undefined
      ? Math.max(D.sendQueue, minSendQueue)
      : checkAtLeast('sendQueue', integer('sendQueue', o.sendQueue, D.sendQueue, 1, Number.MAX_SAFE_INTEGER), 'maxPacketSize + 4', minSendQueue, 'a message of the largest size must fit');
  return {
    format,
    maxPacketSize,
    maxMessageSize: maxMessageSize(maxPacketSize),
    sendQueue,
    recvQueue: integer('recvQueue', o.recvQueue, D.recvQueue, 1, 2 ** 30),
    acceptBacklog: integer('acceptBacklog', o.acceptBacklog, D.acceptBacklog, 0, 2 ** 30),
    pingTimeout: integer('pingTimeout', o.pingTimeout, D.pingTimeout, 0, MAX_TIMEOUT),
    dialTimeout: integer('dialTimeout', o.dialTimeout, D.dialTimeout, 0, MAX_TIMEOUT),
    connectTimeout: integer('connectTimeout', o.connectTimeout, D.connectTimeout, 1, MAX_TIMEOUT),
  };
}

/** Why `value` is not a format: a function such as `json` (not called) gets "did you mean `json()`?". */
function notAFormat(value: unknown): string {
  const expected = 'must be a format: raw, utf8, json(), or defineFormat({ encode, decode })';
  if (typeof value === 'function') {
    const name = value.name || 'the function';
    return `${expected}; got the function ${name} itself: did you mean \`${name}()\`?`;
  }
  return `${expected}, got ${describeValue(value)}`;
}

/** {@link resolveEndpointOptions} plus the server's own fields, which are required; `extraKeys` as there. */
export function resolveServerOptions<T>(options: ServerEndpointOptions<T>, extraKeys: readonly string[] = []): ResolvedServerOptions<T> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'must be an object with serverId and authKey');
  }
  const base = resolveEndpointOptions(options, [...SERVER_OPTION_KEYS, ...extraKeys]);
  if (options.serverId === undefined) throw new InvalidOptionError('serverId', 'is required');
  const serverId = integer('serverId', options.serverId, 0, 0, MAX_U32);
  const key = options.authKey;
  if (!((typeof key === 'string' && key.length > 0) || (key instanceof Uint8Array && key.length > 0))) {
    throw new InvalidOptionError('authKey', 'is required: a non-empty string or Uint8Array');
  }
  return {
    ...base,
    serverId,
    authKey: key,
    authTimeout: integer('authTimeout', options.authTimeout, ENDPOINT_DEFAULTS.authTimeout, 1, MAX_TIMEOUT),
  };
}

/** Checks a per-call timeout (`dial({ timeout })`). */
export function checkTimeout(name: string, value: unknown, fallback: number): number {
  return integer(name, value, fallback, 0, MAX_TIMEOUT);
}
