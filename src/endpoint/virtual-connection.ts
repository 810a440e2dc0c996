import { ConnectionClosedError, FormatError, MessageTooLargeError } from '../errors.js';
import { Deque } from './deque.js';
import type { Format } from './format.js';
import { CancellableWait, type WaitOptions, waitOptionsOf } from './wait.js';

/**
 * What a virtual connection needs from the endpoint that owns it.
 * @internal
 */
export interface ConnectionOwner {
  /** Queues a data frame; returns the backpressure signal. May throw `SendQueueFullError`. */
  sendFrame(connId: number, message: Uint8Array): boolean;
  /** Removes `conn` from the endpoint, tells the gateway, and closes it with `reason`. */
  closeConnection(conn: OwnedConnection, reason: Error | undefined, discardQueued: boolean): void;
  /** See {@link VirtualConnection.drained}. */
  drained(options?: WaitOptions): Promise<void>;
  readonly maxMessageSize: number;
}

/**
 * Takes a virtual connection's raw messages instead of its receive queue: how the session
 * layer (src/endpoint/session/) reads the connections that carry it. @internal
 */
export interface CarrierSink {
  onCarrierMessage(bytes: Uint8Array): void;
}

declare const sealed: unique symbol;

/** @internal `owner` as the constructor of a virtual connection takes it. */
export function sealOwner(owner: ConnectionOwner): SealedOwner {
  return owner as unknown as SealedOwner;
}

/**
 * The owner a virtual connection is made with, as the public types see it: a value only the
 * library has (an endpoint, or the session layer). Connections come from `dial()` and
 * `accept()`; nothing outside the library makes one.
 */
export interface SealedOwner {
  readonly [sealed]: true;
}

/** The part of a virtual connection its owner handles without knowing its message type. @internal */
export interface OwnedConnection {
  readonly connId: number;
  terminate(reason: Error | undefined, discardQueued: boolean): void;
}

/**
 * A pending read: a {@link VirtualConnection.receive} (`iter` false), settled with the
 * message, or a `for await` step (`iter` true), settled with its iterator result at once
 * (no second promise to map one to the other) and ended with `done` on a close.
 */
interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
  readonly iter: boolean;
}

/** `Symbol.asyncDispose`, or the well-known fallback where the runtime has none yet. */
export const asyncDispose: typeof Symbol.asyncDispose =
  (Symbol as { asyncDispose?: typeof Symbol.asyncDispose }).asyncDispose ?? (Symbol.for('Symbol.asyncDispose') as typeof Symbol.asyncDispose);

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * One virtual connection through the gateway, to one remote (a game server, for a client;
 * a game client, for a server). Get one from `endpoint.dial()` or `endpoint.accept()`.
 *
 * Messages arrive in order and are queued (up to `recvQueue`) until read with
 * {@link receive} or `for await`. When the connection closes for any reason other than
 * {@link close}, messages that already arrived are still delivered; then `receive` rejects
 * with `ConnectionClosedError` and iteration ends. {@link closed} says why it closed.
 *
 * @example
 * const conn = await endpoint.dial(serverId);
 * conn.send(new TextEncoder().encode('hello'));
 * for await (const msg of conn) console.log(msg);
 * console.log('closed because', await conn.closed);
 */
export class VirtualConnection<T = Uint8Array> implements AsyncIterable<T>, AsyncDisposable {
  /** The ID the gateway gave this virtual connection (for a resumable one: its current carrier's). */
  readonly connId: number;
  /** The other end's ID: the server ID for a client, the client ID for a server. */
  readonly remoteId: number;
  /**
   * Resolves (never rejects) once the connection is closed, with why: `undefined` when
   * {@link close} was called here; `ConnectionClosedError` when the remote end (or the
   * gateway) closed it; `ReceiveQueueFullError` when too many messages waited unread;
   * `EndpointClosedError` (its `cause` saying why) when the endpoint closed.
   */
  readonly closed: Promise<Error | undefined>;

  private readonly owner: ConnectionOwner;
  private readonly format: Format<T>;
  private readonly recvQueue: number;
  private readonly queue = new Deque<Uint8Array>();
  private readonly waiters = new Deque<Waiter>();
  private open = true;
  private sink: CarrierSink | null = null;
  private reason: Error | undefined = undefined;
  private resolveClosed!: (reason: Error | undefined) => void;

