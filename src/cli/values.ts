/**
 * Parsing and formatting of the value kinds the `fastway` command's flags take: durations,
 * byte sizes, counts and `host:port` addresses. Pure functions; a bad value is reported by
 * returning `undefined`, and the caller words the error with the flag's name and range.
 */

/** An inclusive accepted range. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

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

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 * 1024, mib: 1024 * 1024 };

/** Parses a size in bytes: plain digits, or digits with `k`/`KiB` or `m`/`MiB` (powers of 1024). */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)([a-z]*)$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Formats a byte size, adding the KiB/MiB form when it is a whole number of them: `524288 (512KiB)`. */
export function formatByteSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes} (${bytes / (1024 * 1024)}MiB)`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes} (${bytes / 1024}KiB)`;
  return String(bytes);
}

/** Parses a non-negative integer written in plain decimal digits. */
export function parseCount(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A listen address, split. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, with an IPv6 host in brackets (`[::1]:7000`). The port is 0–65535
 * (0 picks a free port). The host is required: an empty one would silently mean "every
 * interface", which for the server listener should be a deliberate choice (`0.0.0.0`).
 */
export function parseAddress(text: string): HostPort | undefined {
  const m = /^(?:\[([^\[\]\s]+)\]|([^:\[\]\s]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

/** Formats a bound address for people: IPv6 hosts in brackets. */
export function formatAddress(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
