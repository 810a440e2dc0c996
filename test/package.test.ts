/**
 * The published package, as a user gets it: a clean checkout (the files
 * git knows, no dist/) is packed with `npm pack`, whose `prepack` must build it; the tarball
 * must hold the library, the CLI, the browser builds, the types and the LICENSE, and every
 * source map must carry the sources it points at. Then a separate project installs the
 * tarball offline (its dependencies from npm's cache, which `npm ci` fills, at the versions
 * of this project's lockfile), imports `fastway` in Node and through the browser entries,
 * runs `npx fastway --version`, and compiles a strict TypeScript file against the shipped
 * types with only `@types/node` beside them.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The files of a fresh clone: tracked and new files that git does not ignore. */
function checkoutFiles(): string[] | null {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\0').filter((f) => f !== '' && existsSync(join(root, f)));
  } catch {
    return null;
  }
}

const files = checkoutFiles();
const skip = files === null ? 'not a git checkout: the pack test copies the files git knows' : false;

/** npm without the network, its update check, audit or funding messages. */
function run(command: string, args: string[], cwd: string, extra: ExecFileSyncOptions = {}): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && !k.startsWith('FASTWAY_')));
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' },
      ...extra,
    }) as string;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** A lockfile for a project that depends on the tarball only: its dependencies as this project's lockfile pins them. */
function appLockfile(tarball: string, tarballName: string): object {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const packages: Record<string, unknown> = {
    '': { name: 'fastway-pack-check', dependencies: { fastway: `file:${tarballName}` } },
    'node_modules/fastway': {
      version: pkg.version,
      resolved: `file:${tarballName}`,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: 'MIT',
      dependencies: pkg.dependencies,
      bin: { fastway: 'dist/cli/main.js' },
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && entry.dev !== true) packages[path] = entry;
  }
  return { name: 'fastway-pack-check', lockfileVersion: 3, requires: true, packages };
}

describe('the packed package', { skip, timeout: 300_000 }, () => {
  let work: string;
  let tarball: string;
  let contents: string[];
  let unpacked: string;
  let app: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'fastway-pack-'));
    // A clean checkout, with this checkout's installed dependencies (nothing is downloaded).
    const checkout = join(work, 'checkout');
    for (const file of files!) {
      mkdirSync(dirname(join(checkout, file)), { recursive: true });
      copyFileSync(join(root, file), join(checkout, file));
    }
    symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    assert.equal(existsSync(join(checkout, 'dist')), false, 'the checkout has no build');
    run(npm, ['pack', '--pack-destination', work], checkout);
    const name = `${pkg.name}-${pkg.version}.tgz`;
    tarball = join(work, name);
    assert.ok(existsSync(tarball), `npm pack wrote ${name}`);
    contents = run('tar', ['-tzf', tarball], work)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replace(/^package\//, ''));
    unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    run('tar', ['-xzf', tarball, '-C', unpacked], work);

    app = join(work, 'app');
    mkdirSync(app);
    copyFileSync(tarball, join(app, name));
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'fastway-pack-check', private: true, type: 'module', dependencies: { fastway: `file:${name}` } }, null, 2),
    );
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(appLockfile(join(app, name), name), null, 2));
    run(npm, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  });

  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  test('prepack builds: the tarball holds the library, the CLI, the browser builds, the types and the LICENSE', () => {
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/browser.js',
      'dist/browser.d.ts',
      'dist/browser/fastway.js',
      'dist/cli/main.js',
    ]) {
      assert.ok(contents.includes(file), `the package holds ${file}`);
    }
    assert.ok(!contents.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/')), 'no sources, tests or dependencies');
    const license = readFileSync(join(unpacked, 'package', 'LICENSE'), 'utf8');
    assert.match(license, /^MIT License/);
    assert.match(license, /Copyright \(c\) 2026 the fastway authors/);
  });

  test('every source map carries the sources it points at', () => {
    const maps = contents.filter((f) => f.endsWith('.map'));
    assert.ok(maps.length > 0, 'the package ships source maps');
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(join(unpacked, 'package', map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      parsed.sources.forEach((source, i) => {
        const inPackage = contents.includes(posix.normalize(posix.join(posix.dirname(map), source)));
        const inline = typeof parsed.sourcesContent?.[i] === 'string';
        assert.ok(inPackage || inline, `${map}: source ${source} is neither in the package nor inlined`);
      });
    }
  });

  test('imports in Node, and through the browser entries', () => {
    const node = `
      import { Gateway, dialClient, dialServer, utf8 } from 'fastway';
      const gateway = new Gateway({ server: { authKey: 'k' } });
      const bound = await gateway.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });
      const server = await dialServer('127.0.0.1:' + bound.server.port, { serverId: 1, authKey: 'k', format: utf8 });
      server.accept().then(async (conn) => conn.send('echo ' + (await conn.receive())));
      const client = await dialClient('127.0.0.1:' + bound.client.port, { format: utf8 });
      const conn = await client.dial(1);
      conn.send('hi');
      console.log(await conn.receive());
      await Promise.all([client.close(), server.close()]);
      await gateway.close();
    `;
    assert.equal(run(process.execPath, ['--input-type=module', '-e', node], app).trim(), 'echo hi');
    const browser = `
      const root = await import('fastway');
      const sub = await import('fastway/browser');
      const bundle = await import('fastway/browser/bundle');
      console.log([root, sub, bundle].map((m) => typeof m.dialClient + ',' + ('Gateway' in m)).join(' '));
    `;
    assert.equal(
      run(process.execPath, ['--conditions=browser', '--input-type=module', '-e', browser], app).trim(),
      'function,false function,false function,false',
      'the browser condition picks the browser build, which has no gateway',
    );
  });

  test('npx fastway --version', () => {
    assert.equal(run('npx', ['--offline', 'fastway', '--version'], app).trim(), pkg.version);
  });

  test('a strict TypeScript file compiles against the shipped types (with @types/node only)', () => {
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(root, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['check.ts'],
      }),
    );
    writeFileSync(
      join(app, 'check.ts'),
      `
      import { Gateway, dialClient, json, type FastwayError, type GatewayStats } from 'fastway';
      import { dialClient as dialFromBrowser } from 'fastway/browser';

      type Chat = { text: string };
      const gateway = new Gateway({ server: { authKey: 'k' }, client: { webSocket: { path: '/play' } } });
      const bound = await gateway.listen({ client: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
      const port: number = bound.client.port + bound.clientWs.port;
      const stats: GatewayStats = gateway.stats;
      const client = await dialClient('127.0.0.1:' + port, { format: json<Chat>(), signal: AbortSignal.timeout(1000) });
      const conn = await client.dial(1, { timeout: 500 });
      const message: Chat = await conn.receive({ timeout: 100 });
      void dialFromBrowser;
      export function explain(err: FastwayError): string {
        switch (err.code) {
          case 'ERR_DIAL_REFUSED':
            return 'refused ' + message.text + stats.clients;
          default:
            return err.code;
        }
      }
      `,
    );
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);
  });
});
