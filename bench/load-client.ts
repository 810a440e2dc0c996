import {
  type Command,
  CommandType,
  FrameDecoder,
  type FrameSink,
  HEADER_SIZE,
  encodeDial,
  encodeNew,
  encodePing,
  parseCommand,
  writeFrameHeader,
} from '../src/protocol/index.js';
import { type ClientLink, type Transport, openLink } from './client-link.js';
import { LatencyRecorder } from './latency-recorder.js';

/** Bytes at the start of every bench message: the send time (float64 ms, `performance.now()`). */
export const TIMESTAMP_SIZE = 8;
/** Size of the slabs outgoing frames are encoded into. */
const SLAB_SIZE = 256 * 1024;
/** Pause before asking again after a refused New or Dial (the echo server may not be registered yet). */
const RETRY_DELAY_MS = 20;
/** How long set-up of one client (connect, then every virtual connection) may take. */
const SETUP_TIMEOUT_MS = 20_000;

/** Reads the float64 timestamp at `buf[offset..offset+8)` without allocating. */
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
function readTimestamp(buf: Uint8Array, offset: number): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = buf[offset + i]!;
  return scratch[0]!;
}

/**
 * State shared by every load client of one generator process: the traffic switch, the
 * latency record, and the one-flush-per-turn output path.
 */
export class LoadContext {
  /** Message size in bytes (≥ {@link TIMESTAMP_SIZE}). */
  readonly size: number;
  /** While true, every echo received is answered with a new message (keeping the in-flight count). */
  running = false;
  /** While true, round trips are recorded. */
  measuring = false;
  readonly latency = new LatencyRecorder();
  /** When the chunk being decoded was received, in `performance.now()` ms. */
  nowMs = 0;
  /** Unexpected events (a virtual connection closed, a connection lost), for the report. */
  readonly errors: string[] = [];
  private readonly dirty: TrafficClient[] = [];
  private flushScheduled = false;
  private slab = Buffer.alloc(SLAB_SIZE);
  private slabPos = 0;
  private readonly flushBound = (): void => this.flush();

  constructor(size: number) {
    if (size < TIMESTAMP_SIZE) throw new RangeError(`message size must be at least ${TIMESTAMP_SIZE} bytes (the timestamp)`);
    this.size = size;
  }

  /** Records an unexpected event (the first few are kept). */
  error(message: string): void {
    if (this.errors.length < 20) this.errors.push(message);
  }

  /** Marks `client` as having messages to send in this turn's flush. */
  markDirty(client: TrafficClient): void {
    if (client.dirty) return;
    client.dirty = true;
    this.dirty.push(client);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  /** Encodes each dirty client's queued messages, stamped now, and writes them in one write per client. */
  private flush(): void {
    this.flushScheduled = false;
    const now = performance.now();
    const size = this.size;
    const frameSize = HEADER_SIZE + size;
    const dirty = this.dirty;
    for (let c = 0; c < dirty.length; c++) {
      const client = dirty[c]!;
      const queue = client.queue;
      const n = queue.length;
      const bytes = n * frameSize;
      if (this.slabPos + bytes > this.slab.length) {
        // Never reuse a slab region: earlier writes may still hold views of it.
        this.slab = Buffer.alloc(Math.max(SLAB_SIZE, bytes));
        this.slabPos = 0;
      }
      const slab = this.slab;
      const start = this.slabPos;
      let pos = start;
      for (let i = 0; i < n; i++) {
        writeFrameHeader(slab, pos, queue[i]!, size);
        slab.writeDoubleLE(now, pos + HEADER_SIZE);
        pos += frameSize;
      }
      this.slabPos = pos;
      queue.length = 0;
      client.dirty = false;
      if (!client.closed) client.link.send(slab.subarray(start, pos));
    }
    dirty.length = 0;
  }
}

/** Where a load client connects and whom it dials. */
export interface ClientTarget {
  host: string;
  port: number;
  /** The server ID its virtual connections dial. */
  serverId: number;
  /** Virtual connections to open (0: an idle client that only connects). */
  vconns: number;
  /** How it reaches `host:port`: the TCP client port (default) or the WebSocket listener. */
  transport?: Transport;
  /** The WebSocket request path (default `/`). */
  path?: string;
}

/**
 * One load client: a connection (TCP, or WebSocket with one binary message per batch) that opens `vconns` virtual connections to one server
 * (New → Open → Dial → Accept), then keeps messages in flight on each: every echo that
 * comes back is timed and, while running, answered with a new message.
 */
export class TrafficClient implements FrameSink {
  readonly link: ClientLink;
  /** ConnIDs of the live virtual connections. */
  readonly connIds: number[] = [];
  /** ConnIDs with a message to send in the next flush (one entry per message). */
  readonly queue: number[] = [];
  dirty = false;
  closed = false;
  private readonly ctx: LoadContext;
  private readonly target: ClientTarget;
  private readonly decoder = new FrameDecoder(16 * 1024 * 1024);
  private readonly cmd: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
  private stopping = false;
  private onReady: (() => void) | null = null;
  private onSetupError: ((err: Error) => void) | null = null;
  private onConnect: (() => void) | null = null;

