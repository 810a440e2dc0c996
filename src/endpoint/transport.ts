/**
 * The byte stream an endpoint runs over. The endpoint core speaks only this interface, so
 * it runs anywhere a transport can be written: TCP in Node today; TLS and WebSocket (in
 * Node and in browsers) implement the same few members.
 *
 * A transport carries raw bytes: it neither frames nor parses them. It is handed to an
 * endpoint already connected.
 */

/** What a transport reports to its user. Methods, not closures: one object per connection. */
export interface TransportHandler {
  /**
   * Bytes arrived. The transport hands the chunk over for good: it never reuses or changes
   * it, so the receiver may keep views of it.
   */
  onData(chunk: Uint8Array): void;
  /** After {@link Transport.write} returned `false`: the buffered bytes have been written out. */
  onDrain(): void;
  /**
   * The connection is closed for good and every resource is released; `error` says why
   * when it failed (a reset, a network error). Called exactly once, never synchronously
   * from {@link Transport.close} or {@link Transport.destroy}.
   */
  onClose(error: Error | undefined): void;
}

/** A connected, ordered, reliable byte stream to the gateway. */
export interface Transport {
  /**
   * Sets where events go. Data flows from the first call; a later call replaces the
   * handler (the server handshake hands over to the endpoint this way). If the
   * connection closed before the first call, `onClose` is reported to the new handler.
   */
  setHandler(handler: TransportHandler): void;
  /**
   * Queues `bytes` for sending; the transport may keep a reference until they are written,
   * so the caller must not change them afterwards. Returns `false` when the transport's
   * buffer is over its high-water mark; `onDrain` follows when it has emptied. Bytes
   * written after close are dropped.
   */
  write(bytes: Uint8Array): boolean;
  /** Bytes accepted by {@link write} and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Sends what is buffered, then closes. `onClose` follows. */
  close(): void;
  /** Closes at once, dropping anything unsent. `onClose` follows. */
  destroy(): void;
  /** The gateway's address, for messages (`host:port`). */
  readonly remoteAddress: string;
}
