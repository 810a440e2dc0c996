/**
 * An endpoint that outlives its links: when the connection to the gateway is lost it
 * reconnects — with backoff and jitter, through the next address of its list or the
 * address function — and its resumable virtual connections carry on over the new link.
 * What `dialClient(addrs, { reconnect })` returns, and `dialServer(addr, { resumable })`.
 */
import { ConnectError, EndpointClosedError, GatewaysUnreachableError, type GatewayFailure, InvalidOptionError } from '../../errors.js';
import { AcceptIterator, AcceptQueue } from '../accept-queue.js';
import type { DialOptions, Endpoint, EndpointKind } from '../endpoint.js';
import { asyncDispose, type VirtualConnection } from '../virtual-connection.js';
import { ClientSessions, type Link, type LinkSource } from './client-sessions.js';
import type { ResolvedSessionOptions } from './options.js';
import { ReconnectPolicy, type ResolvedReconnectOptions } from './reconnect-policy.js';
import type { ResumableConnection } from './resumable-connection.js';
import { SessionHost, type SessionHostStats } from './session-host.js';

/**
 * Where the gateway is: one address, a list tried in order (a failed or lost one moves on
 * to the next), or a function that names one each time it is called (a placement
 * function, for a cluster).
 */
export type GatewaySource = string | readonly string[] | (() => string | Promise<string>);

/** Options of one `dial()` on a {@link ReconnectingEndpoint}. */
export interface ReconnectingDialOptions extends DialOptions {
  /**
   * Opens a resumable virtual connection ({@link ResumableConnection}): it survives lost
   * links and gateways. The server must accept them (`dialServer(…, { resumable })`),
   * otherwise the dial fails with `SessionUnsupportedError`. @default false
   */
  resumable?: boolean;
}

/** A change of the endpoint's link, for {@link ReconnectingEndpoint.onStatus}. */
export type LinkStatusEvent =
  | { status: 'connected'; gateway: string }
  | { status: 'disconnected'; gateway: string; reason: Error | undefined }
  /** One reconnect attempt (a pass over the addresses) failed; the next waits `delayMs`. */
  | { status: 'retrying'; failures: readonly GatewayFailure[]; delayMs: number };

/** How a {@link ReconnectingEndpoint} opens a link: Node's TCP/TLS/WebSocket, or the browser's WebSocket. */
export type Connector<T> = (addr: string) => Promise<Endpoint<T>>;

/** @internal The pieces the dial functions hand over. */
export interface ReconnectingEndpointConfig<T> {
  kind: EndpointKind;
  source: GatewaySource;
  connect: Connector<T>;
  reconnect: ResolvedReconnectOptions;
  /** Server: accept resumable connections with these limits. Client: the limits of resumable dials. */
  sessions: ResolvedSessionOptions;
  /** Server: whether resumable connections are accepted at all. */
  acceptResumable: boolean;
  acceptBacklog: number;
}

interface Waiter<V> {
  resolve(value: V): void;
  reject(err: Error): void;
}

/** Checks a gateway source and says how to read it. */
export function checkGatewaySource(source: unknown): GatewaySource {
  if (typeof source === 'string' || typeof source === 'function') return source as GatewaySource;
  if (Array.isArray(source) && source.length > 0 && source.every((a) => typeof a === 'string')) return source as readonly string[];
  throw new InvalidOptionError('addr', 'must be an address, a non-empty list of addresses, or a function that returns one');
}

/**
 * A client or server endpoint that reconnects. Plain virtual connections close when the
 * link goes, as on a plain `Endpoint`; resumable ones are suspended and resumed. It
 * closes for good only on {@link close}, or when `reconnect.maxAttempts` attempts in a
 * row fail ({@link closed} then says `GatewaysUnreachableError`).
 */
export class ReconnectingEndpoint<T = Uint8Array> implements AsyncIterable<VirtualConnection<T>>, AsyncDisposable {
  /** Whether this endpoint connected as a client or a server. */
  readonly kind: EndpointKind;
  /** Resolves (never rejects) once closed for good: `undefined` after {@link close}, else why. */
  readonly closed: Promise<Error | undefined>;

  private readonly config: ReconnectingEndpointConfig<T>;
  private readonly policy: ReconnectPolicy;
  private current: Link<T> | null = null;
  private lastIndex = -1;
  private linkWaiters: Waiter<Link<T>>[] = [];
  private readonly acceptQueue: AcceptQueue<VirtualConnection<T>>;
  private listeners: ((event: LinkStatusEvent) => void)[] = [];
  private readonly clients: ClientSessions<T>;
  private readonly host: SessionHost<T> | null;
  private closing = false;
  /** close() was called (the endpoint may still be flushing closed connections). */
  private closeStarted = false;
  private reason: Error | undefined = undefined;
  private resolveClosed!: (reason: Error | undefined) => void;
  private retryTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private wakeRetry: (() => void) | null = null;
  private links = 0;

