/**
 * examples/embedded-gateway.ts, the Gateway class example of docs/api.md, run as the doc
 * says in a child process: a game server, a TCP client and a WebSocket client talk through
 * it, its operator listener answers, and on SIGTERM it drains (live virtual connections go
 * on, /readyz says 503), stops once they close, prints what it served and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dialClient, dialServer, utf8 } from '../src/index.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

checkNoLeaks();

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'embedded-example-key';

test('the embedded gateway example: serves TCP and WebSocket clients, drains on SIGTERM, reports its stats, exits 0', { timeout: 120_000 }, async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/embedded-gateway.ts', '--key', KEY, '--client', '127.0.0.1:0', '--server', '127.0.0.1:0', '--ws', '127.0.0.1:0', '--metrics', '127.0.0.1:0'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitUntil(() => out.includes('metrics on') || child.exitCode !== null, 'the example to listen', 60_000);
    const addr = (what: RegExp): string => {
      const m = what.exec(out);
      assert.ok(m, `printed ${what}:\n${out}\n${err}`);
      return m[1]!;
    };
    const clientAddr = addr(/game clients on (\S+)/);
    const serverAddr = addr(/game servers on (\S+)/);
    const wsUrl = addr(/browsers on (\S+)/);
    const metricsUrl = addr(/metrics on (\S+)/);

    const server = await dialServer(serverAddr, { serverId: 1, authKey: KEY, format: utf8 });
    void (async () => {
      for await (const conn of server) void (async () => { for await (const text of conn) conn.send(`echo ${text}`); })();
    })();
    const tcp = await dialClient(clientAddr, { format: utf8 });
    const ws = await dialClient(wsUrl, { format: utf8 });
    const overTcp = await tcp.dial(1);
    const overWs = await ws.dial(1);
    overTcp.send('tcp');
    overWs.send('ws');
    assert.equal(await overTcp.receive({ timeout: 10_000 }), 'echo tcp');
    assert.equal(await overWs.receive({ timeout: 10_000 }), 'echo ws');

    const base = metricsUrl.replace(/\/metrics$/, '');
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.match(await (await fetch(metricsUrl)).text(), /^fastway_clients 2$/m);

    child.kill('SIGTERM');
    await waitUntil(() => out.includes('draining: 2 live virtual connections'), 'the drain to start', 10_000);
    assert.equal((await fetch(`${base}/readyz`)).status, 503, 'not ready while draining');
    overTcp.send('during the drain');
    assert.equal(await overTcp.receive({ timeout: 10_000 }), 'echo during the drain', 'live connections go on');
    await Promise.all([tcp.close(), ws.close()]);
    assert.equal(await withTimeout(exited, 'the example to exit'), 0, `${out}\n${err}`);
    assert.match(out, /stopped \(0 cut at the deadline\): 2 clients and 1 servers served, 2 virtual connections, 3 messages from clients, 3 to them/);
    assert.ok(await withTimeout(server.closed, 'the server endpoint to see the gateway go'), 'the server endpoint closed with a reason');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
