/**
 * Bench child: a load generator. `node --import tsx bench/load-generator.ts`
 *
 * Requests, in order:
 * - `setup` `{ targets: ClientTarget[], size }`: connects one load client per target (and
 *   opens its virtual connections); replies when all are ready.
 * - `start` `{ inflight }`: puts `inflight` messages in flight on every virtual connection.
 * - `measure`: from now on, counts and times round trips.
 * - `progress`: round trips counted so far.
 * - `stop`: stops counting and sending; replies with the count, the elapsed time, the
 *   latency histogram and this process's CPU time over the measurement.
 * - `storm` `{ targets, size, startAt }`: a reconnect storm (scenario f): at `startAt`
 *   (epoch ms) opens one storm client per target, all at once, each of which round-trips one
 *   message; replies when every one is done or gave up, with what each went through.
 * - `leave`: closes the storm's clients; replies once they are closed.
 * - `exit`: closes every connection.
 */
import { type ClientTarget, LoadContext, TrafficClient } from './load-client.js';
import { failChild, sampleSelf, serveParent } from './ipc.js';
import { type StormOutcome, StormClient } from './storm-client.js';

/** Connects at most this many clients at once (stays under the listener's accept backlog). */
const CONNECT_CONCURRENCY = 256;

let ctx: LoadContext | null = null;
const clients: TrafficClient[] = [];
let measureStartMs = 0;
let measureStartCpuUs = 0;

async function setup(targets: ClientTarget[], size: number): Promise<void> {
  const context = new LoadContext(size);
  ctx = context;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const target = targets[next++]!;
      clients.push(await TrafficClient.open(context, target));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, targets.length) }, worker));
}

let storm: StormClient[] = [];

/** What one process's share of a storm went through, summed (times in ms from the storm's start). */
export interface StormShare {
  clients: number;
  done: number;
  errors: number;
  retries: number;
  slowConnects: number;
  /** Completion time of every client that finished, in ms from the start. */
  elapsedMs: number[];
  /** A few of the failures. */
  lastErrors: string[];
  cpuUs: number;
}

async function runStorm(targets: ClientTarget[], size: number, startAt: number): Promise<StormShare> {
  if (storm.length > 0) throw new Error('a storm is still connected: leave first');
  const wait = startAt - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const cpu0 = sampleSelf().cpuUs;
  const startMs = performance.now() - Math.max(0, Date.now() - startAt);
  let left = targets.length;
  let allFinished: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allFinished = resolve));
  const onFinished = (): void => {
    if (--left === 0) allFinished();
  };
  storm = targets.map((t) => new StormClient(t, size, startMs, onFinished));
  for (const client of storm) client.start();
  if (targets.length > 0) await finished;
  const outcomes: StormOutcome[] = storm.map((c) => c.outcome);
  return {
    clients: outcomes.length,
    done: outcomes.filter((o) => o.done).length,
    errors: outcomes.reduce((n, o) => n + o.errors, 0),
    retries: outcomes.reduce((n, o) => n + o.retries, 0),
    slowConnects: outcomes.reduce((n, o) => n + o.slowConnects, 0),
    elapsedMs: outcomes.filter((o) => o.done).map((o) => o.elapsedMs),
    lastErrors: [...new Set(outcomes.map((o) => o.lastError).filter((e): e is string => e !== null))].slice(0, 5),
    cpuUs: sampleSelf().cpuUs - cpu0,
  };
}

function context(): LoadContext {
  if (ctx === null) throw new Error('no setup yet');
  return ctx;
}

serveParent({}, async (req) => {
  switch (req.type) {
    case 'setup':
      await setup(req.targets as ClientTarget[], req.size as number);
      return { connected: clients.length };
    case 'start': {
      const c = context();
      c.running = true;
      for (const client of clients) client.prime(req.inflight as number);
      return {};
    }
    case 'measure': {
      const c = context();
      c.latency.reset();
      c.measuring = true;
      measureStartMs = performance.now();
      measureStartCpuUs = sampleSelf().cpuUs;
      return {};
    }
    case 'progress':
      return { roundTrips: context().latency.count, errors: context().errors.length };
    case 'stop': {
      const c = context();
      const elapsedMs = performance.now() - measureStartMs;
      const cpuUs = sampleSelf().cpuUs - measureStartCpuUs;
      c.measuring = false;
      c.running = false;
      return { roundTrips: c.latency.count, elapsedMs, cpuUs, histogram: c.latency.encode(), errors: c.errors };
    }
    case 'storm':
      return { ...(await runStorm(req.targets as ClientTarget[], req.size as number, req.startAt as number)) };
    case 'leave':
      for (const client of storm) client.leave();
      storm = [];
      return {};
    case 'exit':
      for (const client of clients) client.destroy();
      for (const client of storm) client.leave();
      return {};
    default:
      throw new Error(`unknown request ${req.type}`);
  }
});

process.on('uncaughtException', failChild);
