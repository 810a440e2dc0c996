/**
 * The `fastway` command with the WebSocket and TLS flags, in a child process on loopback
 * port 0: the addresses it prints, that clients and servers get through, certificate
 * reload on SIGHUP, and exit code 2 for TLS flags that do not go together or files that
 * cannot be used.
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dialServer } from '../src/index.js';
import { type CliRun, killCliChildren, startCli as spawnCli } from './support/cli-process.js';
import { withTimeout } from './support/raw-peer.js';
import { haveOpenssl, makeTestCerts, presentedCertificate, type TestCerts } from './support/test-certs.js';
import { WsRawClient } from './support/ws-raw-client.js';

const ADDR_ARGS = ['--client-addr', '127.0.0.1:0', '--server-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--server-auth-key', 'cli-key'];
const skip = !(await haveOpenssl()) && 'the openssl command is not installed';
let certs: TestCerts;
/** PEM files for the flags, in the certificates' temporary directory. */
const file = (name: string): string => join(certs.dir, name);

before(async () => {
  if (skip) return;
  certs = await makeTestCerts();
  writeFileSync(file('gw.crt'), certs.gateway.cert);
  writeFileSync(file('gw.key'), certs.gateway.key);
});
after(async () => {
  await killCliChildren();
  await certs?.remove();
});

/** Runs `fastway args…`; each wait fails after 20 s. */
const startCli = (args: string[]): CliRun => spawnCli(args, { waitTimeoutMs: 20_000 });

/** SIGTERM, then waits for the exit code. */
async function stop(run: CliRun): Promise<number | null> {
  run.child.kill('SIGTERM');
  return (await withTimeout(run.exited, 'fastway to exit', 20_000)).code;
}

describe('fastway --client-ws-addr', () => {
  test('prints the bound WebSocket address with its path, and a WebSocket client gets through', { timeout: 60_000 }, async () => {
    const run = startCli([...ADDR_ARGS, '--client-ws-addr', '127.0.0.1:0', '--client-ws-path', '/play']);
    const [, url] = await run.waitFor(/^fastway: listening for WebSocket game clients on (ws:\/\/127\.0\.0\.1:\d+\/play)$/);
    await run.waitFor(/^fastway: listening for game clients on 127\.0\.0\.1:\d+$/);
    const client = await WsRawClient.connect(url!);
    try {
      assert.notEqual(await client.open(), 0);
    } finally {
      await client.end();
    }
    assert.equal(await stop(run), 0, run.output());
  });

  test('without it, no WebSocket listener is opened', { timeout: 60_000 }, async () => {
    const run = startCli(ADDR_ARGS);
    await run.waitFor(/^fastway: listening for game servers on /);
    assert.doesNotMatch(run.output(), /WebSocket/);
    assert.equal(await stop(run), 0, run.output());
  });
});

describe('fastway with TLS flags', { skip }, () => {
  test('TLS on every listener, mutual TLS for servers, and a certificate reload on SIGHUP', { timeout: 90_000 }, async () => {
    writeFileSync(file('ca.crt'), certs.ca);
    const run = startCli([
      ...ADDR_ARGS,
      '--client-ws-addr', '127.0.0.1:0',
      '--client-tls-cert', file('gw.crt'), '--client-tls-key', file('gw.key'),
      '--server-tls-cert', file('gw.crt'), '--server-tls-key', file('gw.key'), '--server-tls-ca', file('ca.crt'),
    ]);
    const [, clientPort] = await run.waitFor(/^fastway: listening for game clients on 127\.0\.0\.1:(\d+) \(TLS\)$/);
    const [, wsUrl] = await run.waitFor(/^fastway: listening for WebSocket game clients on (wss:\/\/127\.0\.0\.1:\d+\/)$/);
    const [, serverPort] = await run.waitFor(/^fastway: listening for game servers on 127\.0\.0\.1:(\d+) \(mutual TLS\)$/);

    const server = await dialServer(`tls://127.0.0.1:${serverPort}`, { serverId: 1, authKey: 'cli-key', tls: { ca: certs.ca, ...certs.client } });
    await server.close();
    const ws = await WsRawClient.connect(wsUrl!, { ca: certs.ca });
    try {
      assert.notEqual(await ws.open(), 0);
    } finally {
      await ws.end();
    }
    assert.equal((await presentedCertificate(Number(clientPort), certs.ca)).subject.CN, 'localhost');

    // Renewal: new files, SIGHUP, new connections see the new certificate.
    writeFileSync(file('gw.crt'), certs.renewed.cert);
    writeFileSync(file('gw.key'), certs.renewed.key);
    run.child.kill('SIGHUP');
    await run.waitFor(/"event":"tls_reloaded"/, 'stderr');
    assert.equal((await presentedCertificate(Number(clientPort), certs.ca)).subject.CN, 'renewed gateway');

    // A broken file: the reload fails, is logged, and the certificate in use stays.
    writeFileSync(file('gw.key'), 'not a key');
    run.child.kill('SIGHUP');
    await run.waitFor(/"event":"tls_reload_failed"/, 'stderr');
    assert.equal((await presentedCertificate(Number(clientPort), certs.ca)).subject.CN, 'renewed gateway');
    writeFileSync(file('gw.key'), certs.gateway.key);
    writeFileSync(file('gw.crt'), certs.gateway.cert);

    assert.equal(await stop(run), 0, run.output());
  });

  const usageErrors: [string, () => string[], RegExp][] = [
    ['a certificate without its key', () => ['--client-tls-cert', file('gw.crt')], /--client-tls-cert: needs --client-tls-key/],
    ['a key without its certificate', () => ['--server-tls-key', file('gw.key')], /--server-tls-key: needs --server-tls-cert/],
    ['a CA without a server certificate', () => ['--server-tls-ca', file('gw.crt')], /--server-tls-ca: needs --server-tls-cert/],
    ['a file that cannot be read', () => ['--client-tls-cert', file('missing.crt'), '--client-tls-key', file('gw.key')], /--client-tls-cert: cannot read/],
    ['a key that does not match', () => {
      writeFileSync(file('rogue.key'), certs.rogue.key);
      return ['--server-tls-cert', file('gw.crt'), '--server-tls-key', file('rogue.key')];
    }, /--server-tls-\*: server\.tls: the certificate, key or CA cannot be used/],
  ];
  for (const [what, args, message] of usageErrors) {
    test(`${what} exits with 2, naming the flag`, { timeout: 60_000 }, async () => {
      const run = startCli([...ADDR_ARGS, ...args()]);
      assert.equal((await withTimeout(run.exited, 'fastway to exit', 20_000)).code, 2, run.output());
      assert.match(run.output(), message);
    });
  }

  test('--print-config checks the TLS files too', { timeout: 60_000 }, async () => {
    copyFileSync(file('gw.crt'), file('copy.crt'));
    const ok = startCli(['--print-config', '--client-tls-cert', file('copy.crt'), '--client-tls-key', file('gw.key')]);
    assert.equal((await ok.exited).code, 0, ok.output());
    assert.match(ok.output(), /"client-tls-cert": ".*copy\.crt"/);
    const bad = startCli(['--print-config', '--client-tls-cert', file('copy.crt')]);
    assert.equal((await bad.exited).code, 2, bad.output());
  });
});
