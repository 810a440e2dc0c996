/**
 * The real `fastway` command in a child process, on loopback port 0: what it prints, that
 * the gateway it runs behaves as configured, its exit codes, and its signal handling.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { FLAGS } from '../src/cli/flags.js';
import {
  CHALLENGE_SIZE,
  CommandType,
  HEADER_SIZE,
  encodeHandshakeReply,
  encodeNew,
  parseCommand,
  readU32,
} from '../src/protocol/index.js';
import { type CliRun, killCliChildren, startCli as spawnCli } from './support/cli-process.js';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const TIMEOUT = { timeout: 30_000 };

// ---- The child process ----

after(killCliChildren);

/** Runs `fastway args…` with `env`; no time limit but the test's own. */
const startCli = (args: string[], env: Record<string, string> = {}): CliRun => spawnCli(args, { env });

const ADDR_ARGS = ['--client-addr', '127.0.0.1:0', '--server-addr', '127.0.0.1:0', '--metrics-addr', 'off'];
const CLIENT_LINE = /^fastway: listening for game clients on 127\.0\.0\.1:(\d+)$/;
const SERVER_LINE = /^fastway: listening for game servers on 127\.0\.0\.1:(\d+)$/;
const KEY_LINE = /^fastway: server auth key: (\S+)$/;

async function ports(run: CliRun): Promise<{ client: number; server: number }> {
  const [, client] = await run.waitFor(CLIENT_LINE);
  const [, server] = await run.waitFor(SERVER_LINE);
  return { client: Number(client), server: Number(server) };
}

/** Lines of stderr that are not the JSON log. */
const plainLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('{'));

// ---- A raw peer ----

