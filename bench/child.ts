import { type ChildProcess, type StdioOptions, execFileSync, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildEvent, Reply, Request } from './ipc.js';

/** How long a child may take to start, and to exit once asked. */
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

/** One bench child process as the parent sees it; recorded in the results. */
export interface ChildRecord {
  role: string;
  pid: number;
  exitCode: number | null;
  signal: string | null;
}

let tasksetChecked: boolean | undefined;

/** Whether `taskset` can be run here (checked once). */
export function tasksetAvailable(): boolean {
  if (tasksetChecked === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      tasksetChecked = true;
    } catch {
      tasksetChecked = false;
    }
  }
  return tasksetChecked;
}

/**
 * A bench child process (a `.ts` script under bench/ run through tsx) with request/reply
 * messaging. Created by {@link BenchChild.fork}; usable once {@link BenchChild.ready} resolves.
 */
export class BenchChild {
  readonly role: string;
  readonly pid: number;
  /** The fields of the child's `ready` message (its ports, for example). */
  info: Record<string, unknown> = {};
  private readonly proc: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;
  private failure: Error | null = null;
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private hasExited = false;
  /** Set once the parent asked it to exit: an exit is then expected, not a failure. */
  private stopping = false;
  private isReady = false;
  private readyPromise: Promise<this> | null = null;
  /** Set while {@link ready} waits. */
  private onReady: (() => void) | null = null;
  private onFailure: ((err: Error) => void) | null = null;

  private constructor(role: string, proc: ChildProcess) {
    this.role = role;
    this.proc = proc;
    this.pid = proc.pid!;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.hasExited = true;
        this.exitCode = code;
        this.exitSignal = signal;
        const err = new Error(`${role} (pid ${this.pid}) exited (code ${code}, signal ${signal})`);
        if (this.stopping) this.rejectWaiting(err);
        else this.fail(err);
        resolve();
      });
    });
    proc.on('error', (err) => this.fail(err));
    proc.on('message', (message: Reply | ChildEvent) => {
      if ('id' in message) {
        const reply = message as Reply;
        const waiter = this.waiting.get(reply.id);
        if (waiter === undefined) return;
        this.waiting.delete(reply.id);
        if (reply.error !== undefined) waiter.reject(new Error(`${role}: ${reply.error}`));
        else waiter.resolve(reply);
      } else if (message.type === 'ready') {
        this.info = message;
        this.isReady = true;
        this.onReady?.();
      } else if (message.type === 'fatal') {
        this.fail(new Error(`${role} failed: ${message.message}`));
      }
    });
  }

  /**
   * Forks `bench/<script>` with `args`, pinned to `core` (a taskset CPU list: `0`, `1-3`) when given (check
   * {@link tasksetAvailable} first). Wait for it with {@link ready}.
   */
  static fork(role: string, script: string, args: string[], options: { core?: number | string; execArgv?: string[] } = {}): BenchChild {
    const path = fileURLToPath(new URL(script, import.meta.url));
    const execArgv = ['--import', 'tsx', ...(options.execArgv ?? [])];
    const stdio: StdioOptions = ['ignore', 'inherit', 'inherit', 'ipc'];
    // Pinned: taskset sets the affinity, then execs node (same PID, same IPC descriptor), so
    // every thread node starts inherits it.
    const proc =
      options.core === undefined
        ? fork(path, args, { execArgv, stdio })
        : spawn('taskset', ['-c', String(options.core), process.execPath, ...execArgv, path, ...args], { stdio });
    return new BenchChild(role, proc);
  }

  /** Resolves once the child sent `ready` (its fields are then in {@link info}); rejects if it fails first or takes too long. */
  ready(): Promise<this> {
    if (this.readyPromise === null) {
      this.readyPromise = new Promise<this>((resolve, reject) => {
        if (this.isReady) {
          resolve(this);
          return;
        }
        if (this.failure !== null) {
          reject(this.failure);
          return;
        }
        const timer = setTimeout(() => this.fail(new Error(`${this.role} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        this.onReady = () => {
          clearTimeout(timer);
          this.onReady = this.onFailure = null;
          resolve(this);
        };
        this.onFailure = (err) => {
          clearTimeout(timer);
          this.onReady = this.onFailure = null;
          reject(err);
        };
      });
    }
    return this.readyPromise;
  }

  /** The first error of this child (a fatal report or an unexpected exit), if any. */
  get error(): Error | null {
    return this.failure;
  }

  /** Sends a request and resolves with the reply; rejects if the child fails first. */
  request<T extends Reply = Reply>(type: string, fields: Record<string, unknown> = {}): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (r: Reply) => void, reject });
      this.proc.send({ ...fields, id, type } satisfies Request);
    });
  }

  /** Asks the child to clean up and exit; kills it if it does not within the timeout. */
  async stop(): Promise<ChildRecord> {
    if (!this.hasExited && this.failure === null) {
      this.stopping = true;
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), EXIT_TIMEOUT_MS);
      await this.request('exit').catch(() => {});
      await this.exited;
      clearTimeout(timer);
    } else if (!this.hasExited) {
      await this.kill();
    }
    return this.record();
  }

  /** Kills the child at once and waits for it to be gone. */
  async kill(): Promise<ChildRecord> {
    if (!this.hasExited) {
      this.stopping = true;
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    return this.record();
  }

  /** Role, pid and how the child ended. */
  record(): ChildRecord {
    return { role: this.role, pid: this.pid, exitCode: this.exitCode, signal: this.exitSignal };
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.rejectWaiting(err);
    this.onFailure?.(err);
  }

  private rejectWaiting(err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
  }
}
