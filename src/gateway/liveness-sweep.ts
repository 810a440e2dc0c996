import type { Peer } from './peer.js';

/** Sweeps per ping interval: silence is measured in quarters of the interval. */
const SWEEPS_PER_INTERVAL = 4;

/**
 * The liveness sweep of one kind of peer (clients, or servers): every quarter ping interval,
 * a peer silent for a whole interval is pinged, and one silent for two intervals is dropped
 * (see Peer.sweep for who is judged). What a ping and a drop do is the gateway's.
 */
export class LivenessSweep {
  readonly #timer: ReturnType<typeof setInterval>;

  /**
   * Starts sweeping `peers()` every quarter of `intervalMs`.
   * @param ping sends a Ping to a peer silent for an interval.
   * @param drop tears down a peer silent for two intervals (after the sweep's walk).
   */
  constructor(intervalMs: number, peers: () => Iterable<Peer>, ping: (peer: Peer) => void, drop: (peer: Peer) => void) {
    const sweep = (): void => {
      const doomed: Peer[] = [];
      for (const peer of peers()) {
        const silent = peer.sweep();
        if (silent === SWEEPS_PER_INTERVAL) ping(peer);
        else if (silent >= 2 * SWEEPS_PER_INTERVAL) doomed.push(peer);
      }
      for (const peer of doomed) drop(peer);
    };
    this.#timer = setInterval(sweep, Math.max(1, Math.floor(intervalMs / SWEEPS_PER_INTERVAL)));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
