import type { DisconnectReason } from './stats.js';

/**
 * The part of a connected socket the gateway uses. `net.Socket` (and so `tls.TLSSocket`)
 * has all of it; a WebSocket connection is handed in through an adapter that has it too
 * (see websocket-listener.ts), so every kind of client is the same to the gateway.
 *
 * Events: `'data'` (a Buffer of received bytes), `'error'` (an Error; a `ProtocolError`
 * counts as the peer breaking the protocol), then exactly one `'close'`.
 */
export interface GatewaySocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** True once the socket cannot be used any more. */
  readonly destroyed: boolean;
  /**
   * Bytes written and not yet handed to the kernel. Right after a {@link write}, 0 means that
   * write is complete and its buffer may be reused.
   */
  readonly writableLength: number;
  /** Sends `data`; `cb` is called when it has been handed to the kernel (or failed). */
  write(data: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  /** Holds writes back until {@link uncork}, so that several go out together. */
  cork(): void;
  uncork(): void;
  /** Stops reading (backpressure); {@link resume} reads again. */
  pause(): unknown;
  resume(): unknown;
  setNoDelay(noDelay?: boolean): unknown;
  /** Closes at once, dropping anything unsent; `'close'` follows. */
  destroy(): unknown;
  /**
   * Closes because of `reason`, in the socket's own way when it has one (a WebSocket sends
   * a close code). The gateway calls it when present, else {@link destroy}.
   */
  closeFor?(reason: DisconnectReason): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}
