/**
 * Incoming virtual connections on their way to `accept()`, and the iterator that
 * `for await (const conn of …)` runs over an `accept()` until it closes. Shared by the
 * reconnecting endpoint and the cluster server, whose connections come from links
 * rather than straight from a gateway.
 */
import { EndpointClosedError } from '../errors.js';
import { Deque } from './deque.js';

interface Waiter<V> {
  resolve(value: V): void;
  reject(err: Error): void;
}

/**
 * Each incoming connection goes to the oldest waiting `accept()`, or waits in a backlog
 * of at most `limit` for the next one.
 * @internal
 */
export class AcceptQueue<V> {
  private readonly backlog = new Deque<V>();
  private readonly waiters = new Deque<Waiter<V>>();

  constructor(private readonly limit = Infinity) {}

  /** Connections in the backlog. */
  get length(): number {
    return this.backlog.length;
  }

  /** Hands `conn` to the oldest waiting accept, or backlogs it. False (nothing done) when the backlog is full. */
  offer(conn: V): boolean {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter.resolve(conn);
    else if (this.backlog.length < this.limit) this.backlog.push(conn);
    else return false;
    return true;
  }

  /** The oldest backlogged connection, or `undefined`. */
  take(): V | undefined {
    return this.backlog.shift();
  }

  /** Waits for the next connection {@link offer}ed (or the error of {@link rejectWaiters}). */
  wait(): Promise<V> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Rejects every waiting accept with `err`. */
  rejectWaiters(err: Error): void {
    for (const waiter of this.waiters.drain()) waiter.reject(err);
  }

  /** Empties the backlog. */
  clear(): void {
    this.backlog.drain();
  }
}

/**
 * `for await (const conn of source)`: each step is `source.accept()`; the iteration ends
 * when it rejects with `EndpointClosedError`, and throws any other error.
 * @internal
 */
export class AcceptIterator<V> implements AsyncIterableIterator<V> {
  constructor(private readonly source: { accept(): Promise<V> }) {}

  next(): Promise<IteratorResult<V>> {
    return this.source.accept().then(toResult<V>, endWhenClosed);
  }

  return(): Promise<IteratorResult<V>> {
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<V> {
    return this;
  }
}

function toResult<V>(value: V): IteratorResult<V> {
  return { value, done: false };
}

function endWhenClosed(err: unknown): IteratorReturnResult<undefined> {
  if (err instanceof EndpointClosedError) return { value: undefined, done: true };
  throw err;
}
