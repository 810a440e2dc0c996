/**
 * The limits of resumable sessions: one options object for both ends
 * (`dialClient(addrs, { reconnect, resumable })`, `dialServer(addr, { resumable })`), the
 * defaults in one place, checked at the edge.
 */
import { InvalidOptionError } from '../../errors.js';
import { integerOption } from '../../values/integer.js';
import { checkAtMost } from '../../values/relation.js';

/** Options of resumable sessions. `resumable: {}` takes every default. */
export interface SessionOptions {
  /**
   * How long, in ms, a suspended session waits to be resumed. Past it the connection
   * closes with `SessionExpiredError`, at each end on its own clock. The endpoint's
   * `reconnect.initialDelay` and `reconnect.maxDelay` must be shorter (unset, `maxDelay`
   * is lowered to fit). @default 30000
   */
  resumeTimeout?: number;
  /**
   * Messages sent and not yet acknowledged that one connection may hold for
   * retransmission. `send()` returns `false` from half of it, and throws
   * `WindowFullError` (sending nothing) past it. A message leaves the window once the
   * peer's application has *read* it, so keep it at most the peer's `recvQueue` (1024 by
   * default): then the peer's receive queue never overflows. @default 1024
   */
  windowMessages?: number;
  /** The same bound in bytes (each message counts its length plus 9). @default 4194304 (4 MiB) */
  windowBytes?: number;
  /** Longest time, in ms, a received message waits before it is acknowledged when there is no traffic to carry the acknowledgement. @default 20 */
  ackDelay?: number;
  /**
   * Acknowledge at once after this many received messages with no acknowledgement sent; at
   * most `windowMessages` (unset, it is lowered to a smaller window). @default 32
   */
  ackEvery?: number;
  /**
   * Client: how long, in ms, to wait for the server's answer to a hello (a server that
   * does not answer in time does not speak the protocol: `SessionUnsupportedError`).
   * Server: how long to wait for the first message of an incoming connection before
   * handing it over as a plain one. @default 10000
   */
  helloTimeout?: number;
  /**
   * How long, in ms, `close()` of a reconnecting endpoint waits for the connections the
   * application closed to have their last messages acknowledged (resuming, if need be)
   * before it closes the link. Connections still open are closed at once. @default 5000
   */
  closeTimeout?: number;
}

/** {@link SessionOptions} with the defaults applied and checked. */
export type ResolvedSessionOptions = Required<SessionOptions>;

/** The defaults of {@link SessionOptions}. */
export const SESSION_DEFAULTS: ResolvedSessionOptions = Object.freeze({
  resumeTimeout: 30_000,
  windowMessages: 1024,
  windowBytes: 4 * 1024 * 1024,
  ackDelay: 20,
  ackEvery: 32,
  helloTimeout: 10_000,
  closeTimeout: 5000,
});

const MAX_TIMEOUT = 2 ** 31 - 1;

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  return integerOption(name, value, fallback, { min, max });
}

const KEYS = new Set(Object.keys(SESSION_DEFAULTS));

/** Applies the defaults and checks every field; unknown keys are refused. */
export function resolveSessionOptions(options: SessionOptions | true | undefined, prefix = 'resumable'): ResolvedSessionOptions {
  const o = options === true || options === undefined ? {} : options;
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError(prefix, 'must be an object (or {} for the defaults)');
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new InvalidOptionError(`${prefix}.${key}`, `is not an option (known: ${[...KEYS].join(', ')})`);
  }
  const D = SESSION_DEFAULTS;
  const windowMessages = integer(`${prefix}.windowMessages`, o.windowMessages, D.windowMessages, 2, 2 ** 24);
  return {
    resumeTimeout: integer(`${prefix}.resumeTimeout`, o.resumeTimeout, D.resumeTimeout, 1, MAX_TIMEOUT),
    windowMessages,
    windowBytes: integer(`${prefix}.windowBytes`, o.windowBytes, D.windowBytes, 64, 2 ** 40),
    ackDelay: integer(`${prefix}.ackDelay`, o.ackDelay, D.ackDelay, 0, 60_000),
    ackEvery:
      o.ackEvery === undefined
        ? Math.min(D.ackEvery, windowMessages)
        : checkAtMost(`${prefix}.ackEvery`, integer(`${prefix}.ackEvery`, o.ackEvery, D.ackEvery, 1, 2 ** 24), `${prefix}.windowMessages`, windowMessages,
            'a sender holds at most windowMessages unacknowledged, so more would never come'),
    helloTimeout: integer(`${prefix}.helloTimeout`, o.helloTimeout, D.helloTimeout, 1, MAX_TIMEOUT),
    closeTimeout: integer(`${prefix}.closeTimeout`, o.closeTimeout, D.closeTimeout, 0, MAX_TIMEOUT),
  };
}
