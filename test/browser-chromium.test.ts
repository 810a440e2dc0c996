/**
 * fastway in a real browser: Debian's Chromium, driven by playwright-core, headless with a
 * fresh profile. A page served on loopback loads the browser bundle and dials a game server
 * through the gateway's WebSocket listener; a TCP client talks to the same server at the
 * same time. Then the demo: two tabs chat through the gateway, and a screenshot shows it.
 *
 * When Chromium is not installed, each test is reported as skipped (so the summary counts
 * them) with a reason that says how to install it; `.ci/run` installs it.
 * Set FASTWAY_SCREENSHOT=path to keep the demo's screenshot (docs/browser-demo.png is one).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { dialClient, dialServer, type Endpoint, Gateway, type VirtualConnection } from '../src/index.js';
import { startDemo } from '../examples/demo/demo.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `Chromium is not installed at ${CHROMIUM}: install it with \`sudo apt-get install chromium\` (Debian/Ubuntu; .ci/run does this), or set CHROMIUM_PATH to a Chromium binary`;

const root = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'browser-test-key';
/** Safety bound of each wait in the page; a hang fails the test with a message instead. */
const WAIT_MS = 20_000;

/** Message `i` of the exchange: its size and bytes depend on `i`, so a mix-up shows. */
function pattern(i: number): Uint8Array {
  const n = 1 + ((i * 389) % 3000);
  const b = new Uint8Array(n);
  for (let j = 0; j < n; j++) b[j] = (i * 31 + j * 7) & 255;
  return b;
}

/** The page side of the exchange, a module the page loads after the bundle. */
const EXCHANGE_JS = `
import { dialClient } from '/fastway.js';
const params = new URLSearchParams(location.search);
${pattern.toString()}
function same(a, b) {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
async function run() {
  const client = await dialClient(params.get('gw'));
  const conn = await client.dial(Number(params.get('server')));
  const N = Number(params.get('n'));
  let received = 0, mismatches = 0;
  const reading = (async () => {
    for (let i = 0; i < N; i++) {
      if (!same(await conn.receive(), pattern(i))) mismatches++;
      received++;
      document.getElementById('count').textContent = String(received);
    }
  })();
  for (let i = 0; i < N; i++) if (!conn.send(pattern(i))) await conn.drained();
  await reading;
  conn.send(new TextEncoder().encode('dial me back'));
  const back = await client.accept();
  const hello = new TextDecoder().decode(await back.receive());
  const reason = await back.closed;
  let receiveAfterClose = 'resolved';
  try { await back.receive(); } catch (err) { receiveAfterClose = err.code; }
  await client.close();
  return {
    received, mismatches, backRemote: back.remoteId, hello,
    closeReason: reason ? reason.name : 'none', closeCode: reason ? reason.code : 'none', receiveAfterClose,
    sawCloseInstance: reason instanceof (await import('/fastway.js')).ConnectionClosedError,
  };
}
run().then(
  (r) => { window.exchangeResult = r; },
  (err) => { window.exchangeResult = { error: String((err && err.stack) || err) }; },
);
`;

const EXCHANGE_HTML = '<!doctype html><meta charset="utf-8"><title>exchange</title><p>received <span id="count">0</span></p><script type="module" src="/exchange.js"></script>';

