import {
  type Command,
  CommandType,
  FrameDecoder,
  type FrameSink,
  HEADER_SIZE,
  encodeDial,
  encodeNew,
  parseCommand,
  writeFrameHeader,
} from '../src/protocol/index.js';
import { type ClientLink, openLink } from './client-link.js';
import type { ClientTarget } from './load-client.js';

/** Attempts after the first one a storm client makes when its connection fails before its round trip. */
export const STORM_MAX_RETRIES = 5;
/** Pause before a retry: a real client backs off before reconnecting. */
const RETRY_DELAY_MS = 100;
/** A connect that took this long waited for the kernel's SYN retransmit: its first SYN was dropped (a full listen queue). */
export const SLOW_CONNECT_MS = 900;

/** What one storm client went through, for the storm's record. */
export interface StormOutcome {
  /** Its message came back. */
  done: boolean;
  /** From the storm's start to its echo, in ms (or to giving up). */
  elapsedMs: number;
  /** Connections that failed (error or close) before the round trip. */
  errors: number;
  /** Connections opened again after a failure. */
  retries: number;
  /** Connects that took ≥ {@link SLOW_CONNECT_MS}. */
  slowConnects: number;
  /** The last failure, if any. */
  lastError: string | null;
}

/**
 * One client of a reconnect storm: connects, opens one virtual connection to its server
 * (New → Open → Dial → Accept), sends one message and waits for the echo, then stays
 * connected until told to leave. A connection that fails before the echo is opened again
 * after a short pause, up to {@link STORM_MAX_RETRIES} times, as a real client would.
 */
export class StormClient implements FrameSink {
  readonly outcome: StormOutcome = { done: false, elapsedMs: 0, errors: 0, retries: 0, slowConnects: 0, lastError: null };
  private link: ClientLink | null = null;
  private decoder = new FrameDecoder(1024 * 1024);
  private readonly cmd: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
  private connectStartedMs = 0;
  private leaving = false;
  private finished = false;

  constructor(
    private readonly target: ClientTarget,
    private readonly size: number,
    /** The storm's start, in `performance.now()` ms. */
    private readonly startMs: number,
    private readonly onFinished: (client: StormClient) => void,
  ) {}

  /** Connects (the first attempt). */
  start(): void {
    this.connect();
  }

  /** Closes the connection for good. */
  leave(): void {
    this.leaving = true;
    this.link?.destroy();
    this.link = null;
  }

  private connect(): void {
    this.connectStartedMs = performance.now();
    this.decoder = new FrameDecoder(1024 * 1024);
    // Events of a link given up on (its 'close' comes after a retry started) are ignored.
    const link: ClientLink = openLink('tcp', this.target.host, this.target.port, '/', {
      onConnect: () => {
        if (this.link !== link) return;
        if (performance.now() - this.connectStartedMs >= SLOW_CONNECT_MS) this.outcome.slowConnects++;
        link.send(encodeNew());
      },
      onData: (bytes) => {
        if (this.link !== link) return;
        try {
          this.decoder.push(bytes, this);
        } catch (err) {
          this.failed(`bad frame: ${(err as Error).message}`);
        }
      },
      onLost: (why) => {
        if (this.link === link) this.failed(why);
      },
    });
    this.link = link;
  }

  onFrame(connId: number, buf: Uint8Array, start: number, end: number): void {
    if (connId !== 0) {
      // The echo of the one message: the round trip is done.
      if (!this.outcome.done && end - start === HEADER_SIZE + this.size) {
        this.outcome.done = true;
        this.finish();
      }
      return;
    }
    const cmd = parseCommand(buf, start, end, 'endpoint', this.cmd);
    if (cmd.type === CommandType.Open) {
      if (cmd.connId === 0) this.failed('New refused (Open 0)');
      else this.link?.send(encodeDial(cmd.connId, this.target.serverId));
    } else if (cmd.type === CommandType.Accept) {
      const frame = Buffer.alloc(HEADER_SIZE + this.size);
      writeFrameHeader(frame, 0, cmd.connId, this.size);
      frame.writeDoubleLE(performance.now(), HEADER_SIZE);
      this.link?.send(frame);
    } else if (cmd.type === CommandType.Refuse) {
      this.failed(`dial of server ${this.target.serverId} refused`);
    }
  }

  private failed(why: string): void {
    if (this.leaving || this.finished || this.link === null) return;
    this.link.destroy();
    this.link = null;
    this.outcome.errors++;
    this.outcome.lastError = why;
    if (this.outcome.retries >= STORM_MAX_RETRIES) {
      this.finish();
      return;
    }
    this.outcome.retries++;
    setTimeout(() => {
      if (!this.leaving) this.connect();
    }, RETRY_DELAY_MS);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.outcome.elapsedMs = performance.now() - this.startMs;
    this.onFinished(this);
  }
}
