/**
 * A scripted raw-socket peer for gateway tests, built on `src/protocol` alone (no endpoint
 * library): it sends exactly the bytes a test asks for and hands back every frame the
 * gateway sends, in order, so a test can check the gateway byte by byte.
 *
 * Every wait has a generous safety timeout that fails the test with a message saying what
 * was awaited; it guards against hangs and is never a timing assertion.
 */
import net from 'node:net';
import { FrameInbox, type InboxFrame, socketDrained } from './frame-inbox.js';
import { withTimeout } from './test-timeouts.js';

export { SAFETY_TIMEOUT_MS, waitUntil, withTimeout } from './test-timeouts.js';
import {
  CHALLENGE_SIZE,
  type Command,
  CommandType,
  FrameDecoder,
  HEADER_SIZE,
  encodeClose,
  encodeDataFrame,
  encodeDial,
  encodeHandshakeReply,
  encodeNew,
  encodePing,
  parseCommand,
} from '../../src/protocol/index.js';

/** A frame received from the gateway. `message` is a copy, safe to keep. */
export type ReceivedFrame = InboxFrame;

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** One raw TCP connection to a gateway listener. */
export class RawPeer {
  readonly socket: net.Socket;
  /** Resolves when the socket has closed, for whatever reason (never rejects). */
  readonly closed: Promise<void>;
  private isClosedFlag = false;
  /** Before framing starts (server handshake), received bytes collect here. */
  private raw: Buffer[] = [];
  private rawLength = 0;
  private rawWaiter: { n: number; waiter: Waiter<Buffer> } | null = null;
  private framing: boolean;
  private readonly decoder: FrameDecoder;
  private readonly inbox = new FrameInbox<ReceivedFrame>();
  /** Frames received so far (including those still queued). */
  framesReceived = 0;
  /** Data-frame bytes (headers included) received so far. */
  bytesReceived = 0;

