/**
 * Draws bench results as an SVG: msg/s and p99 round trip per traffic scenario, and memory per
 * idle connection, one bar per mode (gateway, minimal forwarder, direct).
 *
 * `npm run bench -- --chart FILE` draws the run just made; `node --import tsx bench/chart.ts
 * RESULTS.json OUT.svg` draws a results file written earlier.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ScenarioReport } from './report.js';
import type { Mode, ModeResult } from './runner.js';

const COLORS: Record<Mode, string> = { gateway: '#2b6cb0', minimal: '#9aa5b1', direct: '#dd6b20' };
const LABELS: Record<Mode, string> = { gateway: 'gateway', minimal: 'minimal forwarder', direct: 'direct (no gateway)' };

const WIDTH = 960;
const LABEL_W = 150;
const PANEL_GAP = 40;
const PANEL_W = (WIDTH - LABEL_W - PANEL_GAP - 20) / 2;
const BAR_H = 14;
const BAR_GAP = 3;
const GROUP_GAP = 14;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return n.toFixed(0);
}

/** 10^d as `1`, `10`, `100`, `1k` … `10M`. */
function decade(d: number): string {
  const units = ['', 'k', 'M', 'G'];
  return `${10 ** (d % 3)}${units[Math.floor(d / 3)] ?? `e${d - (d % 3)}`}`;
}

/** A log10 axis from the decade below `min` to the one above `max`. */
function logAxis(min: number, max: number): { lo: number; hi: number; x: (v: number) => number } {
  const lo = Math.floor(Math.log10(Math.max(1, min)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(1, max))));
  return { lo, hi, x: (v) => ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * PANEL_W };
}

function modesOf(rep: ScenarioReport): ModeResult[] {
  return [rep.gateway, rep.minimal, rep.direct].filter((r): r is ModeResult => r !== null && r.kind !== 'failed');
}

