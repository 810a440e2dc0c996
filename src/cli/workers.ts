/**
 * `fastway --workers N|auto`: N gateway processes on one machine (Node's `cluster`). The
 * workers share the client listeners (TCP and WebSocket: the primary accepts and hands
 * connections out in turn); each has a server listener of its own (`--server-addr host:P`
 * → worker k binds P + k; port 0 → a free port each) and its own gateway ID (`<id>-<k>`).
 *
 * The primary runs no gateway. It forwards SIGTERM/SIGINT to every worker, restarts a
 * worker that dies (with backoff, logged and counted), and serves one `/metrics` for the
 * whole process tree (prom-client's cluster aggregation), `/healthz` and `/readyz`.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { InvalidOptionError } from '../errors.js';
import type { BoundAddress } from '../gateway/gateway.js';
import { MetricsServer, type JsonRoute } from '../gateway/metrics.js';
import { REPEAT_WINDOW_MS, signalExitCode } from './stop-signals.js';

/** The environment variables a worker is started with. */
const ENV_INDEX = 'FASTWAY_WORKER_INDEX';
const ENV_INSTANCE = 'FASTWAY_WORKER_INSTANCE';

/** Restart backoff: the first restart after this long, doubling up to the maximum; reset once a worker lived `STABLE_MS`. */
const RESTART_INITIAL_MS = 500;
const RESTART_MAX_MS = 30_000;
const STABLE_MS = 10_000;
/** The most workers `--workers` accepts. */
export const MAX_WORKERS = 256;

/** `--workers`: a number of workers, or `auto` (one per core the machine offers). */
export function parseWorkers(text: string): number | null {
  if (text === 'auto') return availableParallelism();
  if (!/^\d{1,3}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= MAX_WORKERS ? n : null;
}

/** This process's worker slot, when it is a `--workers` worker. */
export interface WorkerSlot {
  index: number;
  /** The registry token of the slot: a restarted worker takes its predecessor's gateway ID over at once. */
  instance: string;
}

/** The slot this process runs in, or null outside `--workers`. */
export function workerSlot(): WorkerSlot | null {
  if (!cluster.isWorker) return null;
  const index = Number(process.env[ENV_INDEX]);
  const instance = process.env[ENV_INSTANCE];
  if (!Number.isInteger(index) || index < 0 || instance === undefined) return null;
  return { index, instance };
}

/**
 * The server address worker `index` binds: port P + index, or a port of its own when P
 * is 0 (a plain `listen(0)` in a worker would share one port among them all).
 * @throws InvalidOptionError when P + index is past 65535.
 */
export async function workerServerAddress(serverAddr: string, index: number): Promise<string> {
  const colon = serverAddr.lastIndexOf(':');
  const host = serverAddr.slice(0, colon);
  const port = Number(serverAddr.slice(colon + 1));
  if (port === 0) return `${host}:${await exclusiveFreePort(host.replace(/^\[|\]$/g, ''))}`;
  if (port + index > 65535) throw new InvalidOptionError('--server-addr', `worker ${index} would bind port ${port + index}, past 65535`);
  return `${host}:${port + index}`;
}

function exclusiveFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** In a worker: lets the primary's `/metrics` collect `registry`. */
export function shareMetricsWithPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries(registry);
  new AggregatorRegistry(); // installs the worker's answer to the primary's requests
}

/** What a worker tells the primary. */
export type WorkerMessage = { fastway: 'ready'; server: string } | { fastway: 'draining' };

/** In a worker: tells the primary something (no-op elsewhere). */
export function tellPrimary(message: WorkerMessage): void {
  if (cluster.isWorker && process.send !== undefined) process.send(message);
}

/** What the primary needs to run. */
export interface PrimaryOptions {
  workers: number;
  /** Where `/metrics`, `/healthz`, `/readyz` are served; null when off. */
  metricsAddr: string | null;
  /** More paths for the metrics listener (`/cluster/gateways`). */
  routes?: ReadonlyMap<string, JsonRoute>;
  logger: Logger;
  /** Writes a line for people on stdout. */
  say: (line: string) => void;
}

interface Slot {
  index: number;
  instance: string;
  worker: Worker | null;
  ready: boolean;
  /** The slot's worker reported ready at least once: a worker that dies before that cannot start, and is not restarted. */
  everReady: boolean;
  startedAt: number;
  restarts: number;
  timer: ReturnType<typeof setTimeout> | null;
}

/** The `--workers` primary: starts the workers and supervises them until a stop signal drains them all. */
export class Primary {
  private readonly slots: Slot[] = [];
  private stopping: NodeJS.Signals | null = null;
  private firstSignalAt = 0;
  private metricsServer: MetricsServer | null = null;
  private readonly aggregator = new AggregatorRegistry();
  /** Workers restarted after dying, for /metrics. */
  private restartsTotal = 0;
  private exitCode = 0;
  private cleanUp: () => Promise<void> | void = () => {};

