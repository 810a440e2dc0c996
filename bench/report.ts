import type { IdleResult, ModeResult, StormResult, TrafficResult } from './runner.js';
import { type Scenario, shapeOf } from './scenarios.js';

/** One scenario's results in every mode run, and how they compare. */
export interface ScenarioReport {
  scenario: Scenario;
  gateway: ModeResult;
  /** The minimal forwarder (with --minimal). */
  minimal: ModeResult | null;
  /** No gateway (unless --no-direct). */
  direct: ModeResult | null;
  /**
   * An endpoint-library scenario (ep): the same shape made by the raw-protocol load
   * generators and echo servers through the gateway, in the same run. Null otherwise.
   */
  raw?: ModeResult | null;
  /** Every run, when the scenario ran more than once (the results above are the medians). */
  runs?: { gateway: ModeResult[]; minimal: ModeResult[]; direct: ModeResult[]; raw?: ModeResult[] };
  /**
   * msg/s ÷ the middle's CPU share: how many messages one core of the middle moves per second
   * of its own CPU time (gateway, minimal forwarder; in direct mode the echo servers). It is
   * what the middle would reach at 100 % of its core if it scaled linearly, so it still
   * compares middles when the load side is the limit. Null without the middle's CPU figure.
   */
  messagesPerCpuSecond: { gateway: number | null; minimal: number | null; direct: number | null; raw?: number | null };
  /**
   * Whether this run shows the gateway's own limit rather than the load side's (null for
   * the idle scenario): see {@link checkLimit}.
   */
  limit: LimitCheck | null;
  /** Each figure ÷ the direct one; null where either side is missing. */
  ratio: {
    /** gateway ÷ direct msg/s. */
    messagesPerSec: number | null;
    /** gateway ÷ direct round-trip p50. */
    rttP50: number | null;
    /** gateway ÷ direct RSS per idle connection. */
    bytesPerConnection: number | null;
    /** minimal forwarder ÷ direct msg/s. */
    minimalMessagesPerSec: number | null;
    /** minimal forwarder ÷ direct RSS per idle connection. */
    minimalBytesPerConnection: number | null;
    /**
     * A WebSocket scenario (bws): its gateway msg/s ÷ the gateway msg/s of its TCP twin (b)
     * in the same run, when both ran with the same shape. Null otherwise.
     */
    tcpMessagesPerSec: number | null;
    /**
     * An endpoint-library scenario (ep): its msg/s ÷ that of its raw twin ({@link raw}),
     * both through the gateway in the same run. Null otherwise.
     */
    rawMessagesPerSec?: number | null;
  };
}

/** The direct baseline must move at least this many times the gateway's msg/s... */
export const LIMIT_DIRECT_RATIO = 1.5;
/** ...or the gateway must be at this % of its core, with the load side below it on its own cores. */
export const LIMIT_CPU_PERCENT = 95;

/**
 * Is the figure the gateway's? Either the same load with no gateway moved ≥ 1.5× as many
 * messages (so the load side had room to spare), or the gateway used ≥ 95% of its core while
 * the load side stayed below 95% of the cores it had (every process, and all together).
 */
export interface LimitCheck {
  /** Direct msg/s ÷ gateway msg/s; null without a direct run. */
  directOverGateway: number | null;
  gatewayCpuPercent: number | null;
  loadCpuPercent: number;
  /** The busiest load process, in % of one core. */
  busiestLoadProcessPercent: number;
  /** What the load side could use, in % of one core: its cores with --pin, else every core less the gateway's share. */
  loadCapacityPercent: number;
  /** Shown by the direct ratio. */
  byRatio: boolean;
  /** Shown by the CPU figures. */
  byCpu: boolean;
  /** Either. */
  shown: boolean;
  /** The 1-minute load average when the run started, and the machine's core count: above it, other processes took CPU time from the run. */
  loadAverage: number;
  cores: number;
}

