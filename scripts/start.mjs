#!/usr/bin/env node
/**
 * `npm start [-- flags]`: builds the project when the compiled CLI is missing or older than
 * any source file, then runs `node dist/cli/main.js` with the given flags. Signals are passed
 * on to the gateway (or to the build, which they stop), and its exit code (or signal)
 * becomes ours. A Ctrl-C in a terminal reaches the gateway both from the terminal and
 * through us; the gateway counts a second stop signal within 500 ms of the first as the
 * same one, so one Ctrl-C drains and a second, later one stops at once.
 *
 * `kill -TERM` of the `npm start` process works too: npm passes the signal to its script,
 * which `exec`s this file (package.json), so nothing in between swallows it. Should our
 * parent die without passing a signal on, the gateway is sent SIGTERM (it drains) rather
 * than left running with its ports.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli', 'main.js');
/** Files besides src/ whose change calls for a rebuild. */
const BUILD_INPUTS = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time of any file under `dir`. */
function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function needsBuild() {
  if (!existsSync(cli)) return true;
  const inputs = Math.max(newestIn(join(root, 'src')), ...BUILD_INPUTS.map((f) => statSync(join(root, f)).mtimeMs));
  return statSync(cli).mtimeMs < inputs;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** The process running now: the build, then the gateway. */
let current = null;
/** A stop signal that came during the build: the gateway is not started. */
let stoppedDuringBuild = null;
const forward = (signal) => {
  if (current === null) return;
  if (current.role === 'build' && signal !== 'SIGHUP') stoppedDuringBuild = signal;
  current.child.kill(signal);
};
for (const signal of FORWARDED) process.on(signal, forward);

/** Runs `command args` as the current child; resolves with how it ended. */
function run(role, command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, options);
    current = { role, child };
    child.on('error', (err) => resolve({ error: err, code: null, signal: null }));
    child.on('exit', (code, signal) => resolve({ error: null, code, signal }));
  });
}

/** Exits as the child did: with its code, or by the same signal, so whoever started us sees what happened. */
function exitLike({ code, signal }) {
  for (const s of FORWARDED) process.off(s, forward);
  if (signal !== null) {
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
}

/** Sends the gateway SIGTERM if our parent goes away without passing a signal on. */
function watchParent() {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      forward('SIGTERM');
    }
  }, 1000);
  timer.unref();
}

watchParent();
if (needsBuild()) {
  process.stderr.write('fastway: building (dist/ is missing or older than src/)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // The build's output goes to stderr so that stdout carries only the gateway's own lines.
  const build = await run('build', npm, ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2], shell: process.platform === 'win32' });
  if (stoppedDuringBuild !== null) exitLike({ code: null, signal: stoppedDuringBuild });
  else if (build.code !== 0) {
    process.stderr.write(`fastway: the build failed${build.error ? `: ${build.error.message}` : ''}\n`);
    process.exit(1);
  }
}

if (stoppedDuringBuild === null) {
  const gateway = await run('gateway', process.execPath, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (gateway.error !== null) {
    process.stderr.write(`fastway: cannot run ${cli}: ${gateway.error.message}\n`);
    process.exit(1);
  }
  exitLike(gateway);
}
