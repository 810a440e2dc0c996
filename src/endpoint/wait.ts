import { AbortError, InvalidOptionError, TimeoutError } from '../errors.js';
import { rejectUnknownKeys } from '../known-keys.js';
import { describeValue } from '../values/describe-value.js';
import { Pending } from './pending.js';

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
 * rejecting, so it never takes what arrives afterwards.
 * @internal
 */
export class CancellableWait<V> extends Pending<V> {
  /** Not a `for await` step (see VirtualConnection's waiters). */
  readonly iter = false;

  constructor(
    /** What is waited for, in errors: `receive()`, … */
    private readonly what: string,
    /** What a timeout says happened, such as `no message arrived`. */
    private readonly timeoutText: string,
    onResolve: (value: V) => void,
    onReject: (err: Error) => void,
    /** The queue of waiters this wait is in. */
    private readonly queue: { remove(wait: CancellableWait<V>): boolean },
  ) {
    super(onResolve, onReject);
  }

  /** Starts watching `signal` and the `timeout` (0: none). */
  start(signal: AbortSignal | undefined, timeout: number): void {
    if (timeout > 0) this.startTimer(timeout);
    if (signal !== undefined) this.watchSignal(signal);
  }

  protected override aborted(reason: unknown): void {
    this.giveUp(new AbortError(`${this.what} was aborted`, { cause: reason }));
  }

  protected override expired(ms: number): void {
    this.giveUp(new TimeoutError(`${this.what}: ${this.timeoutText} within ${ms} ms`));
  }

  private giveUp(err: Error): void {
    if (this.settled) return;
    this.queue.remove(this);
    this.reject(err);
  }
}

/** A wait's checked options. @internal */
export interface CheckedWaitOptions {
  readonly signal: AbortSignal | undefined;
  readonly timeout: number;
}

const NO_LIMIT: CheckedWaitOptions = Object.freeze({ signal: undefined, timeout: 0 });

/**
 * The checked options of the wait `what` (`drained`: a method's name), or the error its
 * promise rejects with: bad options, or a signal that had already aborted.
 * @internal
 */
export function waitOptionsOf(what: string, options: WaitOptions | undefined): CheckedWaitOptions | Error {
  if (options === undefined) return NO_LIMIT;
  let checked: CheckedWaitOptions;
  try {
    checked = checkWaitOptions(what, options);
  } catch (err) {
    return err as Error;
  }
  if (checked.signal?.aborted) return abortedAlready(`${what}()`, checked.signal);
  return checked;
}

/** What a queue of waiters must do for {@link queueWait}. */
interface WaiterQueue<V> {
  push(waiter: { resolve(value: V): void; reject(err: Error): void }): void;
  remove(waiter: CancellableWait<V>): boolean;
}

/**
 * Waits in `queue` until its owner resolves or rejects the waiter, or `options` give up
 * on it (`what` and `timeoutText` as for {@link CancellableWait}). Without a signal or a
 * timeout the waiter is a plain `{ resolve, reject }`.
 * @internal
 */
export function queueWait<V>(queue: WaiterQueue<V>, options: CheckedWaitOptions, what: string, timeoutText: string): Promise<V> {
  const { signal, timeout } = options;
  if (signal === undefined && timeout === 0) return new Promise((resolve, reject) => queue.push({ resolve, reject }));
  return new Promise((resolve, reject) => {
    const wait = new CancellableWait<V>(what, timeoutText, resolve, reject, queue);
    queue.push(wait);
    wait.start(signal, timeout);
  });
}

/** The `AbortError` of a call whose signal had already aborted when it was made. */
export function abortedAlready(what: string, signal: AbortSignal): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason });
}
