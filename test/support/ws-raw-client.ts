/**
 * A scripted raw WebSocket client for gateway tests (the `ws` package and `src/protocol`
 * only, no endpoint library): it sends exactly the messages a test asks for and hands back
 * every frame the gateway sends, and the close code the gateway closed with.
 */
import { WebSocket, type ClientOptions } from 'ws';
import {
  type Command,
  CommandType,
  FrameDecoder,
  HEADER_SIZE,
  encodeClose,
  encodeDataFrame,
  encodeDial,
  encodeNew,
  parseCommand,
} from '../../src/protocol/index.js';
import { type ReceivedFrame, withTimeout } from './raw-peer.js';

export class WsRawClient {
  /** Resolves with the close code once the connection has closed (never rejects). */
  readonly closed: Promise<number>;
  /** Every binary message received, whole (to check that none splits a frame). */
  readonly messages: Buffer[] = [];
  private readonly decoder = new FrameDecoder(0xffffffff);
  private readonly frames: ReceivedFrame[] = [];
  private readonly waiters: ((frame: ReceivedFrame | null) => void)[] = [];
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number) => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) w(null);
        resolve(code);
      });
    });
    ws.on('error', () => {
      // A refused or cut connection is an expected outcome in several tests; `closed` reports it.
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) throw new Error('the gateway sent a text message');
      this.messages.push(data);
      this.decoder.push(data, this);
    });
  }

  /** Connects to `url`; rejects when the upgrade is refused (with the HTTP status in the message). */
  static connect(url: string, options: ClientOptions = {}): Promise<WsRawClient> {
    return withTimeout(
      new Promise<WsRawClient>((resolve, reject) => {
        const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
        const fail = (err: Error): void => reject(err);
        ws.once('error', fail);
        ws.once('unexpected-response', (_req, res) => {
          ws.on('error', () => {}); // terminating an unopened WebSocket reports an error
          reject(new Error(`upgrade refused: ${res.statusCode}`));
          res.resume();
          ws.terminate();
        });
        ws.once('open', () => {
          ws.off('error', fail);
          resolve(new WsRawClient(ws));
        });
      }),
      `a WebSocket connection to ${url}`,
    );
  }

  /** FrameSink. */
  onFrame(connId: number, buf: Uint8Array, start: number, end: number): void {
    const command: Command | null = connId === 0 ? parseCommand(buf, start, end, 'endpoint') : null;
    const frame = { connId, message: Buffer.from(buf.subarray(start + HEADER_SIZE, end)), command };
    const w = this.waiters.shift();
    if (w === undefined) this.frames.push(frame);
    else w(frame);
  }

  /** Sends one binary message holding `bytes`. */
  send(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  sendNew(): void {
    this.send(encodeNew());
  }

  sendDial(connId: number, remoteId: number): void {
    this.send(encodeDial(connId, remoteId));
  }

  sendClose(connId: number): void {
    this.send(encodeClose(connId));
  }

  sendData(connId: number, message: Uint8Array): void {
    this.send(encodeDataFrame(connId, message));
  }

  nextFrame(what = 'a frame'): Promise<ReceivedFrame> {
    const queued = this.frames.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.isClosed) return Promise.reject(new Error(`the connection is closed; wanted ${what}`));
    return withTimeout(
      new Promise<ReceivedFrame>((resolve, reject) => {
        this.waiters.push((frame) => (frame === null ? reject(new Error(`the connection closed; wanted ${what}`)) : resolve(frame)));
      }),
      what,
    );
  }

  async expectCommand(type: CommandType, connId?: number): Promise<Command> {
    const frame = await this.nextFrame(`command ${type}`);
    if (frame.command === null || frame.command.type !== type || (connId !== undefined && frame.command.connId !== connId)) {
      throw new Error(`expected command ${type}${connId === undefined ? '' : ` on ${connId}`}, got ConnID ${frame.connId} ${JSON.stringify(frame.command)}`);
    }
    return frame.command;
  }

  async expectData(connId: number): Promise<Buffer> {
    const frame = await this.nextFrame(`data on ${connId}`);
    if (frame.command !== null || frame.connId !== connId) throw new Error(`expected data on ${connId}, got ConnID ${frame.connId}`);
    return frame.message;
  }

  /** New → Open: the ConnID given. */
  async open(): Promise<number> {
    this.sendNew();
    return (await this.expectCommand(CommandType.Open)).connId;
  }

  /** Waits for the gateway to close the connection; resolves with the close code. */
  expectClosed(what = 'the gateway to close the WebSocket'): Promise<number> {
    return withTimeout(this.closed, what);
  }

  /** Closes from this side and waits until closed. */
  async end(): Promise<void> {
    if (!this.isClosed) this.ws.terminate();
    await withTimeout(this.closed, 'the WebSocket to close');
  }
}
