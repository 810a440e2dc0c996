/**
 * The frames a scripted test peer has received and not yet taken, in order, and the tests
 * waiting for them: one implementation for the raw gateway peer (raw-peer.ts) and the fake
 * gateway's connections (fake-gateway.ts). Also {@link socketDrained}, shared by every
 * scripted peer that writes.
 */
import type { Socket } from 'node:net';
import { type Command, type CommandType, commandName } from '../../src/protocol/index.js';
import { withTimeout } from './test-timeouts.js';

/** A received frame. `message` is a copy, safe to keep. */
export interface InboxFrame {
  connId: number;
  message: Buffer;
  /** The parsed command when `connId` is 0 (null for data, or a command that did not parse). */
  command: Command | null;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** A frame as a failure message names it. */
export function describeFrame(frame: InboxFrame): string {
  if (frame.connId !== 0) return `data frame on ConnID ${frame.connId} (${frame.message.length} bytes)`;
  if (frame.command === null) return 'an unparsable command';
  return `${commandName(frame.command.type)}(connId=${frame.command.connId}, remoteId=${frame.command.remoteId})`;
}

/** Received frames (or errors, delivered in their place) and the waits for them. */
export class FrameInbox<F extends InboxFrame = InboxFrame> {
  readonly #items: (F | Error)[] = [];
  readonly #waiters: Waiter<F>[] = [];
  #closed = false;

  /** Frames received and not yet taken. */
  get length(): number {
    return this.#items.length;
  }

  /** Hands `item` to the oldest waiter, or keeps it for the next {@link next}. An Error fails that wait. */
  deliver(item: F | Error): void {
    const w = this.#waiters.shift();
    if (w === undefined) this.#items.push(item);
    else if (item instanceof Error) w.reject(item);
    else w.resolve(item);
  }

  /** The connection closed: every wait fails with `err`; frames already received can still be taken. */
  close(err: Error): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  /** The next frame, within the safety timeout (`what` names it in the failure). */
  next(what: string): Promise<F> {
    const queued = this.#items.shift();
    if (queued !== undefined) return queued instanceof Error ? Promise.reject(queued) : Promise.resolve(queued);
    if (this.#closed) return Promise.reject(new Error(`the connection is closed; wanted ${what}`));
    let waiter!: Waiter<F>;
    const p = new Promise<F>((resolve, reject) => {
      waiter = { resolve, reject };
      this.#waiters.push(waiter);
    });
    return withTimeout(p, what).catch((err: Error) => {
      // Drop a timed-out waiter so it does not swallow a later frame.
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
      throw err;
    });
  }

  /**
   * The next frame, which must be a command of `type` (and, when given, on `connId`);
   * anything else fails with a message naming what came instead.
   */
  async expectCommand(type: CommandType, connId?: number): Promise<Command> {
    const want = connId === undefined ? commandName(type) : `${commandName(type)}(connId=${connId})`;
    const frame = await this.next(want);
    const cmd = frame.command;
    if (cmd === null || cmd.type !== type || (connId !== undefined && cmd.connId !== connId)) {
      throw new Error(`expected ${want}, got ${describeFrame(frame)}`);
    }
    return cmd;
  }

  /** The next frame, which must be a data frame on `connId`; returns its message. */
  async expectData(connId: number): Promise<Buffer> {
    const frame = await this.next(`data on ConnID ${connId}`);
    if (frame.connId === 0 || frame.connId !== connId) throw new Error(`expected data on ConnID ${connId}, got ${describeFrame(frame)}`);
    return frame.message;
  }
}

/** Resolves when `socket`'s write buffer has drained, or it closed. */
export function socketDrained(socket: Socket, isClosed: boolean): Promise<void> {
  if (socket.writableLength === 0 || isClosed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
