#!/usr/bin/env node
/**
 * Builds the browser bundle: src/browser.ts and everything it imports, as one ES module
 * (dist/browser/fastway.js, with a source map). Fails when anything Node-only gets in:
 * a Node built-in among the inputs or imports, or a `require(` / `node:` import in the
 * output.
 *
 *   node scripts/build-browser.mjs [--outfile FILE] [--metafile FILE] [--minify]
 */
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    outfile: { type: 'string', default: resolve(root, 'dist/browser/fastway.js') },
    metafile: { type: 'string' },
    minify: { type: 'boolean', default: false },
  },
});

const nodeBuiltins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every way something Node-only can show in the bundle; empty when it is clean. */
function nodeLeaks(metafile, code) {
  const leaks = [];
  for (const [path, input] of Object.entries(metafile.inputs)) {
    if (path.startsWith('node:') || nodeBuiltins.has(path)) leaks.push(`input ${path}`);
    for (const imp of input.imports) {
      if (imp.external || imp.path.startsWith('node:') || nodeBuiltins.has(imp.path)) leaks.push(`${path} imports ${imp.path}`);
    }
  }
  if (/\brequire\s*\(/.test(code)) leaks.push('the output calls require(');
  if (/(?:from\s*|import\s*\(\s*)["']node:/.test(code)) leaks.push('the output imports a node: module');
  return leaks;
}

const result = await build({
  entryPoints: [resolve(root, 'src/browser.ts')],
  outfile: values.outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  minify: values.minify,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const code = readFileSync(values.outfile, 'utf8');
const leaks = nodeLeaks(result.metafile, code);
if (values.metafile) writeFileSync(values.metafile, JSON.stringify(result.metafile));
if (leaks.length > 0) {
  console.error(`the browser bundle pulls in Node-only code:\n  ${leaks.join('\n  ')}`);
  process.exit(1);
}
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`${values.outfile}: ${Buffer.byteLength(code)} bytes from ${inputs} modules, no Node built-ins`);
