import { AbortError, ConnectError } from '../errors.js';

/**
 * One socket being connected, whatever its kind (TCP, TLS, WebSocket): it fails at most
 * once — its first error, its timeout or its signal's abort — and that failure destroys the
 * socket; the caller settles its promise only once the socket is ready ({@link ready}) or
 * closed ({@link closed}: the failure, if any, is the reason). Browser-safe.
 * @internal
 */
export class ConnectAttempt {
  private failure: Error | null = null;
  private readonly timer: ReturnType<typeof setTimeout>;

  /**
   * `label` names the connection in errors (`host:port over TLS`, or the URL); `destroy`
   * releases the socket. An already aborted `signal` fails the attempt at once.
   */
  constructor(
    private readonly label: string,
    timeoutMs: number,
    private readonly destroy: () => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(connectTimedOut, timeoutMs, this, timeoutMs);
    if (signal === undefined) return;
    if (signal.aborted) this.handleEvent();
    else signal.addEventListener('abort', this);
  }

  /** The socket failed with `cause`. */
  error(cause: Error): void {
    this.fail(new ConnectError(`cannot connect to ${this.label}: ${cause.message}`, { cause }));
  }

  /** The socket is ready: the timer and the signal no longer apply. */
  ready(): void {
    this.stop();
  }

  /** The socket closed: the failure that closed it, or null when none did. */
  closed(): Error | null {
    this.stop();
    return this.failure;
  }

  /** The abort listener. */
  handleEvent(): void {
    this.fail(new AbortError(`connecting to ${this.label} was aborted`, { cause: this.signal?.reason }));
  }

  /** @internal Called by the timer. */
  timedOut(ms: number): void {
    this.fail(new ConnectError(`connecting to ${this.label} took longer than ${ms} ms`));
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.stop();
    this.destroy();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
  }
}

function connectTimedOut(attempt: ConnectAttempt, ms: number): void {
  attempt.timedOut(ms);
}
