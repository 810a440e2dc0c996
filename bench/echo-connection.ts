import type { Socket } from 'node:net';
import { type Command, CommandType, FrameDecoder, type FrameSink, encodeAccept, encodeClose, encodeOpen, encodePing, parseCommand } from '../src/protocol/index.js';
import { copyToSlab, writeInTurn } from './write-batch.js';

/** Frames the bench ever sends are far below this; a larger Length means a broken stream. */
const MAX_PACKET_SIZE = 16 * 1024 * 1024;

/**
 * Which side of the protocol an echo connection plays:
 * - `server`: a game server attached to a gateway; it answers Pings and ignores the
 *   gateway's other commands.
 * - `direct`: the far end of a load client's own TCP connection, with no gateway: it plays
 *   the gateway's part of connection set-up itself (New → Open, Dial → Accept, Close → Close).
 */
export type EchoRole = 'server' | 'direct';

/**
 * One echoing TCP connection: every data frame goes back unchanged on the same ConnID.
 *
 * Received bytes are in the shared read buffer, valid only during {@link receive}: each run
 * of consecutive data frames is copied once into the output slab and written in the turn's
 * batch (see write-batch.ts). No allocation per frame.
 */
export class EchoConnection implements FrameSink {
  /** Data frames echoed so far. */
  echoed = 0;
  private readonly socket: Socket;
  private readonly role: EchoRole;
  private readonly decoder = new FrameDecoder(MAX_PACKET_SIZE);
  private readonly cmd: Command = { type: CommandType.New, connId: 0, remoteId: 0 };
  /** The chunk being decoded, and the run of data frames in it not yet written. */
  private chunk: Uint8Array | null = null;
  private runStart = 0;
  private runEnd = 0;
  private nextConnId = 1;

  constructor(socket: Socket, role: EchoRole) {
    this.socket = socket;
    this.role = role;
  }

  /** Decodes and answers one received chunk (a view valid only during this call). */
  receive(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.runStart = this.runEnd = 0;
    try {
      this.decoder.push(chunk, this);
    } catch (err) {
      this.socket.destroy(err as Error);
      return;
    }
    this.flushRun();
    this.chunk = null;
  }

  onFrame(connId: number, buf: Uint8Array, start: number, end: number): void {
    if (connId !== 0) {
      this.echoed++;
      if (buf === this.chunk) {
        if (start === this.runEnd && this.runEnd !== this.runStart) {
          this.runEnd = end;
          return;
        }
        this.flushRun();
        this.runStart = start;
        this.runEnd = end;
      } else {
        // A frame that spanned chunks: the decoder assembled it in a buffer of its own, which it does not reuse.
        this.flushRun();
        writeInTurn(this.socket, buf.subarray(start, end));
      }
      return;
    }
    this.flushRun();
    const cmd = parseCommand(buf, start, end, this.role === 'server' ? 'endpoint' : 'gateway', this.cmd);
    if (this.role === 'server') {
      if (cmd.type === CommandType.Ping) writeInTurn(this.socket, encodePing());
      return;
    }
    switch (cmd.type) {
      case CommandType.New:
        writeInTurn(this.socket, encodeOpen(this.nextConnId++));
        break;
      case CommandType.Dial:
        writeInTurn(this.socket, encodeAccept(cmd.connId, cmd.remoteId));
        break;
      case CommandType.Close:
        writeInTurn(this.socket, encodeClose(cmd.connId));
        break;
      default:
        break;
    }
  }

  private flushRun(): void {
    if (this.runEnd !== this.runStart) {
      writeInTurn(this.socket, copyToSlab(this.chunk!, this.runStart, this.runEnd));
      this.runStart = this.runEnd = 0;
    }
  }
}
