/**
 * A Node child process running one of the test support programs (TypeScript, through
 * tsx), talked to over IPC with numbered requests. Used to run a gateway apart from the
 * load generator (its own event loop and heap, measurable with a forced GC), and to run
 * endpoints that a test can kill like a crashed process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './raw-peer.js';

/** A message from a child: a reply to request `id`, or an event. */
export interface ChildMessage {
  id?: number;
  event?: string;
  error?: string;
  [key: string]: unknown;
}

/** How long a child may take to start (tsx compiles on the fly) or to answer. */
export const CHILD_TIMEOUT_MS = 30_000;

export class Child {
  readonly process: ChildProcess;
  /** Resolves when the process has exited, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(m: ChildMessage): void; reject(e: Error): void }>();
  private readonly events: ChildMessage[] = [];
  private eventWaiters: { event: string; resolve(m: ChildMessage): void }[] = [];
  private hasExited = false;

  /** Starts `program` (a path relative to this directory) with `env` added to the environment. */
  constructor(program: string, env: Record<string, string>, execArgv: string[] = []) {
    const path = fileURLToPath(new URL(program, import.meta.url));
    this.process = fork(path, [], {
      execArgv: ['--import', 'tsx', ...execArgv],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.hasExited = true;
        const err = new Error(`the child ${program} exited (code ${code}, signal ${signal})`);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        resolve({ code, signal });
      });
    });
    this.process.on('message', (m: ChildMessage) => this.onMessage(m));
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Sends request `op` and resolves with the reply (rejects if the child reports an error or exits). */
  request(op: string, args: Record<string, unknown> = {}, timeoutMs = CHILD_TIMEOUT_MS): Promise<ChildMessage> {
    if (this.hasExited) return Promise.reject(new Error(`the child has exited; wanted ${op}`));
    const id = this.nextId++;
    const reply = new Promise<ChildMessage>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.process.send({ id, op, ...args });
    });
    return withTimeout(reply, `the child's answer to ${op}`, timeoutMs);
  }

  /** The next event named `event` the child sends (kept if it came already). */
  nextEvent(event: string, timeoutMs = CHILD_TIMEOUT_MS): Promise<ChildMessage> {
    const i = this.events.findIndex((m) => m.event === event);
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0]!);
    return withTimeout(
      new Promise<ChildMessage>((resolve) => this.eventWaiters.push({ event, resolve })),
      `the child's ${event} event`,
      timeoutMs,
    );
  }

  /** Kills the child with `signal` and waits until it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.hasExited) this.process.kill(signal);
    await withTimeout(this.exited, 'the child to exit', CHILD_TIMEOUT_MS);
  }

  private onMessage(m: ChildMessage): void {
    if (m.id !== undefined) {
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(`the child failed: ${m.error}`));
      else w.resolve(m);
      return;
    }
    if (m.event === undefined) return;
    const i = this.eventWaiters.findIndex((w) => w.event === m.event);
    if (i >= 0) this.eventWaiters.splice(i, 1)[0]!.resolve(m);
    else this.events.push(m);
  }
}

/**
 * In a child: answers requests with `handlers[op](args)`; an exception becomes an error
 * reply. Returns a function that sends an event to the parent.
 */
export function serveParent(handlers: Record<string, (args: Record<string, unknown>) => unknown>): (event: string, data?: object) => void {
  process.on('message', (m: { id: number; op: string } & Record<string, unknown>) => {
    const handler = handlers[m.op];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown request ${m.op}`);
        return handler(m);
      })
      .then(
        (result) => {
          // A handler that ends the child (close) asks for the channel to be closed once its
          // reply is written: closing it any earlier can lose the reply, and the parent then
          // sees only the exit.
          const { disconnectAfterReply, ...reply } = (result ?? {}) as { disconnectAfterReply?: boolean };
          process.send?.({ id: m.id, ...reply }, undefined, {}, () => {
            if (disconnectAfterReply === true) process.disconnect();
          });
        },
        (err: unknown) => process.send?.({ id: m.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
      );
  });
  return (event, data = {}) => process.send?.({ event, ...data });
}
