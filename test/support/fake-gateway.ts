/**
 * A scripted fake gateway for endpoint tests, built on `src/protocol` alone: it accepts
 * TCP connections on loopback (port 0) and lets a test write exactly the bytes it wants
 * (well-formed frames, or garbage) and read, in order, every frame the endpoint sends.
 *
 * Every wait has a generous safety timeout (never a timing assertion).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after } from 'node:test';
import {
  CHALLENGE_SIZE,
  type Command,
  CommandType,
  FrameDecoder,
  HANDSHAKE_REPLY_SIZE,
  HEADER_SIZE,
  encodeAccept,
  encodeClose,
  encodeDataFrame,
  encodeOpen,
  encodePing,
  encodeRefuse,
  parseCommand,
} from '../../src/protocol/index.js';
import { openResources } from './gateway-harness.js';
import { FrameInbox, type InboxFrame } from './frame-inbox.js';
import { waitUntil, withTimeout } from './test-timeouts.js';

/** A frame the endpoint sent. `message` is a copy. */
export type SentFrame = InboxFrame;

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** One connection an endpoint made to the fake gateway. */
export class FakePeer {
  readonly socket: net.Socket;
  /** Resolves when the socket has closed (never rejects). */
  readonly closed: Promise<void>;
  private isClosedFlag = false;
  private framing: boolean;
  private raw = Buffer.alloc(0);
  private rawWaiter: { n: number; waiter: Waiter<Buffer> } | null = null;
  private readonly decoder = new FrameDecoder(0xffffffff);
  private readonly inbox = new FrameInbox<SentFrame>();

  constructor(socket: net.Socket, framing: boolean) {
    this.socket = socket;
    this.framing = framing;
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosedFlag = true;
        const err = new Error('the endpoint closed the connection');
        this.inbox.close(err);
        this.rawWaiter?.waiter.reject(err);
        this.rawWaiter = null;
        resolve();
      });
    });
    socket.on('error', () => {
      // Resets are expected in many tests; `closed` reports the end.
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  get isClosed(): boolean {
    return this.isClosedFlag;
  }

  /** Frames received and not yet taken. */
  get queuedFrames(): number {
    return this.inbox.length;
  }

  write(bytes: Uint8Array): void {
    if (!this.isClosedFlag) this.socket.write(bytes);
  }

  // ---- server handshake (raw mode) ----

  /** Sends a challenge (random unless given); returns it. */
  sendChallenge(challenge: Uint8Array = crypto.getRandomValues(new Uint8Array(CHALLENGE_SIZE))): Uint8Array {
    this.write(challenge);
    return challenge;
  }

  /** Reads the 20-byte handshake reply, then switches to framing. */
  async readReply(): Promise<Buffer> {
    const reply = await this.readRaw(HANDSHAKE_REPLY_SIZE);
    this.framing = true;
    const rest = this.raw;
    this.raw = Buffer.alloc(0);
    if (rest.length > 0) this.decode(rest);
    return reply;
  }

  private readRaw(n: number): Promise<Buffer> {
    if (this.raw.length >= n) {
      const out = this.raw.subarray(0, n);
      this.raw = this.raw.subarray(n);
      return Promise.resolve(Buffer.from(out));
    }
    if (this.isClosedFlag) return Promise.reject(new Error('the connection is closed'));
    return withTimeout(
      new Promise<Buffer>((resolve, reject) => {
        this.rawWaiter = { n, waiter: { resolve, reject } };
      }),
      `${n} raw bytes from the endpoint`,
    );
  }

  // ---- frames to the endpoint ----

  sendOpen(connId: number): void {
    this.write(encodeOpen(connId));
  }
  sendAccept(connId: number, remoteId: number): void {
    this.write(encodeAccept(connId, remoteId));
  }
  sendRefuse(connId: number): void {
    this.write(encodeRefuse(connId));
  }
  sendClose(connId: number): void {
    this.write(encodeClose(connId));
  }
  sendPing(): void {
    this.write(encodePing());
  }
  sendData(connId: number, message: Uint8Array): void {
    this.write(encodeDataFrame(connId, message));
  }

  // ---- frames from the endpoint ----

  /** The next frame the endpoint sent. */
  nextFrame(what = 'a frame from the endpoint'): Promise<SentFrame> {
    return this.inbox.next(what);
  }

  /** The next frame, which must be a command of `type` (on `connId` when given). */
  expectCommand(type: CommandType, connId?: number): Promise<Command> {
    return this.inbox.expectCommand(type, connId);
  }

  /** The next frame, which must be data on `connId`; returns the message. */
  expectData(connId: number): Promise<Buffer> {
    return this.inbox.expectData(connId);
  }

  /** Answers the next `New` with `Open(connId)`. */
  async answerNew(connId: number): Promise<void> {
    await this.expectCommand(CommandType.New);
    this.sendOpen(connId);
  }

  /**
   * A round trip that proves the endpoint has handled everything sent before: a Ping,
   * which the endpoint answers at once; the answer must be the next frame.
   */
  async sync(): Promise<void> {
    this.sendPing();
    await this.expectCommand(CommandType.Ping);
  }

  pauseReading(): void {
    this.socket.pause();
  }
  resumeReading(): void {
    this.socket.resume();
  }

  /** Waits until the endpoint has closed the connection. */
  expectClosed(what = 'the endpoint to close the connection'): Promise<void> {
    return withTimeout(this.closed, what);
  }

  /** Closes gracefully (FIN) and waits until closed. */
  async end(): Promise<void> {
    if (!this.isClosedFlag) this.socket.end();
    await withTimeout(this.closed, 'the fake connection to close');
  }

  /** Resets the connection and waits until closed. */
  async destroy(): Promise<void> {
    if (!this.isClosedFlag) this.socket.destroy();
    await withTimeout(this.closed, 'the fake connection to close');
  }

  private onData(chunk: Buffer): void {
    if (this.framing) {
      this.decode(chunk);
      return;
    }
    this.raw = Buffer.concat([this.raw, chunk]);
    const w = this.rawWaiter;
    if (w !== null && this.raw.length >= w.n) {
      this.rawWaiter = null;
      const out = Buffer.from(this.raw.subarray(0, w.n));
      this.raw = this.raw.subarray(w.n);
      w.waiter.resolve(out);
    }
  }

  private decode(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, this);
    } catch {
      this.socket.destroy();
    }
  }

  /** FrameSink. */
  onFrame(connId: number, buf: Uint8Array, start: number, end: number): void {
    let command: Command | null = null;
    if (connId === 0) {
      try {
        command = parseCommand(buf, start, end, 'gateway');
      } catch {
        command = null;
      }
    }
    const frame: SentFrame = { connId, message: Buffer.from(buf.subarray(start + HEADER_SIZE, end)), command };
    this.inbox.deliver(frame);
  }
}

