/**
 * `npm start` under a signal: `kill -TERM` of the `npm start` process
 * reaches the gateway, which drains and exits, and npm exits with the gateway's code; if
 * npm dies without passing anything on (SIGKILL), scripts/start.mjs stops the gateway
 * rather than leave it holding its ports. Real processes: npm, the script, the gateway.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitUntil, withTimeout } from './support/raw-peer.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const dir = mkdtempSync(join(tmpdir(), 'fastway-start-'));
const started: ChildProcess[] = [];
const gatewayPids: number[] = [];

after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of gatewayPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

/** `npm start` with free ports and a PID file; resolves once the gateway listens. */
async function npmStart(name: string): Promise<{ npmProcess: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; gatewayPid: number; clientPort: number }> {
  const pidFile = join(dir, `${name}.pid`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FASTWAY_')));
  const npmProcess = spawn(
    npm,
    ['start', '--silent', '--', '--client-addr', '127.0.0.1:0', '--server-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--pid-file', pidFile, '--log-level', 'warn'],
    { cwd: root, env: { ...env, npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.push(npmProcess);
  let stdout = '';
  let stderr = '';
  npmProcess.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  npmProcess.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npmProcess.on('exit', (code, signal) => resolve({ code, signal })));
  // A build first, when dist/ is older than src/, takes a while on a busy machine.
  await waitUntil(() => /listening for game clients on 127\.0\.0\.1:(\d+)/.test(stdout) || npmProcess.exitCode !== null, 'the gateway to listen', 180_000).catch((err: Error) => {
    throw new Error(`${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`);
  });
  const match = /listening for game clients on 127\.0\.0\.1:(\d+)/.exec(stdout);
  assert.ok(match, `the gateway started:\n${stdout}\n${stderr}`);
  const gatewayPid = Number(readFileSync(pidFile, 'utf8').trim());
  gatewayPids.push(gatewayPid);
  assert.notEqual(gatewayPid, npmProcess.pid, 'the PID file names the gateway, not npm');
  return { npmProcess, exited, gatewayPid, clientPort: Number(match[1]) };
}

test('kill -TERM of npm start: the gateway drains and exits, npm exits with its code (0), the port is free', { timeout: 240_000 }, async () => {
  const { npmProcess, exited, gatewayPid, clientPort } = await npmStart('term');
  assert.equal(await refused(clientPort), false, 'the gateway accepts on its client port');
  npmProcess.kill('SIGTERM');
  assert.deepEqual(await withTimeout(exited, 'npm to exit', 20_000), { code: 0, signal: null });
  await waitUntil(() => !alive(gatewayPid), 'the gateway process to be gone', 10_000);
  assert.equal(await refused(clientPort), true, 'nothing holds the client port any more');
});

test('npm killed outright (SIGKILL): start.mjs stops the gateway instead of leaving it running', { timeout: 240_000 }, async () => {
  const { npmProcess, exited, gatewayPid, clientPort } = await npmStart('kill');
  npmProcess.kill('SIGKILL');
  assert.equal((await withTimeout(exited, 'npm to die', 10_000)).signal, 'SIGKILL');
  await waitUntil(() => !alive(gatewayPid), 'the orphaned gateway to be stopped', 15_000);
  assert.equal(await refused(clientPort), true, 'nothing holds the client port any more');
});