/** The {@link LimitCheck} of a traffic run through the gateway, against its direct run if any. */
export function checkLimit(gateway: TrafficResult, direct: TrafficResult | null, pinned: boolean): LimitCheck {
  const directOverGateway = direct === null || gateway.messagesPerSec <= 0 ? null : direct.messagesPerSec / gateway.messagesPerSec;
  const gatewayCpu = gateway.middleCpuPercent;
  const capacity = pinned ? gateway.loadCores * 100 : gateway.loadCores * 100 - (gatewayCpu ?? 0);
  const busiest = Math.max(0, ...gateway.loadProcessCpuPercent);
  const loadBelow = gateway.loadCpuPercent < (capacity * LIMIT_CPU_PERCENT) / 100 && busiest < LIMIT_CPU_PERCENT;
  const byRatio = directOverGateway !== null && directOverGateway >= LIMIT_DIRECT_RATIO;
  const byCpu = gatewayCpu !== null && gatewayCpu >= LIMIT_CPU_PERCENT && loadBelow;
  return {
    directOverGateway,
    gatewayCpuPercent: gatewayCpu,
    loadCpuPercent: gateway.loadCpuPercent,
    busiestLoadProcessPercent: busiest,
    loadCapacityPercent: capacity,
    byRatio,
    byCpu,
    shown: byRatio || byCpu,
    loadAverage: gateway.loadAverage.start[0] ?? 0,
    cores: pinned ? gateway.loadCores + 1 : gateway.loadCores,
  };
}

/** One line of the limit check, for the table's footer. */
export function formatLimit(name: string, c: LimitCheck): string {
  const ratioText = c.directOverGateway === null ? 'no direct run' : `direct ÷ gateway ${c.directOverGateway.toFixed(2)}`;
  const cpuText =
    `gateway ${c.gatewayCpuPercent === null ? '?' : c.gatewayCpuPercent.toFixed(0)}% of its core, ` +
    `load side ${c.loadCpuPercent.toFixed(0)}% of ${c.loadCapacityPercent.toFixed(0)}% (busiest process ${c.busiestLoadProcessPercent.toFixed(0)}%)`;
  const verdict = c.byRatio ? 'yes (ratio)' : c.byCpu ? 'yes (CPU)' : 'NOT SHOWN';
  const busy = c.loadAverage > c.cores ? `; load average ${c.loadAverage.toFixed(1)} on ${c.cores} cores: other processes took CPU time, so this says little` : '';
  return `  ${name.padEnd(4)}${verdict.padEnd(12)}${ratioText}; ${cpuText}${busy}`;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a == null || b == null || b === 0 ? null : a / b;
}

/**
 * The median of repeated runs of one mode, by msg/s (traffic) or bytes per connection
 * (idle): a real run, the lower middle one for an even count. A failed run wins, so a
 * failure is never hidden.
 */
