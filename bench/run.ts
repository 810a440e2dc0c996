/**
 * `npm run bench`: measures the gateway (or any wire-compatible one, with --gateway) under the
 * scenarios of scenarios.ts, and the same traffic with no gateway as the limit. Progress goes
 * to stderr, the tables to stdout, everything to a JSON file. See bench/README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeRun, renderChart } from './chart.js';
import { tasksetAvailable } from './child.js';
import { type BenchOptions, USAGE, parseBenchArgs } from './options.js';
import { type ScenarioReport, compare, formatTables, medianRun } from './report.js';
import { type Mode, type ModeResult, Runner } from './runner.js';
import { shapeOf } from './scenarios.js';

function defaultJsonPath(startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  return fileURLToPath(new URL(`results/${stamp}.json`, import.meta.url));
}

/** The command line with the value of --auth-key hidden. */
function redactKey(args: string[]): string[] {
  return args.map((arg, i) => (args[i - 1] === '--auth-key' ? '(hidden)' : arg.startsWith('--auth-key=') ? '--auth-key=(hidden)' : arg));
}

function machine(): { cpuModel: string; cpus: number; node: string; [key: string]: unknown } {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cpus: cpu.length,
    node: process.version,
    platform: process.platform,
    kernel: release(),
    totalMemoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    loadAverageAtStart: loadavg(),
  };
}

/** This process's soft limit on open files (what its children inherit), from /proc; null where unknown. */
function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  let opts: BenchOptions | null;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.pin && !tasksetAvailable()) {
    process.stderr.write('warning: --pin needs taskset (util-linux), which is not available here; running unpinned\n');
    opts.pin = false;
  }
  if (opts.durationMs <= 0) {
    process.stderr.write('--duration must be more than 0\n');
    return 2;
  }

  const startedAt = new Date();
  const machineAtStart = machine();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(
    `fastway bench on Node ${process.version}: ${opts.gateway === null ? 'our gateway' : `external gateway ${opts.gateway.client.host}:${opts.gateway.client.port}`}` +
      `${opts.pin ? ', gateway pinned to core 0 and load to the other cores' : ', unpinned'}, ${opts.workers} load process(es), ${opts.servers} echo server(s), ` +
      `${opts.durationMs / 1000}s per run after ${opts.warmupMs / 1000}s warm-up` +
      `${opts.repeat > 1 ? `, median of ${opts.repeat} runs` : ''}`,
  );

  const [load1] = loadavg();
  if (load1! > cpus().length * 0.5) {
    log(`warning: load average ${load1!.toFixed(2)} on ${cpus().length} cores: other processes compete, and the figures will move with them`);
  }

  // Every connection of a storm (or of the idle scenario) is a file descriptor in the gateway and in a load process.
  const fdLimit = openFileLimit();
  const biggest = Math.max(0, ...opts.scenarios.filter((s) => s.kind !== 'traffic').map((s) => s.clients));
  if (fdLimit !== null && biggest + 1000 > fdLimit) {
    log(`warning: the open file limit is ${fdLimit} (ulimit -n) and a scenario opens ${biggest} connections: raise it (ulimit -n ${biggest + 4096}) or expect EMFILE`);
  }

  const runner = new Runner(opts, log);
  const reports: ScenarioReport[] = [];
  for (const scenario of opts.scenarios) {
    log(`${scenario.name} ${scenario.title}: ${shapeOf(scenario)}`);
    const runs: Record<Mode, ModeResult[]> = { gateway: [], minimal: [], direct: [] };
    // A WebSocket scenario runs through the gateway only: neither the direct baseline nor the
    // minimal forwarder speaks WebSocket. It is compared with its TCP twin instead.
    // An endpoint-library scenario (ep) runs through the gateway only too, and is compared with
    // its raw twin: the same shape made by the raw-protocol load, alternating with it.
    const endpoint = scenario.load === 'endpoint';
    const tcp = scenario.transport === 'tcp' && !endpoint;
    const minimal = opts.minimal && tcp;
    const direct = opts.direct && tcp;
    const modes: Mode[] = ['gateway', ...(minimal ? ['minimal' as const] : []), ...(direct ? ['direct' as const] : [])];
    const rawTwin = endpoint ? { ...scenario, load: 'raw' as const } : null;
    const rawRuns: ModeResult[] = [];
    for (let i = 0; i < opts.repeat; i++) {
      if (opts.repeat > 1) log(`${scenario.name} run ${i + 1} of ${opts.repeat}`);
      for (const mode of modes) runs[mode].push(await runner.run(scenario, mode));
      if (rawTwin !== null) rawRuns.push(await runner.run(rawTwin, 'gateway', 'raw'));
    }
    const twin = reports.find((r) => r.scenario.name === scenario.tcpTwin) ?? null;
    const report = compare(
      scenario,
      medianRun(runs.gateway),
      minimal ? medianRun(runs.minimal) : null,
      direct ? medianRun(runs.direct) : null,
      twin,
      rawTwin !== null ? medianRun(rawRuns) : null,
      opts.pin,
    );
    if (opts.repeat > 1) report.runs = rawTwin !== null ? { ...runs, raw: rawRuns } : runs;
    reports.push(report);
  }

  const endLoad = loadavg().map((l) => l.toFixed(2)).join(' ');
  const startLoad = (machineAtStart.loadAverageAtStart as number[]).map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(
    `\nNode ${process.version} on ${machineAtStart.cpus} × ${machineAtStart.cpuModel}${opts.pin ? ', pinned' : ', unpinned'}; ` +
      `load average ${startLoad} at the start, ${endLoad} at the end\n\n${formatTables(reports)}\n`,
  );

  const jsonPath = opts.jsonOut ?? defaultJsonPath(startedAt);
  const results = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: redactKey(process.argv.slice(2)),
    machine: machineAtStart,
    loadAverageAtEnd: loadavg(),
    // The key may be a real gateway's: never write it down.
    options: { ...opts, authKey: opts.gateway === null ? opts.authKey : '(hidden)' },
    scenarios: reports,
    processes: runner.processes,
  };
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nResults written to ${jsonPath}\n`);
  if (opts.chart !== null) {
    mkdirSync(dirname(opts.chart), { recursive: true });
    writeFileSync(opts.chart, renderChart(reports, describeRun(results)));
    process.stdout.write(`Chart drawn in ${opts.chart}\n`);
  }

  const failed = reports.some((r) => [r.gateway, r.minimal, r.direct, r.raw ?? null].some((m) => m?.kind === 'failed'));
  if (failed) process.stderr.write('some runs failed (see "Problems" above)\n');
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