  /** Not for users: get one from `dialClient(addrs, { reconnect })` or `dialServer(addr, { resumable })`. */
  private constructor(config: ReconnectingEndpointConfig<T>, first: Link<T>, firstIndex: number) {
    this.config = config;
    this.kind = config.kind;
    this.policy = new ReconnectPolicy(config.reconnect);
    this.acceptQueue = new AcceptQueue(config.acceptBacklog);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.clients = new ClientSessions<T>(config.sessions, this, config.reconnect);
    const ep = first.endpoint;
    this.host = config.acceptResumable
      ? new SessionHost<T>(config.sessions, ep.options.format, ep.options.recvQueue, (conn) => this.incoming(conn))
      : null;
    this.lastIndex = firstIndex;
    this.install(first);
  }

  /**
   * Opens the first link (one pass over the addresses, in order) and returns the endpoint.
   * Rejects with `GatewaysUnreachableError` naming each address and its error.
   * @internal
   */
  static async open<T>(config: ReconnectingEndpointConfig<T>): Promise<ReconnectingEndpoint<T>> {
    const { link, index, failures } = await connectPass(config, -1);
    if (link === null) throw new GatewaysUnreachableError(failures);
    return new ReconnectingEndpoint<T>(config, link, index);
  }

  /** The endpoint of the current link (`null` while reconnecting). */
  get endpoint(): Endpoint<T> | null {
    return this.current?.endpoint ?? null;
  }

  /** The gateway the current link goes to (`null` while reconnecting). */
  get gateway(): string | null {
    return this.current?.gateway ?? null;
  }

  /** True while a link is up. */
  get isConnected(): boolean {
    return this.current !== null;
  }

  /** True once closing or closed for good. */
  get isClosed(): boolean {
    return this.closing;
  }

  /** Links opened so far (the first one included). */
  get linkCount(): number {
    return this.links;
  }

  /** Resumable sessions this endpoint holds (server: accepted; client: dialed), live or suspended. */
  get sessions(): number {
    return this.host !== null ? this.host.size + this.clients.size : this.clients.size;
  }

  /** What the server side refused or expired (all zero on a client). */
  get sessionStats(): SessionHostStats {
    return this.host?.stats ?? { opened: 0, resumed: 0, unknown: 0, refused: 0, malformed: 0, expired: 0 };
  }

  /**
   * Opens a virtual connection to `remoteId` over the current link. With `resumable: true`
   * it is a {@link ResumableConnection}. Rejects as `Endpoint.dial` does, with
   * `SessionUnsupportedError` for a resumable dial to a server that does not accept them,
   * and with `ConnectError` while the endpoint is reconnecting.
   */
  dial(remoteId: number, options: ReconnectingDialOptions & { resumable: true }): Promise<ResumableConnection<T>>;
  dial(remoteId: number, options?: ReconnectingDialOptions): Promise<VirtualConnection<T>>;
  async dial(remoteId: number, options?: ReconnectingDialOptions): Promise<VirtualConnection<T>> {
    if (this.closing || this.closeStarted) throw this.closedError();
    const resumable = options?.resumable ?? false;
    if (typeof resumable !== 'boolean') throw new InvalidOptionError('resumable', 'must be true or false');
    if (resumable && this.kind !== 'client') {
      throw new InvalidOptionError('resumable', 'resumable virtual connections are dialed by clients (servers accept them)');
    }
    const link = this.current;
    if (link === null) throw new ConnectError('not connected to a gateway right now (reconnecting); try again, or wait for the "connected" status');
    const dialOptions: DialOptions = {};
    if (options?.signal !== undefined) dialOptions.signal = options.signal;
    if (options?.timeout !== undefined) dialOptions.timeout = options.timeout;
    if (!resumable) return link.endpoint.dial(remoteId, dialOptions);
    return this.clients.open(link, remoteId, dialOptions);
  }

  /**
   * The next virtual connection a remote opened to this endpoint: plain ones, and new
   * resumable ones (a resumed connection is not accepted again: it is the same object).
   * Rejects with `EndpointClosedError` once closed.
   */
  accept(): Promise<VirtualConnection<T>> {
    const conn = this.acceptQueue.take();
    if (conn !== undefined) return Promise.resolve(conn);
    if (this.closing) return Promise.reject(this.closedError());
    return this.acceptQueue.wait();
  }

