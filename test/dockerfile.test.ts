/**
 * The Dockerfile, without a container runtime: every path it copies from
 * the build context exists and is not excluded by .dockerignore, and its stages run as a
 * plain script, each in a directory of its own standing for the stage's filesystem (COPY
 * copies, RUN runs in the WORKDIR with the ENV so far; npm installs from its cache, offline).
 * The final stage must hold no development dependency and run as a user other than root;
 * its ENTRYPOINT then starts a real gateway there, and its HEALTHCHECK passes against it
 * and fails once it has stopped.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './support/raw-peer.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** The Dockerfile's instructions by stage (comments dropped, continuation lines joined). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\')) line = `${line.slice(0, -1).trim()} ${lines[++i]!.trim()}`;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(m, `Dockerfile line ${start}: ${line}`);
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(m[2]!);
      assert.ok(from, `Dockerfile line ${start}: FROM image [AS name]`);
      stages.push({ name: from[2] ?? `stage${stages.length}`, base: from[1]!, instructions: [] });
      continue;
    }
    assert.ok(stages.length > 0, `Dockerfile line ${start}: an instruction before FROM`);
    stages.at(-1)!.instructions.push({ keyword, args: m[2]!, line: start });
  }
  return stages;
}

/** `a b c` or `["a", "b"]`, as a list of words. */
function words(args: string): string[] {
  return args.trim().startsWith('[') ? (JSON.parse(args) as string[]) : args.trim().split(/\s+/);
}

/** `KEY=value KEY2=value2` of ENV. */
function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  return out;
}

/** Whether `.dockerignore` leaves `path` out of the build context. */
function ignored(path: string, patterns: string[]): boolean {
  return patterns.some((p) => (p.includes('*') ? new RegExp(`^${p.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`).test(basename(path)) : path === p || path.startsWith(`${p}/`)));
}

const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const final = dockerfile.at(-1)!;

/** A stage's filesystem: the directory standing for `/`, and where WORKDIR points in it. */
interface StageDir {
  dir: string;
  workdir: string;
}

