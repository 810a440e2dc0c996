/**
 * How much a figure moves from one fresh gateway process to the next, against how much it
 * moves between runs through one and the same process. Starts `--gateways` fresh gateways
 * (bench/gateway-process.ts, as `npm run bench` does; on core 0 with `--pin`) one after
 * another and runs bench/run.ts `--rounds` times against each in its external-gateway mode,
 * then prints each run's msg/CPU-s, each gateway's median, and both spreads:
 *
 *   node --import tsx bench/spread.ts --gateways 5 --rounds 3 -- --pin --scenarios d --duration 4s
 *
 * Flags after `--` go to bench/run.ts as they are (`--no-direct` is added). If the spread
 * across gateways is no larger than the spread within one, what moves the figure is the
 * machine (other work on it), not the process (its JIT, heap layout or a path it took).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchChild, tasksetAvailable } from './child.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const AUTH_KEY = 'bench-spread';

interface Args {
  gateways: number;
  rounds: number;
  rest: string[];
}

function parseArgs(argv: string[]): Args {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const rest = dash < 0 ? [] : argv.slice(dash + 1);
  const args: Args = { gateways: 5, rounds: 3, rest };
  for (let i = 0; i < own.length; i++) {
    const flag = own[i];
    const value = Number(own[i + 1]);
    if ((flag !== '--gateways' && flag !== '--rounds') || !Number.isInteger(value) || value < 1) {
      throw new Error(`bench/spread.ts [--gateways N] [--rounds N] [-- bench flags]: bad ${flag} ${own[i + 1] ?? ''}`);
    }
    if (flag === '--gateways') args.gateways = value;
    else args.rounds = value;
    i++;
  }
  if (rest.includes('--gateway')) throw new Error('bench/spread.ts starts its own gateways: no --gateway after --');
  return args;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** ±% around the middle of the range: (max − min) / (max + min). */
function spread(values: number[]): number {
  const max = Math.max(...values);
  const min = Math.min(...values);
  return max + min === 0 ? 0 : (100 * (max - min)) / (max + min);
}

/** One bench run against the gateway: msg/CPU-s by scenario name. */
async function benchRound(gateway: BenchChild, rest: string[], jsonOut: string): Promise<Map<string, number>> {
  const client = gateway.info.client as { host: string; port: number };
  const server = gateway.info.server as { host: string; port: number };
  const bench = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--gateway', `${client.host}:${client.port},${server.host}:${server.port}`, '--auth-key', AUTH_KEY,
      '--gateway-pid', String(gateway.pid), '--no-direct', '--json-out', jsonOut, ...rest],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const code = await new Promise<number | null>((resolve) => bench.once('exit', resolve));
  if (code !== 0) throw new Error(`the bench exited with ${code}`);
  const results = JSON.parse(readFileSync(jsonOut, 'utf8')) as { scenarios: { scenario: { name: string }; messagesPerCpuSecond?: { gateway: number | null } }[] };
  const out = new Map<string, number>();
  for (const s of results.scenarios) {
    const value = s.messagesPerCpuSecond?.gateway;
    if (typeof value === 'number') out.set(s.scenario.name, value);
  }
  return out;
}

async function main(): Promise<void> {
  const { gateways, rounds, rest } = parseArgs(process.argv.slice(2));
  const pin = rest.includes('--pin');
  if (pin && !tasksetAvailable()) throw new Error('--pin needs taskset');
  const dir = mkdtempSync(join(tmpdir(), 'fastway-spread-'));
  /** msg/CPU-s by scenario, then by gateway, then by round. */
  const figures = new Map<string, number[][]>();
  try {
    for (let g = 0; g < gateways; g++) {
      const gateway = await BenchChild.fork('gateway', 'gateway-process.ts', [JSON.stringify({ host: '127.0.0.1', authKey: AUTH_KEY })], pin ? { core: 0 } : {}).ready();
      try {
        for (let r = 0; r < rounds; r++) {
          const round = await benchRound(gateway, rest, join(dir, `g${g}-r${r}.json`));
          for (const [name, value] of round) {
            const byGateway = figures.get(name) ?? [];
            figures.set(name, byGateway);
            (byGateway[g] ??= []).push(value);
          }
          process.stderr.write(`gateway ${g + 1}/${gateways} (pid ${gateway.pid}), round ${r + 1}/${rounds}: ${[...round].map(([n, v]) => `${n} ${Math.round(v).toLocaleString('en-US')} msg/CPU-s`).join(', ')}\n`);
        }
      } finally {
        await gateway.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const k = (v: number): string => `${(v / 1000).toFixed(1)}k`;
  for (const [name, byGateway] of figures) {
    process.stdout.write(`\n${name}: msg/CPU-s of ${gateways} fresh gateways × ${rounds} runs each\n`);
    byGateway.forEach((runs, g) => {
      process.stdout.write(`  gateway ${g + 1}: ${runs.map(k).join(' / ')}   median ${k(median(runs))}   within ±${spread(runs).toFixed(1)}%\n`);
    });
    const medians = byGateway.map(median);
    const within = byGateway.map(spread);
    process.stdout.write(`  across gateways (their medians): ±${spread(medians).toFixed(1)}%; within one gateway: ±${median(within).toFixed(1)}% (median), up to ±${Math.max(...within).toFixed(1)}%\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
