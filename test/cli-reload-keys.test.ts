/**
 * SIGHUP reloads the server auth keys of the real `fastway` command: from the keys file and
 * from the config file the keys flag may come from. A server with a new key authenticates
 * after the reload, one with a removed key is refused on its next connect, and server links
 * already up are not cut. A reload that cannot be read keeps the keys in force.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dialClient, dialServer, type Endpoint, FastwayError } from '../src/index.js';
import { type CliRun, killCliChildren, startCli } from './support/cli-process.js';
import { waitUntil } from './support/raw-peer.js';

const dir = mkdtempSync(join(tmpdir(), 'fastway-keys-'));
after(async () => {
  await killCliChildren();
  rmSync(dir, { recursive: true, force: true });
});

const keysFile = join(dir, 'keys');
const configFile = join(dir, 'config.json');
const writeKeys = (lines: string[]): void => writeFileSync(keysFile, `# test keys\n${lines.join('\n')}\n`);
const writeConfig = (key: string): void => writeFileSync(configFile, JSON.stringify({ 'server-auth-key': key }));

/** Counts the `event` lines in the log so far, to wait for the next one. */
const count = (run: CliRun, event: string): number => run.stderr.split('\n').filter((l) => l.includes(`"event":"${event}"`)).length;

function nextEvent(run: CliRun, event: string, seen: number): Promise<void> {
  return waitUntil(() => count(run, event) > seen, `a ${event} line in the log`, 20_000);
}

/** A server endpoint that echoes; resolves once authenticated. */
async function echoServer(port: number, serverId: number, authKey: string): Promise<Endpoint<Uint8Array>> {
  const server = await dialServer(`127.0.0.1:${port}`, { serverId, authKey });
  void (async () => {
    for await (const conn of server) {
      void (async () => {
        for await (const message of conn) conn.send(message);
      })();
    }
  })();
  return server;
}

async function refused(port: number, serverId: number, authKey: string): Promise<void> {
  await assert.rejects(dialServer(`127.0.0.1:${port}`, { serverId, authKey }), FastwayError, `server ${serverId} with key ${authKey} was let in`);
}

/** A client reaches `serverId` and gets its message back. */
async function roundTrip(clientPort: number, serverId: number): Promise<void> {
  const client = await dialClient(`127.0.0.1:${clientPort}`);
  try {
    const conn = await client.dial(serverId);
    conn.send(Buffer.from(`to ${serverId}`));
    assert.equal(Buffer.from(await conn.receive()).toString(), `to ${serverId}`);
    await conn.close();
  } finally {
    await client.close();
  }
}

describe('SIGHUP reloads the server auth keys', () => {
  test('keys file and config file: new keys in, removed keys out, live links kept; an unreadable file keeps the keys', { timeout: 60_000 }, async () => {
    writeKeys(['old-shared', '7:old-own']);
    writeConfig('config-old');
    const run = startCli(
      ['--config', configFile, '--server-auth-keys-file', keysFile, '--client-addr', '127.0.0.1:0', '--server-addr', '127.0.0.1:0', '--metrics-addr', 'off'],
      { waitTimeoutMs: 20_000 },
    );
    const servers: Endpoint<Uint8Array>[] = [];
    try {
      const [, clientText] = await run.waitFor(/^fastway: listening for game clients on 127\.0\.0\.1:(\d+)$/m);
      const [, serverText] = await run.waitFor(/^fastway: listening for game servers on 127\.0\.0\.1:(\d+)$/m);
      const [clientPort, serverPort] = [Number(clientText), Number(serverText)];

      servers.push(await echoServer(serverPort, 1, 'old-shared'), await echoServer(serverPort, 7, 'old-own'), await echoServer(serverPort, 2, 'config-old'));
      await refused(serverPort, 3, 'new-shared');

      writeKeys(['new-shared', '7:new-own']);
      writeConfig('config-new');
      let seen = count(run, 'auth_keys_reloaded');
      run.child.kill('SIGHUP');
      await nextEvent(run, 'auth_keys_reloaded', seen);
      assert.match(run.stderr, /"event":"auth_keys_reloaded","keys":2,"serverIds":1/);
      assert.doesNotMatch(run.stderr, /new-shared|new-own|config-new/, 'a key was written to the log');

      // New keys authenticate; removed ones are refused on the next connect.
      servers.push(await echoServer(serverPort, 3, 'new-shared'), await echoServer(serverPort, 8, 'config-new'), await echoServer(serverPort, 7, 'new-own'));
      await refused(serverPort, 4, 'old-shared');
      await refused(serverPort, 5, 'config-old');
      await refused(serverPort, 7, 'old-own');
      await refused(serverPort, 7, 'new-shared'); // ID 7 has keys of its own
      // The links authenticated with the old keys are still up and still carry traffic.
      for (const server of servers) assert.equal(server.isClosed, false);
      for (const id of [1, 2, 3, 8]) await roundTrip(clientPort, id);

      // A keys file that cannot be read: logged, and the keys in force stay.
      rmSync(keysFile);
      seen = count(run, 'auth_keys_reload_failed');
      run.child.kill('SIGHUP');
      await nextEvent(run, 'auth_keys_reload_failed', seen);
      servers.push(await echoServer(serverPort, 9, 'new-shared'));
      await refused(serverPort, 10, 'old-shared');

      await Promise.all(servers.splice(0).map((s) => s.close()));
      run.child.kill('SIGTERM');
      assert.equal((await run.exited).code, 0, run.output());
    } finally {
      await Promise.all(servers.map((s) => s.close().catch(() => {})));
    }
  });
});
