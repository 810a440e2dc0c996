import { AbortError, InvalidOptionError, TimeoutError } from '../errors.js';
import { rejectUnknownKeys } from '../known-keys.js';
import { describeValue } from '../values/describe-value.js';

/** Options of a wait that may be given up on: `receive()`, `accept()`, `drained()`. */
export interface WaitOptions {
  /**
   * Gives the wait up when it aborts: the promise rejects with `AbortError` (`cause`: the
   * signal's reason) and nothing is taken; what arrives later goes to the next wait.
   */
  signal?: AbortSignal;
  /**
   * Time, in ms, to wait; then the promise rejects with `TimeoutError` and nothing is taken.
   * 0 = no limit. @default 0
   */
  timeout?: number;
}

const WAIT_KEYS = ['signal', 'timeout'] as const;
const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Checks the options of a wait. `what` names the call in errors (`receive`).
 * @throws InvalidOptionError for an unknown key, a `signal` that is not an `AbortSignal`, or a bad `timeout`.
 */
export function checkWaitOptions(what: string, options: WaitOptions): { signal: AbortSignal | undefined; timeout: number } {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError(`${what} options`, 'must be an object: { signal?, timeout? }');
  rejectUnknownKeys(options, WAIT_KEYS);
  return { signal: checkSignal(options.signal), timeout: checkWaitTimeout(options.timeout) };
}

/** Checks an optional `signal` option. @throws InvalidOptionError when it is not an `AbortSignal`. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (typeof AbortSignal === 'function' ? !(signal instanceof AbortSignal) : typeof (signal as AbortSignal | null)?.aborted !== 'boolean') {
    throw new InvalidOptionError('signal', `must be an AbortSignal, got ${describeValue(signal)}`);
  }
  return signal as AbortSignal;
}

function checkWaitTimeout(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMEOUT) {
    throw new InvalidOptionError('timeout', `must be an integer number of ms from 0 to ${MAX_TIMEOUT}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * One pending wait that a signal or a timer may give up on. Until then it is an ordinary
 * waiter of its queue (`resolve`/`reject`); giving up removes it from that queue before
 * rejecting, so it never takes what arrives afterwards. It is its own abort listener, so
 * a wait allocates no closures beyond its promise's.
 * @internal
 */
export class CancellableWait<V> {
  /** Not a `for await` step (see VirtualConnection's waiters). */
  readonly iter = false;
  private settled = false;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private signal: AbortSignal | undefined = undefined;

  constructor(
    /** What is waited for, in errors: `receive()`, … */
    private readonly what: string,
    /** What a timeout says happened, such as `no message arrived`. */
    private readonly timeoutText: string,
    private readonly onResolve: (value: V) => void,
    private readonly onReject: (err: Error) => void,
    /** The queue of waiters this wait is in. */
    private readonly queue: { remove(wait: CancellableWait<V>): boolean },
  ) {}

  /** Starts watching `signal` and the `timeout` (0: none). */
  start(signal: AbortSignal | undefined, timeout: number): void {
    if (timeout > 0) this.timer = setTimeout(waitTimedOut, timeout, this, timeout);
    if (signal !== undefined) {
      this.signal = signal;
      signal.addEventListener('abort', this);
    }
  }

  resolve(value: V): void {
    if (this.settled) return;
    this.finish();
    this.onResolve(value);
  }

  reject(err: Error): void {
    if (this.settled) return;
    this.finish();
    this.onReject(err);
  }

  /** The abort listener. */
  handleEvent(): void {
    this.giveUp(new AbortError(`${this.what} was aborted`, { cause: this.signal?.reason }));
  }

  /** @internal Called by the timer. */
  timedOut(ms: number): void {
    this.timer = undefined;
    this.giveUp(new TimeoutError(`${this.what}: ${this.timeoutText} within ${ms} ms`));
  }

  private giveUp(err: Error): void {
    if (this.settled) return;
    this.queue.remove(this);
    this.reject(err);
  }

  private finish(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.signal !== undefined) this.signal.removeEventListener('abort', this);
    this.signal = undefined;
  }
}

function waitTimedOut(wait: { timedOut(ms: number): void }, ms: number): void {
  wait.timedOut(ms);
}

/** The `AbortError` of a call whose signal had already aborted when it was made. */
export function abortedAlready(what: string, signal: AbortSignal): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason });
}
