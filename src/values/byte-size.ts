/** Sizes in bytes written for people (`512KiB`, `64m`). Pure. */

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
