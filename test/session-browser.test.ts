/**
 * Resumable sessions in a real browser: Debian's Chromium (playwright-core, headless). A
 * page dials a resumable connection through the gateway's WebSocket listener, behind a TCP
 * proxy that cuts the page's WebSocket under traffic; the page reconnects, resumes, and
 * every numbered message arrives exactly once, in order, byte-exact, both ways (the server
 * answers each message with the numbered one going back).
 *
 * Skipped, with a message, when Chromium is not installed (`.ci/run` installs it).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { Gateway, type ReconnectingEndpoint, dialServer } from '../src/index.js';
import { ChaosProxy } from './support/chaos-proxy.js';
import { check, numbered, streamOf } from './support/numbered-traffic.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM}; .ci/run installs it (apt-get install chromium)`;
if (skip) console.log(`# skipping the browser session test: ${skip}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'browser-session-key';
const N = 3000;

/** The page: dial resumable, send N numbered messages and check N coming back. */
const PAGE_JS = `
import { dialClient } from '/fastway.js';
const params = new URLSearchParams(location.search);
${numbered.toString()}
function same(a, b) {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
window.progress = 0;
async function run() {
  const client = await dialClient(params.get('gw'), { reconnect: { initialDelay: 10, maxDelay: 100 } });
  const conn = await client.dial(Number(params.get('server')), { resumable: true });
  let resumes = 0, suspensions = 0, mismatches = 0, received = 0;
  window.resumes = 0;
  let reconnects = 0;
  conn.onStatus((e) => { if (e.status === 'resumed') resumes = ++window.resumes; if (e.status === 'suspended') suspensions++; });
  client.onStatus((e) => { if (e.status === 'connected') reconnects++; });
  const N = Number(params.get('n'));
  const reading = (async () => {
    for (let i = 0; i < N; i++) {
      if (!same(await conn.receive(), numbered(1, 0, i))) mismatches++;
      received = ++window.progress;
    }
  })();
  for (let i = 0; i < N; i++) {
    if (!conn.send(numbered(0, 0, i))) await conn.drained();
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10)); // paced, so the cuts land mid-stream
  }
  await reading;
  conn.close();
  await client.close();
  return { received, mismatches, resumes, suspensions, reconnects };
}
run().then((r) => { window.result = r; }, (err) => { window.result = { error: String((err && err.stack) || err) }; });
`;

const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>session</title><script type="module" src="/session.js"></script>';

function serveStatic(bundle: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const type = { 'content-type': 'text/javascript; charset=utf-8' };
    if (path === '/session.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
    else if (path === '/session.js') res.writeHead(200, type).end(PAGE_JS);
    else if (path === '/fastway.js') res.writeHead(200, type).end(readFileSync(bundle));
    else res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test("in Chromium: the page's WebSocket is cut under traffic; it reconnects, resumes, and every message arrives exactly once, in order, both ways", { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fastway-session-browser-'));
  const bundle = join(dir, 'fastway.js');
  await promisify(execFile)(process.execPath, [join(root, 'scripts/build-browser.mjs'), '--outfile', bundle], { cwd: root });
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const gateway = new Gateway({ server: { authKey: KEY } });
  const http = await serveStatic(bundle);
  let proxy: ChaosProxy | undefined;
  let server: ReconnectingEndpoint | undefined;
  try {
    const bound = await gateway.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
    proxy = await ChaosProxy.start(bound.clientWs!.port);
    server = await dialServer(`127.0.0.1:${bound.server!.port}`, { serverId: 1, authKey: KEY, resumable: {}, reconnect: { initialDelay: 10, maxDelay: 100 } });
    const served: Promise<void>[] = [];
    void (async () => {
      for await (const conn of server!) {
        served.push(
          (async () => {
            const first = await conn.receive();
            check(first, 0, streamOf(first), 0);
            // Each message is answered with the numbered message going back.
            conn.send(numbered(1, 0, 0));
            for (let i = 1; i < N; i++) {
              check(await conn.receive(), 0, 0, i);
              if (!conn.send(numbered(1, 0, i))) await conn.drained();
            }
          })(),
        );
      }
    })();
    const page = await context.newPage();
    const gw = `ws://${proxy.address}/`;
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/session.html?gw=${encodeURIComponent(gw)}&server=1&n=${N}`);
    // Cut the page's WebSocket three times while messages flow, each time once it has
    // resumed from the cut before and received some more.
    for (let cut = 1; cut <= 3; cut++) {
      const until = { resumes: cut - 1, progress: (cut * N) / 5 };
      await page.waitForFunction(
        (u) => {
          const g = globalThis as { progress?: number; resumes?: number };
          return g.resumes! >= u.resumes && g.progress! >= u.progress;
        },
        until,
        { timeout: 30_000, polling: 10 },
      );
      proxy.cutAll();
    }
    const handle = await page.waitForFunction(() => (globalThis as { result?: unknown }).result, undefined, { timeout: 60_000, polling: 50 });
    const result = (await handle.jsonValue()) as Record<string, number | string | undefined>;
    t.diagnostic(`page: ${JSON.stringify(result)}; links cut ${proxy.cuts}`);
    await withTimeout(
      (async () => {
        await waitUntil(() => served.length === 1, 'the server to accept');
        await served[0];
      })(),
      'the server to receive every message',
    );
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.received, N);
    assert.equal(result.mismatches, 0, 'every message exactly once, in order, byte-exact in the page');
    assert.ok(proxy.cuts >= 3, `the page's WebSocket was cut (${proxy.cuts})`);
    assert.ok((result.resumes as number) >= 3, `the page resumed after each cut (${result.resumes})`);
    assert.ok((result.reconnects as number) >= 3, `the page opened a new WebSocket after each cut (${result.reconnects})`);
    await page.close();
  } finally {
    await server?.close();
    await proxy?.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await gateway.close();
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
