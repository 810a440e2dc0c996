/**
 * A token bucket: `rate` tokens a second, at most `burst` saved up. Each message takes a
 * token; a sender that takes more than it has goes into debt, and the debt says how long it
 * must wait (`waitMs`) before it is even again. Pure: time is passed in (milliseconds, from
 * any monotonic clock), so one bucket costs two numbers and no timer.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param rate tokens added per second (> 0).
   * @param burst the most tokens saved up (≥ 1); a new bucket starts full.
   * @param now the time of creation, in ms.
   */
  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be at least 1, got ${burst}`);
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `n` tokens at time `now`; the balance may go below zero (a debt). Returns the balance after. */
  take(n: number, now: number): number {
    this.refill(now);
    this.tokens -= n;
    return this.tokens;
  }

  /** The balance at `now` (negative: a debt). */
  balance(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** How long from `now` until the balance is back to zero (0 when not in debt). */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  private refill(now: number): void {
    if (now <= this.last) return; // a clock that went backwards adds nothing
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }
}