/** Maps an image path (absolute, or relative to the WORKDIR) into the stage's directory. */
function inStage(stage: StageDir, path: string): string {
  const absolute = path.startsWith('/') ? path : posix.join(stage.workdir, path);
  return join(stage.dir, absolute);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('the Dockerfile', { timeout: 600_000 }, () => {
  let work: string;
  const stages = new Map<string, StageDir>();
  const finalEnv: Record<string, string> = {};
  let user = 'root';
  let healthcheck: string[] = [];
  let entrypoint: string[] = [];
  let gateway: ChildProcess | undefined;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'fastway-docker-'));
  });

  after(() => {
    if (gateway?.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  test('has a build stage, a production stage and a final stage with a health check, an entry point and a user', () => {
    assert.ok(dockerfile.length >= 2, 'multi-stage');
    const keywords = final.instructions.map((i) => i.keyword);
    for (const k of ['USER', 'HEALTHCHECK', 'ENTRYPOINT', 'EXPOSE']) assert.ok(keywords.includes(k), `the final stage has ${k}`);
    assert.ok(!keywords.includes('RUN'), 'the final stage only copies: nothing is built or installed in it');
  });

  test('every path copied from the build context exists and is not left out by .dockerignore', () => {
    for (const stage of dockerfile) {
      for (const { keyword, args, line } of stage.instructions) {
        if (keyword !== 'COPY' || args.includes('--from=')) continue;
        const parts = words(args).filter((w) => !w.startsWith('--'));
        for (const source of parts.slice(0, -1)) {
          assert.ok(existsSync(join(root, source)), `Dockerfile line ${line}: ${source} exists`);
          assert.ok(!ignored(source, dockerignore), `Dockerfile line ${line}: ${source} is not in .dockerignore`);
        }
      }
    }
  });

  test('the stages run as a script: build, production dependencies, the final image', () => {
    for (const stage of dockerfile) {
      const fs: StageDir = { dir: join(work, stage.name), workdir: '/' };
      mkdirSync(fs.dir, { recursive: true });
      stages.set(stage.name, fs);
      const env: Record<string, string> = {};
      for (const { keyword, args, line } of stage.instructions) {
        const where = `Dockerfile line ${line} (${stage.name})`;
        switch (keyword) {
          case 'WORKDIR':
            fs.workdir = posix.resolve(fs.workdir, args.trim());
            mkdirSync(inStage(fs, '.'), { recursive: true });
            break;
          case 'ENV':
            Object.assign(env, envPairs(args));
            break;
          case 'COPY': {
            const from = /--from=(\S+)/.exec(args)?.[1];
            const parts = words(args).filter((w) => !w.startsWith('--'));
            const dest = parts.at(-1)!;
            const sources = parts.slice(0, -1);
            const into = inStage(fs, dest);
            const toDir = dest.endsWith('/') || sources.length > 1;
            for (const source of sources) {
              let path: string;
              if (from !== undefined) {
                const other = stages.get(from);
                assert.ok(other, `${where}: stage ${from} comes before`);
                path = inStage(other, source);
              } else {
                path = join(root, source);
              }
              assert.ok(existsSync(path), `${where}: ${source} exists${from ? ` in stage ${from}` : ''}`);
              const target = toDir && !statSync(path).isDirectory() ? join(into, basename(path)) : into;
              cpSync(path, target, { recursive: true, verbatimSymlinks: true });
            }
            break;
          }
          case 'RUN':
            execFileSync('sh', ['-c', args], {
              cwd: inStage(fs, '.'),
              stdio: ['ignore', 'pipe', 'pipe'],
              env: { ...process.env, ...env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
            });
            break;
          case 'USER':
            user = args.trim();
            break;
          case 'HEALTHCHECK':
            healthcheck = words(args.slice(args.indexOf('CMD') + 3));
            break;
          case 'ENTRYPOINT':
            entrypoint = words(args);
            break;
          case 'EXPOSE':
          case 'STOPSIGNAL':
            break;
          default:
            assert.fail(`${where}: this test does not know ${keyword}; teach it`);
        }
      }
      if (stage === final) Object.assign(finalEnv, env);
    }
    const image = stages.get(final.name)!;
    assert.ok(user !== 'root' && user !== '0', `the image runs as ${user}, not root`);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: object; devDependencies: object };
    for (const dev of Object.keys(pkg.devDependencies)) {
      assert.ok(!existsSync(inStage(image, `node_modules/${dev}`)), `the image holds no development dependency (${dev})`);
    }
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(inStage(image, `node_modules/${dep}`)), `the image holds ${dep}`);
    assert.ok(!existsSync(inStage(image, 'src')), 'the image holds no sources');
    assert.equal(finalEnv.NODE_ENV, 'production');
  });

  test('the image starts the gateway with its ENTRYPOINT, and its HEALTHCHECK passes, then fails once it stopped', async () => {
    const image = stages.get(final.name);
    assert.ok(image !== undefined && entrypoint.length > 0, 'the stages ran');
    const metricsPort = await freePort();
    // The image's addresses bind 0.0.0.0 on fixed ports; here, loopback and free ports.
    const env = {
      ...process.env,
      ...finalEnv,
      FASTWAY_CLIENT_ADDR: '127.0.0.1:0',
      FASTWAY_SERVER_ADDR: '127.0.0.1:0',
      FASTWAY_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      FASTWAY_SERVER_AUTH_KEY: 'docker-test-key',
    };
    const check = (): number => {
      try {
        execFileSync(healthcheck[0] === 'node' ? process.execPath : healthcheck[0]!, healthcheck.slice(1), { cwd: inStage(image, '.'), env, stdio: 'pipe' });
        return 0;
      } catch (err) {
        return (err as { status: number }).status;
      }
    };
    assert.notEqual(check(), 0, 'the health check fails while nothing listens');
    const [command, ...args] = entrypoint;
    gateway = spawn(command === 'node' ? process.execPath : command!, args, { cwd: inStage(image, '.'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    gateway.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    gateway.stderr!.resume();
    const exited = new Promise<number | null>((resolve) => gateway!.on('exit', (code) => resolve(code)));
    await waitUntil(() => stdout.includes('metrics on') || gateway!.exitCode !== null, 'the gateway to listen', 30_000);
    assert.match(stdout, /listening for game clients/);
    assert.equal(check(), 0, 'the health check passes');
    gateway.kill('SIGTERM');
    assert.equal(await exited, 0, 'the gateway drains and exits 0 on SIGTERM (the STOPSIGNAL)');
    assert.notEqual(check(), 0, 'the health check fails once the gateway is gone');
  });
});