  /** Not for users (see {@link SealedOwner}): made by the endpoint, or extended by the session layer. */
  protected constructor(owner: SealedOwner, connId: number, remoteId: number, format: Format<T>, recvQueue: number) {
    this.owner = owner as unknown as ConnectionOwner;
    this.connId = connId;
    this.remoteId = remoteId;
    this.format = format;
    this.recvQueue = recvQueue;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }
  /** @internal A virtual connection of `owner`. */
  static create<T>(owner: ConnectionOwner, connId: number, remoteId: number, format: Format<T>, recvQueue: number): VirtualConnection<T> {
    return new VirtualConnection<T>(sealOwner(owner), connId, remoteId, format, recvQueue);
  }


  /** True once the connection is closed (queued messages may still be read). */
  get isClosed(): boolean {
    return !this.open;
  }

  /** Messages that arrived and have not been read yet. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  /**
   * Sends `message`. The frame is queued and written with the others of this event-loop
   * turn. Returns `false` when the connection to the gateway is over its high-water mark:
   * the message is still queued, but the caller should wait for {@link drained} before
   * sending more (the same convention as Node's `stream.write()`).
   *
   * @throws ConnectionClosedError when the connection is closed.
   * @throws MessageTooLargeError when the encoded message is over `maxPacketSize - 4`
   *   bytes; nothing is sent and the connection stays usable.
   * @throws FormatError when the format cannot encode `message`.
   * @throws SendQueueFullError when `sendQueue` bytes already wait to be sent.
   */
  send(message: T): boolean {
    if (!this.open) throw new ConnectionClosedError(closedMessage(this.reason), { cause: this.reason });
    let bytes: Uint8Array;
    try {
      bytes = this.format.encode(message);
    } catch (err) {
      throw new FormatError(`the ${this.format.name} format could not encode the message: ${errorText(err)}`, undefined, { cause: err });
    }
    if (!(bytes instanceof Uint8Array)) {
      throw new FormatError(`the ${this.format.name} format's encode returned ${typeof bytes}, not a Uint8Array`);
    }
    if (bytes.length > this.owner.maxMessageSize) throw new MessageTooLargeError(bytes.length, this.owner.maxMessageSize);
    return this.owner.sendFrame(this.connId, bytes);
  }

  /**
   * The next message. Rejects with `FormatError` (carrying the bytes) when that one
   * message cannot be decoded; the next receive goes on with the next message. Rejects
   * with `ConnectionClosedError` once the connection is closed and every message that
   * arrived before has been read.
   *
   * With `options.signal` or `options.timeout` the wait may be given up on: it rejects
   * with `AbortError` or `TimeoutError` and takes nothing, so the message that arrives
   * next goes to the next receive. (A receive raced with `Promise.race` and abandoned
   * still takes the next message; give it a signal instead.)
   */
  receive(options?: WaitOptions): Promise<T> {
    if (options !== undefined) return this.receiveWithin(options);
    const bytes = this.queue.shift();
    if (bytes !== undefined) {
      this.consumed();
      try {
        return Promise.resolve(this.format.decode(bytes));
      } catch (err) {
        return Promise.reject(decodeError(this.format, bytes, err));
      }
    }
    if (!this.open) return Promise.reject(new ConnectionClosedError(closedMessage(this.reason), { cause: this.reason }));
    return new Promise<T>((resolve, reject) => this.waiters.push({ resolve: resolve as (value: unknown) => void, reject, iter: false }));
  }

  /** {@link receive} with a signal and/or a timeout. */
  private receiveWithin(options: WaitOptions): Promise<T> {
    const wait = waitOptionsOf('receive', options);
    if (wait instanceof Error) return Promise.reject(wait);
    const { signal, timeout } = wait;
    if (this.queue.length > 0 || !this.open || (signal === undefined && timeout === 0)) return this.receive();
    return new Promise<T>((resolve, reject) => {
      const waiter = new CancellableWait<T>('receive()', 'no message arrived', resolve, reject, this.waiters);
      this.waiters.push(waiter as Waiter);
      waiter.start(signal, timeout);
    });
  }

  /**
   * Resolves when the connection to the gateway is below its high-water mark again (at
   * once if it is). Rejects with `EndpointClosedError` if the endpoint closes first, and
   * with `AbortError`/`TimeoutError` when `options.signal` aborts or `options.timeout` passes.
   */
  drained(options?: WaitOptions): Promise<void> {
    return this.owner.drained(options);
  }

  /**
   * Closes the connection and tells the gateway, which tells the remote end. Messages not
   * yet read are dropped; pending receives reject with `ConnectionClosedError`. Messages
   * sent before are still delivered to the remote. Does nothing if already closed.
   */
  close(): void {
    if (this.open) this.owner.closeConnection(this, undefined, true);
  }

