/**
 * Smoke run of `npm run bench`: every scenario for one second (with fewer clients for d and
 * e), through the gateway and directly (bws, over WebSocket, and ep, on the endpoint
 * library, through the gateway only), so the bench cannot rot. Asserts that every scenario
 * measured something, that the results JSON and chart were written, and that no child
 * process outlived the run. No figure is compared with a target: the machine is shared and
 * noisy. Then a few unit tests of the bench's parsing and arithmetic.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

interface ModeResult {
  kind: 'traffic' | 'idle' | 'storm' | 'failed';
  mode: 'gateway' | 'minimal' | 'direct';
  messagesPerSec?: number;
  middleCountedPerSec?: number | null;
  megabytesPerSec?: number;
  roundTrips?: number;
  rttUs?: { p50: number; p99: number; p999: number };
  middleCpuPercent?: number | null;
  middlePeakRssBytes?: number | null;
  bytesPerConnection?: number | null;
  heapBytesPerConnection?: number | null;
  idleCpuPercent?: number | null;
  bytesPerConnectionAfterIdle?: number | null;
  connections?: number;
  errors?: string[];
  error?: string;
  storms?: {
    clients: number;
    done: number;
    allDoneMs: number;
    p50Ms: number;
    p99Ms: number;
    rssBeforeBytes: number | null;
    rssPeakBytes: number | null;
    rssConnectedBytes: number | null;
    rssAfterBytes: number | null;
    errors: string[];
  }[];
}
interface Results {
  scenarios: {
    scenario: { name: string };
    gateway: ModeResult;
    direct: ModeResult | null;
    raw?: ModeResult | null;
    messagesPerCpuSecond: { gateway: number | null; raw?: number | null };
    limit: { directOverGateway: number | null; byRatio: boolean; byCpu: boolean; shown: boolean } | null;
    ratio: { messagesPerSec: number | null; tcpMessagesPerSec: number | null; rawMessagesPerSec?: number | null };
  }[];
  processes: { role: string; pid: number; exitCode: number | null; signal: string | null }[];
}

let dir: string;
let jsonPath: string;
let chartPath: string;
let exitCode: number | null;
let output = '';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fastway-bench-'));
  jsonPath = join(dir, 'results.json');
  chartPath = join(dir, 'chart.svg');
  const args = ['--import', 'tsx', 'bench/run.ts', '--duration', '1s', '--warmup', '0s', '--clients', 'd=100,e=1000,f=200', '--storms', '2', '--storm-settle', '0s', '--idle-window', '1s'];
  args.push('--json-out', jsonPath, '--chart', chartPath);
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function results(): Results {
  return JSON.parse(readFileSync(jsonPath, 'utf8')) as Results;
}

test('the bench exits 0 and writes its results JSON and chart', () => {
  assert.equal(exitCode, 0, output);
  const r = results();
  assert.deepEqual(
    r.scenarios.map((s) => s.scenario.name),
    ['a', 'b', 'bws', 'c', 'd', 'e', 'ep', 'f'],
  );
  assert.match(output, /msg\/s/);
  assert.match(output, /RSS\/conn/);
  // The report names the Node version it ran on, and says for each traffic scenario whether the figure is the gateway's limit.
  assert.match(output, new RegExp(`^Node ${process.version.replace(/\./g, '\\.')} on \\d+ × `, 'm'));
  assert.match(output, /^Is the figure the gateway's limit\?/m);
  for (const name of ['a', 'b', 'bws', 'c', 'd', 'ep']) assert.match(output, new RegExp(`^  ${name} +(yes \\((ratio|CPU)\\)|NOT SHOWN) `, 'm'), name);
  const svg = readFileSync(chartPath, 'utf8');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const label of ['a latency', 'bws b over WebSocket', 'd many players', 'e 1000 idle', 'direct (no gateway)']) assert.ok(svg.includes(label), label);
});

for (const name of ['a', 'b', 'c', 'd']) {
  test(`scenario ${name} moves messages through the gateway and directly`, () => {
    const s = results().scenarios.find((x) => x.scenario.name === name)!;
    for (const side of [s.gateway, s.direct!]) {
      assert.equal(side.kind, 'traffic', side.error);
      assert.ok(side.messagesPerSec! > 0, `${side.mode} msg/s ${side.messagesPerSec}`);
      assert.ok(side.megabytesPerSec! > 0);
      assert.ok(side.rttUs!.p50 > 0 && side.rttUs!.p50 <= side.rttUs!.p99 && side.rttUs!.p99 <= side.rttUs!.p999);
      assert.deepEqual(side.errors, []);
    }
    // The gateway's own frame count confirms the traffic went through it.
    assert.ok(s.gateway.middleCountedPerSec! > 0);
    assert.equal(s.direct!.middleCountedPerSec, null);
    assert.ok(s.gateway.middleCpuPercent! > 0);
    // Capacity per core: msg/s scaled by the gateway's CPU share.
    const perCpu = (s.gateway.messagesPerSec! * 100) / s.gateway.middleCpuPercent!;
    assert.ok(Math.abs(s.messagesPerCpuSecond.gateway! - perCpu) <= perCpu * 1e-9, `msg/CPU-s ${s.messagesPerCpuSecond.gateway} vs ${perCpu}`);
    assert.ok(s.gateway.middlePeakRssBytes! > 0);
    assert.ok(s.ratio.messagesPerSec! > 0);
    // The limit check is the report's arithmetic on the same figures.
    const limit = s.limit!;
    assert.equal(limit.directOverGateway, s.direct!.messagesPerSec! / s.gateway.messagesPerSec!);
    assert.equal(limit.byRatio, limit.directOverGateway! >= 1.5);
    assert.equal(limit.shown, limit.byRatio || limit.byCpu);
  });
}

test('scenario bws moves messages through the gateway over WebSocket and is compared with b over TCP', () => {
  const r = results();
  const s = r.scenarios.find((x) => x.scenario.name === 'bws')!;
  const b = r.scenarios.find((x) => x.scenario.name === 'b')!;
  assert.equal(s.gateway.kind, 'traffic', s.gateway.error);
  assert.ok(s.gateway.messagesPerSec! > 0, `msg/s ${s.gateway.messagesPerSec}`);
  assert.ok(s.gateway.rttUs!.p50 > 0 && s.gateway.rttUs!.p50 <= s.gateway.rttUs!.p99);
  assert.deepEqual(s.gateway.errors, []);
  // The gateway's own frame count confirms the traffic went through it.
  assert.ok(s.gateway.middleCountedPerSec! > 0);
  // No direct baseline over WebSocket: the ratio is to b through the gateway over TCP.
  assert.equal(s.direct, null);
  assert.equal(s.ratio.messagesPerSec, null);
  assert.equal(s.ratio.tcpMessagesPerSec, s.gateway.messagesPerSec! / b.gateway.messagesPerSec!);
  assert.match(output, /bws b over WebSocket .* gateway .* ÷ b\n/);
});

test('scenario ep moves messages between endpoint-library processes through the gateway and is compared with the raw load', () => {
  const s = results().scenarios.find((x) => x.scenario.name === 'ep')!;
  for (const side of [s.gateway, s.raw!]) {
    assert.equal(side.kind, 'traffic', side.error);
    assert.equal(side.mode, 'gateway');
    assert.ok(side.messagesPerSec! > 0, `msg/s ${side.messagesPerSec}`);
    assert.ok(side.rttUs!.p50 > 0 && side.rttUs!.p50 <= side.rttUs!.p99 && side.rttUs!.p99 <= side.rttUs!.p999);
    assert.deepEqual(side.errors, []);
    // The gateway's own frame count confirms the traffic went through it.
    assert.ok(side.middleCountedPerSec! > 0);
  }
  assert.ok(s.messagesPerCpuSecond.gateway! > 0 && s.messagesPerCpuSecond.raw! > 0);
  // No direct baseline: the ratio is to the raw-protocol load of the same shape, same run.
  assert.equal(s.direct, null);
  assert.equal(s.ratio.messagesPerSec, null);
  assert.equal(s.ratio.rawMessagesPerSec, s.gateway.messagesPerSec! / s.raw!.messagesPerSec!);
  assert.match(output, /ep endpoint library +1 × 4 × 64 B × 32 .* gateway .* ÷ raw\n +raw /);
});

test('scenario e measures the gateway memory cost per idle connection', () => {
  const s = results().scenarios.find((x) => x.scenario.name === 'e')!;
  assert.equal(s.gateway.kind, 'idle', s.gateway.error);
  assert.equal(s.gateway.connections, 1000);
  // At 1,000 connections the RSS difference is within the allocator's noise (it has come out
  // negative on a busy machine), so the smoke run asserts the heap figure, taken after a forced
  // GC (about 1.3 KiB a connection), and only that an RSS figure was measured.
  assert.ok(Number.isFinite(s.gateway.bytesPerConnection), `gateway RSS bytes/conn ${s.gateway.bytesPerConnection}`);
  assert.ok(s.gateway.heapBytesPerConnection! > 0, `gateway heap bytes/conn ${s.gateway.heapBytesPerConnection}`);
  assert.equal(s.direct!.kind, 'idle', s.direct!.error);
  // Then a second of idleness: the gateway's CPU over it, and the memory per connection again.
  assert.ok(s.gateway.idleCpuPercent! >= 0 && s.gateway.idleCpuPercent! < 200, `idle CPU ${s.gateway.idleCpuPercent}`);
  assert.ok(Number.isFinite(s.gateway.bytesPerConnectionAfterIdle), `after idle ${s.gateway.bytesPerConnectionAfterIdle}`);
  assert.match(output, /RSS\/conn after idle/);
});

test('scenario f: every storm client round-trips its message, through the gateway and directly, storm after storm', () => {
  const s = results().scenarios.find((x) => x.scenario.name === 'f')!;
  for (const side of [s.gateway, s.direct!]) {
    assert.equal(side.kind, 'storm', side.error);
    assert.equal(side.storms!.length, 2);
    for (const st of side.storms!) {
      assert.equal(st.clients, 200);
      assert.equal(st.done, 200, JSON.stringify(st.errors));
      assert.ok(st.allDoneMs > 0 && st.p50Ms <= st.p99Ms && st.p99Ms <= st.allDoneMs, JSON.stringify(st));
      assert.ok(st.rssBeforeBytes! > 0 && st.rssPeakBytes! >= st.rssConnectedBytes! && st.rssAfterBytes! > 0, JSON.stringify(st));
    }
  }
  assert.match(output, /^f reconnect storm +200 at once × 256 B +gateway +1 +200\/200 /m);
});

test('every child process exited cleanly', () => {
  const { processes } = results();
  const roles = new Set(processes.map((p) => p.role));
  for (const role of ['gateway', 'echo server 1', 'load generator 1', 'endpoint server 1', 'endpoint client 1']) assert.ok(roles.has(role), role);
  // a–d: gateway + echo + generator, then echo + generator; bws: gateway + echo + generator;
  // e: gateway + generator, then echo + generator; ep: gateway + endpoint server + endpoint
  // client, then gateway + echo + generator; f: gateway + echo + generator, then echo + generator.
  assert.equal(processes.length, 4 * 5 + 3 + 4 + 6 + 5);
  for (const p of processes) {
    assert.deepEqual({ role: p.role, exitCode: p.exitCode, signal: p.signal }, { role: p.role, exitCode: 0, signal: null });
    assert.equal(alive(p.pid), false, `${p.role} (pid ${p.pid}) is still running`);
  }
});

// The bench's own parsing and arithmetic, without processes.

test('durations, per-scenario overrides and addresses parse, and bad ones are refused', async () => {
  const { parseAddress, parseBenchArgs, parseDuration, parseOverride } = await import('../bench/options.js');
  assert.equal(parseDuration('500ms', 'duration'), 500);
  assert.equal(parseDuration('5s', 'duration'), 5000);
  assert.equal(parseDuration('1.5m', 'duration'), 90_000);
  assert.equal(parseDuration('2', 'duration'), 2); // plain digits are ms, as in the gateway's flags
  assert.throws(() => parseDuration('5 parsecs', 'duration'), /--duration/);
  assert.deepEqual(parseOverride('20', 'clients'), { '*': 20 });
  assert.deepEqual(parseOverride('d=100,e=500', 'clients'), { d: 100, e: 500 });
  assert.throws(() => parseOverride('x=1', 'clients'), /unknown scenario "x"/);
  assert.throws(() => parseOverride('0', 'clients'), /≥ 1/);
  assert.deepEqual(parseAddress('[::1]:7000', 'gateway'), { host: '::1', port: 7000 });
  assert.throws(() => parseAddress('localhost', 'gateway'), /host:port/);

  const opts = parseBenchArgs(['--scenarios', 'd,a', '--clients', '3,d=7', '--size', 'a=16'])!;
  assert.deepEqual(
    opts.scenarios.map((s) => [s.name, s.clients, s.vconns, s.size, s.inflight]),
    [
      ['a', 3, 1, 16, 1],
      ['d', 7, 1, 256, 1],
    ],
  );
  assert.equal(parseBenchArgs(['--help']), null);
  assert.throws(() => parseBenchArgs(['--gateway', '127.0.0.1:1,127.0.0.1:2']), /--auth-key/);
  assert.throws(() => parseBenchArgs(['--size', '4']), /--size/);
  assert.throws(() => parseBenchArgs(['--scenarios', 'a,z']), /unknown scenario "z"/);

  // bws needs a WebSocket address: an external gateway without one leaves it out, or refuses it when asked for.
  const external = ['--gateway', '127.0.0.1:1,127.0.0.1:2', '--auth-key', 'k'];
  assert.deepEqual(
    parseBenchArgs(external)!.scenarios.map((s) => s.name),
    ['a', 'b', 'c', 'd', 'e', 'ep', 'f'],
  );
  assert.throws(() => parseBenchArgs([...external, '--scenarios', 'b,bws']), /--gateway-ws/);
  const withWs = parseBenchArgs([...external, '--scenarios', 'bws', '--gateway-ws', '127.0.0.1:3', '--inflight', 'bws=2'])!;
  assert.deepEqual(withWs.gatewayWs, { host: '127.0.0.1', port: 3 });
  assert.deepEqual(
    withWs.scenarios.map((s) => [s.name, s.transport, s.inflight]),
    [['bws', 'websocket', 2]],
  );
  assert.throws(() => parseBenchArgs(['--gateway-ws', '127.0.0.1:3']), /goes with --gateway/);
  assert.deepEqual(
    parseBenchArgs([])!.scenarios.map((s) => s.name),
    ['a', 'b', 'bws', 'c', 'd', 'e', 'ep', 'f'],
  );
  // ep's default shape, and its overrides.
  assert.deepEqual(
    parseBenchArgs(['--scenarios', 'ep'])!.scenarios.map((s) => [s.name, s.clients, s.vconns, s.size, s.inflight, s.load]),
    [['ep', 1, 4, 64, 32, 'endpoint']],
  );
  assert.deepEqual(
    parseBenchArgs(['--scenarios', 'a,ep', '--inflight', 'ep=8', '--vconns', '2'])!.scenarios.map((s) => [s.name, s.vconns, s.inflight]),
    [
      ['a', 2, 1],
      ['ep', 2, 8],
    ],
  );
});

test('the median run is a real middle run, and a failed run is never hidden', async () => {
  const { medianRun } = await import('../bench/report.js');
  const run = (messagesPerSec: number) => ({ kind: 'traffic', mode: 'gateway', messagesPerSec }) as never;
  assert.equal((medianRun([run(3), run(1), run(2)]) as { messagesPerSec: number }).messagesPerSec, 2);
  assert.equal((medianRun([run(4), run(1), run(3), run(2)]) as { messagesPerSec: number }).messagesPerSec, 2);
  const failed = { kind: 'failed', mode: 'gateway', error: 'boom' } as const;
  assert.equal(medianRun([run(1), failed, run(2)]), failed);
});

test('the latency recorder keeps fast and slow round trips alike', async () => {
  const { LatencyRecorder } = await import('../bench/latency-recorder.js');
  const rec = new LatencyRecorder();
  for (let i = 0; i < 98; i++) rec.record(100.4); // flat array, rounded to 100 µs
  rec.record(0.2); // below 1 µs counts as 1
  rec.record(250_000); // past the flat array: straight into the histogram
  assert.equal(rec.count, 100);
  const h = rec.toHistogram();
  assert.equal(h.totalCount, 100);
  assert.equal(h.minNonZeroValue, 1);
  assert.equal(h.getValueAtPercentile(50), 100);
  assert.ok(Math.abs(h.maxValue - 250_000) / 250_000 < 0.001);
  rec.reset();
  assert.equal(rec.toHistogram().totalCount, 0);
});

test('the limit check: the direct ratio, or the gateway at its core while the load side has room', async () => {
  const { checkLimit } = await import('../bench/report.js');
  const run = (messagesPerSec: number, middleCpuPercent: number, load: number[], loadCores = 1) =>
    ({
      kind: 'traffic',
      mode: 'gateway',
      messagesPerSec,
      middleCpuPercent,
      loadCpuPercent: load.reduce((a, b) => a + b, 0),
      loadProcessCpuPercent: load,
      loadCores,
      loadAverage: { start: [0.5, 0.5, 0.5], end: [0.5, 0.5, 0.5] },
    }) as never;
  // Direct moved 1.6× as much: shown by the ratio whatever the CPU figures.
  assert.deepEqual(
    (({ byRatio, byCpu, shown }) => ({ byRatio, byCpu, shown }))(checkLimit(run(100, 50, [90]), run(160, 99, [90]), true)),
    { byRatio: true, byCpu: false, shown: true },
  );
  // Gateway at 97 %, load side at 60 % of its one core: shown by CPU.
  assert.equal(checkLimit(run(100, 97, [40, 20]), run(120, 99, [60]), true).byCpu, true);
  // The load side at its core (all together, or one process): not shown.
  assert.equal(checkLimit(run(100, 97, [50, 46]), run(120, 99, [60]), true).shown, false);
  assert.equal(checkLimit(run(100, 97, [96], 3), null, true).shown, false);
  // Unpinned on 2 cores the load side can use what the gateway leaves: 200 − 97.
  const unpinned = checkLimit(run(100, 97, [60, 30], 2), null, false);
  assert.equal(unpinned.loadCapacityPercent, 103);
  assert.equal(unpinned.byCpu, true);
  assert.equal(checkLimit(run(100, 94, [10]), null, true).shown, false);
});

test('--load-procs sets the load processes, --workers is its other name', async () => {
  const { parseBenchArgs } = await import('../bench/options.js');
  assert.equal(parseBenchArgs(['--load-procs', '3'])!.workers, 3);
  assert.equal(parseBenchArgs(['--workers', '2'])!.workers, 2);
  assert.equal(parseBenchArgs([])!.workers, 1);
  assert.throws(() => parseBenchArgs(['--load-procs', '2', '--workers', '2']), /same option/);
  assert.throws(() => parseBenchArgs(['--load-procs', '0']), /--load-procs/);
  // Scenario f's own options.
  const f = parseBenchArgs(['--scenarios', 'f', '--storms', '3', '--storm-settle', '5s', '--size', 'f=64', '--listen-backlog', '4096'])!;
  assert.deepEqual([f.storms, f.stormSettleMs, f.scenarios[0]!.size, f.scenarios[0]!.clients, f.listenBacklog], [3, 5000, 64, 10_000, 4096]);
  assert.equal(parseBenchArgs([])!.listenBacklog, null);
  assert.throws(() => parseBenchArgs(['--gateway', '127.0.0.1:1,127.0.0.1:2', '--auth-key', 'k', '--listen-backlog', '10']), /--listen-backlog/);
});
