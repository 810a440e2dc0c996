/**
 * When to try again after a failed or lost connection: exponential backoff with jitter,
 * so that the many clients of a gateway that died do not all come back in the same
 * millisecond. Attempt n (from 0) waits a random time in
 * `[base·(1 − jitter), base]`, where `base = min(maxDelay, initialDelay · factor^n)`.
 */
import { InvalidOptionError } from '../../errors.js';
import { checkAtLeast } from '../../values/relation.js';

/** Options of the reconnect policy (`dialClient(addrs, { reconnect })`). */
export interface ReconnectOptions {
  /** Base delay, in ms, before the first retry. @default 100 */
  initialDelay?: number;
  /**
   * Longest delay, in ms, between two attempts: at least `initialDelay`, and with
   * `resumable`, less than `resumable.resumeTimeout`. @default 5000
   */
  maxDelay?: number;
  /** How much the base delay grows per failed attempt. @default 2 */
  factor?: number;
  /**
   * The share of each delay that is random, from 0 (none: every client waits the same)
   * to 1 (full jitter: anywhere from 0 to the base delay). @default 1
   */
  jitter?: number;
  /**
   * Attempts in a row (each a pass over the address list) before giving up and closing the
   * endpoint with `GatewaysUnreachableError`; 0 = never give up. @default 0
   */
  maxAttempts?: number;
}

/** {@link ReconnectOptions} with the defaults applied and checked. */
export type ResolvedReconnectOptions = Required<ReconnectOptions>;

/** The defaults of {@link ReconnectOptions}, in one place. */
export const RECONNECT_DEFAULTS: ResolvedReconnectOptions = Object.freeze({
  initialDelay: 100,
  maxDelay: 5000,
  factor: 2,
  jitter: 1,
  maxAttempts: 0,
});

const MAX_DELAY = 2 ** 31 - 1;

function numberIn(name: string, value: unknown, fallback: number, min: number, max: number, integer: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new InvalidOptionError(name, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Applies the defaults to `options` and checks every field (names start with `prefix`). */
export function resolveReconnectOptions(options: ReconnectOptions | undefined, prefix = 'reconnect'): ResolvedReconnectOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError(prefix, 'must be an object');
  const D = RECONNECT_DEFAULTS;
  const initialDelay = numberIn(`${prefix}.initialDelay`, o.initialDelay, D.initialDelay, 0, MAX_DELAY, true);
  const maxDelay =
    o.maxDelay === undefined
      ? Math.max(D.maxDelay, initialDelay)
      : checkAtLeast(`${prefix}.maxDelay`, numberIn(`${prefix}.maxDelay`, o.maxDelay, D.maxDelay, 0, MAX_DELAY, true), `${prefix}.initialDelay`, initialDelay, 'the longest delay cannot be shorter than the first');
  return {
    initialDelay,
    maxDelay,
    factor: numberIn(`${prefix}.factor`, o.factor, D.factor, 1, 100, false),
    jitter: numberIn(`${prefix}.jitter`, o.jitter, D.jitter, 0, 1, false),
    maxAttempts: numberIn(`${prefix}.maxAttempts`, o.maxAttempts, D.maxAttempts, 0, 2 ** 30, true),
  };
}

/** The delays of one run of attempts; {@link reset} after a success. */
export class ReconnectPolicy {
  readonly options: ResolvedReconnectOptions;
  private readonly random: () => number;
  private failures = 0;

  /** `random` returns a number in [0, 1) (Math.random unless a test seeds its own). */
  constructor(options: ResolvedReconnectOptions, random: () => number = Math.random) {
    this.options = options;
    this.random = random;
  }

  /** Failed attempts since the last {@link reset}. */
  get attempts(): number {
    return this.failures;
  }

  /** True once `maxAttempts` attempts failed in a row (never with `maxAttempts: 0`). */
  get exhausted(): boolean {
    return this.options.maxAttempts > 0 && this.failures >= this.options.maxAttempts;
  }

  /** The base delay before attempt `n` (0-based), before jitter. */
  baseDelay(n: number): number {
    const { initialDelay, maxDelay, factor } = this.options;
    return Math.min(maxDelay, initialDelay * factor ** Math.min(n, 64));
  }

  /** Counts a failed attempt and returns how long to wait, in ms, before the next one. */
  nextDelay(): number {
    const base = this.baseDelay(this.failures);
    this.failures++;
    const { jitter } = this.options;
    return Math.round(base * (1 - jitter) + base * jitter * this.random());
  }

  /** The connection is up again: the next loss starts from `initialDelay`. */
  reset(): void {
    this.failures = 0;
  }
}
