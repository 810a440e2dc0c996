/**
 * Connections that send a little and then stall (slowloris), for attack tests against a
 * gateway in a child process: each knows when it connected, what came back and when the
 * gateway closed it; they are opened in batches, each batch accepted by the gateway (its
 * file descriptors grew) before the next, so the time a connection is held is measured from
 * its connect and not from a wait in the listen backlog.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import type { ChildGateway } from './child-gateway.js';
import { withTimeout } from './raw-peer.js';

export interface StalledConnection {
  socket: Socket;
  /** When the connection was usable (for TLS, when the handshake finished), ms since the epoch. */
  connectedAt: number;
  /** When it closed; 0 while open. */
  closedAt: number;
  /** This end's address as the gateway sees it, `127.0.0.1:port` (read at connect). */
  local: string;
  /** Everything the gateway sent. */
  received: Buffer[];
  /** Resolves when the socket has closed (a reset counts). */
  closed: Promise<void>;
}

/** How to reach the listener: plain TCP, or TLS trusting `ca` (the handshake is finished first). */
export interface StallTarget {
  port: number;
  tls?: { ca: string };
  /** Plain TCP only: the local address to connect from (another loopback address has log lines of its own). @default any */
  localAddress?: string;
}

/** Connects to `target`, sends `prefix` and stalls. */
export async function stall(target: StallTarget, prefix: Uint8Array): Promise<StalledConnection> {
  const socket: Socket =
    target.tls === undefined
      ? netConnect({ host: '127.0.0.1', port: target.port, localAddress: target.localAddress })
      : tlsConnect({ host: '127.0.0.1', port: target.port, ca: target.tls.ca });
  socket.on('error', () => {}); // a reset is a close too
  const c: StalledConnection = { socket, connectedAt: 0, closedAt: 0, local: '', received: [], closed: Promise.resolve() };
  socket.on('data', (chunk: Buffer) => c.received.push(chunk));
  c.closed = new Promise((resolve) => socket.once('close', () => ((c.closedAt = Date.now()), resolve())));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once(target.tls === undefined ? 'connect' : 'secureConnect', () => {
        c.connectedAt = Date.now();
        c.local = `${socket.localAddress}:${socket.localPort}`;
        resolve();
      });
      socket.once('close', () => reject(new Error('a stalled connection closed before it connected')));
    }),
    'a stalled connection to connect',
  );
  if (prefix.length > 0) socket.write(prefix);
  return c;
}

/**
 * Opens `count` stalled connections with `open(i)`, `batch` at a time, waiting after each
 * batch until the gateway holds a file descriptor for every one still open (`baseFds`: its
 * count before any). `all` collects every connection opened so far, across calls.
 */
export async function openStalled(
  gw: ChildGateway,
  baseFds: number,
  all: StalledConnection[],
  count: number,
  open: (i: number) => Promise<StalledConnection>,
  batch = 100,
): Promise<StalledConnection[]> {
  const mine: StalledConnection[] = [];
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => open(i + j)));
    mine.push(...opened);
    all.push(...opened);
    for (let polls = 0; (await gw.fds()) < baseFds + all.filter((c) => c.closedAt === 0).length; polls++) {
      assert.ok(polls < 1000, `the gateway did not accept ${all.length} connections`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  return mine;
}

/** Waits up to `ms` for every connection in `stalled` to close; the error says how many were left, by group. */
export async function allClosed(groups: Map<string, StalledConnection[]>, ms: number): Promise<void> {
  const every = [...groups.values()].flat();
  await withTimeout(Promise.all(every.map((c) => c.closed)), 'every stalled connection to be closed by the gateway', ms).catch((err: Error) => {
    const open = [...groups].map(([name, list]) => `${name}: ${list.filter((c) => c.closedAt === 0).length} open`);
    throw new Error(`${err.message} (${open.join(', ')})`);
  });
}

/**
 * How late this process's event loop runs: on a loaded machine a close is seen late by this
 * much, as the gateway's timers fire late by its own (see {@link ChildGateway.lag}).
 */
export class LoopLag {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.#histogram.enable();
  }

  /** The longest delay seen, in ms; stops measuring. */
  stop(): number {
    this.#histogram.disable();
    return this.#histogram.max / 1e6;
  }
}

/**
 * Asserts every connection of a group was closed between 0.9 × `timeout` and `timeout` plus
 * a second plus `lag` after it connected; returns `closed after a–b ms` for the report. `lag`
 * is how late the processes' event loops ran meanwhile (the gateway's and the test's, see
 * {@link LoopLag}): a loaded machine delays a timer and its close by that much, and no more,
 * so the bound still fails a close that waits on anything but its own timer.
 */
export function assertClosedOnTime(name: string, list: readonly StalledConnection[], timeout: number, lag: number): string {
  const slack = 1000 + Math.ceil(lag);
  const lifetimes = list.map((c) => c.closedAt - c.connectedAt);
  const shortest = Math.min(...lifetimes);
  const longest = Math.max(...lifetimes);
  // A timer may fire early by the length of the turn it was set in; never late by more than the slack.
  assert.ok(shortest >= timeout * 0.9, `${name}: a stalled connection was closed after ${shortest} ms, before its timeout of ${timeout} ms`);
  assert.ok(
    longest <= timeout + slack,
    `${name}: a stalled connection was held ${longest} ms, more than its timeout of ${timeout} ms plus 1000 ms and the ${Math.ceil(lag)} ms the event loops ran late`,
  );
  return `${name} (timeout ${timeout} ms): closed after ${shortest}–${longest} ms (event loops up to ${Math.ceil(lag)} ms late)`;
}
