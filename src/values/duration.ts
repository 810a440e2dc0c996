/** Durations written for people (`500ms`, `30s`, `2m`), held as milliseconds. Pure. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration in milliseconds: `500ms`, `30s`, `2m`, `1h`, `1.5s`, or plain digits
 * meaning milliseconds. Returns `undefined` unless the result is a whole number of ms.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Formats milliseconds in the largest unit that divides them: 30000 → `30s`. */
export function formatDuration(ms: number): string {
  if (ms !== 0) {
    if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
    if (ms % 60_000 === 0) return `${ms / 60_000}m`;
    if (ms % 1000 === 0) return `${ms / 1000}s`;
  }
  return `${ms}ms`;
}