/** A TCP connection to the gateway with exact-length reads. */
class RawPeer {
  private buffered = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => (this.wake?.(), resolve())));
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  /** The next `n` bytes; rejects if the connection closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error(`connection closed with ${this.buffered.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Sends New and returns the ConnID of the Open that answers it (0 = refused). */
  async newConnId(): Promise<number> {
    this.socket.write(encodeNew());
    const frame = await this.read(HEADER_SIZE + 5);
    assert.equal(readU32(frame, 0), 9, 'Length of Open');
    const cmd = parseCommand(frame, 0, frame.length, 'endpoint');
    assert.equal(cmd.type, CommandType.Open);
    return cmd.connId;
  }

  /** Runs the server handshake with `key`. */
  async authenticate(key: string, serverId: number): Promise<void> {
    const challenge = await this.read(CHALLENGE_SIZE);
    this.socket.write(encodeHandshakeReply(challenge, key, serverId));
  }

  /** Whether the connection ends with no byte after what was read. */
  async endsSilently(): Promise<boolean> {
    await this.closed;
    return this.buffered.length === 0;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ---- Tests ----

describe('fastway (the command)', () => {
  test('no key configured: prints a generated key once, which authenticates servers while other keys do not; SIGTERM exits 0', TIMEOUT, async () => {
    const run = startCli(ADDR_ARGS);
    const peers: RawPeer[] = [];
    try {
      const { client, server } = await ports(run);
      const [, key] = await run.waitFor(KEY_LINE);
      assert.ok(key!.length >= 32, 'a key long enough to resist guessing');
      assert.equal(run.stdout.split(key!).length, 2, 'the key is printed exactly once');
      assert.ok(!run.stderr.includes(key!), 'the key is not written to the log');
      assert.match(run.stdout, /generated/);

      const good = await RawPeer.open(server);
      peers.push(good);
      await good.authenticate(key!, 42);
      assert.notEqual(await good.newConnId(), 0, 'an authenticated server gets an ID');

      const bad = await RawPeer.open(server);
      peers.push(bad);
      await bad.authenticate(`${key}x`, 43);
      assert.equal(await bad.endsSilently(), true, 'a server with another key is disconnected without a frame');

      const gameClient = await RawPeer.open(client);
      peers.push(gameClient);
      assert.notEqual(await gameClient.newConnId(), 0, 'the client listener serves game clients');

      run.child.kill('SIGTERM');
      assert.deepEqual(await run.exited, { code: 0, signal: null });
      await Promise.all([good.closed, gameClient.closed]);
    } finally {
      for (const p of peers) p.destroy();
    }
  });

  test('key and options from FASTWAY_* variables and flags reach the gateway; SIGINT exits 0', TIMEOUT, async () => {
    const run = startCli([...ADDR_ARGS, '--client-max-pending', '1'], { FASTWAY_SERVER_AUTH_KEY: 'from-env', FASTWAY_CLIENT_MAX_PENDING: '5' });
    const peers: RawPeer[] = [];
    try {
      const { client, server } = await ports(run);
      assert.doesNotMatch(run.stdout, /auth key/, 'no key is generated when one is configured');

      const srv = await RawPeer.open(server);
      peers.push(srv);
      await srv.authenticate('from-env', 7);
      assert.notEqual(await srv.newConnId(), 0);

      const gameClient = await RawPeer.open(client);
      peers.push(gameClient);
      assert.notEqual(await gameClient.newConnId(), 0);
      assert.equal(await gameClient.newConnId(), 0, '--client-max-pending 1 (the flag, not the variable) is in force');

      run.child.kill('SIGINT');
      assert.deepEqual(await run.exited, { code: 0, signal: null });
    } finally {
      for (const p of peers) p.destroy();
    }
  });

  test('a bad flag: exit 2 and one line naming it, nothing on stdout', TIMEOUT, async () => {
    const run = startCli([...ADDR_ARGS, '--client-max-conn', '0']);
    assert.deepEqual(await run.exited, { code: 2, signal: null });
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^fastway: --client-max-conn: must be a whole number from 1 to 65535, got "0"\n$/);
  });

  test('flags that do not go together: exit 2 and one line naming both flags, before anything starts', TIMEOUT, async () => {
    const run = startCli([...ADDR_ARGS, '--max-packet-size', '1MiB', '--client-send-buffer', '512KiB']);
    assert.deepEqual(await run.exited, { code: 2, signal: null });
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^fastway: --client-send-buffer: must be at least --max-packet-size \+ 4 \(1048580\)[^\n]*got 524288\n$/);
  });

  test('a bad variable: exit 2 and one line naming it', TIMEOUT, async () => {
    const run = startCli(ADDR_ARGS, { FASTWAY_SERVER_PING_INTERVAL: 'fast' });
    assert.deepEqual(await run.exited, { code: 2, signal: null });
    assert.match(run.stderr, /^fastway: FASTWAY_SERVER_PING_INTERVAL: must be a duration from .*, got "fast"\n$/);
  });

  test('an unknown flag: exit 2', TIMEOUT, async () => {
    const run = startCli(['--client-adr', '127.0.0.1:0']);
    assert.deepEqual(await run.exited, { code: 2, signal: null });
    assert.match(run.stderr, /^fastway: --client-adr: unknown flag.*\n$/);
  });

  test('a port in use: exit 1 and one line naming the address', TIMEOUT, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const taken = `127.0.0.1:${(blocker.address() as AddressInfo).port}`;
      const run = startCli(['--client-addr', '127.0.0.1:0', '--server-addr', taken, '--metrics-addr', 'off', '--server-auth-key', 'k']);
      assert.deepEqual(await run.exited, { code: 1, signal: null });
      assert.doesNotMatch(run.stdout, /listening/);
      const lines = plainLines(run.stderr);
      assert.equal(lines.length, 1, run.stderr);
      assert.ok(lines[0]!.startsWith('fastway: ') && lines[0]!.includes(taken), lines[0]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('--help lists every flag and exits 0', TIMEOUT, async () => {
    const run = startCli(['--help']);
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.ok(run.stdout.includes(version));
    for (const flag of FLAGS) assert.ok(run.stdout.includes(`--${flag.name}`), flag.name);
  });

  test('--version prints the package version and exits 0', TIMEOUT, async () => {
    const run = startCli(['--version']);
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.equal(run.stdout, `${version}\n`);
  });
});
