/**
 * Running fastway in production, through the real command in a child process on loopback
 * port 0: the metrics listener and its numbers as traffic flows, the config file against
 * variables and flags, `--print-config`, key rotation with a keys file, the graceful drain on
 * SIGTERM, the second signal, the PID file, and a metrics port in use.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { type AddressInfo, type Server, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CommandType } from '../src/protocol/index.js';
import { type CliRun, killCliChildren, startCli as spawnCli } from './support/cli-process.js';
import { RawPeer, SAFETY_TIMEOUT_MS, withTimeout } from './support/raw-peer.js';

const TIMEOUT = { timeout: 30_000 };
const dir = mkdtempSync(join(tmpdir(), 'fastway-ops-'));

// ---- The child process ----

after(async () => {
  await killCliChildren();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `fastway args…` with `env`; each wait fails after the safety timeout, `exited` 20 s after the start. */
const startCli = (args: string[], env: Record<string, string> = {}): CliRun =>
  spawnCli(args, { env, waitTimeoutMs: SAFETY_TIMEOUT_MS, exitTimeoutMs: 20_000 });

/** Game listen addresses on port 0. */
const GAME_ARGS = ['--client-addr', '127.0.0.1:0', '--server-addr', '127.0.0.1:0'];
/** Every listen address on port 0, and a known key. */
const BASE_ARGS = [...GAME_ARGS, '--metrics-addr', '127.0.0.1:0', '--server-auth-key', 'k'];

interface Ports {
  client: number;
  server: number;
  /** The metrics listener's base URL, `http://127.0.0.1:port`. */
  metrics: string;
}

async function ports(run: CliRun): Promise<Ports> {
  const [, client] = await run.waitFor(/^fastway: listening for game clients on 127\.0\.0\.1:(\d+)$/);
  const [, server] = await run.waitFor(/^fastway: listening for game servers on 127\.0\.0\.1:(\d+)$/);
  const [, metrics] = await run.waitFor(/^fastway: metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics$/);
  return { client: Number(client), server: Number(server), metrics: metrics! };
}

/** Game-client and game-server ports only, for a run with `--metrics-addr off`. */
async function gamePorts(run: CliRun): Promise<{ client: number; server: number }> {
  const [, client] = await run.waitFor(/^fastway: listening for game clients on 127\.0\.0\.1:(\d+)$/);
  const [, server] = await run.waitFor(/^fastway: listening for game servers on 127\.0\.0\.1:(\d+)$/);
  return { client: Number(client), server: Number(server) };
}

/** The log's JSON lines. */
function logEntries(run: CliRun): Record<string, unknown>[] {
  return run.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Lines of stderr that are not the JSON log. */
const plainLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('{'));

// ---- HTTP and metrics ----

/** A GET without keep-alive, so no socket outlives the request. */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      }).on('error', reject);
    }),
    `GET ${url}`,
  );
}