/** A loopback HTTP server for the exchange page and the bundle. */
function serveStatic(bundle: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const type = { 'content-type': 'text/javascript; charset=utf-8' };
    if (path === '/exchange.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(EXCHANGE_HTML);
    else if (path === '/exchange.js') res.writeHead(200, type).end(EXCHANGE_JS);
    else if (path === '/fastway.js') res.writeHead(200, type).end(readFileSync(bundle));
    else res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fastway-browser-'));
  const bundle = join(dir, 'fastway.js');
  let context: BrowserContext;

  before(async () => {
    if (skip) return;
    await promisify(execFile)(process.execPath, [join(root, 'scripts/build-browser.mjs'), '--outfile', bundle], { cwd: root });
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 760, height: 600 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a page dials a Node game server through the WebSocket listener: 1,000 messages byte-exact, dialed back by client ID, Close seen; a TCP client at the same time', { skip }, async () => {
    const N = 1000;
    const gateway = new Gateway({ server: { authKey: KEY } });
    const http = await serveStatic(bundle);
    let server: Endpoint | undefined;
    let tcpClient: Endpoint | undefined;
    let page: Page | undefined;
    try {
      const bound = await gateway.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
      server = await dialServer(`127.0.0.1:${bound.server!.port}`, { serverId: 1, authKey: KEY });

      // The game server: echoes; on "dial me back", dials the sender by its client ID,
      // says hello and closes that connection. It checks what it receives, too.
      const serverSide = { open: 0, maxOpen: 0, clients: new Set<number>(), mismatches: 0, dialedBack: 0 };
      const serve = async (conn: VirtualConnection): Promise<void> => {
        serverSide.clients.add(conn.remoteId);
        serverSide.maxOpen = Math.max(serverSide.maxOpen, ++serverSide.open);
        let i = 0;
        try {
          for await (const msg of conn) {
            if (Buffer.from(msg).toString() === 'dial me back') {
              const back = await server!.dial(conn.remoteId);
              serverSide.dialedBack = back.remoteId;
              back.send(new TextEncoder().encode(`hello client ${conn.remoteId}, from server 1`));
              back.close();
              continue;
            }
            if (!Buffer.from(msg).equals(pattern(i++))) serverSide.mismatches++;
            conn.send(msg);
          }
        } finally {
          serverSide.open--;
        }
      };
      void (async () => {
        for await (const conn of server!) void serve(conn);
      })();

      // A TCP client holds a connection to the same server for the whole browser exchange.
      tcpClient = await dialClient(`127.0.0.1:${bound.client!.port}`);
      const tcpConn = await tcpClient.dial(1);

      page = await context.newPage();
      const gw = `ws://127.0.0.1:${bound.clientWs!.port}/`;
      const pageUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/exchange.html?gw=${encodeURIComponent(gw)}&server=1&n=${N}`;
      await page.goto(pageUrl);

      // The TCP client's exchange runs while the page's does.
      let tcpMismatches = 0;
      const tcpReading = (async () => {
        for (let i = 0; i < N; i++) if (!Buffer.from(await tcpConn.receive()).equals(pattern(i))) tcpMismatches++;
      })();
      for (let i = 0; i < N; i++) if (!tcpConn.send(pattern(i))) await tcpConn.drained();

      const handle = await page.waitForFunction(() => (globalThis as { exchangeResult?: unknown }).exchangeResult, undefined, { timeout: WAIT_MS, polling: 50 });
      const result = (await handle.jsonValue()) as Record<string, unknown>;
      await tcpReading;

      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.received, N);
      assert.equal(result.mismatches, 0, 'every echoed message is byte-exact in the browser');
      assert.equal(tcpMismatches, 0, 'every echoed message is byte-exact at the TCP client');
      assert.equal(serverSide.mismatches, 0, 'the server received every message byte-exact');
      assert.equal(serverSide.clients.size, 2, 'two clients reached the server');
      assert.equal(serverSide.maxOpen, 2, 'the browser and the TCP client were connected at the same time');
      assert.ok(serverSide.dialedBack > 0 && serverSide.clients.has(serverSide.dialedBack));
      assert.equal(result.backRemote, 1, 'the page saw the incoming connection from server 1');
      assert.equal(result.hello, `hello client ${serverSide.dialedBack}, from server 1`);
      assert.equal(result.closeReason, 'ConnectionClosedError', 'the page saw Close when the server closed');
      assert.equal(result.closeCode, 'ERR_CONNECTION_CLOSED');
      assert.equal(result.sawCloseInstance, true);
      assert.equal(result.receiveAfterClose, 'ERR_CONNECTION_CLOSED');
      assert.equal(await page.textContent('#count'), String(N));
    } finally {
      await page?.close();
      await tcpClient?.close();
      await server?.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await gateway.close();
    }
  });

  test('the demo: two tabs see each other\'s messages through the gateway; a screenshot shows the exchange', { skip }, async () => {
    const demo = await startDemo({ port: 0, bundle });
    const pages: Page[] = [];
    try {
      const open = async (): Promise<Page> => {
        const page = await context.newPage();
        pages.push(page);
        await page.goto(demo.url);
        await page.waitForSelector('#status.open >> text=/connected as client \\d+/', { timeout: WAIT_MS });
        return page;
      };
      const a = await open();
      const b = await open();
      const say = async (page: Page, name: string, text: string): Promise<void> => {
        await page.fill('#name', name);
        await page.fill('#text', text);
        await page.click('button[type=submit]');
      };
      await say(a, 'Alice', 'hello from the first tab');
      await b.waitForSelector('#log li >> text=hello from the first tab', { timeout: WAIT_MS });
      await say(b, 'Bob', 'hi Alice, from the second tab');
      for (const page of [a, b]) {
        await page.waitForSelector('#log li >> text=hi Alice, from the second tab', { timeout: WAIT_MS });
        await page.waitForSelector('#log li >> text=hello from the first tab', { timeout: WAIT_MS });
      }
      const lines = await a.$$eval('#log li', (items) => items.map((li) => li.textContent ?? ''));
      const alice = lines.find((l) => l.endsWith('hello from the first tab'));
      const bob = lines.find((l) => l.endsWith('hi Alice, from the second tab'));
      assert.match(alice ?? '', /^Alice \(client (\d+)\): hello from the first tab$/);
      assert.match(bob ?? '', /^Bob \(client (\d+)\): hi Alice, from the second tab$/);
      assert.notEqual(/client (\d+)/.exec(alice!)![1], /client (\d+)/.exec(bob!)![1], 'two different clients');
      assert.ok(lines.some((l) => /^client \d+ joined$/.test(l)), 'the first tab saw the second join');

      const png = await a.screenshot({ fullPage: true });
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
      assert.ok(png.readUInt32BE(16) >= 600 && png.readUInt32BE(20) >= 400, 'the whole page');
      if (process.env.FASTWAY_SCREENSHOT) writeFileSync(process.env.FASTWAY_SCREENSHOT, png);

      // Closing one tab: the other sees it leave.
      await a.close();
      await b.waitForSelector('#log li >> text=/^client \\d+ left$/', { timeout: WAIT_MS });
    } finally {
      for (const page of pages) if (!page.isClosed()) await page.close();
      await demo.close();
    }
  });
});
