/**
 * The sealed API: the declarations the package ships (tsc with tsconfig.build.json, as
 * `npm run build` emits them) carry no `@internal` member, hold together on their own
 * (a strict consumer compiles with skipLibCheck off), and a strict consumer that reaches
 * for an internal member of Gateway, Endpoint or VirtualConnection does not compile, nor
 * one that constructs what the library hands out (endpoints, virtual connections, the
 * cluster server). The `protocol` namespace exports what tools need and not the byte-level
 * helpers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Inside the checkout (under node_modules, which git ignores) so the declarations find ws, pino and @types/node.
const OUT = join(ROOT, 'node_modules', `.fastway-declarations-test-${process.pid}`);
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Members that were `@internal` on the public classes (and compiled in a user's strict TypeScript) before the API was sealed. */
const INTERNAL_MEMBERS: Record<string, readonly string[]> = {
  gateway: ['scheduleFlush', 'route', 'maybeRelieve', 'socketFailed', 'socketClosed', 'readInto', 'handshakeData', 'receive', 'authTimeout', 'handleClientSocket', 'handleServerSocket'],
  endpoint: ['onData', 'onDrain', 'onClose', 'onFrame', 'sendFrame', 'closeConnection', 'probe', 'checkLiveness', 'abort'],
  conn: ['nextResult', 'deliver', 'terminate'],
};

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return declarationFiles(path);
    return entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function tsc(args: string[]): { ok: boolean; output: string } {
  try {
    return { ok: true, output: execFileSync(process.execPath, [TSC, ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }) };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Compiles `source` (a file next to the emitted index.d.ts) strictly; returns tsc's diagnostics by line number. */
function compileConsumer(name: string, source: string): Map<number, string> {
  const dir = join(OUT, 'types');
  writeFileSync(join(dir, `${name}.ts`), source);
  writeFileSync(
    join(dir, `${name}.tsconfig.json`),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], lib: ['ES2022', 'ESNext.Disposable', 'DOM'] },
      files: [`${name}.ts`],
    }),
  );
  const { output } = tsc(['-p', join(dir, `${name}.tsconfig.json`)]);
  const byLine = new Map<number, string>();
  for (const line of output.split('\n')) {
    const m = /^(.+?)\((\d+),\d+\): error (TS\d+: .*)$/.exec(line.trim());
    if (m === null) continue;
    assert.ok(m[1]!.endsWith(`${name}.ts`), `an error in the shipped declarations themselves: ${line}`);
    byLine.set(Number(m[2]), m[3]!);
  }
  return byLine;
}

before(() => {
  mkdirSync(OUT, { recursive: true });
  const emitted = tsc(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', join(OUT, 'types')]);
  assert.ok(emitted.ok, emitted.output);
});

after(() => rmSync(OUT, { recursive: true, force: true }));

test('no emitted declaration carries an @internal member', () => {
  const files = declarationFiles(join(OUT, 'types'));
  assert.ok(files.length > 40, `the declarations were emitted (${files.length} files)`);
  const marked = files.filter((f) => readFileSync(f, 'utf8').includes('@internal')).map((f) => relative(OUT, f));
  assert.deepEqual(marked, []);
});

test('a strict consumer compiles against the public API, and does not compile where it reaches for an internal member', () => {
  const lines = [
    "import { Gateway, type Endpoint, type VirtualConnection, protocol } from './index.js';",
    "import * as browser from './browser.js';",
    'void browser.dialClient;',
    "const gateway = new Gateway({ server: { authKey: 'k' } });",
    'declare const endpoint: Endpoint;',
    'declare const conn: VirtualConnection;',
    "void gateway.listen({ client: '127.0.0.1:0' }).then((bound) => bound.client.port);",
    'void endpoint.dial(1).then((c) => c.send(new Uint8Array(1)));',
    'void conn.receive();',
    'void protocol.encodeDial(1, 2);',
    'void new protocol.FrameDecoder(protocol.DEFAULT_MAX_PACKET_SIZE);',
  ];
  const publicLines = lines.length;
  const internalAt = new Map<number, string>();
  const subjects: Record<string, string> = { gateway: 'gateway', endpoint: 'endpoint', conn: 'conn' };
  for (const [subject, names] of Object.entries(INTERNAL_MEMBERS)) {
    for (const name of names) {
      lines.push(`void (${subjects[subject]}.${name});`);
      internalAt.set(lines.length, `${subject}.${name}`);
    }
  }
  // Byte-level helpers are not part of the exported protocol namespace.
  for (const name of ['readU32', 'writeU32', 'writeFrameHeader', 'writeCommand', 'commandFrameSize', 'timingSafeEqual', 'md5']) {
    lines.push(`void (protocol.${name});`);
    internalAt.set(lines.length, `protocol.${name}`);
  }
  const errors = compileConsumer('consumer', lines.join('\n') + '\n');
  for (let line = 1; line <= publicLines; line++) assert.equal(errors.get(line), undefined, `line ${line} (${lines[line - 1]}) uses the public API`);
  for (const [line, what] of internalAt) {
    assert.ok(errors.has(line), `${what} compiles in a strict consumer: it is reachable from the shipped types`);
  }
});

test('a strict consumer cannot construct what the library hands out (endpoints, virtual connections, the cluster server), but can test for it', () => {
  const lines = [
    "import { ClusterServer, Endpoint, raw, ReconnectingEndpoint, ResumableConnection, VirtualConnection } from './index.js';",
    'declare const got: unknown;',
    'const kinds: boolean[] = [got instanceof Endpoint, got instanceof VirtualConnection, got instanceof ResumableConnection, got instanceof ReconnectingEndpoint, got instanceof ClusterServer];',
    'void kinds;',
  ];
  const publicLines = lines.length;
  const refusedAt = new Map<number, string>();
  const refuse = (line: string, what: string): void => {
    lines.push(line);
    refusedAt.set(lines.length, what);
  };
  refuse('void new Endpoint();', 'new Endpoint()');
  refuse('void new VirtualConnection();', 'new VirtualConnection()');
  refuse('void new ResumableConnection();', 'new ResumableConnection()');
  refuse('void new ReconnectingEndpoint();', 'new ReconnectingEndpoint()');
  refuse('void new ClusterServer();', 'new ClusterServer()');
  lines.push('class Mine extends VirtualConnection {', '  constructor() {');
  refuse('    super({}, 1, 2, raw, 8);', 'a subclass of VirtualConnection making its own owner');
  lines.push('  }', '}', 'void Mine;');
  const errors = compileConsumer('construct', lines.join('\n') + '\n');
  for (let line = 1; line <= publicLines; line++) assert.equal(errors.get(line), undefined, `line ${line} (${lines[line - 1]}) uses the public API`);
  for (const [line, what] of refusedAt) assert.ok(errors.has(line), `${what} compiles in a strict consumer`);
  const stray = [...errors.keys()].filter((line) => line > publicLines && !refusedAt.has(line));
  assert.deepEqual(stray, [], `no other line fails: ${stray.map((l) => errors.get(l)).join('; ')}`);
});