  private constructor(socket: net.Socket, framing: boolean, maxPacketSize: number) {
    this.socket = socket;
    this.framing = framing;
    this.decoder = new FrameDecoder(maxPacketSize);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosedFlag = true;
        const err = new Error('the gateway closed the connection');
        this.inbox.close(err);
        if (this.rawWaiter) this.rawWaiter.waiter.reject(err);
        this.rawWaiter = null;
        resolve();
      });
    });
    socket.on('error', () => {
      // A reset by the gateway is an expected outcome in many tests; `closed` reports it.
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /**
   * Connects to `port`. `framing: false` leaves the connection in raw mode for a server
   * handshake (see {@link handshake}); clients frame from the first byte.
   */
  static connect(port: number, opts: { framing?: boolean; host?: string; maxPacketSize?: number } = {}): Promise<RawPeer> {
    const host = opts.host ?? '127.0.0.1';
    return withTimeout(
      new Promise<RawPeer>((resolve, reject) => {
        const socket = net.connect({ port, host, noDelay: true });
        const peer = new RawPeer(socket, opts.framing ?? true, opts.maxPacketSize ?? 0xffffffff);
        socket.once('connect', () => {
          socket.off('error', reject);
          peer.localPort = socket.localPort!;
          resolve(peer);
        });
        socket.once('error', reject);
      }),
      `a connection to port ${port}`,
    );
  }

  /** True once the socket has closed. */
  get isClosed(): boolean {
    return this.isClosedFlag;
  }

  /** The peer's local port (the gateway's view of its remote port), kept after close. */
  localPort = 0;

  /** Frames received and not yet taken by a test. */
  get queuedFrames(): number {
    return this.inbox.length;
  }

  // ---- handshake (raw mode) ----

  /** Reads exactly `n` raw bytes (before framing starts). */
  readRaw(n: number, what = `${n} raw bytes`): Promise<Buffer> {
    if (this.framing) throw new Error('readRaw after framing started');
    if (this.rawWaiter) throw new Error('readRaw already waiting');
    const p = new Promise<Buffer>((resolve, reject) => {
      this.rawWaiter = { n, waiter: { resolve, reject } };
    });
    if (this.isClosedFlag && this.rawLength < n) {
      this.rawWaiter = null;
      return Promise.reject(new Error(`the connection is closed; wanted ${what}`));
    }
    this.flushRaw();
    return withTimeout(p, what).catch((err: Error) => {
      this.rawWaiter = null;
      throw err;
    });
  }

  /** Reads the gateway's 8-byte challenge. */
  readChallenge(): Promise<Buffer> {
    return this.readRaw(CHALLENGE_SIZE, 'the handshake challenge');
  }

  /** Switches to framing: raw bytes received after the handshake are decoded as frames. */
  startFraming(): void {
    if (this.framing) return;
    this.framing = true;
    const rest = Buffer.concat(this.raw);
    this.raw = [];
    this.rawLength = 0;
    if (rest.length > 0) this.decode(rest);
  }

  /**
   * The whole server handshake: reads the challenge, answers with `MD5(challenge ‖ key)`
   * and `serverId`, and starts framing. The gateway has no "OK" reply, so this does not
   * prove the key was accepted.
   */
  async handshake(key: string, serverId: number): Promise<void> {
    const challenge = await this.readChallenge();
    this.startFraming();
    this.write(encodeHandshakeReply(challenge, key, serverId));
  }

  // ---- sending ----

  /** Writes raw bytes; returns `socket.write`'s result (false: the kernel buffer is full). */
  write(bytes: Uint8Array): boolean {
    return this.socket.write(bytes);
  }

  /** Resolves when the socket's write buffer has drained (or it closed). */
  drained(): Promise<void> {
    return socketDrained(this.socket, this.isClosedFlag);
  }

  sendNew(): boolean {
    return this.write(encodeNew());
  }

  sendDial(connId: number, remoteId: number): boolean {
    return this.write(encodeDial(connId, remoteId));
  }

  sendClose(connId: number): boolean {
    return this.write(encodeClose(connId));
  }

  sendPing(): boolean {
    return this.write(encodePing());
  }

  sendData(connId: number, message: Uint8Array): boolean {
    return this.write(encodeDataFrame(connId, message));
  }

  // ---- receiving ----

  /** The next frame from the gateway, whatever it is. */
  nextFrame(what = 'a frame'): Promise<ReceivedFrame> {
    return this.inbox.next(what);
  }

  /**
   * The next frame, which must be a command of `type` (and, when given, on `connId`);
   * anything else fails with a message naming what came instead.
   */
  expectCommand(type: CommandType, connId?: number): Promise<Command> {
    return this.inbox.expectCommand(type, connId);
  }

  /** The next frame, which must be a data frame on `connId`; returns its message. */
  expectData(connId: number): Promise<Buffer> {
    return this.inbox.expectData(connId);
  }

  /** `New` → `Open`: returns the ConnID the gateway gave (0 if it refused). */
  async open(): Promise<number> {
    this.sendNew();
    return (await this.expectCommand(CommandType.Open)).connId;
  }

  /**
   * A round trip proving the gateway still serves this connection and sent nothing else
   * before: New must be answered by an Open as the very next frame. The ID is then released.
   */
  async sync(): Promise<void> {
    const id = await this.open();
    if (id === 0) throw new Error('sync: the gateway answered New with Open(0)');
    this.sendClose(id);
  }

  /** Waits until the gateway has closed the connection (frames still queued are kept). */
  expectClosed(what = 'the gateway to close the connection'): Promise<void> {
    return withTimeout(this.closed, what);
  }

  /** Stops reading from the socket: data piles up in the kernel buffers, as with a stuck peer. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Closes the connection from this side and waits until it is closed. */
  async end(): Promise<void> {
    if (!this.isClosedFlag) this.socket.destroy();
    await withTimeout(this.closed, 'the socket to close');
  }

  private onData(chunk: Buffer): void {
    if (this.framing) {
      this.decode(chunk);
      return;
    }
    this.raw.push(chunk);
    this.rawLength += chunk.length;
    this.flushRaw();
  }

  private flushRaw(): void {
    const w = this.rawWaiter;
    if (w === null || this.rawLength < w.n) return;
    const all = Buffer.concat(this.raw);
    this.raw = [all.subarray(w.n)];
    this.rawLength = all.length - w.n;
    this.rawWaiter = null;
    w.waiter.resolve(Buffer.from(all.subarray(0, w.n)));
  }

  private decode(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, this);
    } catch (err) {
      this.deliver(err instanceof Error ? err : new Error(String(err)));
      this.socket.destroy();
    }
  }

  /** FrameSink: called by the decoder for each whole frame. */
  onFrame(connId: number, buf: Uint8Array, start: number, end: number): void {
    this.framesReceived++;
    let command: Command | null = null;
    if (connId === 0) {
      try {
        command = parseCommand(buf, start, end, 'endpoint');
      } catch (err) {
        this.deliver(new Error(`the gateway sent a bad command: ${(err as Error).message}`));
        return;
      }
    } else {
      this.bytesReceived += end - start;
    }
    const message = Buffer.from(buf.subarray(start + HEADER_SIZE, end));
    this.deliver({ connId, message, command });
  }

  private deliver(item: ReceivedFrame | Error): void {
    this.inbox.deliver(item);
  }
}
