/**
 * A promise's resolve/reject pair that settles once, and the timer and abort signal that
 * may settle it early. What a dial request and a cancellable wait have in common; each
 * says what its timeout and its abort mean ({@link expired}, {@link aborted}).
 *
 * It is its own abort listener (`handleEvent`) and its timer calls a plain function, so
 * a pending settlement allocates no closures beyond its promise's.
 * @internal
 */
export abstract class Pending<V> {
  /** True once the promise is settled. */
  settled = false;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private signal: AbortSignal | undefined = undefined;

  constructor(
    private readonly onResolve: (value: V) => void,
    private readonly onReject: (err: Error) => void,
  ) {}

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
    this.aborted(this.signal?.reason);
  }

  /** @internal Called by the timer. */
  timedOut(ms: number): void {
    this.timer = undefined;
    this.expired(ms);
  }

  /** Calls {@link expired} after `ms`. */
  protected startTimer(ms: number): void {
    this.timer = setTimeout(pendingTimedOut, ms, this, ms);
  }

  /** Calls {@link aborted} when `signal` aborts. */
  protected watchSignal(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', this);
  }

  /** The timer of {@link startTimer} ran out (`ms`: its length). */
  protected abstract expired(ms: number): void;

  /** The signal of {@link watchSignal} aborted (`reason`: its reason). */
  protected abstract aborted(reason: unknown): void;

  private finish(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.signal !== undefined) this.signal.removeEventListener('abort', this);
    this.signal = undefined;
  }
}

function pendingTimedOut(pending: { timedOut(ms: number): void }, ms: number): void {
  pending.timedOut(ms);
}
