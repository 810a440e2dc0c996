/**
 * Bench child: game clients written with the endpoint library, as a game developer would
 * (public API only). `node --import tsx bench/endpoint-client.ts`
 *
 * Speaks the same requests as load-generator.ts, so the runner drives both alike:
 * - `setup` `{ targets: ClientTarget[], size }`: one `dialClient` endpoint per target (its
 *   gateway client address), and `vconns` virtual connections (`dial`) to its server ID.
 * - `start` `{ inflight }`: sends `inflight` messages on every virtual connection.
 * - `measure`, `progress`, `stop`, `exit`: as in load-generator.ts.
 *
 * Each message carries its send time (float64 ms, `performance.now()`, little-endian) in
 * its first 8 bytes; every echo that comes back is timed into the latency record and,
 * while running, answered with a new message. The clock is read once per event-loop turn
 * (as the raw load client reads it once per read and once per flush), so the figures
 * measure the endpoint library rather than `performance.now()`: a round trip runs from the
 * turn its message was sent in to the turn its echo is read in.
 */
import { type Endpoint, type VirtualConnection, dialClient } from '../src/index.js';
import { failChild, sampleSelf, serveParent } from './ipc.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { ClientTarget } from './load-client.js';

/** Bytes at the start of every message: the send time. */
const TIMESTAMP_SIZE = 8;
/** Connects at most this many clients at once. */
const CONNECT_CONCURRENCY = 64;

const latency = new LatencyRecorder();
const errors: string[] = [];
let running = false;
let measuring = false;
let stopping = false;
let size = TIMESTAMP_SIZE;
const endpoints: Endpoint[] = [];
const players: Player[] = [];
let measureStartMs = 0;
let measureStartCpuUs = 0;

/** `performance.now()` as of this event-loop turn's first reading (-1: not read yet this turn). */
let clockMs = -1;
function resetClock(): void {
  clockMs = -1;
}
/** The time, read once per turn. */
function now(): number {
  if (clockMs < 0) {
    clockMs = performance.now();
    setImmediate(resetClock);
  }
  return clockMs;
}

function error(message: string): void {
  if (errors.length < 20) errors.push(message);
}

/** Reads the float64 timestamp at the start of `msg` without allocating. */
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
function readTimestamp(msg: Uint8Array): number {
  for (let i = 0; i < TIMESTAMP_SIZE; i++) scratchBytes[i] = msg[i]!;
  return scratch[0]!;
}

/** One virtual connection's traffic: sends stamped messages and times their echoes. */
class Player {
  private readonly conn: VirtualConnection;
  /** The outgoing message, reused: `send` copies it into the endpoint's batch. */
  private readonly message: Uint8Array;
  private readonly stamp: DataView;

  constructor(conn: VirtualConnection) {
    this.conn = conn;
    this.message = new Uint8Array(size);
    this.stamp = new DataView(this.message.buffer);
  }

  /** Sends one message stamped now; false when the gateway connection is backed up. */
  send(): boolean {
    this.stamp.setFloat64(0, now(), true);
    return this.conn.send(this.message);
  }

  /** Receives until the connection closes: times each echo and answers it while running. */
  async run(): Promise<void> {
    const conn = this.conn;
    try {
      for await (const msg of conn) {
        if (measuring && msg.length >= TIMESTAMP_SIZE) latency.record((now() - readTimestamp(msg)) * 1000);
        if (running && !this.send()) await conn.drained();
      }
    } catch (err) {
      if (!stopping) error(`virtual connection ${conn.connId}: ${(err as Error).message}`);
      return;
    }
    if (!stopping) error(`virtual connection ${conn.connId} closed: ${(await conn.closed)?.message ?? 'closed here'}`);
  }
}

async function openClient(target: ClientTarget): Promise<void> {
  const where = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const endpoint = await dialClient(where);
  endpoints.push(endpoint);
  const conns = await Promise.all(Array.from({ length: target.vconns }, () => endpoint.dial(target.serverId)));
  for (const conn of conns) {
    const player = new Player(conn);
    players.push(player);
    player.run().catch(failChild);
  }
}

async function setup(targets: ClientTarget[], messageSize: number): Promise<void> {
  if (messageSize < TIMESTAMP_SIZE) throw new RangeError(`message size must be at least ${TIMESTAMP_SIZE} bytes (the timestamp)`);
  size = messageSize;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) await openClient(targets[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, targets.length) }, worker));
}

serveParent({}, async (req) => {
  switch (req.type) {
    case 'setup':
      await setup(req.targets as ClientTarget[], req.size as number);
      return { connected: endpoints.length };
    case 'start':
      running = true;
      for (const player of players) for (let i = 0; i < (req.inflight as number); i++) player.send();
      return {};
    case 'measure':
      latency.reset();
      measuring = true;
      measureStartMs = performance.now();
      measureStartCpuUs = sampleSelf().cpuUs;
      return {};
    case 'progress':
      return { roundTrips: latency.count, errors: errors.length };
    case 'stop': {
      const elapsedMs = performance.now() - measureStartMs;
      const cpuUs = sampleSelf().cpuUs - measureStartCpuUs;
      measuring = false;
      running = false;
      return { roundTrips: latency.count, elapsedMs, cpuUs, histogram: latency.encode(), errors };
    }
    case 'exit':
      stopping = true;
      await Promise.all(endpoints.map((e) => e.close()));
      return {};
    default:
      throw new Error(`unknown request ${req.type}`);
  }
});

process.on('uncaughtException', failChild);
