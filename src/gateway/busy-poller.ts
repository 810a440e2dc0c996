/**
 * Keeps the event loop polling for input for a short window after each read, instead of
 * letting the process sleep in the kernel until the next event.
 *
 * Waking a sleeping process costs tens of microseconds on a virtual machine (the idle vCPU
 * is halted and must be rescheduled by the host), and a lightly loaded gateway pays it for
 * nearly every message, twice per round trip. While a window is open, a pending immediate
 * keeps libuv polling without a timeout, so input that arrives within it is picked up at
 * once. A busy gateway never sleeps anyway, so the cost is only CPU time while traffic is
 * sparse: at most one window per read.
 */
export class BusyPoller {
  private deadline = 0;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private readonly windowMs: number;
  private readonly poll = (): void => {
    this.immediate = null;
    if (performance.now() < this.deadline) this.immediate = setImmediate(this.poll);
  };

  /** @param micros length of the window after each read, in microseconds (more than 0). */
  constructor(micros: number) {
    this.windowMs = micros / 1000;
  }

  /** Input arrived: keep polling until a window from now. */
  activity(): void {
    this.deadline = performance.now() + this.windowMs;
    if (this.immediate === null) this.immediate = setImmediate(this.poll);
  }

  /** Stops polling (the gateway is closing): nothing is left scheduled. */
  stop(): void {
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    this.deadline = 0;
  }
}
