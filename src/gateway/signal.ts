/** Something others wait for that happens again and again (the last socket closed; no virtual connection left). */
export class Signal {
  #waiters: (() => void)[] = [];

  /** Resolves at the next {@link fire}. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves everyone waiting now. */
  fire(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
