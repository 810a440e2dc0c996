/**
 * The `--config` file: one JSON object whose keys are the flags' names (`"client-addr"`,
 * `"client-max-conn"`, …) and whose values are what the flag would take, as a string or,
 * for numbers, a JSON number (durations in ms, sizes in bytes). A flag that may be repeated
 * takes an array of strings too; `null` (or, for those, `[]`) leaves a key at its default. Pure.
 */
import { InvalidOptionError } from '../errors.js';

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What the file gives one flag: the values as flag text, and the name errors use for it. */
export interface FileSetting {
  texts: string[];
  /** `path: "key"`, how an error about this value names it. */
  source: string;
}

/**
 * Parses the config file's `text` into settings by flag name. Checks the shape only (JSON,
 * known keys, value types); the values themselves are checked by the flags.
 *
 * @param flags the flags the file may set, by name.
 * @param commandFlags flags that exist but may not appear in a file (`config` itself).
 * @throws InvalidOptionError naming the file (and the key) and what is wrong.
 */
export function parseConfigFile(
  text: string,
  path: string,
  flags: ReadonlyMap<string, { readonly repeatable: boolean }>,
  commandFlags: readonly string[] = [],
): Map<string, FileSetting> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidOptionError(path, `is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidOptionError(path, 'must hold one JSON object keyed by flag names, like {"client-addr": "0.0.0.0:7000"}');
  }
  const settings = new Map<string, FileSetting>();
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const source = `${path}: ${JSON.stringify(key)}`;
    const flag = flags.get(key);
    if (flag === undefined) {
      if (commandFlags.includes(key)) throw new InvalidOptionError(source, 'cannot be set in a config file');
      const guess = flagNameFor(key);
      const hint = guess !== key && flags.has(guess) ? ` (did you mean ${JSON.stringify(guess)}?)` : ' (keys are the flag names, as in fastway --help)';
      throw new InvalidOptionError(source, `unknown key${hint}`);
    }
    if (value === null || (flag.repeatable && Array.isArray(value) && value.length === 0)) continue;
    settings.set(key, { texts: valueTexts(value, flag.repeatable, source), source });
  }
  return settings;
}

/** The value as the text a flag takes. */
function valueTexts(value: unknown, repeatable: boolean, source: string): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number') return [String(value)];
  if (repeatable && Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  const wanted = repeatable ? 'a string or an array of strings' : 'a string or a number';
  throw new InvalidOptionError(source, `must be ${wanted}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** The flag name a key was probably meant as: `clientAddr`, `client_addr` and `--client-addr` all give `client-addr`. */
function flagNameFor(key: string): string {
  return key
    .replace(/^-+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}
