/**
 * The bench's parent ↔ child messaging over Node's IPC channel.
 *
 * A child announces itself with one `ready` message, then answers requests: each request
 * carries an `id` and a `type`, each reply echoes the `id`. A child that fails sends
 * `fatal` and exits. Only the bench's control messages travel here, never traffic.
 */

import { readFileSync, writeFileSync } from 'node:fs';

/** A request from the parent to a child. */
export interface Request {
  id: number;
  type: string;
  [key: string]: unknown;
}

/** A child's answer to a {@link Request}: `error` set when it failed. */
export interface Reply {
  id: number;
  error?: string;
  [key: string]: unknown;
}

/** A message a child sends on its own. */
export type ChildEvent = { type: 'ready'; [key: string]: unknown } | { type: 'fatal'; message: string };

/** Resource usage of a process, as a child reports it about itself. */
export interface ProcessSample {
  /** User + system CPU time used so far, in µs. */
  cpuUs: number;
  /** Resident set size now, in bytes. */
  rss: number;
  /** Peak resident set size so far, in bytes. */
  peakRss: number;
  /** V8 heap in use, in bytes. */
  heapUsed: number;
  /** What the RSS is made of, as far as Node can tell (bytes): the V8 heap reserved, and memory outside it (Buffers and other native allocations). */
  heapTotal?: number;
  external?: number;
  arrayBuffers?: number;
}

/**
 * Peak RSS: Linux's VmHWM (which {@link resetPeakRss} can reset), else getrusage's maximum
 * (which only grows).
 */
function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Resets the peak RSS to the RSS now (Linux: `5` into /proc/self/clear_refs); false where it cannot. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** What this process uses now; with `gc` (and `--expose-gc`) after a full collection. */
export function sampleSelf(gc = false): ProcessSample {
  if (gc && typeof globalThis.gc === 'function') globalThis.gc();
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    rss: mem.rss,
    peakRss: peakRss(),
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
  };
}

/** A child's request handler: returns the reply's fields (or a promise of them). */
export type RequestHandler = (request: Request) => Record<string, unknown> | Promise<Record<string, unknown>>;

/**
 * Child side: sends `ready` with `info`, then serves requests with `handle`. After its reply
 * to an `exit` request the child exits (`handle` does the cleanup first). The child also
 * exits when the parent goes away, so an interrupted bench leaves no process behind.
 */
export function serveParent(info: Record<string, unknown>, handle: RequestHandler): void {
  if (process.send === undefined) throw new Error('this script is a bench child process; run it through bench/run.ts');
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message: Request) => {
    if (message.type === 'reset-peak') {
      // Every child: the peak RSS from now on (a storm's peak).
      process.send!({ id: message.id, reset: resetPeakRss() });
      return;
    }
    void (async () => {
      let reply: Reply;
      try {
        reply = { ...(await handle(message)), id: message.id };
      } catch (err) {
        reply = { id: message.id, error: err instanceof Error ? err.message : String(err) };
      }
      if (message.type === 'exit') process.send!(reply, () => process.exit(reply.error === undefined ? 0 : 1));
      else process.send!(reply);
    })();
  });
  process.send({ type: 'ready', ...info });
}

/**
 * Child side: reports a fatal error to the parent, then exits once the report is out. A
 * system error (ECONNREFUSED…) is reported by its message alone; anything else with its stack.
 */
export function failChild(err: unknown): void {
  const system = err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
  const message = err instanceof Error ? (system ? err.message : (err.stack ?? err.message)) : String(err);
  if (process.send !== undefined && process.connected) {
    process.send({ type: 'fatal', message }, () => process.exit(1));
  } else {
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}

/**
 * {@link serveParent} for an echo/endpoint server child: `probe` reports a sample and
 * `connections()`, `exit` runs `close` (which sets the child's own "closing" state first).
 */
export function serveServerChild(info: Record<string, unknown>, connections: () => number, close: () => void | Promise<void>): void {
  serveParent(info, async (req) => {
    if (req.type === 'probe') return { sample: sampleSelf(req.gc === true), connections: connections() };
    if (req.type === 'exit') {
      await close();
      return {};
    }
    throw new Error(`unknown request ${req.type}`);
  });
}
