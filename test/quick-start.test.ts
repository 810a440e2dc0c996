import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the README quick start runs: the client hears the server answer, and everything closes', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/quick-start.ts'], {
    cwd: ROOT,
    timeout: 30_000,
  });
  assert.equal(stdout.trim(), 'server 1 got "hello" from client 1');
});
