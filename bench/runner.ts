import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BenchChild, type ChildRecord } from './child.js';
import type { Reply } from './ipc.js';
import { createHistogram, decodeHistogram } from './latency-recorder.js';
import type { ClientTarget } from './load-client.js';
import type { Address, BenchOptions } from './options.js';
import { type Probe, type ProbeSample, childProbe, procProbe } from './probe.js';
import type { Scenario } from './scenarios.js';

/**
 * What sits between the load clients and the echo servers:
 * - `gateway`: our gateway (or the external one given with --gateway);
 * - `minimal`: the minimal forwarder (minimal-forwarder.ts), the fast path with no checks;
 * - `direct`: nothing; the clients connect straight to the echo servers (the limit).
 */
export type Mode = 'gateway' | 'minimal' | 'direct';

/** Round-trip time percentiles, in µs. */
export interface RoundTripStats {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** One traffic scenario (a–d) in one mode. */
export interface TrafficResult {
  kind: 'traffic';
  mode: Mode;
  /** Round trips completed while measuring. */
  roundTrips: number;
  /** Measured time, in seconds. */
  seconds: number;
  /** One-way messages through the middle per second, both directions (a round trip is 2). */
  messagesPerSec: number;
  /** Message bytes (without frame headers) per second, both directions, in MB (10^6). */
  megabytesPerSec: number;
  /**
   * Data frames per second by the gateway's own count (its stats), over about the same
   * time: a cross-check of `messagesPerSec`. Null for other middles.
   */
  middleCountedPerSec: number | null;
  rttUs: RoundTripStats;
  /**
   * CPU time of the middle over the measurement, in % of one core: the gateway or minimal
   * forwarder; in direct mode the echo servers (which take the gateway's place). Null for an
   * external gateway without --gateway-pid.
   */
  middleCpuPercent: number | null;
  /** Peak RSS of the gateway or minimal forwarder process, in bytes (null in direct mode). */
  middlePeakRssBytes: number | null;
  /**
   * The load side, in % of one core: load generators, and echo servers unless direct (in ep:
   * the endpoint clients and servers).
   * Near 100 % with --pin means the load side, not the middle, is the limit.
   */
  loadCpuPercent: number;
  /** The same, process by process (generators first, then echo servers unless direct). */
  loadProcessCpuPercent: number[];
  /** Cores the load side had: the cores other than the gateway's with --pin, else every core. */
  loadCores: number;
  /** The machine's 1-, 5- and 15-minute load averages when the measurement started and ended. */
  loadAverage: { start: number[]; end: number[] };
  errors: string[];
}

/** The idle scenario (e) in one mode. */
export interface IdleResult {
  kind: 'idle';
  mode: Mode;
  connections: number;
  /** RSS of the process holding the connections (gateway, forwarder, or in direct mode the echo server) before and after they connected. */
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
  /** (RSS after − RSS before) / connections. */
  bytesPerConnection: number | null;
  /** The same for the V8 heap (null for an external gateway). */
  heapBytesPerConnection: number | null;
  peakRssBytes: number | null;
  /** The middle's CPU over `idleWindowMs` of idleness after the measurement, in % of one core (the liveness sweep, and the Pings when the interval is short). */
  idleCpuPercent: number | null;
  idleWindowMs: number;
  /** Our gateway's ping interval in this run (--ping-interval), ms. */
  pingIntervalMs: number;
  /** RSS per connection again at the end of the idle window (after a full GC): with Pings, what a pinged idle connection holds. */
  bytesPerConnectionAfterIdle: number | null;
  errors: string[];
}

/** One storm of scenario f: every client connected at once and round-tripped one message. */
export interface StormRound {
  clients: number;
  /** Clients whose message came back. */
  done: number;
  /** From the storm's start until the last client's echo, in ms. */
  allDoneMs: number;
  /** Completion times' median and 99th percentile, in ms from the start. */
  p50Ms: number;
  p99Ms: number;
  /** Connections that failed before their round trip (each was retried, up to a limit). */
  connectionErrors: number;
  retries: number;
  /** Connects that took ≥ 0.9 s: the kernel dropped their first SYN (a full listen queue) and they waited for its retransmit. */
  slowConnects: number;
  /** The kernel's TcpExt ListenOverflows and ListenDrops over the storm (the whole machine's: other processes' count too). */
  listenOverflows: number | null;
  listenDrops: number | null;
  /** The middle's RSS before the storm, its peak during it, with every client connected, and `settleMs` after they left (bytes). */
  rssBeforeBytes: number | null;
  rssPeakBytes: number | null;
  rssConnectedBytes: number | null;
  rssAfterBytes: number | null;
  /** What the RSS after holds, as Node tells it (bytes): V8 heap in use and reserved, memory outside the heap (Buffers, native). */
  heapUsedAfterBytes: number | null;
  heapTotalAfterBytes: number | null;
  externalAfterBytes: number | null;
  /** CPU time of the middle and of the load side during the storm, in ms. */
  middleCpuMs: number | null;
  loadCpuMs: number;
  /** A few of the clients' failures. */
  errors: string[];
}

/** Scenario f in one mode: several storms in one middle process. */
export interface StormResult {
  kind: 'storm';
  mode: Mode;
  clients: number;
  settleMs: number;
  storms: StormRound[];
  /** The middle's RSS after the last storm and a forced full GC (bytes). */
  rssAfterLastGcBytes: number | null;
  errors: string[];
}

/** A scenario run that could not finish. */
export interface FailedResult {
  kind: 'failed';
  mode: Mode;
  error: string;
}

export type ModeResult = TrafficResult | IdleResult | StormResult | FailedResult;

/** Longest wait for the middle to report every idle connection accepted. */
const IDLE_ACCEPT_TIMEOUT_MS = 60_000;
/** How long an external gateway gets to accept the idle connections before its memory is read. */
const EXTERNAL_SETTLE_MS = 1000;
/** Core of the gateway, and the cores of everything else, with --pin (core 1 on a 2-core machine). */
const GATEWAY_CORE = 0;
const CORE_COUNT = cpus().length;
const LOAD_CORE = CORE_COUNT > 2 ? `1-${CORE_COUNT - 1}` : '1';

/** A generator's share of a storm (load-generator.ts). */
interface StormShareReply extends Reply {
  clients: number;
  done: number;
  errors: number;
  retries: number;
  slowConnects: number;
  elapsedMs: number[];
  lastErrors: string[];
  cpuUs: number;
}

/** The kernel's listen queue overflow and drop counters (TcpExt in /proc/net/netstat); null where unreadable. */
function listenCounters(): { overflows: number; drops: number } | null {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/).map(Number);
    const get = (name: string): number => values[names.indexOf(name)]!;
    return { overflows: get('ListenOverflows'), drops: get('ListenDrops') };
  } catch {
    return null;
  }
}

