/**
 * The real `fastway` command in a child process, run from the sources: its output collected
 * as text, waits for what it prints, its exit, and a clean-up for the tests' `after()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './raw-peer.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** How the process ended: an exit code, or the signal that ended it. */
export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type CliStream = 'stdout' | 'stderr';

export interface CliOptions {
  /** FASTWAY_* (or other) variables on top of the inherited environment, which has no FASTWAY_* variable. */
  env?: Record<string, string>;
  /** Each `waitFor` fails after this long; no limit when not set. */
  waitTimeoutMs?: number;
  /** `exited` fails if the process has not exited this long after the start; no limit when not set. */
  exitTimeoutMs?: number;
}

export interface CliRun {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  readonly stdout: string;
  /** Everything written to stderr (the log) so far. */
  readonly stderr: string;
  /** Both streams, labelled, for assertion messages. */
  output(): string;
  /** Resolves with the first match of `re` (multiline) in `stream`, once written; fails if the process exits first. */
  waitFor(re: RegExp, stream?: CliStream): Promise<RegExpMatchArray>;
  /** Settles once the process has exited and its output is read. */
  exited: Promise<CliExit>;
}

/** The children still running, for `killCliChildren`. */
const children = new Set<ChildProcess>();

/** Runs `fastway args…` (`node --import tsx src/cli/main.ts`) from the repository root. */
export function startCli(args: string[], options: CliOptions = {}): CliRun {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FASTWAY_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...cleanEnv, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const text: Record<CliStream, string> = { stdout: '', stderr: '' };
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => ((text.stdout += s), wake()));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => ((text.stderr += s), wake()));
  const closed = new Promise<CliExit>((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
      wake();
    });
  });
  const output = (): string => `stdout: ${text.stdout}\nstderr: ${text.stderr}`;
  const limit = <T>(promise: Promise<T>, what: string, ms: number | undefined): Promise<T> =>
    ms === undefined ? promise : withTimeout(promise, what, ms);
  return {
    child,
    get stdout() {
      return text.stdout;
    },
    get stderr() {
      return text.stderr;
    },
    output,
    exited: limit(closed, 'fastway to exit', options.exitTimeoutMs),
    waitFor(re, stream = 'stdout') {
      const found = new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = (): void => {
          const m = new RegExp(re.source, 'm').exec(text[stream]);
          if (m) return resolve(m);
          if (child.exitCode !== null || child.signalCode !== null) {
            return reject(new Error(`fastway exited before writing ${re} to ${stream}\n${output()}`));
          }
          waiters.push(check);
        };
        check();
      });
      return limit(found, `fastway to write ${re} to ${stream}`, options.waitTimeoutMs);
    },
  };
}

/** SIGKILLs every child `startCli` started that is still running, and waits until they are gone. */
export async function killCliChildren(): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  }
}
