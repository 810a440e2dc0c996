/**
 * Bench child: the minimal forwarder, a reference for the gateway's fast path (`--minimal`).
 * `node --import tsx bench/minimal-forwarder.ts '<json>'` with `{ "host", "onread"? }`.
 *
 * It does only what the bench's traffic needs and checks nothing: it takes any server
 * handshake reply without verifying the digest, gives out ConnIDs without tracking pending
 * ones, routes data by ConnID with no check of the sender, has no limits, pings or
 * backpressure. What it does do is the fast path issue 5 describes: frames are forwarded as
 * views of the received chunk, and all frames for one socket in one turn go out in one write
 * (flushed in `setImmediate`). The gateway does all of that plus every check; the gap between
 * the two rows is the price of the checks.
 *
 * With `onread: true` (`--minimal-onread`) every accepted socket is instead read into one
 * shared, reusable buffer (Node's `onread`, through {@link startReading}, as the gateway does
 * for plain TCP) rather than a fresh Buffer per read pushed through the Readable stream. The
 * next read overwrites that buffer, so frames cannot be forwarded as views: each run of frames
 * is copied, before the read callback returns, into the destination's per-turn output buffer
 * ({@link CopyPeer}). Everything else is the same code.
 *
 * What the onread variant showed (Node 20, 2 shared cores, `--pin --duration 3s --scenarios
 * d,c --minimal`, 10 runs each, alternated; msg/s per CPU-second of the forwarder, medians):
 * (d) 1000 × 1 × 256 B × 1, one read per message: 125k → 137k, about +9%, close to the noise;
 * the write syscalls dominate there (over half the forwarder's profile). (c) 50 × 4 × 1 KiB ×
 * 8, large reads: 1.28M → 1.98M, about +55%, mostly from not allocating 64 KiB per read (the
 * same copying output without `onread` gained about 5%).
 *
 * Sends `ready` with its `client` and `server` addresses. Requests: `probe`, `exit`.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { sharedReadSupported, startReading } from '../src/gateway/shared-read-buffer.js';
import {
  type Command,
  CommandType,
  FrameDecoder,
  type FrameSink,
  HANDSHAKE_REPLY_SIZE,
  createChallenge,
  encodeAccept,
  encodeClose,
  encodeOpen,
  encodeRefuse,
  parseCommand,
  readU32,
} from '../src/protocol/index.js';
import { failChild, sampleSelf, serveParent } from './ipc.js';

/** Peers with output waiting for this turn's flush. */
const dirty: Peer[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
}

const servers = new Map<number, Peer>();
/** The two ends of each live ConnID, by ConnID. */
const endA: (Peer | undefined)[] = [];
const endB: (Peer | undefined)[] = [];
let nextConnId = 1;
let nextClientId = 1;
let clients = 0;

/**
 * One connection: decoding, routing and command handling. How output is kept until the
 * turn's flush is up to the subclass; a process only ever makes one kind, so the calls stay
 * monomorphic.
 */
abstract class Peer implements FrameSink {
  readonly socket: Socket;
  readonly id: number;
  readonly isServer: boolean;
  private readonly decoder = new FrameDecoder();
  private readonly cmd: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
  private queued = false;
  /** The chunk being decoded, and the run of its frames bound for `runTo`. */
  private chunk: Uint8Array | null = null;
  private runStart = 0;
  private runEnd = 0;
  private runTo: Peer | null = null;

  constructor(socket: Socket, id: number, isServer: boolean) {
    this.socket = socket;
    this.id = id;
    this.isServer = isServer;
  }

  /** Queues `src[start, end)` for this turn's write. */
  abstract send(src: Uint8Array, start: number, end: number): void;
  /** Queues all of `bytes` for this turn's write. */
  abstract sendAll(bytes: Uint8Array): void;
  /** One write of everything queued this turn. */
  protected abstract write(): void;

  /** Decodes one read. */
  receive(chunk: Uint8Array): void {
    this.chunk = chunk;
    try {
      this.decoder.push(chunk, this);
    } catch {
      this.socket.destroy();
    }
    this.endRun();
    this.chunk = null;
  }

  onFrame(connId: number, buf: Uint8Array, start: number, end: number): void {
    if (connId !== 0) {
      const a = endA[connId];
      if (a === undefined) return;
      const to = a === this ? endB[connId]! : a;
      if (buf === this.chunk && to === this.runTo && start === this.runEnd) {
        this.runEnd = end;
        return;
      }
      this.endRun();
      if (buf === this.chunk) {
        this.runTo = to;
        this.runStart = start;
        this.runEnd = end;
      } else {
        to.send(buf, start, end);
      }
      return;
    }
    this.endRun();
    const cmd = parseCommand(buf, start, end, 'gateway', this.cmd);
    if (cmd.type === CommandType.New) {
      this.sendAll(encodeOpen(nextConnId++));
    } else if (cmd.type === CommandType.Dial) {
      const remote = this.isServer ? undefined : servers.get(cmd.remoteId);
      if (remote === undefined) {
        this.sendAll(encodeRefuse(cmd.connId));
        return;
      }
      endA[cmd.connId] = this;
      endB[cmd.connId] = remote;
      this.sendAll(encodeAccept(cmd.connId, remote.id));
      remote.sendAll(encodeAccept(cmd.connId, this.id));
    } else if (cmd.type === CommandType.Close) {
      const a = endA[cmd.connId];
      const b = endB[cmd.connId];
      if (a === this || b === this) {
        endA[cmd.connId] = endB[cmd.connId] = undefined;
        a!.sendAll(encodeClose(cmd.connId));
        b!.sendAll(encodeClose(cmd.connId));
      }
    }
  }

