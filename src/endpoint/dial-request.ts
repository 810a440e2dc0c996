import { AbortError, DialTimeoutError } from '../errors.js';

/**
 * One `New` sent to the gateway and the dial it belongs to, from the `New` to the
 * `Accept` or `Refuse`. A request that timed out or was aborted stays known to the
 * endpoint (settled) until the gateway answers, so the answer is matched and the ID it
 * names released.
 *
 * It is its own abort listener (`handleEvent`), so a dial allocates no closures.
 * @internal
 */
export class DialRequest<C> {
  /** The ID the gateway gave (0 until `Open`). */
  connId = 0;
  /** True once the caller's promise is settled. */
  settled = false;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private timeoutError: DialTimeoutError | undefined = undefined;
  private signal: AbortSignal | undefined = undefined;

  constructor(
    /** The ID dialed. */
    readonly remoteId: number,
    private readonly onResolve: (conn: C) => void,
    private readonly onReject: (err: Error) => void,
    /** Set for a probe (a `New` sent only to get an answer); called when `Open` arrives. */
    readonly probe: (() => void) | null = null,
  ) {}

  /** Fails the dial with `DialTimeoutError` after `ms`. The error is made now, so its stack names the caller. */
  startTimer(ms: number): void {
    this.timeoutError = new DialTimeoutError(this.remoteId, ms);
    this.timer = setTimeout(dialTimedOut, ms, this);
  }

  /** Fails the dial with `AbortError` when `signal` aborts. */
  watch(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', this);
  }

  resolve(conn: C): void {
    if (this.settled) return;
    this.finish();
    this.onResolve(conn);
  }

  reject(err: Error): void {
    if (this.settled) return;
    this.finish();
    this.onReject(err);
  }

  /** The abort listener. */
  handleEvent(): void {
    this.reject(new AbortError('the dial was aborted', { cause: this.signal?.reason }));
  }

  /** @internal Called by the timer. */
  timedOut(): void {
    this.timer = undefined;
    this.reject(this.timeoutError!);
  }

  private finish(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.signal !== undefined) this.signal.removeEventListener('abort', this);
    this.signal = undefined;
  }
}

function dialTimedOut(request: { timedOut(): void }): void {
  request.timedOut();
}
