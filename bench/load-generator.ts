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
 * - `exit`: closes every connection.
 */
import { type ClientTarget, LoadContext, TrafficClient } from './load-client.js';
import { failChild, sampleSelf, serveParent } from './ipc.js';

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
    case 'exit':
      for (const client of clients) client.destroy();
      return {};
    default:
      throw new Error(`unknown request ${req.type}`);
  }
});

process.on('uncaughtException', failChild);