  /** `for await (const conn of endpoint)`: accepts until the endpoint closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<VirtualConnection<T>> {
    return new AcceptIterator<VirtualConnection<T>>(this);
  }

  /** Calls `listener` on every change of the link. Returns a function that removes it. */
  onStatus(listener: (event: LinkStatusEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Closes for good. Resumable connections the application already closed first get
   * their last messages acknowledged (resuming if need be; at most
   * `resumable.closeTimeout` ms); connections still open end at once (their peers are
   * told when the link is up); plain ones close; the link closes. Resolves when released.
   * Safe to call more than once.
   */
  close(): Promise<void> {
    if (!this.closeStarted) {
      this.closeStarted = true;
      void this.clients.closingDone(this.config.sessions.closeTimeout).then(() => this.shutdown(undefined));
    }
    return this.closed.then(ignore);
  }

  /** `await using endpoint = await dialClient(addrs, { reconnect: {} })`. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal LinkSource: the current link or the next one. */
  link(): Promise<Link<T>> {
    if (this.closing) return Promise.reject(this.closedError());
    if (this.current !== null) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => this.linkWaiters.push({ resolve, reject }));
  }

  // ---- Links ----

  private install(link: Link<T>): void {
    this.current = link;
    this.links++;
    const { endpoint } = link;
    void endpoint.closed.then((reason) => this.lost(link, reason));
    void this.acceptLoop(link);
    this.emit({ status: 'connected', gateway: link.gateway });
    const waiters = this.linkWaiters;
    this.linkWaiters = [];
    for (const w of waiters) w.resolve(link);
  }

  private async acceptLoop(link: Link<T>): Promise<void> {
    const { endpoint } = link;
    for (;;) {
      let conn: VirtualConnection<T>;
      try {
        conn = await endpoint.accept();
      } catch {
        return;
      }
      if (this.host !== null) this.host.adopt(conn, link.gateway, endpoint.maxMessageSize);
      else this.incoming(conn);
    }
  }

  private incoming(conn: VirtualConnection<T>): void {
    if (!this.acceptQueue.offer(conn)) conn.close();
  }

  private lost(link: Link<T>, reason: Error | undefined): void {
    if (this.current !== link) return;
    this.current = null;
    if (this.closing) return;
    this.emit({ status: 'disconnected', gateway: link.gateway, reason });
    void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    while (!this.closing) {
      const delayMs = this.policy.nextDelay();
      await this.sleep(delayMs);
      if (this.closing) return;
      let pass: Awaited<ReturnType<typeof connectPass<T>>>;
      try {
        pass = await connectPass(this.config, this.lastIndex);
      } catch (err) {
        this.shutdown(asError(err));
        return;
      }
      const { link, index, failures } = pass;
      if (this.closing) {
        if (link !== null) void link.endpoint.close();
        return;
      }
      if (link !== null) {
        this.lastIndex = index;
        this.policy.reset();
        this.install(link);
        return;
      }
      if (this.policy.exhausted) {
        this.shutdown(new GatewaysUnreachableError(failures));
        return;
      }
      this.emit({ status: 'retrying', failures, delayMs: this.policy.baseDelay(this.policy.attempts) });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeRetry = resolve;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.wakeRetry = null;
        resolve();
      }, ms);
    });
  }

  private emit(event: LinkStatusEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  private closedError(): EndpointClosedError {
    const reason = this.reason;
    return new EndpointClosedError(reason === undefined ? 'the endpoint was closed' : `the endpoint is closed: ${reason.message}`, { cause: reason });
  }

  private shutdown(reason: Error | undefined): void {
    if (this.closing) return;
    this.closing = true;
    this.reason = reason;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.wakeRetry?.();
    this.wakeRetry = null;
    const err = this.closedError();
    this.clients.close(err);
    this.host?.close(err);
    for (const w of this.linkWaiters) w.reject(err);
    this.linkWaiters = [];
    this.acceptQueue.rejectWaiters(err);
    this.acceptQueue.clear();
    const link = this.current;
    this.current = null;
    if (link === null) {
      this.resolveClosed(reason);
      return;
    }
    void link.endpoint.close().then(() => this.resolveClosed(reason));
  }
}

/** One pass over the addresses, from the one after `lastIndex`; the first that connects wins. */
async function connectPass<T>(
  config: ReconnectingEndpointConfig<T>,
  lastIndex: number,
): Promise<{ link: Link<T> | null; index: number; failures: GatewayFailure[] }> {
  const failures: GatewayFailure[] = [];
  const { source } = config;
  if (typeof source === 'function') {
    let addr: string;
    try {
      addr = await source();
      if (typeof addr !== 'string') throw new InvalidOptionError('addr', `the address function returned ${typeof addr}, not a string`);
    } catch (err) {
      failures.push({ addr: '(address function)', error: asError(err) });
      return { link: null, index: -1, failures };
    }
    try {
      return { link: { endpoint: await config.connect(addr), gateway: addr }, index: -1, failures };
    } catch (err) {
      failures.push({ addr, error: asError(err) });
      return { link: null, index: -1, failures };
    }
  }
  const addrs = typeof source === 'string' ? [source] : source;
  for (let i = 1; i <= addrs.length; i++) {
    const index = (lastIndex + i) % addrs.length;
    const addr = addrs[index]!;
    try {
      return { link: { endpoint: await config.connect(addr), gateway: addr }, index, failures };
    } catch (err) {
      if (err instanceof InvalidOptionError) throw err; // a bad address or option: no retry will fix it
      failures.push({ addr, error: asError(err) });
    }
  }
  return { link: null, index: -1, failures };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function ignore(): void {}
