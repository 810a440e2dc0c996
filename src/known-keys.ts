/**
 * Option objects are checked for keys they do not know, so that a typo (`recvQueu`,
 * `signall`) is an `InvalidOptionError` naming it instead of an option silently left at its
 * default. Pure and browser-safe: the endpoint core and the gateway both use it.
 */
import { InvalidOptionError } from './errors.js';

/**
 * Throws `InvalidOptionError` when `value` has an own key not in `known`. The error's
 * `option` names every unknown key (prefixed with `path`, like `client.`), and its message
 * suggests the known key each one was probably meant as.
 */
export function rejectUnknownKeys(value: object, known: readonly string[], path = ''): void {
  let unknown: string[] | null = null;
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) (unknown ??= []).push(key);
  }
  if (unknown === null) return;
  const guesses = unknown.map((key) => closestKey(key, known)).filter((g): g is string => g !== undefined);
  const hint = guesses.length > 0 ? ` (did you mean ${guesses.map((g) => path + g).join(', ')}?)` : '';
  const names = unknown.map((key) => path + key);
  const what = unknown.length === 1 ? 'is not an option' : 'are not options';
  throw new InvalidOptionError(names.join(', '), `${what}${hint}; the options here are ${known.map((k) => path + k).join(', ')}`);
}

/** The known key `key` was most likely meant as: same letters in another case, or within a few edits. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
