/**
 * Limits repeated log lines from one source (a remote IP address), so a peer that sends
 * garbage in a loop cannot flood the log. Each source may log `perWindow` lines per window;
 * what is held back is counted and reported once when the window ends. Memory is bounded:
 * past `maxSources` distinct sources in one window, the rest share one bucket.
 */
export class LogRateLimiter {
  private counts = new Map<string, number>();
  private windowStart = 0;

  constructor(
    private readonly perWindow = 5,
    private readonly windowMs = 10_000,
    private readonly maxSources = 10_000,
  ) {}

  /**
   * Counts one line from `source` at time `now` (ms). Returns whether to log it, and the
   * sources whose lines were held back in the window that just ended (to log as a summary).
   */
  allow(source: string, now: number): { log: boolean; suppressed: [source: string, lines: number][] } {
    let suppressed: [string, number][] = NONE;
    if (now - this.windowStart >= this.windowMs) {
      suppressed = this.endWindow();
      this.windowStart = now;
    }
    const key = this.counts.has(source) || this.counts.size < this.maxSources ? source : '(other sources)';
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return { log: count <= this.perWindow, suppressed };
  }

  private endWindow(): [string, number][] {
    const out: [string, number][] = [];
    for (const [source, count] of this.counts) if (count > this.perWindow) out.push([source, count - this.perWindow]);
    this.counts = new Map();
    return out.length === 0 ? NONE : out;
  }
}

const NONE: [string, number][] = [];
