/**
 * What a stop signal (SIGTERM, SIGINT) means: the first starts a graceful drain; a later
 * one stops at once. A signal within `repeatWindowMs` of the first counts as the same one,
 * because one Ctrl-C in a terminal often reaches the gateway twice: once from the terminal
 * and once forwarded by `npm start`.
 */
import { constants } from 'node:os';

/** The default window within which a second signal counts as the first one again. */
export const REPEAT_WINDOW_MS = 500;

/** `drain`: the first signal. `repeat`: the same signal again, to ignore. `force`: stop now. */
export type StopAction = 'drain' | 'repeat' | 'force';

/** Tells apart the first stop signal, its echoes, and a deliberate second one. */
export class StopSignals {
  private firstAt: number | null = null;

  constructor(
    private readonly repeatWindowMs: number = REPEAT_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** What a stop signal received now means. */
  receive(): StopAction {
    const at = this.now();
    if (this.firstAt === null) {
      this.firstAt = at;
      return 'drain';
    }
    return at - this.firstAt < this.repeatWindowMs ? 'repeat' : 'force';
  }
}

/** The exit code of a process stopped by `signal`, by shell convention: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