/** The SVG text for `reports` (a results file's `scenarios`). `subtitle` goes under the title. */
export function renderChart(reports: ScenarioReport[], subtitle: string): string {
  const traffic = reports.filter((r) => r.scenario.kind === 'traffic' && modesOf(r).length > 0);
  const idle = reports.filter((r) => r.scenario.kind === 'idle' && modesOf(r).some((m) => m.kind === 'idle' && m.bytesPerConnection !== null));
  const parts: string[] = [];
  let y = 84;

  const rates = traffic.flatMap((r) => modesOf(r).map((m) => (m.kind === 'traffic' ? m.messagesPerSec : 0)));
  const p99s = traffic.flatMap((r) => modesOf(r).map((m) => (m.kind === 'traffic' ? m.rttUs.p99 : 0)));
  const rateAxis = logAxis(Math.min(...rates, 1e3), Math.max(...rates, 1e4));
  const p99Axis = logAxis(Math.min(...p99s, 10), Math.max(...p99s, 100));
  const left1 = LABEL_W;
  const left2 = LABEL_W + PANEL_W + PANEL_GAP;

  if (traffic.length > 0) {
    parts.push(`<text x="${left1}" y="${y - 22}" font-size="13" font-weight="600">messages per second (log scale; higher is better)</text>`);
    parts.push(`<text x="${left2}" y="${y - 22}" font-size="13" font-weight="600">round trip p99, µs (log scale; lower is better)</text>`);
    const top = y;
    for (const rep of traffic) {
      const modes = modesOf(rep);
      const groupH = modes.length * (BAR_H + BAR_GAP) - BAR_GAP;
      parts.push(`<text x="${LABEL_W - 10}" y="${y + groupH / 2 + 4}" font-size="12" text-anchor="end">${esc(`${rep.scenario.name} ${rep.scenario.title}`)}</text>`);
      for (const m of modes) {
        if (m.kind !== 'traffic') continue;
        const w1 = rateAxis.x(m.messagesPerSec);
        const w2 = p99Axis.x(m.rttUs.p99);
        parts.push(`<rect x="${left1}" y="${y}" width="${w1.toFixed(1)}" height="${BAR_H}" fill="${COLORS[m.mode]}"/>`);
        parts.push(`<text x="${(left1 + w1 + 4).toFixed(1)}" y="${y + BAR_H - 3}" font-size="11">${compact(m.messagesPerSec)}</text>`);
        parts.push(`<rect x="${left2}" y="${y}" width="${w2.toFixed(1)}" height="${BAR_H}" fill="${COLORS[m.mode]}"/>`);
        parts.push(`<text x="${(left2 + w2 + 4).toFixed(1)}" y="${y + BAR_H - 3}" font-size="11">${compact(m.rttUs.p99)}</text>`);
        y += BAR_H + BAR_GAP;
      }
      y += GROUP_GAP;
    }
    // Decade grid lines and labels under each panel.
    for (const [left, axis] of [
      [left1, rateAxis],
      [left2, p99Axis],
    ] as const) {
      for (let d = axis.lo; d <= axis.hi; d++) {
        const x = left + ((d - axis.lo) / (axis.hi - axis.lo)) * PANEL_W;
        parts.push(`<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${y - GROUP_GAP + 4}" stroke="#ccc" stroke-width="1"/>`);
        parts.push(`<text x="${x.toFixed(1)}" y="${y - GROUP_GAP + 18}" font-size="10" text-anchor="middle" fill="#555">${decade(d)}</text>`);
      }
    }
    y += 30;
  }

  if (idle.length > 0) {
    const perConn = idle.flatMap((r) => modesOf(r).map((m) => (m.kind === 'idle' ? (m.bytesPerConnection ?? 0) : 0)));
    const maxKiB = Math.max(1, ...perConn) / 1024;
    const scale = PANEL_W / (Math.ceil(maxKiB) || 1);
    parts.push(`<text x="${left1}" y="${y}" font-size="13" font-weight="600">memory per idle connection, KiB of RSS (lower is better)</text>`);
    y += 12;
    for (const rep of idle) {
      const modes = modesOf(rep);
      const groupH = modes.length * (BAR_H + BAR_GAP) - BAR_GAP;
      parts.push(`<text x="${LABEL_W - 10}" y="${y + groupH / 2 + 4}" font-size="12" text-anchor="end">${esc(`${rep.scenario.name} ${rep.scenario.clients} idle`)}</text>`);
      for (const m of modes) {
        if (m.kind !== 'idle' || m.bytesPerConnection === null) continue;
        const kib = m.bytesPerConnection / 1024;
        const w = Math.max(0, kib * scale);
        parts.push(`<rect x="${left1}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[m.mode]}"/>`);
        parts.push(`<text x="${(left1 + w + 4).toFixed(1)}" y="${y + BAR_H - 3}" font-size="11">${kib.toFixed(2)} KiB</text>`);
        y += BAR_H + BAR_GAP;
      }
      y += GROUP_GAP;
    }
  }

  // Legend.
  const present = (['gateway', 'minimal', 'direct'] as const).filter((mode) => reports.some((r) => modesOf(r).some((m) => m.mode === mode)));
  let lx = left1;
  y += 6;
  for (const mode of present) {
    parts.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${COLORS[mode]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${y + 10}" font-size="12">${LABELS[mode]}</text>`);
    lx += 40 + LABELS[mode].length * 7;
  }
  y += 24;

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left1}" y="22" font-size="15" font-weight="700">fastway bench</text>`,
    `<text x="${left1}" y="38" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** A one-line description of a results file's run, for the chart's subtitle. */
export function describeRun(results: { startedAt: string; machine: { cpuModel: string; cpus: number; node: string }; options: { pin: boolean; durationMs: number; repeat?: number } }): string {
  const o = results.options;
  return (
    `${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}; ` +
    `${o.pin ? 'gateway pinned to core 0, load to core 1' : 'unpinned'}; ${o.durationMs / 1000} s per run` +
    `${(o.repeat ?? 1) > 1 ? `, median of ${o.repeat}` : ''}; ${results.startedAt.slice(0, 10)}`
  );
}

// As a command: chart.ts RESULTS.json OUT.svg
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [input, output] = process.argv.slice(2);
  if (input === undefined || output === undefined) {
    process.stderr.write('usage: node --import tsx bench/chart.ts RESULTS.json OUT.svg\n');
    process.exit(2);
  }
  const results = JSON.parse(readFileSync(input, 'utf8'));
  writeFileSync(output, renderChart(results.scenarios, describeRun(results)));
}
