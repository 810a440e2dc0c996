import { AbortError, AuthError, HandshakeTimeoutError, ProtocolError } from '../errors.js';
import { CHALLENGE_SIZE, encodeHandshakeReply } from '../protocol/handshake.js';
import { Endpoint, SWAPPED_PORT_HINT } from './endpoint.js';
import type { ResolvedServerOptions } from './options.js';
import type { Transport, TransportHandler } from './transport.js';

/**
 * The server side of the handshake (docs/protocol.md §3), then the confirmation the protocol
 * lacks:
 *
 * 1. read the gateway's 8-byte challenge;
 * 2. write `MD5(challenge ‖ key)` and the server ID;
 * 3. hand the connection to an {@link Endpoint} and send one `New`. A gateway answers a
 *    `New` only on an authenticated connection (it closes the connection on a wrong key),
 *    so its `Open` proves the key was accepted; the ID it gives is released at once.
 *
 * All three must finish within `authTimeout` (`HandshakeTimeoutError`). A gateway that
 * closes the connection before step 3 is answered fails with `AuthError`: before the
 * challenge, during it, or — the way a wrong key shows — right after the reply.
 * @internal
 */
export class ServerHandshake<T> {
  private readonly challenge = new Uint8Array(CHALLENGE_SIZE);
  private received = 0;
  private endpoint: Endpoint<T> | null = null;
  private failure: Error | null = null;
  private settled = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly transport: Transport,
    private readonly options: ResolvedServerOptions<T>,
    private readonly resolve: (endpoint: Endpoint<T>) => void,
    private readonly reject: (err: Error) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.timer = setTimeout(handshakeTimedOut, options.authTimeout, this);
    transport.setHandler(this);
    if (signal !== undefined) {
      if (signal.aborted) queueMicrotask(() => this.handleEvent());
      else signal.addEventListener('abort', this);
    }
  }

  /** The abort listener: gives the handshake up as a timeout does, with `AbortError`. */
  handleEvent(): void {
    this.stop(new AbortError(`the server handshake with ${this.transport.remoteAddress} was aborted`, { cause: this.signal?.reason }));
  }

  /** Challenge bytes (the handler until the endpoint takes over). */
  onData(chunk: Uint8Array): void {
    if (this.failure !== null || this.endpoint !== null) return;
    const take = Math.min(CHALLENGE_SIZE - this.received, chunk.length);
    this.challenge.set(chunk.subarray(0, take), this.received);
    this.received += take;
    if (this.received < CHALLENGE_SIZE) return;

    const { authKey, serverId } = this.options;
    this.transport.write(encodeHandshakeReply(this.challenge, authKey, serverId));
    const endpoint = Endpoint.create<T>(this.transport, 'server', this.options, serverId);
    this.endpoint = endpoint;
    endpoint.closed.then((reason) => this.endpointClosed(reason));
    endpoint.probe(() => this.confirmed());
    if (take < chunk.length) endpoint.onData(chunk.subarray(take));
  }

  onDrain(): void {}

  /** The connection closed before the endpoint took over. */
  onClose(error: Error | undefined): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    const where = this.transport.remoteAddress;
    this.reject(
      this.failure ??
        new AuthError(
          this.received === 0
            ? `the gateway at ${where} closed the connection before sending its challenge`
            : `the gateway at ${where} closed the connection during the handshake`,
          { cause: error },
        ),
    );
  }

  /** @internal */
  timedOut(): void {
    this.stop(
      new HandshakeTimeoutError(
        `the server handshake with ${this.transport.remoteAddress} did not finish within ${this.options.authTimeout} ms` +
          (this.endpoint !== null
            ? ' (the gateway did not confirm the key)'
            : this.received === 0
              ? `: no challenge came. ${SWAPPED_PORT_HINT.server}`
              : ' (no whole challenge)'),
      ),
    );
  }

  /** Ends the handshake with `err`: the connection is destroyed and the promise rejects once it is released. */
  private stop(err: Error): void {
    if (this.settled || this.failure !== null) return;
    this.signal?.removeEventListener('abort', this);
    if (this.endpoint !== null) {
      this.endpoint.abort(err);
    } else {
      this.failure = err;
      this.transport.destroy();
    }
  }

  private confirmed(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    this.resolve(this.endpoint!);
  }

  private endpointClosed(reason: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    if (reason instanceof HandshakeTimeoutError || reason instanceof ProtocolError || reason instanceof AbortError) {
      this.reject(reason);
      return;
    }
    this.reject(
      new AuthError(
        `the gateway at ${this.transport.remoteAddress} closed the connection right after the handshake: ` +
          `it rejected the key (or server ID ${this.options.serverId})`,
        { cause: reason },
      ),
    );
  }
}

function handshakeTimedOut(handshake: { timedOut(): void }): void {
  handshake.timedOut();
}
