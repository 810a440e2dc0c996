/**
 * Signposts: every `docs/protocol.md §N` (or `§N.M`) that a comment in src/ or test/ cites
 * names a numbered section that docs/protocol.md has.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The section numbers of docs/protocol.md: `1`, `5.2`… from headings like `## 5. Opening…` and `### 5.2 Dial…`. */
function sectionNumbers(): Set<string> {
  const text = readFileSync(join(ROOT, 'docs/protocol.md'), 'utf8');
  const numbers = new Set<string>();
  for (const m of text.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)) numbers.add(m[1]!);
  return numbers;
}

test('docs/protocol.md numbers its sections', () => {
  const numbers = sectionNumbers();
  for (const n of ['1', '2', '3', '4', '4.1', '5', '5.1', '5.2', '6', '7', '8', '9', '10', '10.1', '10.2', '11']) assert.ok(numbers.has(n), `§${n}`);
});

test('every "protocol.md §N" cited in src/ and test/ is a section of docs/protocol.md', () => {
  const numbers = sectionNumbers();
  let cited = 0;
  for (const file of [...tsFiles(join(ROOT, 'src')), ...tsFiles(join(ROOT, 'test'))]) {
    if (file === fileURLToPath(import.meta.url)) continue;
    const text = readFileSync(file, 'utf8');
    assert.ok(!/PROTOCOL\.md/.test(text), `${relative(ROOT, file)} cites PROTOCOL.md, which is docs/protocol.md`);
    // A citation and the list that follows it: "docs/protocol.md §1, §2, §9".
    for (const m of text.matchAll(/protocol\.md((?:,? ?(?:and )?§\d+(?:\.\d+)*)+)/g)) {
      for (const n of m[1]!.matchAll(/§(\d+(?:\.\d+)*)/g)) {
        cited++;
        assert.ok(numbers.has(n[1]!), `${relative(ROOT, file)} cites docs/protocol.md §${n[1]}, which does not exist`);
      }
    }
  }
  assert.ok(cited >= 20, `found the citations (${cited})`);
});