  /** `await using conn = await endpoint.dial(id)` closes it at the end of the scope. */
  [asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /**
   * Iterates the messages until the connection closes. A message that fails to decode
   * throws `FormatError` out of the loop (the connection stays open). Leaving the loop
   * early does not close the connection.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new MessageIterator(this);
  }

  /**
   * The iterator's `next()`: a queued message costs one promise; otherwise one promise
   * that the next message (or a close, ending the iteration) settles directly.
   * @internal
   */
  nextResult(): Promise<IteratorResult<T>> {
    const bytes = this.queue.shift();
    if (bytes === undefined) {
      if (!this.open) return Promise.resolve(DONE);
      return new Promise<IteratorResult<T>>((resolve, reject) =>
        this.waiters.push({ resolve: resolve as (value: unknown) => void, reject, iter: true }),
      );
    }
    this.consumed();
    try {
      return Promise.resolve({ value: this.format.decode(bytes), done: false });
    } catch (err) {
      return Promise.reject(decodeError(this.format, bytes, err));
    }
  }

  /**
   * A message arrived. Returns `false` (and keeps nothing) when the receive queue is full;
   * the endpoint then closes the connection.
   * @internal
   */
  deliver(bytes: Uint8Array): boolean {
    if (this.sink !== null) {
      this.sink.onCarrierMessage(bytes);
      return true;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.consumed();
      let message: T;
      try {
        message = this.format.decode(bytes);
      } catch (err) {
        waiter.reject(decodeError(this.format, bytes, err));
        return true;
      }
      waiter.resolve(waiter.iter ? { value: message, done: false } : message);
      return true;
    }
    if (this.queue.length >= this.recvQueue) return false;
    this.queue.push(bytes);
    return true;
  }

  /**
   * Hands every message, from those already queued on, to `sink` raw (null: back to the
   * receive queue). Used by the session layer on the connections that carry it.
   * @internal
   */
  divert(sink: CarrierSink | null): void {
    this.sink = sink;
    if (sink === null) return;
    while (this.sink === sink) {
      const bytes = this.queue.shift();
      if (bytes === undefined) break;
      sink.onCarrierMessage(bytes);
    }
  }

  /**
   * Sends bytes already encoded, past the format. Returns the backpressure signal; throws
   * `ConnectionClosedError` once closed, `SendQueueFullError` as {@link send} does.
   * @internal
   */
  sendEncoded(bytes: Uint8Array): boolean {
    if (!this.open) throw new ConnectionClosedError(closedMessage(this.reason), { cause: this.reason });
    return this.owner.sendFrame(this.connId, bytes);
  }

  /** The application took one message (read it, or a waiting read got it). A resumable connection acknowledges it. @internal */
  protected consumed(): void {}

  /** A resumed connection now runs over another virtual connection, maybe from another remote ID. @internal */
  protected rebind(connId: number, remoteId: number): void {
    (this as { connId: number }).connId = connId;
    (this as { remoteId: number }).remoteId = remoteId;
  }

  /**
   * Marks the connection closed: settles pending receives and {@link closed}. Called by
   * the endpoint only.
   * @internal
   */
  terminate(reason: Error | undefined, discardQueued: boolean): void {
    if (!this.open) return;
    this.open = false;
    this.reason = reason;
    this.sink = null;
    if (discardQueued) this.queue.drain();
    if (this.waiters.length > 0) {
      let err: ConnectionClosedError | null = null;
      for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
        if (w.iter) w.resolve(DONE);
        else w.reject((err ??= new ConnectionClosedError(closedMessage(reason), { cause: reason })));
      }
    }
    this.resolveClosed(reason);
  }
}

class MessageIterator<T> implements AsyncIterableIterator<T> {
  private readonly conn: VirtualConnection<T>;
  constructor(conn: VirtualConnection<T>) {
    this.conn = conn;
  }
  next(): Promise<IteratorResult<T>> {
    return this.conn.nextResult();
  }
  return(): Promise<IteratorResult<T>> {
    return Promise.resolve(DONE);
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

function closedMessage(reason: Error | undefined): string {
  return reason === undefined ? 'the virtual connection was closed' : `the virtual connection is closed: ${reason.message}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function decodeError(format: Format<unknown>, bytes: Uint8Array, err: unknown): FormatError {
  if (err instanceof FormatError && err.bytes !== undefined) return err;
  return new FormatError(`the ${format.name} format could not decode a ${bytes.length}-byte message: ${errorText(err)}`, bytes, {
    cause: err,
  });
}
