import { type CommandType, MAX_COMMAND_FRAME_SIZE, writeCommand } from '../protocol/command.js';

/** Size of the buffers the gateway writes its own commands into. */
const COMMAND_SLAB_SIZE = 16 * 1024;

/**
 * Where the gateway writes its own commands (Open, Accept, Refuse, Close): one after another
 * into a buffer that is never rewritten (a new one starts when it is full), so answering
 * costs no allocation, a queued command stays valid until it is written, and a run of
 * answers to one peer lies end to end (it goes out as one range).
 */
export class CommandSlab {
  /** The buffer the last command was written into. */
  buffer = Buffer.allocUnsafe(COMMAND_SLAB_SIZE);
  /** Where the last command written ends in {@link buffer}. */
  end = 0;

  /** Writes a command frame; it spans `buffer[returned start .. end)`. */
  put(type: CommandType, connId: number, remoteId: number): number {
    if (this.end + MAX_COMMAND_FRAME_SIZE > this.buffer.length) {
      this.buffer = Buffer.allocUnsafe(COMMAND_SLAB_SIZE);
      this.end = 0;
    }
    const start = this.end;
    this.end += writeCommand(this.buffer, start, type, connId, remoteId);
    return start;
  }
}
