/**
 * `--print-config` output fed back with `--config`: its `"<redacted>"`
 * placeholders must not become real server keys. The real command, in child processes:
 * printed, written to a file, read again: refused with exit 2 and a line that says why;
 * the same for a keys file line and a flag; with the real keys put back, it is accepted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killCliChildren, startCli } from './support/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'fastway-print-config-'));
after(async () => {
  await killCliChildren();
  rmSync(dir, { recursive: true, force: true });
});

const TIMEOUT = { timeout: 60_000 };
const WHY = /"<redacted>", the placeholder --print-config shows in place of a key, not a key: put the real key back/;

test('the printed configuration, fed back with --config: the placeholder is refused as a key (exit 2, says why)', TIMEOUT, async () => {
  const printed = startCli(['--print-config', '--server-auth-key', 'real-secret-1,real-secret-2', '--client-addr', '127.0.0.1:0', '--server-addr', '127.0.0.1:0', '--metrics-addr', 'off']);
  assert.deepEqual(await printed.exited, { code: 0, signal: null });
  const config = JSON.parse(printed.stdout) as Record<string, unknown>;
  assert.deepEqual(config['server-auth-key'], ['<redacted>', '<redacted>']);
  const file = join(dir, 'printed.json');
  writeFileSync(file, printed.stdout);

  const again = startCli(['--config', file]);
  assert.deepEqual(await again.exited, { code: 2, signal: null }, again.output());
  assert.match(again.stderr, /server-auth-key/);
  assert.match(again.stderr, WHY);
  assert.equal(again.stdout, '', 'nothing started');

  // With the real keys put back, the same file starts a gateway (checked with --print-config).
  writeFileSync(file, JSON.stringify({ ...config, 'server-auth-key': ['real-secret-1', 'real-secret-2'] }));
  const fixed = startCli(['--config', file, '--print-config']);
  assert.deepEqual(await fixed.exited, { code: 0, signal: null }, fixed.output());
});

test('the placeholder as a flag, or as a keys file line (with or without a server ID), is refused too', TIMEOUT, async () => {
  const flag = startCli(['--server-auth-key', 'good,<redacted>', '--print-config']);
  assert.deepEqual(await flag.exited, { code: 2, signal: null });
  assert.match(flag.stderr, WHY);
  for (const line of ['<redacted>', '17:<redacted>']) {
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, `# keys\nsome-real-key\n${line}\n`);
    const run = startCli(['--server-auth-keys-file', keys, '--print-config']);
    assert.deepEqual(await run.exited, { code: 2, signal: null }, run.output());
    assert.match(run.stderr, new RegExp(`${keys.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3`), 'the error names the file and line');
    assert.match(run.stderr, WHY);
  }
});
