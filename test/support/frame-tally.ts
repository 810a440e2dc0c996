/**
 * A raw connection for floods: it writes whatever it is told and, instead of queueing every
 * frame it gets back (as RawPeer does), only counts them by kind and keeps the IDs of the
 * Opens. Cheap enough for hundreds of thousands of frames, and for a thousand sockets.
 */
import net from 'node:net';
import { CHALLENGE_SIZE, CommandType, encodeClose, encodeHandshakeReply, encodeNew, FrameDecoder, HEADER_SIZE, readU32 } from '../../src/protocol/index.js';
import { socketDrained } from './frame-inbox.js';
import { waitUntil, withTimeout } from './test-timeouts.js';

export interface Tally {
  /** Open frames with a non-zero ID. */
  opens: number;
  /** Open(0) frames. */
  opensRefused: number;
  accepts: number;
  refuses: number;
  closes: number;
  pings: number;
  data: number;
  /** Data bytes (headers included). */
  dataBytes: number;
}

export interface TallyOptions {
  /** Raw bytes to drop before framing starts (8: a server connection's challenge, left unanswered). */
  skipRaw?: number;
  /** Keep the ConnID of every Accept in {@link TallyPeer.accepted}. */
  keepAccepts?: boolean;
  /** Answer the challenge as this server (see {@link TallyPeer.server}). */
  handshake?: { key: string; serverId: number };
}

export class TallyPeer {
  readonly socket: net.Socket;
  readonly tally: Tally = { opens: 0, opensRefused: 0, accepts: 0, refuses: 0, closes: 0, pings: 0, data: 0, dataBytes: 0 };
  /** IDs of the Opens not yet taken with {@link takeOpened}. */
  private opened: number[] = [];
  /** Accepted ConnIDs, when `keepAccepts` is set. */
  readonly accepted: number[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  /** When the connection was started, connected and closed (ms since the epoch). */
  startedAt = 0;
  connectedAt = 0;
  closedAt = 0;
  private readonly decoder = new FrameDecoder(0xffffffff);
  /** ConnIDs a Close arrived for. */
  readonly closedIds = new Set<number>();
  private framing: boolean;
  private skipRaw: number;
  /** For a server connection that answers the challenge itself. */
  private readonly handshake: { key: string; serverId: number } | undefined;
  private challenge: Buffer = Buffer.alloc(0);
  private replied = false;

  private constructor(socket: net.Socket, opts: TallyOptions) {
    this.socket = socket;
    this.handshake = opts.handshake;
    this.skipRaw = opts.handshake !== undefined ? CHALLENGE_SIZE : (opts.skipRaw ?? 0);
    this.framing = this.skipRaw === 0;
    const keepAccepts = opts.keepAccepts ?? false;
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.closedAt = Date.now();
        resolve();
      }),
    );
    socket.on('error', () => {});
    const sink = {
      onFrame: (connId: number, buf: Uint8Array, start: number, end: number): void => {
        const t = this.tally;
        if (connId !== 0) {
          t.data++;
          t.dataBytes += end - start;
          return;
        }
        const type = buf[start + HEADER_SIZE];
        const id = end - start >= HEADER_SIZE + 5 ? readU32(buf, start + HEADER_SIZE + 1) : 0;
        if (type === CommandType.Open) {
          if (id === 0) t.opensRefused++;
          else {
            t.opens++;
            this.opened.push(id);
          }
        } else if (type === CommandType.Accept) {
          t.accepts++;
          if (keepAccepts) this.accepted.push(id);
        } else if (type === CommandType.Refuse) t.refuses++;
        else if (type === CommandType.Close) {
          t.closes++;
          this.closedIds.add(id);
        }
        else if (type === CommandType.Ping) t.pings++;
      },
    };
    socket.on('data', (chunk: Buffer) => {
      let bytes: Uint8Array = chunk;
      if (!this.framing) {
        const skip = Math.min(this.skipRaw, bytes.length);
        this.skipRaw -= skip;
        if (this.handshake !== undefined) this.challenge = Buffer.concat([this.challenge, bytes.subarray(0, skip)]);
        bytes = bytes.subarray(skip);
        if (this.skipRaw > 0) return;
        this.framing = true;
        if (this.handshake !== undefined) {
          socket.write(encodeHandshakeReply(this.challenge, this.handshake.key, this.handshake.serverId));
          this.replied = true;
        }
      }
      try {
        this.decoder.push(bytes, sink);
      } catch {
        socket.destroy();
      }
    });
  }

  /** Connects to `port`. */
  static connect(port: number, opts: TallyOptions = {}): Promise<TallyPeer> {
    const startedAt = Date.now();
    return withTimeout(
      new Promise<TallyPeer>((resolve, reject) => {
        const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
        const peer = new TallyPeer(socket, opts);
        peer.startedAt = startedAt;
        socket.once('connect', () => {
          peer.connectedAt = Date.now();
          socket.off('error', reject);
          resolve(peer);
        });
        socket.once('error', reject);
      }),
      `a connection to port ${port}`,
    );
  }

  /**
   * A server connection that has authenticated as `serverId`: it answers the challenge, then
   * sends a New; the Open proves the key was accepted (its ID is released again).
   */
  static async server(port: number, key: string, serverId: number): Promise<TallyPeer> {
    const peer = await TallyPeer.connect(port, { handshake: { key, serverId } });
    await waitUntil(() => peer.replied || peer.isClosed, 'the challenge to be answered');
    peer.write(encodeNew());
    await peer.waitFor((t) => t.opens === 1, `server ${serverId} to authenticate`);
    peer.write(encodeClose(peer.takeOpened()[0]!));
    peer.tally.opens = 0;
    return peer;
  }

  write(bytes: Uint8Array): boolean {
    return this.isClosed ? false : this.socket.write(bytes);
  }

  /** Resolves when the socket's write buffer has drained, or it closed. */
  drained(): Promise<void> {
    return socketDrained(this.socket, this.isClosed);
  }

  /** The IDs of the Opens received since the last call. */
  takeOpened(): number[] {
    const ids = this.opened;
    this.opened = [];
    return ids;
  }

  /** Waits until `condition(tally)` holds. */
  waitFor(condition: (t: Tally) => boolean, what: string, ms?: number): Promise<void> {
    return waitUntil(() => condition(this.tally), what, ms);
  }

  expectClosed(what = 'the gateway to close the connection', ms?: number): Promise<void> {
    return withTimeout(this.closed, what, ms);
  }

  async end(): Promise<void> {
    if (!this.isClosed) this.socket.destroy();
    await withTimeout(this.closed, 'the socket to close');
  }
}
