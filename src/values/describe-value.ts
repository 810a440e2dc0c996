/**
 * How an error message shows a value it refuses: strings quoted and called strings, so that
 * `'7'` is not mistaken for `7`; functions by name; objects by kind. Pure.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
