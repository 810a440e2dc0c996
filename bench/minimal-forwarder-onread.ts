/**
 * Bench experiment: the minimal forwarder (minimal-forwarder.ts) reading every accepted socket
 * into one shared, reusable 64 KiB buffer, Node's `onread` mode, instead of a fresh Buffer
 * per read pushed through the Readable stream. Same config, messages and behaviour as the
 * minimal forwarder; run it in its place to see what per-read allocation and stream
 * bookkeeping cost the fast path.
 *
 * Because the next read overwrites the shared buffer, frames cannot be forwarded as views:
 * each run of frames is copied, before the read callback returns, into the destination's
 * per-turn output buffer. That buffer is reused for the next turn when the write completed
 * synchronously (`writableLength === 0` right after it), else a new one is taken.
 *
 * `net.createServer` has no `onread` option, so accepted sockets get it by hand (see
 * {@link readShared}): this relies on Node internals (the Socket's private `kBuffer` and
 * `kBufferCb` symbols, found on a throwaway `new Socket({ onread })`, and the handle's
 * `useUserBuffer`) and fails loudly when they are not there.
 *
 * What it showed (Node 20, 2 shared cores, `--pin --duration 3s --scenarios d,c --minimal`,
 * 10 runs each, alternated; msg/s per CPU-second of the forwarder, medians): (d) 1000 × 1 ×
 * 256 B × 1, one read per message: 125k → 137k, about +9%, close to the noise; the write
 * syscalls dominate there (over half the forwarder's profile). (c) 50 × 4 × 1 KiB × 8, large
 * reads: 1.28M → 1.98M, about +55%, mostly from not allocating 64 KiB per read (the same
 * copying output without `onread` gained about 5%).
 */
import { type Server, Socket, createServer } from 'node:net';
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

/** The read buffer of every socket: each read's bytes are used up before its callback returns. */
const readBuf = new Uint8Array(64 * 1024);

/** The Socket's private symbols for `onread`, found by value on a throwaway socket. */
const onreadSymbols = ((): { buffer: symbol; callback: symbol } => {
  const buffer = new Uint8Array(1);
  const callback = (): void => {};
  // `onread` is a Socket option since Node 12 but missing from its typings.
  const probe = new Socket({ onread: { buffer, callback } } as ConstructorParameters<typeof Socket>[0]);
  let bufferSym: symbol | undefined;
  let callbackSym: symbol | undefined;
  for (const sym of Object.getOwnPropertySymbols(probe)) {
    const value = (probe as unknown as Record<symbol, unknown>)[sym];
    if (value === buffer) bufferSym = sym;
    else if (value === callback) callbackSym = sym;
  }
  probe.destroy();
  if (bufferSym === undefined || callbackSym === undefined) throw new Error('this Node has no onread symbols on net.Socket');
  return { buffer: bufferSym, callback: callbackSym };
})();

interface UserBufferHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * Switches a socket accepted paused (`pauseOnConnect`) to reading into {@link readBuf}, as
 * `new Socket({ onread })` would have, and starts reading. `onChunk` gets a view of the
 * shared buffer that is only valid during the call. pause()/resume() keep working (Socket's
 * own pause() stops the handle when `kBuffer` is set), as do 'end', 'error' and 'close'.
 */
function readShared(socket: Socket, onChunk: (chunk: Uint8Array) => void): void {
  const handle = (socket as unknown as { _handle: UserBufferHandle | null })._handle;
  if (handle === null || typeof handle.useUserBuffer !== 'function') throw new Error('socket handle has no useUserBuffer');
  const s = socket as unknown as Record<symbol, unknown>;
  s[onreadSymbols.buffer] = readBuf;
  s[onreadSymbols.callback] = (nread: number): void => onChunk(readBuf.subarray(0, nread));
  handle.useUserBuffer(readBuf);
  socket.resume();
}

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

/** First size of a peer's output buffer (below Buffer's pool limit, so it comes from the pool). */
const OUT_INITIAL = 2048;

class Peer implements FrameSink {
  readonly socket: Socket;
  readonly id: number;
  readonly isServer: boolean;
  private readonly decoder = new FrameDecoder();
  private readonly cmd: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
  /** This turn's output, copied in; null until the first send after a write that went async. */
  private out: Buffer | null = null;
  private outLen = 0;
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

  /** Decodes one read; `chunk` is a view of the shared read buffer, gone after this call. */
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

  sendAll(bytes: Uint8Array): void {
    this.send(bytes, 0, bytes.length);
  }

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
    if (!this.queued) {
      this.queued = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  /** One write of everything queued this turn; keeps the buffer if the write finished at once. */
  flush(): void {
    this.queued = false;
    const socket = this.socket;
    socket.write(this.out!.subarray(0, this.outLen));
    this.outLen = 0;
    if (socket.writableLength !== 0) this.out = null;
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
  const config = JSON.parse(process.argv[2] ?? '{}') as { host: string };
  const clientListener = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    track(socket);
    const peer = new Peer(socket, nextClientId++, false);
    clients++;
    socket.on('close', () => {
      clients--;
      peer.forget();
    });
    readShared(socket, (chunk) => peer.receive(chunk));
  });
  const serverListener = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    track(socket);
    socket.write(createChallenge());
    const reply = Buffer.allocUnsafe(HANDSHAKE_REPLY_SIZE);
    let got = 0;
    let peer: Peer | null = null;
    socket.on('close', () => peer?.forget());
    readShared(socket, (chunk) => {
      if (peer !== null) {
        peer.receive(chunk);
        return;
      }
      const take = Math.min(chunk.length, HANDSHAKE_REPLY_SIZE - got);
      reply.set(chunk.subarray(0, take), got);
      got += take;
      if (got < HANDSHAKE_REPLY_SIZE) return;
      peer = new Peer(socket, readU32(reply, HANDSHAKE_REPLY_SIZE - 4), true);
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
