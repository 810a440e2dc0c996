/**
 * Child program: one gateway on 127.0.0.1 port 0 (or FASTWAY_TEST_LISTEN's client and server addresses), options from FASTWAY_TEST_GATEWAY
 * (JSON), with a WebSocket listener too when FASTWAY_TEST_WEBSOCKET is set. Answers `stats`,
 * `memory` (after a full GC; the child runs with --expose-gc), `fds` (its open file
 * descriptors, where /proc tells), `errors` (what the gateway logged at error level), `logged`
 * (the first 50 info and warn entries of one event), `lag` (the longest its event loop was
 * late since the last `lag`, in ms) and `close`.
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gateway, type GatewayLogger, type GatewayOptions } from '../../src/index.js';
import { serveParent } from './child.js';

const errors: string[] = [];
/** The first log entries of each event (info and warn), for `logged`. */
const byEvent = new Map<string, object[]>();
const keep = (obj: object): void => {
  const event = (obj as { event?: unknown }).event;
  if (typeof event !== 'string') return;
  const entries = byEvent.get(event) ?? [];
  if (entries.length < 50) entries.push(JSON.parse(JSON.stringify(obj)) as object);
  byEvent.set(event, entries);
};
const logger: GatewayLogger = {
  debug() {},
  info: keep,
  warn: keep,
  error(obj: object, msg: string) {
    if (errors.length < 100) errors.push(`${msg} ${JSON.stringify(obj)}`);
  },
};

const options = JSON.parse(process.env.FASTWAY_TEST_GATEWAY ?? '{}') as GatewayOptions;
const gateway = new Gateway({ ...options, logger });
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): NodeJS.MemoryUsage {
  if (gc === undefined) throw new Error('run with --expose-gc');
  // Several passes: a closed socket's memory is released over more than one collection.
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage();
}

/** How late the event loop runs (a loaded machine makes every timer of the gateway late by this much). */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const send = serveParent({
  lag: () => {
    const maxMs = loopDelay.max / 1e6;
    loopDelay.reset();
    return { lag: maxMs };
  },
  stats: () => ({ stats: gateway.stats }),
  memory: () => ({ memory: memory() }),
  fds: () => ({ fds: readdirSync('/proc/self/fd').length }),
  errors: () => ({ errors }),
  logged: (args) => ({ entries: byEvent.get(String(args.event)) ?? [] }),
  close: async () => {
    await gateway.close();
    return { disconnectAfterReply: true };
  },
});

const webSocket = process.env.FASTWAY_TEST_WEBSOCKET !== undefined;
// FASTWAY_TEST_LISTEN (JSON { client, server }) fixes the ports, for a gateway restarted in place.
const fixed = JSON.parse(process.env.FASTWAY_TEST_LISTEN ?? '{}') as { client?: string; server?: string };
// SIGTERM drains, as the CLI does: live virtual connections get FASTWAY_TEST_DRAIN_MS (default 1000) to finish.
process.once('SIGTERM', () => {
  void gateway.drain(Number(process.env.FASTWAY_TEST_DRAIN_MS ?? 1000)).then(() => process.exit(0));
});
const bound = await gateway.listen({
  client: fixed.client ?? '127.0.0.1:0',
  server: fixed.server ?? '127.0.0.1:0',
  ...(webSocket ? { clientWs: '127.0.0.1:0' } : {}),
});
send('listening', { clientPort: bound.client!.port, serverPort: bound.server!.port, wsPort: bound.clientWs?.port });
