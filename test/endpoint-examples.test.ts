/**
 * The examples run as their README says (`node --import tsx examples/…`) against a real
 * Gateway on loopback: the echo server joins, the chat client's lines come back, both
 * leave cleanly; a wrong key makes the echo server exit with the AuthError.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { checkNoLeaks } from './support/fake-gateway.js';
import { KEY, withGateway } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

checkNoLeaks();

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Starting a child under tsx is slow on a loaded machine: a generous safety limit. */
const CHILD_TIMEOUT_MS = 30_000;

/** A child process running one example, with its output split into lines. */
class Example {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';
  private readonly lineWaiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  constructor(file: string, args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
      cwd: ROOT,
      env: { ...process.env, FASTWAY_SERVER_AUTH_KEY: '' },
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => this.onStdout(text));
    this.child.stderr.on('data', (text: string) => {
      this.stderr += text;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The first stdout line matching `pattern` (already printed or still to come). */
  line(pattern: RegExp): Promise<string> {
    const seen = this.stdout.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    const waiting = new Promise<string>((resolve) => this.lineWaiters.push({ pattern, resolve }));
    const exitedFirst = this.exited.then(({ code }) => {
      throw new Error(`exited (${code}) before printing ${pattern}; stderr: ${this.stderr}`);
    });
    return withTimeout(Promise.race([waiting, exitedFirst]), `a line matching ${pattern}`, CHILD_TIMEOUT_MS);
  }

  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return withTimeout(this.exited, 'the example to exit', CHILD_TIMEOUT_MS);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private onStdout(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) {
      this.stdout.push(line);
      for (let i = this.lineWaiters.length - 1; i >= 0; i--) {
        const w = this.lineWaiters[i]!;
        if (w.pattern.test(line)) {
          this.lineWaiters.splice(i, 1);
          w.resolve(line);
        }
      }
    }
  }
}

test('echo-server and chat-client talk through the gateway and leave cleanly', async () => {
  await withGateway({}, async (h) => {
    const examples: Example[] = [];
    try {
      const echo = new Example('echo-server.ts', ['--gateway', `127.0.0.1:${h.serverPort}`, '--key', KEY, '--id', '3']);
      examples.push(echo);
      await echo.line(/^echo server 3 ready/);
      assert.equal(h.stats.servers, 1);

      const chat = new Example('chat-client.ts', ['--gateway', `127.0.0.1:${h.clientPort}`, '--server', '3']);
      examples.push(chat);
      await chat.line(/^connected to server 3/);
      chat.child.stdin.write('hello\n');
      chat.child.stdin.write('héllo wörld, 世界\n');
      await chat.line(/^< hello$/);
      await chat.line(/^< héllo wörld, 世界$/);
      assert.equal(h.stats.framesClientToServer, 2);
      assert.equal(h.stats.framesServerToClient, 2);

      chat.child.stdin.end();
      assert.deepEqual(await chat.exit(), { code: 0, signal: null });
      await waitUntil(() => h.stats.clients === 0, 'the chat client to leave the gateway');
      assert.match(echo.stderr, /client 1 connected/);

      echo.child.kill('SIGTERM');
      assert.deepEqual(await echo.exit(), { code: 0, signal: null });
      assert.match(echo.stdout.join('\n'), /echo server stopped/);
    } finally {
      for (const e of examples) e.kill();
      await Promise.all(examples.map((e) => e.exited));
    }
  });
});

test('echo-server with a wrong key exits with the AuthError', async () => {
  await withGateway({}, async (h) => {
    const echo = new Example('echo-server.ts', ['--gateway', `127.0.0.1:${h.serverPort}`, '--key', 'wrong']);
    try {
      const { code } = await echo.exit();
      assert.equal(code, 1);
      assert.match(echo.stderr, /AuthError \(ERR_AUTH_FAILED\)/);
      assert.equal(h.stats.authFailures, 1);
    } finally {
      echo.kill();
      await echo.exited;
    }
  });
});

test('chat-client dialing a server that is not there exits with the DialRefusedError', async () => {
  await withGateway({}, async (h) => {
    const chat = new Example('chat-client.ts', ['--gateway', `127.0.0.1:${h.clientPort}`, '--server', '9']);
    try {
      const { code } = await chat.exit();
      assert.equal(code, 1);
      assert.match(chat.stderr, /DialRefusedError \(ERR_DIAL_REFUSED\)/);
    } finally {
      chat.kill();
      await chat.exited;
    }
  });
});
