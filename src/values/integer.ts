/** Whole numbers, as options (JavaScript values) and as text (flags, variables). Pure. */
import { InvalidOptionError } from '../errors.js';
import { describeValue } from './describe-value.js';

/** An inclusive accepted range. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

/**
 * The integer option `name`: `fallback` when `value` is undefined, else `value` itself when
 * it is an integer in `range`.
 * @throws InvalidOptionError naming `name` and the range.
 */
export function integerOption(name: string, value: unknown, fallback: number, range: Range): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new InvalidOptionError(name, `must be an integer from ${range.min} to ${range.max}, got ${describeValue(value)}`);
  }
  return value;
}

/** Parses a non-negative integer written in plain decimal digits; `undefined` for anything else. */
export function parseCount(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
