/**
 * A gateway in a child process (see child-gateway-main.ts): its own event loop, so a load
 * generator in the test process does not slow it down, and its own heap, measured after a
 * forced GC, so a test can say how much memory an attack or a load cost it.
 */
import type { GatewayOptions, GatewayStats } from '../../src/index.js';
import { Child } from './child.js';
import { waitUntil, withTimeout } from './raw-peer.js';

/** Gateway options for the child: JSON only (no logger). */
export type ChildGatewayOptions = Omit<GatewayOptions, 'logger'>;

/** Heap and RSS of the gateway process, in bytes. */
export interface GatewayMemory {
  heapUsed: number;
  /** What V8 has reserved for its heap (used or not). */
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

export const MiB = 1024 * 1024;

/** `12.3 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

export class ChildGateway {
  private constructor(
    readonly child: Child,
    readonly clientPort: number,
    readonly serverPort: number,
    /** The WebSocket listener's port, when started with `{ webSocket: true }`. */
    readonly wsPort: number | undefined,
  ) {}

  /**
   * Starts a gateway with `options` on a client and a server listener (on `listen.client` and
   * `listen.server` when given, for a gateway restarted in place; free ports otherwise), and a
   * WebSocket one with `listen.webSocket`.
   */
  static async start(
    options: ChildGatewayOptions,
    execArgv: string[] = [],
    listen: { webSocket?: boolean; client?: string; server?: string } = {},
  ): Promise<ChildGateway> {
    const env: Record<string, string> = { FASTWAY_TEST_GATEWAY: JSON.stringify(options) };
    if (listen.webSocket === true) env.FASTWAY_TEST_WEBSOCKET = '1';
    if (listen.client !== undefined || listen.server !== undefined) env.FASTWAY_TEST_LISTEN = JSON.stringify({ client: listen.client, server: listen.server });
    const child = new Child('./child-gateway-main.ts', env, ['--expose-gc', ...execArgv]);
    try {
      const m = await child.nextEvent('listening');
      return new ChildGateway(child, m.clientPort as number, m.serverPort as number, m.wsPort as number | undefined);
    } catch (err) {
      await child.kill();
      throw err;
    }
  }

  async stats(): Promise<GatewayStats> {
    return (await this.child.request('stats')).stats as GatewayStats;
  }

  /** Memory after a full GC. */
  async memory(): Promise<GatewayMemory> {
    return (await this.child.request('memory')).memory as GatewayMemory;
  }

  /** How many file descriptors the gateway process has open (from /proc: Linux only). */
  async fds(): Promise<number> {
    return (await this.child.request('fds')).fds as number;
  }

  /** The first 50 entries the gateway logged (info or warn) for `event`. */
  async logged(event: string): Promise<Record<string, unknown>[]> {
    return (await this.child.request('logged', { event })).entries as Record<string, unknown>[];
  }

  /** The longest the gateway's event loop was late since the last call, in ms (how much a loaded machine delays its timers). */
  async lag(): Promise<number> {
    return (await this.child.request('lag')).lag as number;
  }

  /** What the gateway logged at error level (internal errors). */
  async errors(): Promise<string[]> {
    return (await this.child.request('errors')).errors as string[];
  }

  /** Polls the stats until `condition` holds (safety timeout `ms`). */
  async waitFor(condition: (s: GatewayStats) => boolean, what: string, ms?: number): Promise<GatewayStats> {
    let last: GatewayStats | null = null;
    let asking = false;
    await waitUntil(
      () => {
        if (last !== null && condition(last)) return true;
        if (!asking) {
          asking = true;
          void this.stats().then(
            (s) => {
              last = s;
              asking = false;
            },
            () => {
              asking = false;
            },
          );
        }
        return false;
      },
      what,
      ms,
    );
    return last!;
  }

  /** Waits until the gateway holds no client, server, live or pending ID. */
  waitEmpty(what = 'the gateway tables to empty', ms?: number): Promise<GatewayStats> {
    return this.waitFor((s) => s.clients === 0 && s.servers === 0 && s.liveConnections === 0 && s.pendingConnections === 0, what, ms);
  }

  /** Closes the gateway (gracefully) and waits for the process to exit; kills it if it will not. */
  async close(): Promise<void> {
    try {
      await this.child.request('close');
      await withTimeout(this.child.exited, 'the gateway process to exit after close()');
    } finally {
      await this.child.kill();
    }
  }
}