export function medianRun(runs: ModeResult[]): ModeResult {
  const failed = runs.find((r) => r.kind === 'failed');
  if (failed !== undefined) return failed;
  const key = (r: ModeResult): number => (r.kind === 'traffic' ? r.messagesPerSec : r.kind === 'idle' ? (r.bytesPerConnection ?? 0) : 0);
  const sorted = [...runs].sort((x, y) => key(x) - key(y));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const traffic = (r: ModeResult | null): TrafficResult | null => (r?.kind === 'traffic' ? r : null);

/** Messages per second of the middle's CPU time (see {@link ScenarioReport.messagesPerCpuSecond}). */
export function messagesPerCpuSecond(r: ModeResult | null): number | null {
  const t = traffic(r);
  return t === null || t.middleCpuPercent === null || t.middleCpuPercent <= 0 ? null : (t.messagesPerSec * 100) / t.middleCpuPercent;
}
const idle = (r: ModeResult | null): IdleResult | null => (r?.kind === 'idle' ? r : null);

/**
 * Puts a scenario's results side by side and computes the ratios to direct, for a
 * WebSocket scenario to `tcpTwin`, the report of its TCP twin in this run (if it ran), and
 * for an endpoint-library scenario to `raw`, the same shape made by the raw load.
 */
export function compare(
  scenario: Scenario,
  gateway: ModeResult,
  minimal: ModeResult | null,
  direct: ModeResult | null,
  tcpTwin: ScenarioReport | null = null,
  raw: ModeResult | null = null,
  pinned = false,
): ScenarioReport {
  const gatewayTraffic = traffic(gateway);
  const sameShape = tcpTwin !== null && shapeOf(tcpTwin.scenario) === shapeOf(scenario);
  const endpoint = scenario.load === 'endpoint';
  return {
    scenario,
    gateway,
    minimal,
    direct,
    ...(endpoint ? { raw } : {}),
    messagesPerCpuSecond: {
      gateway: messagesPerCpuSecond(gateway),
      minimal: messagesPerCpuSecond(minimal),
      direct: messagesPerCpuSecond(direct),
      ...(endpoint ? { raw: messagesPerCpuSecond(raw) } : {}),
    },
    limit: gatewayTraffic === null ? null : checkLimit(gatewayTraffic, traffic(direct), pinned),
    ratio: {
      messagesPerSec: ratio(traffic(gateway)?.messagesPerSec, traffic(direct)?.messagesPerSec),
      rttP50: ratio(traffic(gateway)?.rttUs.p50, traffic(direct)?.rttUs.p50),
      bytesPerConnection: ratio(idle(gateway)?.bytesPerConnection, idle(direct)?.bytesPerConnection),
      minimalMessagesPerSec: ratio(traffic(minimal)?.messagesPerSec, traffic(direct)?.messagesPerSec),
      minimalBytesPerConnection: ratio(idle(minimal)?.bytesPerConnection, idle(direct)?.bytesPerConnection),
      tcpMessagesPerSec: sameShape ? ratio(traffic(gateway)?.messagesPerSec, traffic(tcpTwin.gateway)?.messagesPerSec) : null,
      ...(endpoint ? { rawMessagesPerSec: ratio(traffic(gateway)?.messagesPerSec, traffic(raw)?.messagesPerSec) } : {}),
    },
  };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number | null): string => (bytes === null ? '-' : `${(bytes / 1e6).toFixed(1)} MB`);
const kib = (bytes: number | null): string => (bytes === null ? '-' : `${(bytes / 1024).toFixed(2)} KiB`);
const pct = (p: number | null): string => (p === null ? '-' : `${p.toFixed(0)}%`);
const times = (r: number | null): string => (r === null ? '-' : r.toFixed(2));
const perCpu = (n: number | null): string => (n === null ? '-' : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${Math.round(n / 1e3)}k`);

/** Lays out rows as columns: the first `left` columns left-aligned, the rest right-aligned. */
function table(header: string[], rows: string[][], left: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function trafficRow(label: string, shape: string, r: TrafficResult, ratioText: string, modeText: string = r.mode): string[] {
  return [
    label,
    shape,
    modeText,
    int(r.messagesPerSec),
    r.megabytesPerSec.toFixed(1),
    int(r.rttUs.p50),
    int(r.rttUs.p99),
    int(r.rttUs.p999),
    pct(r.middleCpuPercent),
    perCpu(messagesPerCpuSecond(r)),
    mb(r.middlePeakRssBytes),
    pct(r.loadCpuPercent),
    ratioText,
  ];
}

const msText = (ms: number): string => `${Math.round(ms).toLocaleString('en-US')}`;
const mibText = (bytes: number | null): string => (bytes === null ? '?' : (bytes / 1048576).toFixed(1));

function stormRows(label: string, shape: string, r: StormResult): string[][] {
  return r.storms.map((st, i) => [
    i === 0 ? label : '',
    i === 0 ? shape : '',
    i === 0 ? r.mode : '',
    String(i + 1),
    `${st.done.toLocaleString('en-US')}/${st.clients.toLocaleString('en-US')}`,
    msText(st.allDoneMs),
    `${msText(st.p50Ms)} / ${msText(st.p99Ms)}`,
    String(st.connectionErrors),
    String(st.retries),
    String(st.slowConnects),
    st.listenOverflows === null ? '-' : `${st.listenOverflows} / ${st.listenDrops}`,
    `${mibText(st.rssBeforeBytes)} → ${mibText(st.rssPeakBytes)} → ${mibText(st.rssAfterBytes)}`,
    st.middleCpuMs === null ? '-' : msText(st.middleCpuMs),
  ]);
}

/** The storm's RSS after the last storm ÷ after the first: above 1, memory grew from storm to storm. */
export function stormGrowth(r: StormResult): number | null {
  const first = r.storms[0]?.rssAfterBytes ?? null;
  const last = r.storms[r.storms.length - 1]?.rssAfterBytes ?? null;
  return first === null || last === null || first === 0 ? null : last / first;
}

function idleRow(label: string, shape: string, r: IdleResult, ratioText: string): string[] {
  const pingText = r.pingIntervalMs >= 3_600_000 ? 'none' : `${r.pingIntervalMs / 1000} s`;
  return [
    label,
    shape,
    r.mode,
    kib(r.bytesPerConnection),
    kib(r.heapBytesPerConnection),
    `${mb(r.rssBeforeBytes)} → ${mb(r.rssAfterBytes)}`,
    r.idleCpuPercent == null ? '-' : `${r.idleCpuPercent.toFixed(1)}% (pings ${r.mode === 'direct' ? '-' : pingText})`,
    kib(r.bytesPerConnectionAfterIdle ?? null),
    ratioText,
  ];
}

/** The human-readable results: one table for the traffic scenarios, one for idle connections, then failures. */
export function formatTables(reports: ScenarioReport[]): string {
  const traffic: string[][] = [];
  const idle: string[][] = [];
  const storms: string[][] = [];
  const stormNotes: string[] = [];
  const failures: string[] = [];
  const notes: string[] = [];
  for (const rep of reports) {
    const s = rep.scenario;
    const label = `${s.name} ${s.title}`;
    const shape = shapeOf(s);
    // ep's raw twin runs through the gateway too: its row is labelled `raw`.
    const sides = [rep.gateway, rep.minimal, rep.direct, rep.raw ?? null]
      .map((r, i) => (r === null ? null : { r, name: i === 3 ? 'raw' : r.mode }))
      .filter((x): x is { r: ModeResult; name: string } => x !== null);
    sides.forEach(({ r, name }, i) => {
      const first = i === 0;
      const rowLabel = first ? label : '';
      const rowShape = first ? shape : '';
      if (r.kind === 'failed') {
        failures.push(`${s.name} ${name}: ${r.error}`);
      } else if (r.kind === 'traffic') {
        const twin = s.tcpTwin;
        if (s.load === 'endpoint') {
          // No direct run: the endpoint row is ÷ the raw load's, same shape, same gateway.
          if (name === 'raw') {
            traffic.push(trafficRow(rowLabel, rowShape, r, '', 'raw'));
          } else {
            traffic.push(trafficRow(rowLabel, rowShape, r, `${times(rep.ratio.rawMessagesPerSec ?? null)} ÷ raw`));
            notes.push(
              rep.ratio.rawMessagesPerSec == null
                ? `${s.name}: no "÷ raw" (the raw-protocol run of the same shape did not finish); there is no direct baseline`
                : `${s.name}: "÷ raw" is msg/s of a game client and server on the endpoint library ÷ the raw-protocol load generator and echo server's (row "raw"), same shape, same gateway, same run`,
            );
          }
        } else if (twin !== undefined) {
          // No direct run over WebSocket: the figure is ÷ the TCP twin through the gateway.
          traffic.push(trafficRow(rowLabel, rowShape, r, `${times(rep.ratio.tcpMessagesPerSec)} ÷ ${twin}`));
          notes.push(
            rep.ratio.tcpMessagesPerSec === null
              ? `${s.name}: no "÷ ${twin}" (${twin} did not run in this run with the same shape); there is no direct WebSocket baseline`
              : `${s.name}: "÷ ${twin}" is msg/s over the gateway's WebSocket listener ÷ ${twin}'s over its TCP listener, same run (there is no direct WebSocket baseline)`,
          );
        } else {
          const vsDirect = r.mode === 'gateway' ? rep.ratio.messagesPerSec : r.mode === 'minimal' ? rep.ratio.minimalMessagesPerSec : null;
          traffic.push(trafficRow(rowLabel, rowShape, r, r.mode === 'direct' ? '' : times(vsDirect)));
        }
        if (r.errors.length > 0) failures.push(`${s.name} ${name}: ${r.errors.length} errors, first: ${r.errors[0]}`);
      } else if (r.kind === 'storm') {
        storms.push(...stormRows(label, shape, r));
        const growth = stormGrowth(r);
        stormNotes.push(
          `${s.name} ${name}: RSS ${r.settleMs / 1000} s after the last storm ÷ after the first ${growth === null ? '-' : growth.toFixed(2)}; ` +
            `after the last and a full GC ${mibText(r.rssAfterLastGcBytes)} MiB`,
        );
        for (const e of r.errors) failures.push(`${s.name} ${name}: ${e}`);
      } else {
        const vsDirect = r.mode === 'gateway' ? rep.ratio.bytesPerConnection : r.mode === 'minimal' ? rep.ratio.minimalBytesPerConnection : null;
        idle.push(idleRow(rowLabel, rowShape, r, r.mode === 'direct' ? '' : times(vsDirect)));
      }
    });
  }
  const out: string[] = [];
  if (traffic.length > 0) {
    out.push(
      table(['scenario', 'clients × vconns × size × in flight', 'mode', 'msg/s', 'MB/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'mid CPU', 'msg/CPU-s', 'mid peak RSS', 'load CPU', '÷ direct'], traffic, 3) +
        notes.map((n) => `\n${n}`).join(''),
    );
  }
  const limits = reports.filter((r) => r.limit != null);
  if (limits.length > 0) {
    out.push(
      [
        `Is the figure the gateway's limit? yes when direct ÷ gateway ≥ ${LIMIT_DIRECT_RATIO}, or the gateway is at ≥ ${LIMIT_CPU_PERCENT}% of its core while the load side is below ${LIMIT_CPU_PERCENT}% of what it can use:`,
        ...limits.map((r) => formatLimit(r.scenario.name, r.limit!)),
      ].join('\n'),
    );
  }
  if (idle.length > 0) {
    out.push(
      table(['scenario', 'connections', 'mode', 'RSS/conn', 'heap/conn', 'RSS before → after', 'idle CPU', 'RSS/conn after idle', '÷ direct'], idle, 3) +
        '\nidle CPU: the middle\'s CPU while the connections sit idle for --idle-window after the memory reading (its liveness sweep; with --ping-interval, the Pings and their answers too); RSS/conn after idle: per connection again at its end',
    );
  }
  if (storms.length > 0) {
    out.push(
      table(
        ['scenario', 'clients', 'mode', 'storm', 'round-tripped', 'all done ms', 'p50 / p99 ms', 'conn errors', 'retries', 'slow connects', 'listen overflows / drops', 'RSS MiB before → peak → after', 'mid CPU ms'],
        storms,
        3,
      ) +
        stormNotes.map((n) => `\n${n}`).join('') +
        '\nslow connects: connects that took ≥ 0.9 s (a SYN dropped by the kernel, retried after 1 s); listen overflows / drops: the kernel\'s counters over the storm, machine-wide',
    );
  }
  if (failures.length > 0) out.push(['Problems:', ...failures.map((f) => `  ${f}`)].join('\n'));
  return out.join('\n\n');
}
