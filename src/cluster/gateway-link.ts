/**
 * One game server's link to one gateway of the cluster: a server endpoint, dialed again
 * with exponential backoff and jitter after it is lost, for as long as the cluster wants
 * it (the gateway is in the registry and ready). Incoming virtual connections are handed
 * to the cluster tagged with the gateway's ID.
 */
import type { DialServerOptions } from '../endpoint/dial.js';
import { dialServer } from '../endpoint/dial.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { ReconnectPolicy } from '../endpoint/session/reconnect-policy.js';
import type { VirtualConnection } from '../endpoint/virtual-connection.js';

/**
 * `connecting`: a dial is in flight. `linked`: the endpoint is up. `retrying`: lost or
 * failed, waiting for the next attempt. `idle`: no link and none wanted (the gateway is
 * draining or left).
 */
export type LinkState = 'connecting' | 'linked' | 'retrying' | 'idle';

/**
 * The backoff between attempts: attempt n waits a random time in [base/2, base],
 * base = min(maxDelay, initialDelay·2^n) (the endpoint's {@link ReconnectPolicy} with
 * factor 2 and jitter ½).
 */
export interface LinkBackoff {
  initialDelay: number;
  maxDelay: number;
}

/** What the cluster tells a link and hears from it. */
export interface LinkOwner<T> {
  /** The address to dial now (a restarted gateway may have moved), or null when the link is no longer wanted. */
  wantedAddress(gatewayId: string): string | null;
  onState(link: GatewayLink<T>, error: Error | undefined): void;
  onAccept(link: GatewayLink<T>, conn: VirtualConnection<T>): void;
}

export class GatewayLink<T> {
  state: LinkState = 'idle';
  /** The endpoint while linked. */
  endpoint: Endpoint<T> | null = null;
  /** The last failure, until the next success. */
  lastError: Error | undefined = undefined;
  /** Attempts that finished (in success or failure) since the link was made. */
  attemptsFinished = 0;
  private readonly backoff: ReconnectPolicy;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private dialing: Promise<void> | null = null;

  constructor(
    readonly gatewayId: string,
    private readonly owner: LinkOwner<T>,
    private readonly dialOptions: DialServerOptions<T>,
    backoff: LinkBackoff,
  ) {
    this.backoff = new ReconnectPolicy({ initialDelay: backoff.initialDelay, maxDelay: backoff.maxDelay, factor: 2, jitter: 0.5, maxAttempts: 0 });
  }

  /** Dials now unless linked or dialing; a pending retry is brought forward. */
  start(): void {
    if (this.closed || this.state === 'linked' || this.state === 'connecting') return;
    this.clearTimer();
    const address = this.owner.wantedAddress(this.gatewayId);
    if (address === null) {
      this.setState('idle', this.lastError);
      return;
    }
    this.setState('connecting', undefined);
    this.dialing = this.attempt(address);
  }

  /** Closes the endpoint and stops retrying; resolves when released. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.dialing;
    const endpoint = this.endpoint;
    this.endpoint = null;
    if (endpoint !== null) await endpoint.close();
    this.state = 'idle';
  }

  private async attempt(address: string): Promise<void> {
    let endpoint: Endpoint<T>;
    try {
      endpoint = await dialServer(address, this.dialOptions);
    } catch (err) {
      this.attemptsFinished++;
      this.dialing = null;
      this.lastError = err as Error;
      this.retryLater();
      return;
    }
    this.attemptsFinished++;
    this.dialing = null;
    if (this.closed) {
      await endpoint.close();
      return;
    }
    this.backoff.reset();
    this.lastError = undefined;
    this.endpoint = endpoint;
    this.setState('linked', undefined);
    void this.acceptLoop(endpoint);
    void endpoint.closed.then((reason) => {
      if (this.endpoint !== endpoint) return;
      this.endpoint = null;
      if (this.closed) return;
      this.lastError = reason;
      this.retryLater();
    });
  }

  private async acceptLoop(endpoint: Endpoint<T>): Promise<void> {
    for (;;) {
      let conn: VirtualConnection<T>;
      try {
        conn = await endpoint.accept();
      } catch {
        return; // the endpoint closed
      }
      this.owner.onAccept(this, conn);
    }
  }

  private retryLater(): void {
    if (this.closed) return;
    if (this.owner.wantedAddress(this.gatewayId) === null) {
      this.setState('idle', this.lastError);
      return;
    }
    const delay = this.backoff.nextDelay();
    this.setState('retrying', this.lastError);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, delay);
  }

  private setState(state: LinkState, error: Error | undefined): void {
    if (this.state === state) return;
    this.state = state;
    this.owner.onState(this, error);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