/** A listener on loopback that hands each accepted connection to the test as a {@link FakePeer}. */
export class FakeGateway {
  readonly port: number;
  private readonly server: net.Server;
  private readonly peers: FakePeer[] = [];
  private readonly pending: FakePeer[] = [];
  private readonly waiters: Waiter<FakePeer>[] = [];

  private constructor(server: net.Server, port: number, framing: boolean) {
    this.server = server;
    this.port = port;
    server.on('connection', (socket) => {
      const peer = new FakePeer(socket, framing);
      this.peers.push(peer);
      const w = this.waiters.shift();
      if (w !== undefined) w.resolve(peer);
      else this.pending.push(peer);
    });
  }

  /**
   * Listens on 127.0.0.1 port 0. `framing: false` for a fake server listener: connections
   * start raw, for the handshake (see {@link FakePeer.sendChallenge}).
   */
  static async start(opts: { framing?: boolean } = {}): Promise<FakeGateway> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    return new FakeGateway(server, address.port, opts.framing ?? true);
  }

  /** `127.0.0.1:port`, for `dialClient`/`dialServer`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next connection an endpoint made. */
  accept(): Promise<FakePeer> {
    const peer = this.pending.shift();
    if (peer !== undefined) return Promise.resolve(peer);
    return withTimeout(
      new Promise<FakePeer>((resolve, reject) => this.waiters.push({ resolve, reject })),
      'an endpoint to connect to the fake gateway',
    );
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.destroy()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Runs `body` against a fresh fake gateway and closes it afterwards. */
export async function withFakeGateway(
  opts: { framing?: boolean },
  body: (fake: FakeGateway) => Promise<void>,
): Promise<void> {
  const fake = await FakeGateway.start(opts);
  try {
    await body(fake);
  } finally {
    await fake.close();
  }
}

// ---- Shared by the endpoint tests ----

/**
 * Marks `promise` as handled at once (it may reject while the test awaits something else;
 * the test still asserts its outcome later) and returns it.
 */
export function early<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Registers, for the current test file, an `after` hook that fails when any promise
 * rejection went unhandled or any socket, listener or timer is left open.
 */
export function checkNoLeaks(): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'unhandled rejections');
    // A closed handle leaves the list a loop turn or two after its close callback.
    await waitUntil(() => openResources().length === 0, 'every socket and timer to be released').catch(() => {});
    assert.deepEqual(openResources(), [], 'sockets or timers left open');
  });
}