  private constructor(ctx: LoadContext, target: ClientTarget) {
    this.ctx = ctx;
    this.target = target;
    this.link = openLink(target.transport ?? 'tcp', target.host, target.port, target.path ?? '/', {
      onConnect: () => this.onConnect?.(),
      onData: (bytes) => this.receive(bytes),
      onLost: (why) => this.lost(why),
    });
  }

  /** Connects and opens every virtual connection; resolves when all are live. */
  static open(ctx: LoadContext, target: ClientTarget): Promise<TrafficClient> {
    const client = new TrafficClient(ctx, target);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`set-up took over ${SETUP_TIMEOUT_MS} ms`)), SETUP_TIMEOUT_MS);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        client.onReady = client.onSetupError = null;
        client.destroy();
        reject(err);
      };
      client.onReady = () => {
        clearTimeout(timer);
        client.onReady = client.onSetupError = null;
        resolve(client);
      };
      client.onSetupError = fail;
      client.onConnect = () => {
        client.onConnect = null;
        if (target.vconns === 0) {
          client.onReady?.();
          return;
        }
        client.link.send(Buffer.concat(Array.from({ length: target.vconns }, encodeNew)));
      };
    });
  }

  /** Queues `count` messages on every live virtual connection. */
  prime(count: number): void {
    for (const connId of this.connIds) for (let i = 0; i < count; i++) this.queue.push(connId);
    if (this.queue.length > 0) this.ctx.markDirty(this);
  }

  /** Closes the connection; later events are expected, not errors. */
  destroy(): void {
    this.stopping = true;
    this.closed = true;
    this.link.destroy();
  }

  /** Decodes one read (or WebSocket message); `chunk` is valid only during this call. */
  private receive(chunk: Uint8Array): void {
    this.ctx.nowMs = performance.now();
    try {
      this.decoder.push(chunk, this);
    } catch (err) {
      this.lost(`bad frame from the gateway: ${(err as Error).message}`);
      this.link.destroy();
    }
  }

  onFrame(connId: number, buf: Uint8Array, start: number, end: number): void {
    const ctx = this.ctx;
    if (connId !== 0) {
      if (ctx.measuring && end - start >= HEADER_SIZE + TIMESTAMP_SIZE) {
        ctx.latency.record((ctx.nowMs - readTimestamp(buf, start + HEADER_SIZE)) * 1000);
      }
      if (ctx.running) {
        this.queue.push(connId);
        ctx.markDirty(this);
      }
      return;
    }
    const cmd = parseCommand(buf, start, end, 'endpoint', this.cmd);
    switch (cmd.type) {
      case CommandType.Open:
        if (cmd.connId === 0) this.retryNew('New refused (Open 0)');
        else this.link.send(encodeDial(cmd.connId, this.target.serverId));
        break;
      case CommandType.Refuse:
        this.retryNew(`dial of server ${this.target.serverId} refused`);
        break;
      case CommandType.Accept:
        this.connIds.push(cmd.connId);
        if (this.connIds.length === this.target.vconns) this.onReady?.();
        break;
      case CommandType.Close:
        if (!this.stopping && this.connIds.includes(cmd.connId)) ctx.error(`virtual connection ${cmd.connId} closed by the far side`);
        break;
      case CommandType.Ping:
        this.link.send(encodePing());
        break;
      default:
        break;
    }
  }

  /** A refused New or Dial during set-up: ask again shortly (the server may not be registered yet). */
  private retryNew(why: string): void {
    if (this.onReady === null) {
      this.ctx.error(why);
      return;
    }
    setTimeout(() => {
      if (!this.closed) this.link.send(encodeNew());
    }, RETRY_DELAY_MS);
  }

  private lost(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.onSetupError !== null) this.onSetupError(new Error(why));
    else if (!this.stopping) this.ctx.error(why);
  }
}
