#!/usr/bin/env node
/**
 * `npm start [-- flags]`: builds the project when the compiled CLI is missing or older than
 * any source file, then runs `node dist/cli/main.js` with the given flags. Signals are passed
 * on to the gateway, and its exit code (or signal) becomes ours. A Ctrl-C in a terminal
 * reaches the gateway both from the terminal and through us; the gateway counts a second
 * stop signal within 500 ms of the first as the same one, so one Ctrl-C drains and a
 * second, later one stops at once.
 */
import { spawn, spawnSync } from 'node:child_process';
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

if (needsBuild()) {
  process.stderr.write('fastway: building (dist/ is missing or older than src/)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // The build's output goes to stderr so that stdout carries only the gateway's own lines.
  const build = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2], shell: process.platform === 'win32' });
  if (build.status !== 0) {
    process.stderr.write(`fastway: the build failed${build.error ? `: ${build.error.message}` : ''}\n`);
    process.exit(1);
  }
}

const child = spawn(process.execPath, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const forward = (signal) => child.kill(signal);
for (const signal of FORWARDED) process.on(signal, forward);

child.on('error', (err) => {
  process.stderr.write(`fastway: cannot run ${cli}: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  for (const s of FORWARDED) process.off(s, forward);
  if (signal !== null) {
    // Die of the same signal, so whoever started us sees what happened.
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
