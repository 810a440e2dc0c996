import { TokenBucket } from './token-bucket.js';

/** The per-client message rate limit in force (`client.messageRate`, `messageBurst`, `messageDebtLimit`). */
export interface MessageRateLimits {
  /** Messages a second; 0 turns the limit off. */
  readonly messageRate: number;
  readonly messageBurst: number;
  /** Debt, in messages, past which the client is disconnected; 0: never. */
  readonly messageDebtLimit: number;
}

/** What {@link MessageRate.settle} decided. */
export enum RateVerdict {
  /** Within the rate. */
  Within = 0,
  /** Over it: the socket is to be paused until {@link MessageRate.waitMs} has passed. */
  Pause = 1,
  /** Past the debt limit: the client is to be disconnected. */
  Disconnect = 2,
}

/** A monotonic clock in ms. */
const now = (): number => performance.now();

/**
 * One client's message rate: its token bucket, the messages decoded since the last read was
 * settled, and the one timer that resumes it while it is paused. The peer counts its frames
 * into {@link count} (one addition each) and settles once per read, so the clock is read
 * once per read, not per message.
 */
export class MessageRate {
  /** Messages decoded from the read being handled, not yet taken from the bucket. */
  count = 0;
  readonly #bucket: TokenBucket;
  readonly #debtLimit: number;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(limits: MessageRateLimits) {
    this.#bucket = new TokenBucket(limits.messageRate, limits.messageBurst, now());
    this.#debtLimit = limits.messageDebtLimit;
  }

  /** True while paused for the rate (a resume timer is set). */
  get paused(): boolean {
    return this.#timer !== null;
  }

  /** Takes the messages counted since the last call and says what must happen. */
  settle(): RateVerdict {
    const balance = this.#bucket.take(this.count, now());
    this.count = 0;
    if (balance >= 0) return RateVerdict.Within;
    if (this.#debtLimit > 0 && -balance > this.#debtLimit) return RateVerdict.Disconnect;
    return RateVerdict.Pause;
  }

  /** How long, in ms, until the debt is paid back. */
  waitMs(): number {
    return this.#bucket.waitMs(now());
  }

  /** Calls `resume` once the debt is paid (one timer); nothing when a pause is already running. */
  pauseUntilPaid(resume: () => void): boolean {
    if (this.#timer !== null) return false;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      resume();
    }, Math.max(1, this.waitMs()));
    return true;
  }

  /** Cancels a pause in progress (the client is gone). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