  constructor(private readonly options: PrimaryOptions) {}

  /** Forks the workers and opens the metrics listener. `cleanUp` runs once every worker has exited, before the primary exits. */
  async start(cleanUp: () => Promise<void> | void): Promise<void> {
    this.cleanUp = cleanUp;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, (s) => this.onSignal(s));
    process.on('SIGHUP', () => this.forward('SIGHUP'));
    for (let index = 0; index < this.options.workers; index++) {
      const slot: Slot = { index, instance: randomBytes(12).toString('base64url'), worker: null, ready: false, everReady: false, startedAt: 0, restarts: 0, timer: null };
      this.slots.push(slot);
      this.fork(slot);
    }
    if (this.options.metricsAddr !== null) {
      this.metricsServer = new MetricsServer(
        { contentType: this.aggregator.contentType, text: () => this.metricsText() },
        { address: this.options.metricsAddr, ready: () => this.stopping === null && this.slots.every((s) => s.ready), ...(this.options.routes && { routes: this.options.routes }) },
      );
      const bound: BoundAddress = await this.metricsServer.listen();
      this.options.say(`metrics for all ${this.options.workers} workers on http://${bound.host}:${bound.port}/metrics`);
    }
  }

  private async metricsText(): Promise<string> {
    const workers = await this.aggregator.clusterMetrics();
    return `${workers}\n# HELP fastway_worker_restarts_total Workers restarted after dying.\n# TYPE fastway_worker_restarts_total counter\nfastway_worker_restarts_total ${this.restartsTotal}\n`;
  }

  private fork(slot: Slot): void {
    slot.timer = null;
    slot.ready = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ [ENV_INDEX]: String(slot.index), [ENV_INSTANCE]: slot.instance });
    slot.worker = worker;
    worker.on('message', (message: WorkerMessage) => {
      if (message?.fastway === 'ready') slot.ready = slot.everReady = true;
      else if (message?.fastway === 'draining') slot.ready = false;
    });
    worker.on('exit', (code: number | null, signal: string | null) => this.onExit(slot, worker, code, signal as NodeJS.Signals | null));
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.ready = false;
    if (this.stopping !== null) {
      if (code !== 0 && this.exitCode === 0) this.exitCode = code ?? signalExitCode(signal ?? 'SIGTERM');
      if (slot.timer !== null) clearTimeout(slot.timer);
      if (this.slots.every((s) => s.worker === null)) void this.finish();
      return;
    }
    if (!slot.everReady) {
      // It could not start (a port in use, a bad flag, Redis unreachable): another try would fail the same way.
      this.options.logger.error({ event: 'worker_start_failed', worker: slot.index, code, signal }, `worker ${slot.index} could not start: stopping`);
      this.exitCode = code !== null && code !== 0 ? code : 1;
      this.stopping = 'SIGTERM';
      this.forward('SIGTERM');
      if (this.slots.every((s) => s.worker === null)) void this.finish();
      return;
    }
    if (Date.now() - slot.startedAt >= STABLE_MS) slot.restarts = 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_INITIAL_MS * 2 ** slot.restarts);
    slot.restarts++;
    this.restartsTotal++;
    this.options.logger.warn(
      { event: 'worker_died', worker: slot.index, code, signal, restartInMs: delay },
      `worker ${slot.index} died; restarting it in ${delay} ms`,
    );
    slot.timer = setTimeout(() => this.fork(slot), delay);
  }

  private onSignal(signal: NodeJS.Signals): void {
    const now = performance.now();
    if (this.stopping === null) {
      this.stopping = signal;
      this.firstSignalAt = now;
      for (const slot of this.slots) {
        if (slot.timer !== null) clearTimeout(slot.timer);
        slot.timer = null;
      }
      this.options.say(`${signal}: draining all ${this.slots.length} workers (signal again to stop at once)`);
      this.forward(signal);
      if (this.slots.every((s) => s.worker === null)) void this.finish();
    } else if (now - this.firstSignalAt >= REPEAT_WINDOW_MS) {
      this.options.logger.warn({ event: 'forced_exit', signal }, 'second stop signal: stopping the workers now');
      this.exitCode = signalExitCode(signal);
      this.forward(signal);
    }
  }

  private forward(signal: NodeJS.Signals): void {
    for (const slot of this.slots) slot.worker?.process.kill(signal);
  }

  private async finish(): Promise<void> {
    await this.metricsServer?.close();
    await this.cleanUp();
    this.options.logger.info({ event: 'stopped', code: this.exitCode }, 'all workers stopped');
    process.exit(this.exitCode);
  }
}
