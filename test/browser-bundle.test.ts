/**
 * The browser build: `scripts/build-browser.mjs` bundles src/browser.ts with esbuild, and
 * nothing Node-only may get in. Checks the esbuild metafile (every input and import) and
 * the output text, the package's export map, and the bundle's behaviour where it can run
 * without a browser.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fastway-bundle-'));
const outfile = join(dir, 'fastway.js');
const metafile = join(dir, 'meta.json');

interface Metafile {
  inputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
  outputs: Record<string, { exports: string[] }>;
}
let meta: Metafile;
let code: string;

before(async () => {
  await promisify(execFile)(process.execPath, [join(root, 'scripts/build-browser.mjs'), '--outfile', outfile, '--metafile', metafile], { cwd: root });
  meta = JSON.parse(readFileSync(metafile, 'utf8')) as Metafile;
  code = readFileSync(outfile, 'utf8');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the browser bundle', () => {
  test('no input or import is a Node built-in, and every input is a source file of this package', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.length >= 10, `the bundle follows the imports (${inputs.length} inputs)`);
    for (const [path, input] of Object.entries(meta.inputs)) {
      assert.match(path, /^src\//, `${path} is a source file of this package`);
      assert.ok(!builtins.has(path), `${path} is a Node built-in`);
      for (const imp of input.imports) {
        assert.ok(!imp.external, `${path} leaves ${imp.path} external`);
        assert.ok(!builtins.has(imp.path) && !imp.path.startsWith('node:'), `${path} imports ${imp.path}`);
      }
    }
    for (const nodeOnly of ['src/endpoint/tcp-transport.ts', 'src/endpoint/tls-transport.ts', 'src/endpoint/dial.ts', 'src/gateway/gateway.ts']) {
      assert.ok(!inputs.includes(nodeOnly), `${nodeOnly} stays out of the bundle`);
    }
    assert.ok(inputs.includes('src/endpoint/websocket-transport.ts'));
  });

  test('the output has no require( and no node: import, and exports the endpoint API', () => {
    assert.doesNotMatch(code, /\brequire\s*\(/);
    assert.doesNotMatch(code, /["']node:/);
    assert.doesNotMatch(code, /\bprocess\.|\bBuffer\./);
    const exports = Object.values(meta.outputs).flatMap((o) => o.exports);
    for (const name of ['dialClient', 'dialServer', 'attachClient', 'Endpoint', 'VirtualConnection', 'json', 'utf8', 'raw', 'ConnectError', 'ProtocolError', 'protocol']) {
      assert.ok(exports.includes(name), `the bundle exports ${name}`);
    }
    assert.ok(!exports.includes('Gateway'), 'the gateway is not in the browser bundle');
  });

  test('the bundle runs: typed errors for TCP addresses, dialServer, and no WebSocket', async () => {
    type Bundle = typeof import('../src/browser.js');
    const fw = (await import(pathToFileURL(outfile).href)) as Bundle;
    await assert.rejects(fw.dialClient('127.0.0.1:7000'), (err: Error) => err instanceof fw.InvalidOptionError && err.option === 'addr');
    await assert.rejects(fw.dialServer('127.0.0.1:7001', { serverId: 1, authKey: 'k' }), (err: Error) => err instanceof fw.InvalidOptionError && /not available in browsers/.test(err.message));
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    g.WebSocket = undefined; // Node 22 has one; a browser without it gets a ConnectError
    try {
      await assert.rejects(fw.dialClient('ws://127.0.0.1:1/'), (err: Error) => err instanceof fw.ConnectError && /no WebSocket/.test(err.message));
    } finally {
      g.WebSocket = saved;
    }
    const msg = { n: 1, s: 'é' };
    assert.deepEqual(fw.json<typeof msg>().decode(fw.json<typeof msg>().encode(msg)), msg);
  });

  test('the package exports the browser entry under the "browser" condition and as fastway/browser', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, unknown>>; scripts: Record<string, string> };
    const dot = pkg.exports['.']!;
    assert.deepEqual(Object.keys(dot)[0], 'browser', 'the browser condition comes first, so bundlers take it');
    assert.deepEqual(dot.browser, { types: './dist/browser.d.ts', default: './dist/browser.js' });
    assert.deepEqual(pkg.exports['./browser'], { types: './dist/browser.d.ts', default: './dist/browser.js' });
    assert.equal((pkg.exports['./browser/bundle'] as Record<string, string>).default, './dist/browser/fastway.js');
    assert.match(pkg.scripts.build!, /build-browser\.mjs/);
  });
});