/** Waits until the middle holds no client connection (or the timeout passes). */
async function waitForNoConnections(middle: Probe, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const now = await middle.sample();
    if (now.connections === null || now.connections === 0 || performance.now() > deadline) return;
    await delay(50);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function percent(cpuUs: number, wallMs: number): number {
  return wallMs > 0 ? (cpuUs / (wallMs * 1000)) * 100 : 0;
}

/** Runs scenarios, each in its own set of processes, and keeps the record of every process. */
export class Runner {
  /** Every child process started so far, and how it ended. */
  readonly processes: ChildRecord[] = [];
  private readonly opts: BenchOptions;
  private readonly progress: (line: string) => void;
  /** Children of the run in progress, in start order. */
  private live: BenchChild[] = [];
  /** `b-gateway` while scenario b runs through the gateway, `ep-raw-gateway` for ep's raw twin (names CPU profiles). */
  private runLabel = '';
  /** `ep raw` for ep's raw twin, else the scenario's name (progress lines). */
  private progressLabel = '';

  constructor(opts: BenchOptions, progress: (line: string) => void) {
    this.opts = opts;
    this.progress = progress;
  }

  /**
   * Runs `scenario` in `mode` and stops every process it started, whatever happens.
   * `variant` (`raw` for ep's raw-load twin) tells apart runs of one scenario in one mode.
   */
  async run(scenario: Scenario, mode: Mode, variant = ''): Promise<ModeResult> {
    this.live = [];
    this.runLabel = variant === '' ? `${scenario.name}-${mode}` : `${scenario.name}-${variant}-${mode}`;
    this.progressLabel = variant === '' ? scenario.name : `${scenario.name} ${variant}`;
    try {
      if (scenario.kind === 'storm') return await this.storm(scenario, mode);
      return scenario.kind === 'idle' ? await this.idle(scenario, mode) : await this.traffic(scenario, mode);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.progress(`  ${this.progressLabel} ${mode.padEnd(7)}  FAILED: ${error}`);
      return { kind: 'failed', mode, error };
    } finally {
      // Load side first, the gateway last: as in a real shutdown.
      for (const child of this.live.reverse()) this.processes.push(await child.stop());
      this.live = [];
    }
  }

  private spawn(role: string, script: string, config: object | null, core: number | string, execArgv: string[] = []): BenchChild {
    const prof = this.opts.cpuProfDir;
    const child = BenchChild.fork(role, script, config === null ? [] : [JSON.stringify(config)], {
      ...(this.opts.pin ? { core } : {}),
      execArgv: prof === null ? execArgv : [...execArgv, '--cpu-prof', `--cpu-prof-dir=${join(prof, `${this.runLabel}-${role.replace(/ /g, '-')}`)}`],
    });
    this.live.push(child);
    return child;
  }

  /**
   * The process in the middle for `mode` (none for direct): its client and server addresses
   * (and WebSocket client address, when asked for), and how to read its CPU and memory.
   */
  private async middle(
    mode: 'gateway' | 'minimal',
    webSocket = false,
  ): Promise<{ client: Address; server: Address; moreServers: Address[]; clientWs: Address | null; probe: Probe | null }> {
    const o = this.opts;
    if (webSocket && mode !== 'gateway') throw new Error(`the ${mode} mode has no WebSocket listener`);
    if (mode === 'gateway' && o.gateway !== null) {
      return { ...o.gateway, clientWs: o.gatewayWs, probe: o.gatewayPid === null ? null : procProbe(o.gatewayPid) };
    }
    const child = await (mode === 'gateway'
      ? this.spawn(
          'gateway',
          'gateway-process.ts',
          { host: o.host, authKey: o.authKey, webSocket, busyPollMicros: o.busyPollMicros, listenBacklog: o.listenBacklog, pingIntervalMs: o.pingIntervalMs },
          GATEWAY_CORE,
          ['--expose-gc'],
        )
      : this.spawn('minimal forwarder', 'minimal-forwarder.ts', { host: o.host, onread: o.minimalOnread }, GATEWAY_CORE, ['--expose-gc'])
    ).ready();
    const clientWs = (child.info.clientWs as Address | undefined) ?? null;
    return { client: child.info.client as Address, server: child.info.server as Address, moreServers: [], clientWs, probe: childProbe(child) };
  }

  /** The load clients: raw-protocol load generators, or with `endpoint` game clients on the endpoint library. */
  private generators(endpoint = false): BenchChild[] {
    return range(this.opts.workers).map((w) =>
      endpoint
        ? this.spawn(`endpoint client ${w + 1}`, 'endpoint-client.ts', null, LOAD_CORE)
        : this.spawn(`load generator ${w + 1}`, 'load-generator.ts', null, LOAD_CORE),
    );
  }

  /** Sets the generators up with the targets dealt round-robin. */
  private async setup(gens: BenchChild[], targets: ClientTarget[], size: number): Promise<void> {
    await Promise.all(gens.map((g) => g.ready()));
    await Promise.all(gens.map((g, w) => g.request('setup', { targets: targets.filter((_, i) => i % gens.length === w), size })));
  }

  private async traffic(s: Scenario, mode: Mode): Promise<TrafficResult> {
    const o = this.opts;
    const label = `  ${this.progressLabel} ${mode.padEnd(7)}`;
    const endpoint = s.load === 'endpoint';
    let middle: Probe | null = null;
    let echoes: BenchChild[];
    let gens: BenchChild[];
    let targets: ClientTarget[];
    if (mode !== 'direct') {
      const webSocket = s.transport === 'websocket';
      const mid = await this.middle(mode, webSocket);
      middle = mid.probe;
      if (webSocket && mid.clientWs === null) throw new Error('no WebSocket client address for the gateway (--gateway-ws)');
      const entry = webSocket ? { ...mid.clientWs!, transport: 'websocket' as const, path: '/' } : mid.client;
      if (endpoint && webSocket) throw new Error('the endpoint scenario runs over TCP only');
      // The game servers: raw-protocol echo servers, or endpoint-library ones (same config, same core).
      // Every game server attaches to every server listener (several with fastway --workers).
      const serverAddrs = [mid.server, ...mid.moreServers];
      echoes = range(o.servers).flatMap((i) =>
        serverAddrs.map((addr, k) =>
          endpoint
            ? this.spawn(`endpoint server ${i + 1}`, 'endpoint-server.ts', { ...addr, authKey: o.authKey, serverId: i + 1 }, LOAD_CORE)
            : this.spawn(`echo server ${i + 1}${k > 0 ? `.${k}` : ''}`, 'echo-server.ts', { mode: 'gateway', ...addr, authKey: o.authKey, serverId: i + 1 }, LOAD_CORE),
        ),
      );
      gens = this.generators(endpoint);
      await Promise.all(echoes.map((e) => e.ready()));
      targets = range(s.clients).map((i) => ({ ...entry, serverId: (i % o.servers) + 1, vconns: s.vconns }));
    } else {
      if (s.transport !== 'tcp') throw new Error('the direct baseline has no WebSocket');
      if (endpoint) throw new Error('the endpoint scenario has no direct baseline');
      // With no gateway, the echo servers take its place (and its core).
      echoes = range(o.servers).map((i) => this.spawn(`echo server ${i + 1}`, 'echo-server.ts', { mode: 'direct', host: o.host }, GATEWAY_CORE, ['--expose-gc']));
      gens = this.generators();
      await Promise.all(echoes.map((e) => e.ready()));
      targets = range(s.clients).map((i) => ({ host: o.host, port: echoes[i % echoes.length]!.info.port as number, serverId: 1, vconns: s.vconns }));
    }
    await this.setup(gens, targets, s.size);
    await Promise.all(gens.map((g) => g.request('start', { inflight: s.inflight })));
    this.progress(`${label}  ${s.clients * s.vconns} virtual connections up; warming up ${o.warmupMs} ms`);
    if (o.warmupMs > 0) await delay(o.warmupMs);

    const echoProbes = echoes.map(childProbe);
    const sampleAll = (): Promise<[ProbeSample | null, ProbeSample[]]> =>
      Promise.all([middle === null ? null : middle.sample(), Promise.all(echoProbes.map((p) => p.sample()))]);
    const [middle0, echo0] = await sampleAll();
    const loadAtStart = loadavg();
    await Promise.all(gens.map((g) => g.request('measure')));
    const start = performance.now();

    // One progress line a second.
    let lastTrips = 0;
    let lastAt = start;
    let lastCpu = middle0?.cpuUs ?? 0;
    for (;;) {
      const left = o.durationMs - (performance.now() - start);
      if (left <= 0) break;
      await delay(Math.min(1000, left));
      const [counts, now] = await Promise.all([
        Promise.all(gens.map((g) => g.request<{ id: number; roundTrips: number; errors: number }>('progress'))),
        middle === null ? null : middle.sample(),
      ]);
      const at = performance.now();
      const trips = counts.reduce((sum, c) => sum + c.roundTrips, 0);
      const rate = ((trips - lastTrips) * 2) / ((at - lastAt) / 1000);
      const cpu = now === null ? '' : `  ${mode} CPU ${percent(now.cpuUs - lastCpu, at - lastAt).toFixed(0)}%`;
      const errs = counts.reduce((sum, c) => sum + c.errors, 0);
      this.progress(
        `${label}  ${((at - start) / 1000).toFixed(0)}/${(o.durationMs / 1000).toFixed(0)}s  ${Math.round(rate).toLocaleString('en-US')} msg/s${cpu}${errs > 0 ? `  ${errs} errors` : ''}`,
      );
      lastTrips = trips;
      lastAt = at;
      lastCpu = now?.cpuUs ?? 0;
    }

    const stops = await Promise.all(
      gens.map((g) => g.request<{ id: number; roundTrips: number; elapsedMs: number; cpuUs: number; histogram: string; errors: string[] }>('stop')),
    );
    const [middle1, echo1] = await sampleAll();
    const wallMs = performance.now() - start;

    const histogram = createHistogram();
    for (const st of stops) histogram.add(decodeHistogram(st.histogram));
    const messagesPerSec = stops.reduce((sum, st) => sum + (st.roundTrips * 2) / (st.elapsedMs / 1000), 0);
    const genCpuUs = stops.reduce((sum, st) => sum + st.cpuUs, 0);
    const echoCpuEach = echo1.map((e, i) => e.cpuUs - echo0[i]!.cpuUs);
    const echoCpuUs = echoCpuEach.reduce((sum, us) => sum + us, 0);
    const loadEach = mode === 'direct' ? stops.map((st) => st.cpuUs) : [...stops.map((st) => st.cpuUs), ...echoCpuEach];
    const counted = middle0?.framesForwarded != null && middle1?.framesForwarded != null ? middle1.framesForwarded - middle0.framesForwarded : null;
    let middleCpuPercent: number | null = null;
    if (mode === 'direct') middleCpuPercent = percent(echoCpuUs, wallMs);
    else if (middle0 !== null && middle1 !== null) middleCpuPercent = percent(middle1.cpuUs - middle0.cpuUs, wallMs);
    return {
      kind: 'traffic',
      mode,
      roundTrips: stops.reduce((sum, st) => sum + st.roundTrips, 0),
      seconds: Math.max(...stops.map((st) => st.elapsedMs)) / 1000,
      messagesPerSec,
      megabytesPerSec: (messagesPerSec * s.size) / 1e6,
      middleCountedPerSec: counted === null ? null : counted / (wallMs / 1000),
      rttUs: {
        p50: histogram.getValueAtPercentile(50),
        p99: histogram.getValueAtPercentile(99),
        p999: histogram.getValueAtPercentile(99.9),
        max: histogram.maxValue,
        mean: histogram.mean,
      },
      middleCpuPercent,
      middlePeakRssBytes: mode !== 'direct' && middle1 !== null ? middle1.peakRss : null,
      loadCpuPercent: percent(mode === 'direct' ? genCpuUs : genCpuUs + echoCpuUs, wallMs),
      loadProcessCpuPercent: loadEach.map((us) => percent(us, wallMs)),
      loadCores: o.pin ? CORE_COUNT - 1 : CORE_COUNT,
      loadAverage: { start: loadAtStart, end: loadavg() },
      errors: stops.flatMap((st) => st.errors),
    };
  }

  private async idle(s: Scenario, mode: Mode): Promise<IdleResult> {
    const o = this.opts;
    const label = `  ${this.progressLabel} ${mode.padEnd(7)}`;
    let middle: Probe | null;
    let address: Address;
    if (mode !== 'direct') {
      const mid = await this.middle(mode);
      middle = mid.probe;
      address = mid.client;
    } else {
      const echo = await this.spawn('echo server 1', 'echo-server.ts', { mode: 'direct', host: o.host }, GATEWAY_CORE, ['--expose-gc']).ready();
      middle = childProbe(echo);
      address = { host: o.host, port: echo.info.port as number };
    }
    const gens = this.generators();
    await Promise.all(gens.map((g) => g.ready()));
    const before = middle === null ? null : await middle.sample(true);
    this.progress(`${label}  connecting ${s.clients} idle clients`);
    await this.setup(
      gens,
      range(s.clients).map(() => ({ ...address, serverId: 0, vconns: 0 })),
      8,
    );
    // Wait for the middle to have accepted every connection (it may lag the clients' connects).
    let after: ProbeSample | null = null;
    if (middle !== null) {
      const deadline = performance.now() + IDLE_ACCEPT_TIMEOUT_MS;
      for (;;) {
        const now = await middle.sample();
        if (now.connections === null) {
          // An external gateway cannot say how many it holds: give it a moment to accept them all.
          await delay(EXTERNAL_SETTLE_MS);
          break;
        }
        if (now.connections >= s.clients) break;
        if (performance.now() > deadline) throw new Error(`only ${now.connections} of ${s.clients} connections reached the ${mode === 'direct' ? 'echo server' : mode}`);
        await delay(50);
      }
      after = await middle.sample(true);
    }
    // Then the connections sit idle for a while: what does the middle spend on them (the
    // liveness sweep, and with a short --ping-interval the Pings and their answers), and
    // what do they hold once pinged?
    let idleCpuPercent: number | null = null;
    let rssAfterIdleBytes: number | null = null;
    if (middle !== null && after !== null && o.idleWindowMs > 0) {
      const t0 = performance.now();
      const cpu0 = (await middle.sample()).cpuUs;
      await delay(o.idleWindowMs);
      const end = await middle.sample(true);
      idleCpuPercent = percent(end.cpuUs - cpu0, performance.now() - t0);
      rssAfterIdleBytes = end.rss;
    }
    const perConn = (a: number, b: number): number => (a - b) / s.clients;
    const result: IdleResult = {
      kind: 'idle',
      mode,
      connections: s.clients,
      rssBeforeBytes: before?.rss ?? null,
      rssAfterBytes: after?.rss ?? null,
      bytesPerConnection: before !== null && after !== null ? perConn(after.rss, before.rss) : null,
      heapBytesPerConnection: before !== null && after !== null && after.heapUsed > 0 ? perConn(after.heapUsed, before.heapUsed) : null,
      peakRssBytes: after?.peakRss ?? null,
      idleCpuPercent,
      idleWindowMs: o.idleWindowMs,
      pingIntervalMs: o.pingIntervalMs,
      bytesPerConnectionAfterIdle: before !== null && rssAfterIdleBytes !== null ? perConn(rssAfterIdleBytes, before.rss) : null,
      errors: [],
    };
    const per = result.bytesPerConnection === null ? 'not measured (no process to read)' : `${(result.bytesPerConnection / 1024).toFixed(2)} KiB RSS per connection`;
    this.progress(`${label}  ${s.clients} connections open: ${per}`);
    return result;
  }

  /**
   * Scenario f: `storms` times in one middle process, every client connects at once, dials
   * its server and round-trips one message; then they all leave, and after `stormSettleMs`
   * the middle's memory is read.
   */
  private async storm(s: Scenario, mode: Mode): Promise<StormResult> {
    const o = this.opts;
    const label = `  ${this.progressLabel} ${mode.padEnd(7)}`;
    let middle: Probe | null;
    let targets: ClientTarget[];
    if (mode !== 'direct') {
      const mid = await this.middle(mode);
      middle = mid.probe;
      const echoes = range(o.servers).map((i) =>
        this.spawn(`echo server ${i + 1}`, 'echo-server.ts', { mode: 'gateway', ...mid.server, authKey: o.authKey, serverId: i + 1 }, LOAD_CORE),
      );
      await Promise.all(echoes.map((e) => e.ready()));
      targets = range(s.clients).map((i) => ({ ...mid.client, serverId: (i % o.servers) + 1, vconns: 1 }));
    } else {
      const echo = await this.spawn('echo server 1', 'echo-server.ts', { mode: 'direct', host: o.host }, GATEWAY_CORE, ['--expose-gc']).ready();
      middle = childProbe(echo);
      targets = range(s.clients).map(() => ({ host: o.host, port: echo.info.port as number, serverId: 1, vconns: 1 }));
    }
    const gens = this.generators();
    await Promise.all(gens.map((g) => g.ready()));
    const shares = gens.map((_, w) => targets.filter((_, i) => i % gens.length === w));
    // Give a fresh gateway's listeners and echo servers a moment, as a gateway that has been up a while.
    await delay(200);
    const rounds: StormRound[] = [];
    const errors: string[] = [];
    for (let k = 0; k < o.storms; k++) {
      await middle?.resetPeak();
      const before = middle === null ? null : await middle.sample();
      const net0 = listenCounters();
      const startAt = Date.now() + 100;
      const replies = await Promise.all(gens.map((g, w) => g.request<StormShareReply>('storm', { targets: shares[w], size: s.size, startAt })));
      const net1 = listenCounters();
      const connected = middle === null ? null : await middle.sample();
      await Promise.all(gens.map((g) => g.request('leave')));
      if (middle !== null) await waitForNoConnections(middle, IDLE_ACCEPT_TIMEOUT_MS);
      if (o.stormSettleMs > 0) await delay(o.stormSettleMs);
      const after = middle === null ? null : await middle.sample();
      const elapsed = replies.flatMap((r) => r.elapsedMs).sort((a, b) => a - b);
      const at = (q: number): number => (elapsed.length === 0 ? 0 : elapsed[Math.min(elapsed.length - 1, Math.floor(q * elapsed.length))]!);
      const round: StormRound = {
        clients: s.clients,
        done: replies.reduce((n, r) => n + r.done, 0),
        allDoneMs: elapsed.length === 0 ? 0 : elapsed[elapsed.length - 1]!,
        p50Ms: at(0.5),
        p99Ms: at(0.99),
        connectionErrors: replies.reduce((n, r) => n + r.errors, 0),
        retries: replies.reduce((n, r) => n + r.retries, 0),
        slowConnects: replies.reduce((n, r) => n + r.slowConnects, 0),
        listenOverflows: net0 === null || net1 === null ? null : net1.overflows - net0.overflows,
        listenDrops: net0 === null || net1 === null ? null : net1.drops - net0.drops,
        rssBeforeBytes: before?.rss ?? null,
        rssPeakBytes: connected?.peakRss ?? null,
        rssConnectedBytes: connected?.rss ?? null,
        rssAfterBytes: after?.rss ?? null,
        heapUsedAfterBytes: after?.heapUsed ?? null,
        heapTotalAfterBytes: after?.heapTotal ?? null,
        externalAfterBytes: after?.external ?? null,
        middleCpuMs: before === null || connected === null ? null : (connected.cpuUs - before.cpuUs) / 1000,
        loadCpuMs: replies.reduce((n, r) => n + r.cpuUs, 0) / 1000,
        errors: [...new Set(replies.flatMap((r) => r.lastErrors))].slice(0, 5),
      };
      rounds.push(round);
      if (round.done < round.clients) errors.push(`storm ${k + 1}: ${round.clients - round.done} clients never round-tripped (${round.errors.join('; ')})`);
      const mib = (b: number | null): string => (b === null ? '?' : `${(b / 1048576).toFixed(1)} MiB`);
      this.progress(
        `${label}  storm ${k + 1}/${o.storms}: ${round.done}/${round.clients} round-tripped in ${round.allDoneMs.toFixed(0)} ms, ` +
          `${round.connectionErrors} connection errors, ${round.slowConnects} slow connects; RSS ${mib(round.rssBeforeBytes)} → peak ${mib(round.rssPeakBytes)} → ${mib(round.rssAfterBytes)} ${o.stormSettleMs / 1000}s after`,
      );
    }
    const last = middle === null ? null : await middle.sample(true);
    return { kind: 'storm', mode, clients: s.clients, settleMs: o.stormSettleMs, storms: rounds, rssAfterLastGcBytes: last?.rss ?? null, errors };
  }
}
