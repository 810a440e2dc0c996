/**
 * A scripted raw-socket peer for gateway tests, built on `src/protocol` alone (no endpoint
 * library): it sends exactly the bytes a test asks for and hands back every frame the
 * gateway sends, in order, so a test can check the gateway byte by byte.
 *
 * Every wait has a generous safety timeout that fails the test with a message saying what
 * was awaited; it guards against hangs and is never a timing assertion.
 */
import net from 'node:net';
import {
  CHALLENGE_SIZE,
  type Command,
  CommandType,
  FrameDecoder,
  HEADER_SIZE,
  commandName,
  encodeClose,
  encodeDataFrame,
  encodeDial,
  encodeHandshakeReply,
  encodeNew,
  encodePing,
  parseCommand,
} from '../../src/protocol/index.js';

/** Default safety timeout of every wait, in ms. Generous: the test machine is slow and noisy. */
export const SAFETY_TIMEOUT_MS = 10_000;

/** A frame received from the gateway. `message` is a copy, safe to keep. */
export interface ReceivedFrame {
  connId: number;
  message: Buffer;
  /** The parsed command when `connId` is 0. */
  command: Command | null;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** Runs `promise` with a safety timeout that rejects with `what` in the message; never leaves a timer behind. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = SAFETY_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `condition` until it holds (for state the gateway changes without telling the
 * peer, such as its statistics after a peer left). Fails after the safety timeout.
 */
export async function waitUntil(condition: () => boolean, what: string, ms = SAFETY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function describe(frame: ReceivedFrame): string {
  if (frame.command === null) return `data frame on ConnID ${frame.connId} (${frame.message.length} bytes)`;
  const c = frame.command;
  return `${commandName(c.type)}(connId=${c.connId}, remoteId=${c.remoteId})`;
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
  private readonly frames: (ReceivedFrame | Error)[] = [];
  private readonly waiters: Waiter<ReceivedFrame>[] = [];
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
        for (const w of this.waiters.splice(0)) w.reject(err);
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
    return this.frames.length;
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
    if (this.socket.writableLength === 0 || this.isClosedFlag) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
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
    const queued = this.frames.shift();
    if (queued !== undefined) return queued instanceof Error ? Promise.reject(queued) : Promise.resolve(queued);
    if (this.isClosedFlag) return Promise.reject(new Error(`the connection is closed; wanted ${what}`));
    let waiter!: Waiter<ReceivedFrame>;
    const p = new Promise<ReceivedFrame>((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.push(waiter);
    });
    return withTimeout(p, what).catch((err: Error) => {
      // Drop a timed-out waiter so it does not swallow a later frame.
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      throw err;
    });
  }

  /**
   * The next frame, which must be a command of `type` (and, when given, on `connId`);
   * anything else fails with a message naming what came instead.
   */
  async expectCommand(type: CommandType, connId?: number): Promise<Command> {
    const want = connId === undefined ? commandName(type) : `${commandName(type)}(connId=${connId})`;
    const frame = await this.nextFrame(want);
    const cmd = frame.command;
    if (cmd === null || cmd.type !== type || (connId !== undefined && cmd.connId !== connId)) {
      throw new Error(`expected ${want}, got ${describe(frame)}`);
    }
    return cmd;
  }

  /** The next frame, which must be a data frame on `connId`; returns its message. */
  async expectData(connId: number): Promise<Buffer> {
    const frame = await this.nextFrame(`data on ConnID ${connId}`);
    if (frame.command !== null || frame.connId !== connId) {
      throw new Error(`expected data on ConnID ${connId}, got ${describe(frame)}`);
    }
    return frame.message;
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
    const w = this.waiters.shift();
    if (w === undefined) {
      this.frames.push(item);
    } else if (item instanceof Error) {
      w.reject(item);
    } else {
      w.resolve(item);
    }
  }
}
