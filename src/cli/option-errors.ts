/**
 * The gateway's option errors told in the command line's words: the option an error is about,
 * and every other option its message names, become the flags that set them (from the flag
 * table's `option` fields), so `--client-send-buffer: must be at least --max-packet-size + 4`.
 */
import { InvalidOptionError } from '../errors.js';
import { FLAGS } from './flags.js';

const FLAG_OF_OPTION: ReadonlyMap<string, string> = new Map(
  FLAGS.flatMap((flag) => (flag.option === undefined ? [] : [[flag.option, `--${flag.name}`] as const])),
);

/** Any option of the table, as a whole name (longest first, so `client.maxClientsPerIp` is not read as `client.maxClients`). */
const OPTION_NAME = new RegExp(
  `(?<![\\w.])(${[...FLAG_OF_OPTION.keys()].sort((a, b) => b.length - a.length).map((name) => name.replace(/\./g, '\\.')).join('|')})(?!\\w)`,
  'g',
);

/** `err` with flag names in place of the gateway options it names; `err` itself when it is about no flag's option. */
export function inFlagNames(err: InvalidOptionError): InvalidOptionError {
  const flag = FLAG_OF_OPTION.get(err.option);
  if (flag === undefined) return err;
  const detail = err.message.slice(err.option.length + 2).replace(OPTION_NAME, (name) => FLAG_OF_OPTION.get(name)!);
  return new InvalidOptionError(flag, detail);
}