  /** Puts this peer on the list of this turn's flush. */
  protected schedule(): void {
    if (!this.queued) {
      this.queued = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  flush(): void {
    this.queued = false;
    this.write();
  }

  /** Drops every route through this peer (connection gone). */
  forget(): void {
    for (let c = 1; c < endA.length; c++) {
      if (endA[c] === this || endB[c] === this) endA[c] = endB[c] = undefined;
    }
    if (this.isServer && servers.get(this.id) === this) servers.delete(this.id);
  }

  private endRun(): void {
    if (this.runTo !== null) {
      this.runTo.send(this.chunk!, this.runStart, this.runEnd);
      this.runTo = null;
    }
  }
}

/** The reference forwarder's output: views of the received chunks, joined at the flush. */
class ViewPeer extends Peer {
  /** Views waiting to be written, and their total size. */
  private out: Uint8Array[] = [];
  private outBytes = 0;

  /** Queues a view (not a copy). */
  send(src: Uint8Array, start: number, end: number): void {
    this.sendAll(src.subarray(start, end));
  }

  sendAll(bytes: Uint8Array): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
    this.schedule();
  }

  protected write(): void {
    const out = this.out;
    if (out.length === 1) {
      this.socket.write(out[0]!);
    } else {
      const all = Buffer.allocUnsafe(this.outBytes);
      let pos = 0;
      for (const view of out) {
        all.set(view, pos);
        pos += view.length;
      }
      this.socket.write(all);
    }
    this.out = [];
    this.outBytes = 0;
  }
}

/** First size of a {@link CopyPeer}'s output buffer (below Buffer's pool limit, so it comes from the pool). */
const OUT_INITIAL = 2048;

/**
 * The onread variant's output: bytes copied, during the read callback, into one per-turn
 * buffer. It is reused for the next turn when the write completed synchronously
 * (`writableLength === 0` right after it), else a new one is taken.
 */
class CopyPeer extends Peer {
  /** This turn's output; null until the first send after a write that went async. */
  private out: Buffer | null = null;
  private outLen = 0;

  /** Copies `src[start, end)` into this turn's output. */
  send(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    let out = this.out;
    const need = this.outLen + n;
    if (out === null || need > out.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, out === null ? OUT_INITIAL : out.length * 2));
      if (out !== null) grown.set(out.subarray(0, this.outLen), 0);
      this.out = out = grown;
    }
    out.set(src.subarray(start, end), this.outLen);
    this.outLen = need;
    this.schedule();
  }

  sendAll(bytes: Uint8Array): void {
    this.send(bytes, 0, bytes.length);
  }

  /** Keeps the buffer if the write finished at once. */
  protected write(): void {
    const socket = this.socket;
    socket.write(this.out!.subarray(0, this.outLen));
    this.outLen = 0;
    if (socket.writableLength !== 0) this.out = null;
  }
}

function listen(server: Server, host: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, backlog: 4096 }, () => resolve({ host, port: (server.address() as { port: number }).port }));
  });
}

const sockets = new Set<Socket>();
function track(socket: Socket): void {
  sockets.add(socket);
  socket.on('error', () => {});
  socket.on('close', () => sockets.delete(socket));
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as { host: string; onread?: boolean };
  const onread = config.onread === true;
  if (onread && !sharedReadSupported) throw new Error('this Node cannot read sockets into a shared buffer (onread)');
  const PeerKind = onread ? CopyPeer : ViewPeer;
  /**
   * Starts delivering a socket's reads to `onChunk`: 'data' events, or (onread) views of the
   * shared read buffer valid only during the call, with 'data' as the fallback.
   */
  const read = (socket: Socket, onChunk: (chunk: Uint8Array) => void): void => {
    if (!onread || !startReading(socket, onChunk)) socket.on('data', onChunk);
  };
  // The onread variant takes sockets paused, so the user buffer is in place before any read.
  const clientListener = createServer({ noDelay: true, pauseOnConnect: onread }, (socket) => {
    track(socket);
    const peer = new PeerKind(socket, nextClientId++, false);
    clients++;
    socket.on('close', () => {
      clients--;
      peer.forget();
    });
    read(socket, (chunk) => peer.receive(chunk));
  });
  const serverListener = createServer({ noDelay: true, pauseOnConnect: onread }, (socket) => {
    track(socket);
    socket.write(createChallenge());
    const reply = Buffer.allocUnsafe(HANDSHAKE_REPLY_SIZE);
    let got = 0;
    let peer: Peer | null = null;
    socket.on('close', () => peer?.forget());
    read(socket, (chunk) => {
      if (peer !== null) {
        peer.receive(chunk);
        return;
      }
      const take = Math.min(chunk.length, HANDSHAKE_REPLY_SIZE - got);
      reply.set(chunk.subarray(0, take), got);
      got += take;
      if (got < HANDSHAKE_REPLY_SIZE) return;
      peer = new PeerKind(socket, readU32(reply, HANDSHAKE_REPLY_SIZE - 4), true);
      servers.set(peer.id, peer);
      if (chunk.length > take) peer.receive(chunk.subarray(take));
    });
  });
  const client = await listen(clientListener, config.host);
  const server = await listen(serverListener, config.host);
  serveParent({ client, server }, async (req) => {
    if (req.type === 'probe') return { sample: sampleSelf(req.gc === true), clients };
    if (req.type === 'exit') {
      for (const socket of sockets) socket.destroy();
      await Promise.all([clientListener, serverListener].map((l) => new Promise((resolve) => l.close(resolve))));
      return {};
    }
    throw new Error(`unknown request ${req.type}`);
  });
}

main().catch(failChild);
