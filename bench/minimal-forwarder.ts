/**
 * Bench child: the minimal forwarder, a reference for the gateway's fast path (`--minimal`).
 * `node --import tsx bench/minimal-forwarder.ts '<json>'` with `{ "host" }`.
 *
 * It does only what the bench's traffic needs and checks nothing: it takes any server
 * handshake reply without verifying the digest, gives out ConnIDs without tracking pending
 * ones, routes data by ConnID with no check of the sender, has no limits, pings or
 * backpressure. What it does do is the fast path issue 5 describes: frames are forwarded as
 * views of the received chunk, and all frames for one socket in one turn go out in one write
 * (flushed in `setImmediate`). The gateway does all of that plus every check; the gap between
 * the two rows is the price of the checks.
 *
 * Sends `ready` with its `client` and `server` addresses. Requests: `probe`, `exit`.
 */
import { type Server, type Socket, createServer } from 'node:net';
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

class Peer implements FrameSink {
  readonly socket: Socket;
  readonly id: number;
  readonly isServer: boolean;
  private readonly decoder = new FrameDecoder();
  private readonly cmd: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
  /** Views waiting to be written, and their total size. */
  private out: Uint8Array[] = [];
  private outBytes = 0;
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
        to.send(buf.subarray(start, end));
      }
      return;
    }
    this.endRun();
    const cmd = parseCommand(buf, start, end, 'gateway', this.cmd);
    if (cmd.type === CommandType.New) {
      this.send(encodeOpen(nextConnId++));
    } else if (cmd.type === CommandType.Dial) {
      const remote = this.isServer ? undefined : servers.get(cmd.remoteId);
      if (remote === undefined) {
        this.send(encodeRefuse(cmd.connId));
        return;
      }
      endA[cmd.connId] = this;
      endB[cmd.connId] = remote;
      this.send(encodeAccept(cmd.connId, remote.id));
      remote.send(encodeAccept(cmd.connId, this.id));
    } else if (cmd.type === CommandType.Close) {
      const a = endA[cmd.connId];
      const b = endB[cmd.connId];
      if (a === this || b === this) {
        endA[cmd.connId] = endB[cmd.connId] = undefined;
        a!.send(encodeClose(cmd.connId));
        b!.send(encodeClose(cmd.connId));
      }
    }
  }

  /** Queues bytes (not copied) for this turn's write. */
  send(bytes: Uint8Array): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (!this.queued) {
      this.queued = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  /** One write of everything queued this turn. */
  flush(): void {
    this.queued = false;
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

  /** Drops every route through this peer (connection gone). */
  forget(): void {
    for (let c = 1; c < endA.length; c++) {
      if (endA[c] === this || endB[c] === this) endA[c] = endB[c] = undefined;
    }
    if (this.isServer && servers.get(this.id) === this) servers.delete(this.id);
  }

  private endRun(): void {
    if (this.runTo !== null) {
      this.runTo.send(this.chunk!.subarray(this.runStart, this.runEnd));
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
  const clientListener = createServer({ noDelay: true }, (socket) => {
    track(socket);
    const peer = new Peer(socket, nextClientId++, false);
    clients++;
    socket.on('data', (chunk: Buffer) => peer.receive(chunk));
    socket.on('close', () => {
      clients--;
      peer.forget();
    });
  });
  const serverListener = createServer({ noDelay: true }, (socket) => {
    track(socket);
    socket.write(createChallenge());
    let reply = Buffer.alloc(0);
    const onHandshake = (chunk: Buffer): void => {
      reply = Buffer.concat([reply, chunk]);
      if (reply.length < HANDSHAKE_REPLY_SIZE) return;
      socket.off('data', onHandshake);
      const peer = new Peer(socket, readU32(reply, HANDSHAKE_REPLY_SIZE - 4), true);
      servers.set(peer.id, peer);
      socket.on('data', (data: Buffer) => peer.receive(data));
      socket.on('close', () => peer.forget());
      if (reply.length > HANDSHAKE_REPLY_SIZE) peer.receive(reply.subarray(HANDSHAKE_REPLY_SIZE));
    };
    socket.on('data', onHandshake);
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
