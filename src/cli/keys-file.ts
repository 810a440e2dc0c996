/**
 * The server auth keys file (`--server-auth-keys-file`). One key per line:
 *
 * ```
 * # accepted from every server ID not listed below
 * 3b0c5e…new
 * 9f1d2a…old
 * # server ID 17 must use one of its own keys
 * 17:c0ffee…
 * ```
 *
 * Lines are trimmed; blank lines and lines starting with `#` are skipped. A line made of
 * decimal digits, `:` and a key is a key of that server ID only; any other line is a key for
 * every server ID without keys of its own. Pure.
 */
import { InvalidOptionError } from '../errors.js';
import { MAX_U32 } from '../protocol/frame.js';
import { REDACTED, REDACTED_KEY_PROBLEM } from './redacted.js';

/** The keys a keys file holds. */
export interface KeysFile {
  /** Keys for every server ID that has none of its own. */
  keys: string[];
  /** Keys of particular server IDs. */
  byId: Record<number, string[]>;
}

const ID_LINE = /^(\d+):(.*)$/;

/**
 * Parses a keys file's `text`. Errors name `path` and the line number, never the key.
 *
 * @throws InvalidOptionError for a server ID out of range or an `ID:` line without a key.
 */
export function parseKeysFile(text: string, path: string): KeysFile {
  const keys: string[] = [];
  const byId: Record<number, string[]> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const m = ID_LINE.exec(line);
    if ((m === null ? line : m[2]!.trim()) === REDACTED) throw new InvalidOptionError(`${path}:${i + 1}`, `the key ${REDACTED_KEY_PROBLEM}`);
    if (m === null) {
      if (!keys.includes(line)) keys.push(line);
      continue;
    }
    const where = `${path}:${i + 1}`;
    const id = Number(m[1]);
    if (!Number.isSafeInteger(id) || id > MAX_U32) {
      throw new InvalidOptionError(where, `the server ID before ":" must be from 0 to ${MAX_U32}`);
    }
    const key = m[2]!.trim();
    if (key.length === 0) throw new InvalidOptionError(where, `the key after "${m[1]}:" is empty`);
    const own = (byId[id] ??= []);
    if (!own.includes(key)) own.push(key);
  }
  return { keys, byId };
}

/** Whether the file holds no key at all. */
export function isEmptyKeysFile(file: KeysFile): boolean {
  return file.keys.length === 0 && Object.keys(file.byId).length === 0;
}
