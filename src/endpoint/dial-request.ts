import { AbortError, DialTimeoutError } from '../errors.js';
import { Pending } from './pending.js';

/**
 * One `New` sent to the gateway and the dial it belongs to, from the `New` to the
 * `Accept` or `Refuse`. A request that timed out or was aborted stays known to the
 * endpoint (settled) until the gateway answers, so the answer is matched and the ID it
 * names released.
 * @internal
 */
export class DialRequest<C> extends Pending<C> {
  /** The ID the gateway gave (0 until `Open`). */
  connId = 0;
  private timeoutError: DialTimeoutError | undefined = undefined;

  constructor(
    /** The ID dialed. */
    readonly remoteId: number,
    onResolve: (conn: C) => void,
    onReject: (err: Error) => void,
    /** Set for a probe (a `New` sent only to get an answer); called when `Open` arrives. */
    readonly probe: (() => void) | null = null,
  ) {
    super(onResolve, onReject);
  }

  /** Fails the dial with `DialTimeoutError` after `ms`. The error is made now, so its stack names the caller. */
  override startTimer(ms: number): void {
    this.timeoutError = new DialTimeoutError(this.remoteId, ms);
    super.startTimer(ms);
  }

  /** Fails the dial with `AbortError` when `signal` aborts. */
  watch(signal: AbortSignal): void {
    this.watchSignal(signal);
  }

  protected override expired(): void {
    this.reject(this.timeoutError!);
  }

  protected override aborted(reason: unknown): void {
    this.reject(new AbortError('the dial was aborted', { cause: reason }));
  }
}