/** One scrape: sample (`name` or `name{labels}`) → value. */
async function scrape(base: string): Promise<Map<string, number>> {
  const { status, body } = await httpGet(`${base}/metrics`);
  assert.equal(status, 200);
  const samples = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

function sample(samples: Map<string, number>, name: string): number {
  const value = samples.get(name);
  assert.ok(value !== undefined, `the scrape has no sample ${name}`);
  return value;
}

/** Every gateway metric the scrape has is described in docs/operating.md. */
async function assertMetricsDocumented(base: string): Promise<void> {
  const doc = readFileSync(new URL('../docs/operating.md', import.meta.url), 'utf8');
  const { body } = await httpGet(`${base}/metrics`);
  const names = [...body.matchAll(/^# TYPE (fastway_\w+) /gm)].map((m) => m[1]!);
  const gatewayNames = names.filter((n) => !n.startsWith('fastway_process_') && !n.startsWith('fastway_nodejs_'));
  assert.ok(gatewayNames.length >= 20, `gateway metrics found: ${gatewayNames.join(', ')}`);
  for (const name of gatewayNames) {
    assert.ok(doc.includes(`| \`${name}\` |`) || doc.includes(`| \`${name}{`), `docs/operating.md describes ${name}`);
  }
}

// ---- Peers ----

/** A server connection that has authenticated as `serverId` (proved by a New/Open round trip). */
async function authenticatedServer(port: number, key: string, serverId: number): Promise<RawPeer> {
  const peer = await RawPeer.connect(port, { framing: false });
  await peer.handshake(key, serverId);
  await peer.sync();
  return peer;
}

/** A server connection whose handshake with `key` the gateway answers by closing it. */
async function rejectedServer(port: number, key: string, serverId: number): Promise<void> {
  const peer = await RawPeer.connect(port, { framing: false });
  await peer.handshake(key, serverId);
  await peer.expectClosed('the gateway to reject the key');
  assert.equal(peer.queuedFrames, 0, 'a rejected server is sent nothing');
}

/** Makes a virtual connection from `client` to the server `serverId`; returns its ConnID. */
async function link(client: RawPeer, server: RawPeer, serverId: number): Promise<number> {
  const connId = await client.open();
  assert.notEqual(connId, 0, 'New was answered with Open(0)');
  client.sendDial(connId, serverId);
  await client.expectCommand(CommandType.Accept, connId);
  await server.expectCommand(CommandType.Accept, connId);
  return connId;
}

/** Whether a connection to `port` is refused. */
function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function closeAll(peers: RawPeer[]): Promise<void> {
  await Promise.all(peers.map((p) => p.end()));
}

// ---- Tests ----

describe('metrics', () => {
  test('the scrape follows traffic: peers, virtual connections, frames and bytes, dials, auth failures; health and readiness', TIMEOUT, async () => {
    const run = startCli(BASE_ARGS);
    const peers: RawPeer[] = [];
    try {
      const { client, server, metrics } = await ports(run);
      assert.deepEqual(await httpGet(`${metrics}/healthz`), { status: 200, body: 'ok\n' });
      assert.equal((await httpGet(`${metrics}/readyz`)).status, 200);
      assert.equal((await httpGet(`${metrics}/nothing`)).status, 404);

      const before = await scrape(metrics);
      assert.equal(sample(before, 'fastway_clients'), 0);
      assert.equal(sample(before, 'fastway_virtual_connections'), 0);
      assert.equal(sample(before, 'fastway_frames_forwarded_total{direction="client_to_server"}'), 0);
      assert.ok(sample(before, 'fastway_process_resident_memory_bytes') > 0, 'default process metrics');
      assert.ok(before.has('fastway_nodejs_eventloop_lag_seconds'), 'event-loop lag');
      await assertMetricsDocumented(metrics);

      const srv = await authenticatedServer(server, 'k', 1);
      const cli = await RawPeer.connect(client);
      peers.push(srv, cli);
      const connId = await link(cli, srv, 1);
      const message = Buffer.from('0123456789');
      for (let i = 0; i < 3; i++) cli.sendData(connId, message);
      for (let i = 0; i < 3; i++) assert.deepEqual(await srv.expectData(connId), message);
      for (let i = 0; i < 2; i++) srv.sendData(connId, message.subarray(0, 4));
      for (let i = 0; i < 2; i++) assert.equal((await cli.expectData(connId)).length, 4);

      const refusedId = await cli.open();
      cli.sendDial(refusedId, 99);
      await cli.expectCommand(CommandType.Refuse, refusedId);
      await rejectedServer(server, 'wrong', 2);

      const during = await scrape(metrics);
      assert.equal(sample(during, 'fastway_clients'), 1);
      assert.equal(sample(during, 'fastway_servers'), 1);
      assert.equal(sample(during, 'fastway_virtual_connections'), 1);
      assert.equal(sample(during, 'fastway_clients_accepted_total'), 1);
      assert.equal(sample(during, 'fastway_servers_authenticated_total'), 1);
      assert.equal(sample(during, 'fastway_dials_accepted_total'), 1);
      assert.equal(sample(during, 'fastway_dials_refused_total{reason="unknown_remote"}'), 1);
      assert.equal(sample(during, 'fastway_frames_forwarded_total{direction="client_to_server"}'), 3);
      assert.equal(sample(during, 'fastway_frames_forwarded_total{direction="server_to_client"}'), 2);
      assert.equal(sample(during, 'fastway_bytes_forwarded_total{direction="client_to_server"}'), 3 * (8 + 10));
      assert.equal(sample(during, 'fastway_bytes_forwarded_total{direction="server_to_client"}'), 2 * (8 + 4));
      assert.equal(sample(during, 'fastway_auth_failures_total'), 1);
      assert.equal(sample(during, 'fastway_draining'), 0);

      await cli.end();
      await srv.expectCommand(CommandType.Close, connId);
      const afterClient = await scrape(metrics);
      assert.equal(sample(afterClient, 'fastway_clients'), 0);
      assert.equal(sample(afterClient, 'fastway_virtual_connections'), 0);
      assert.equal(sample(afterClient, 'fastway_frames_forwarded_total{direction="client_to_server"}'), 3, 'counters keep their totals');

      run.child.kill('SIGTERM');
      assert.deepEqual(await run.exited, { code: 0, signal: null });
    } finally {
      await closeAll(peers);
    }
  });

  test('a metrics port in use: exit 1 with one line naming the address, no PID file, game ports released', TIMEOUT, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const pidFile = join(dir, 'in-use.pid');
    try {
      const taken = `127.0.0.1:${(blocker.address() as AddressInfo).port}`;
      const run = startCli([...GAME_ARGS, '--server-auth-key', 'k', '--metrics-addr', taken, '--pid-file', pidFile]);
      assert.deepEqual(await run.exited, { code: 1, signal: null });
      assert.doesNotMatch(run.stdout, /listening/);
      const lines = plainLines(run.stderr);
      assert.equal(lines.length, 1, run.stderr);
      assert.ok(lines[0]!.startsWith('fastway: metrics') && lines[0]!.includes(taken), lines[0]);
      assert.equal(existsSync(pidFile), false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('configuration', () => {
  test('config file, variables and flags: the flag beats the variable, which beats the file; pretty logs for people', TIMEOUT, async () => {
    const config = join(dir, 'precedence.json');
    writeFileSync(
      config,
      JSON.stringify({
        'client-addr': '127.0.0.1:0',
        'server-addr': '127.0.0.1:0',
        'metrics-addr': 'off',
        'server-auth-key': 'file-key',
        'client-max-pending': 5,
        'client-max-conn': 1,
        'log-format': 'json',
      }),
    );
    // The variable lowers max-pending to 2 (over the file's 5); the flag picks pretty logs (over the file's json).
    const run = startCli(['--config', config, '--log-format', 'pretty'], { FASTWAY_CLIENT_MAX_PENDING: '2' });
    const peers: RawPeer[] = [];
    try {
      const { client, server } = await gamePorts(run);
      assert.doesNotMatch(run.stdout, /metrics on/, 'metrics-addr off from the file');
      assert.doesNotMatch(run.stdout, /auth key/, 'the key from the file: none generated');

      const srv = await authenticatedServer(server, 'file-key', 1);
      const cli = await RawPeer.connect(client);
      peers.push(srv, cli);
      assert.notEqual(await cli.open(), 0);
      assert.notEqual(await cli.open(), 0);
      assert.equal(await cli.open(), 0, 'client-max-pending 2 from the variable, not 5 from the file');

      await run.waitFor(/client accepted/, 'stderr');
      assert.deepEqual(logEntries(run), [], 'no JSON line: the flag chose pretty');
      run.child.kill('SIGTERM');
      assert.deepEqual(await run.exited, { code: 0, signal: null });
    } finally {
      await closeAll(peers);
    }
  });

  test('--print-config: every source merged, keys redacted, nothing started; exit 0', TIMEOUT, async () => {
    const config = join(dir, 'print.json');
    const keys = join(dir, 'print-keys.txt');
    writeFileSync(config, JSON.stringify({ 'client-max-conn': 3, 'client-max-pending': 4, 'server-auth-key': ['file-secret-1'], 'server-auth-keys-file': keys }));
    writeFileSync(keys, 'keysfile-secret\n9:keysfile-secret-9\n');
    const run = startCli(['--print-config', '--config', config, '--client-max-pending', '6', '--server-auth-key', 'flag-secret-1,flag-secret-2'], {
      FASTWAY_CLIENT_MAX_CONN: '7',
      FASTWAY_SERVER_SEND_QUEUE: '99',
    });
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.equal(run.stderr, '');
    assert.doesNotMatch(run.stdout, /secret/, 'no key is printed');
    const printed = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(printed['client-max-conn'], 7, 'the variable over the file');
    assert.equal(printed['client-max-pending'], 6, 'the flag over the file');
    assert.equal(printed['server-send-queue'], 99, 'the variable over the default');
    assert.equal(printed['client-ping-interval'], '30s', 'the default');
    assert.deepEqual(printed['server-auth-key'], ['<redacted>', '<redacted>'], 'the flag\'s two keys, over the file\'s one');
    assert.equal(printed['server-auth-keys-file'], keys);
    assert.equal(printed['metrics-addr'], '127.0.0.1:9464');
  });

  test('a bad config key or value: exit 2 with one line naming it, nothing started', TIMEOUT, async () => {
    const badKey = join(dir, 'bad-key.json');
    writeFileSync(badKey, JSON.stringify({ 'client-addr': '127.0.0.1:0', clientMaxConn: 3 }));
    const first = startCli(['--config', badKey]);
    assert.deepEqual(await first.exited, { code: 2, signal: null });
    assert.equal(first.stdout, '');
    assert.equal(first.stderr, `fastway: ${badKey}: "clientMaxConn": unknown key (did you mean "client-max-conn"?)\n`);

    const badValue = join(dir, 'bad-value.json');
    writeFileSync(badValue, JSON.stringify({ 'client-addr': '127.0.0.1:0', 'drain-timeout': 'forever' }));
    const second = startCli([], { FASTWAY_CONFIG: badValue });
    assert.deepEqual(await second.exited, { code: 2, signal: null });
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /^fastway: .*bad-value\.json: "drain-timeout": must be a duration from 0ms to 24h .*got "forever"\n$/);
  });

  test('a keys file line that is not a key: exit 2 naming the file and line, not the key', TIMEOUT, async () => {
    const keys = join(dir, 'bad-keys.txt');
    writeFileSync(keys, '# keys\ngood-key\n12:\n');
    const run = startCli([...GAME_ARGS, '--metrics-addr', 'off', '--server-auth-keys-file', keys]);
    assert.deepEqual(await run.exited, { code: 2, signal: null });
    assert.equal(run.stderr, `fastway: ${keys}:3: the key after "12:" is empty\n`);
    assert.equal(run.stdout, '');
  });
});

describe('key rotation', () => {
  test('the old and the new key both authenticate, with keys file keys and per-ID keys; others are rejected and logged', TIMEOUT, async () => {
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, '# added for the rotation\nfile-key\n\n# server 7 has its own key\n7:seven-key\n');
    const run = startCli([...GAME_ARGS, '--metrics-addr', 'off', '--server-auth-key', 'old-key,new-key', '--server-auth-keys-file', keys]);
    const peers: RawPeer[] = [];
    try {
      const { server } = await gamePorts(run);
      assert.doesNotMatch(run.stdout, /metrics on/);
      peers.push(await authenticatedServer(server, 'old-key', 1));
      peers.push(await authenticatedServer(server, 'new-key', 2));
      peers.push(await authenticatedServer(server, 'file-key', 3));
      peers.push(await authenticatedServer(server, 'seven-key', 7));
      await rejectedServer(server, 'older-key', 4);
      await rejectedServer(server, 'new-key', 7); // server 7 may use its own key only
      await rejectedServer(server, 'seven-key', 8); // and its key is no one else's

      await run.waitFor(/"serverId":8/, 'stderr');
      const entries = logEntries(run);
      const authenticated = entries.filter((e) => e.event === 'server_authenticated').map((e) => e.serverId);
      assert.deepEqual(authenticated.sort(), [1, 2, 3, 7]);
      const rejected = entries.filter((e) => e.event === 'server_rejected');
      assert.deepEqual(rejected.map((e) => e.serverId).sort(), [4, 7, 8]);
      for (const e of rejected) assert.match(String(e.remote), /^127\.0\.0\.1:\d+$/, 'rejections name the remote address');
      assert.doesNotMatch(run.stderr, /old-key|new-key|file-key|seven-key/, 'no key in the log');

      run.child.kill('SIGTERM');
      assert.deepEqual(await run.exited, { code: 0, signal: null });
    } finally {
      await closeAll(peers);
    }
  });
});

describe('graceful drain', () => {
  test('SIGTERM: unready at once, new connections and dials refused, the live virtual connection goes on; exit 0 when it closes; PID file written and removed', TIMEOUT, async () => {
    const pidFile = join(dir, 'drain.pid');
    const run = startCli([...BASE_ARGS, '--pid-file', pidFile]);
    const peers: RawPeer[] = [];
    try {
      const { client, server, metrics } = await ports(run);
      assert.equal(readFileSync(pidFile, 'utf8'), `${run.child.pid}\n`, 'the PID file is written once listening');
      const srv = await authenticatedServer(server, 'k', 1);
      const cli = await RawPeer.connect(client);
      peers.push(srv, cli);
      const connId = await link(cli, srv, 1);
      const opened = await cli.open(); // pending when the drain starts
      assert.equal((await httpGet(`${metrics}/readyz`)).status, 200);

      run.child.kill('SIGTERM');
      await run.waitFor(/^fastway: SIGTERM: draining; 1 live virtual connection may go on for up to 30s/);
      assert.deepEqual(await httpGet(`${metrics}/readyz`), { status: 503, body: 'not ready\n' });
      assert.equal((await httpGet(`${metrics}/healthz`)).status, 200, 'still alive');
      assert.equal(sample(await scrape(metrics), 'fastway_draining'), 1);

      assert.equal(await connectionRefused(client), true, 'no new game client');
      assert.equal(await connectionRefused(server), true, 'no new game server');
      assert.equal(await cli.open(), 0, 'New is answered with Open(0)');
      cli.sendDial(opened, 1);
      await cli.expectCommand(CommandType.Refuse, opened);

      cli.sendData(connId, Buffer.from('still here'));
      assert.equal((await srv.expectData(connId)).toString(), 'still here');
      srv.sendData(connId, Buffer.from('me too'));
      assert.equal((await cli.expectData(connId)).toString(), 'me too');
      assert.equal(existsSync(pidFile), true, 'the PID file stays while draining');

      srv.sendClose(connId);
      assert.deepEqual(await run.exited, { code: 0, signal: null });
      await cli.expectClosed();
      await srv.expectClosed();
      assert.equal(existsSync(pidFile), false, 'the PID file is removed on exit');
      const finished = logEntries(run).find((e) => e.event === 'drain_finished');
      assert.equal(finished?.cut, 0, 'nothing was cut');
    } finally {
      await closeAll(peers);
    }
  });

  test('a short --drain-timeout closes what is still live, then exits 0', TIMEOUT, async () => {
    const run = startCli([...BASE_ARGS, '--drain-timeout', '100ms']);
    const peers: RawPeer[] = [];
    try {
      const { client, server } = await ports(run);
      const srv = await authenticatedServer(server, 'k', 1);
      const cli = await RawPeer.connect(client);
      peers.push(srv, cli);
      await link(cli, srv, 1);
      run.child.kill('SIGTERM');
      assert.deepEqual(await run.exited, { code: 0, signal: null });
      await cli.expectClosed();
      await srv.expectClosed();
      const finished = logEntries(run).find((e) => e.event === 'drain_finished');
      assert.equal(finished?.cut, 1, 'the live virtual connection was cut');
    } finally {
      await closeAll(peers);
    }
  });

  test('a second signal exits at once with 130, cutting the drain short', TIMEOUT, async () => {
    // Whether an echo within 500ms of the first signal is ignored is a matter of timing, so
    // that is tested with a fake clock (test/cli-config.test.ts); here the second signal is
    // sent until one lands past the window.
    const pidFile = join(dir, 'forced.pid');
    const run = startCli([...BASE_ARGS, '--drain-timeout', '1h', '--pid-file', pidFile]);
    const peers: RawPeer[] = [];
    let resend: ReturnType<typeof setInterval> | undefined;
    try {
      const { client, server } = await ports(run);
      const srv = await authenticatedServer(server, 'k', 1);
      const cli = await RawPeer.connect(client);
      peers.push(srv, cli);
      const connId = await link(cli, srv, 1);

      run.child.kill('SIGINT');
      await run.waitFor(/^fastway: SIGINT: draining; 1 live virtual connection may go on for up to 1h/);
      cli.sendData(connId, Buffer.from('draining'));
      assert.equal((await srv.expectData(connId)).toString(), 'draining', 'still draining');

      resend = setInterval(() => run.child.kill('SIGINT'), 100);
      assert.deepEqual(await run.exited, { code: 130, signal: null });
      await cli.expectClosed();
      await srv.expectClosed();
      assert.ok(logEntries(run).some((e) => e.event === 'forced_exit'));
      assert.equal(logEntries(run).some((e) => e.event === 'drain_finished'), false, 'the drain did not finish');
      assert.equal(existsSync(pidFile), false, 'the PID file is removed on a forced exit too');
    } finally {
      clearInterval(resend);
      await closeAll(peers);
    }
  });
});
