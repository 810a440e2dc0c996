/**
 * The `--workers` bench: runs `fastway --workers N` (the built command, dist/) for each N
 * asked, and measures it with `npm run bench`'s external-gateway mode: the echo servers
 * attach to every worker's server listener, the load generators connect to the shared
 * client port, and the CPU is that of the primary and all its workers.
 *
 *   npm run build && node --import tsx bench/workers.ts --workers 1,2 -- --scenarios b,d --duration 5s
 *
 * Flags after `--` go to bench/run.ts as they are. Each N's tables print in turn.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function parseArgs(argv: string[]): { counts: number[]; rest: string[] } {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const rest = dash < 0 ? [] : argv.slice(dash + 1);
  let counts = [1, 2];
  for (let i = 0; i < own.length; i++) {
    if (own[i] === '--workers') counts = own[++i]!.split(',').map(Number);
    else throw new Error(`unknown flag ${own[i]}: bench/workers.ts [--workers 1,2] [-- bench flags]`);
  }
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--workers: a list of worker counts like 1,2');
  return { counts, rest };
}

/** Starts the gateway and resolves with its addresses once every worker printed its server listener. */
function startGateway(workers: number, key: string): Promise<{ child: ChildProcess; client: string; servers: string[] }> {
  const child = spawn(
    process.execPath,
    ['dist/cli/main.js', '--workers', String(workers), '--client-addr', '127.0.0.1:0', '--server-addr', '127.0.0.1:0',
      '--metrics-addr', 'off', '--server-auth-key', key, '--log-level', 'warn'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const early = (code: number | null): void => reject(new Error(`fastway --workers ${workers} exited (${code}) before it was ready:\n${out}`));
    child.once('exit', early);
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const clients = [...out.matchAll(/listening for game clients on (\S+)/g)].map((m) => m[1]!);
      const servers = [...out.matchAll(/worker (\d+) \(pid \d+\): listening for game servers on (\S+)/g)];
      if (servers.length === workers && clients.length === workers) {
        child.off('exit', early);
        resolve({ child, client: clients[0]!, servers: servers.sort((a, b) => Number(a[1]) - Number(b[1])).map((m) => m[2]!) });
      }
    });
  });
}

async function main(): Promise<void> {
  const { counts, rest } = parseArgs(process.argv.slice(2));
  for (const workers of counts) {
    const key = randomBytes(12).toString('base64url');
    const gateway = await startGateway(workers, key);
    process.stdout.write(`\n## fastway --workers ${workers} (client ${gateway.client}, servers ${gateway.servers.join(' ')})\n`);
    const bench = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--gateway', `${gateway.client},${gateway.servers.join('+')}`, '--auth-key', key,
        '--gateway-pid', String(gateway.child.pid), '--no-direct', ...rest],
      { cwd: root, stdio: 'inherit' },
    );
    const code = await new Promise<number | null>((resolve) => bench.once('exit', resolve));
    const stopped = new Promise((resolve) => gateway.child.once('exit', resolve));
    gateway.child.kill('SIGTERM');
    await stopped;
    if (code !== 0) throw new Error(`the bench exited with ${code} for --workers ${workers}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
