/**
 * The import graph of src/: no module imports itself through others (no cycle), and the
 * parts that must run in browsers (the protocol, the values, the endpoint core) import no
 * `node:` module.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of `file` (type-only ones too: a cycle of types is still a cycle for a reader), as absolute .ts paths. */
function importsOf(file: string): { local: string[]; node: string[] } {
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  const node: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    else if (spec.startsWith('node:')) node.push(spec);
  }
  return { local, node };
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every relative import in src/ names a file that exists', () => {
  for (const [file, { local }] of graph) {
    for (const target of local) assert.ok(graph.has(target), `${relative(SRC, file)} imports ${relative(SRC, target)}, which is not there`);
  }
  assert.ok(graph.size > 40, `read the whole tree (${graph.size} files)`);
});

test('src/ has no import cycle', () => {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'active');
    stack.push(file);
    for (const next of graph.get(file)!.local) {
      if (state.get(next) === 'active') cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(SRC, f)).join(' → '));
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test('the browser-safe parts import no node: module', () => {
  const browserSafe = files.filter((f) => /^(protocol|values)\//.test(relative(SRC, f)));
  assert.ok(browserSafe.length >= 8);
  for (const file of browserSafe) assert.deepEqual(graph.get(file)!.node, [], relative(SRC, file));
});
