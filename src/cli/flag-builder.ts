/**
 * The declarative flag builder: one entry (name, description, value kind, default, where it
 * lands in the {@link CliConfig}) makes one {@link FlagSpec} with its environment variable,
 * help text, parsing, error message and `--print-config` view. Value kinds are in
 * flag-values.ts; the table of flags is in flags.ts.
 */
import type { JsonValue } from './config-file.js';
import type { CliConfig } from './cli-config.js';

/** A value a flag's text was refused for: what is wrong with it, as `must be …` words. */
export class Invalid {
  /**
   * @param complete the problem already names the text that is wrong (or must not echo it:
   *   a secret), so no `got "…"` is added.
   */
  constructor(
    readonly problem: string,
    readonly complete = false,
  ) {}
}

/** One kind of flag value (a duration, a size, an address…): how it is read, written and shown. */
export interface ValueKind<T> {
  /** The value's placeholder in help: `<duration>`. */
  readonly placeholder: string;
  /** What values are accepted, as shown to people: `1 to 65535`. */
  readonly accepts: string;
  /** Parses one flag text; an {@link Invalid} says what is wrong (the flag's name and the text are added around it). */
  parse(text: string): T | Invalid;
  /** The value as people read it (the default in help). */
  show(value: T): string;
  /** The value as `--print-config` shows it; a config file takes it back. */
  json(value: T): JsonValue;
}

/** One flag of the command line, which is also a key of the config file. */
export interface FlagSpec {
  /** The name without dashes: `client-max-conn`; the same name is the config file's key. */
  readonly name: string;
  /** The environment variable that sets it when the flag is absent: `FASTWAY_CLIENT_MAX_CONN`. */
  readonly env: string;
  /** The value's placeholder in help: `<duration>`. */
  readonly placeholder: string;
  /** The default, as shown to people. */
  readonly defaultText: string;
  /** What values are accepted, as shown to people: `1 to 65535`. */
  readonly acceptsText: string;
  /** One sentence saying what it sets. */
  readonly description: string;
  /** Whether it may be given more than once (each value counts). */
  readonly repeatable: boolean;
  /** Whether its values are secrets, which `--print-config` never shows. */
  readonly secret: boolean;
  /** The gateway option it sets (`client.sendBuffer`), when the gateway's own checks can name it. */
  readonly option: string | undefined;
  /** Parses `text` into `config`; returns what is wrong with it, or `undefined` when it is fine. */
  readonly apply: (config: CliConfig, text: string) => string | undefined;
  /** The value in force in `config` (the default when unset) as `--print-config` shows it; a config file accepts it back. */
  readonly effective: (config: CliConfig) => JsonValue;
}

/** What one entry of the flag table says. */
export interface FlagEntry<T> {
  /** The name without dashes; also the config file's key, and (upper case) the variable's. */
  readonly name: string;
  /** One sentence (or a few) saying what it sets. */
  readonly description: string;
  /** The kind of value it takes. */
  readonly value: ValueKind<T>;
  /** The value in force when the flag is not given (shown in help and by `--print-config`). */
  readonly default: NoInfer<T>;
  /** Where the value lands; for a repeatable flag, called once per value given. */
  readonly set: (config: CliConfig, value: T) => void;
  /** The value in `config`; `undefined` means unset (the default is in force). */
  readonly get: (config: CliConfig) => T | undefined;
  /** May be given more than once (each value is set in turn). @default false */
  readonly repeatable?: boolean;
  /** The default as help shows it, when not `value.show(default)` (a default computed at start). */
  readonly defaultText?: string;
  /** Its values are secrets, which `--print-config` never shows (its kind must not echo them in errors either). @default false */
  readonly secret?: boolean;
  /**
   * The gateway option the value becomes (`client.sendBuffer`), for a flag whose value the
   * gateway checks against another option's: its errors are then told with the flags' names.
   */
  readonly option?: string;
}

/** The environment variable of a flag: `client-max-conn` → `FASTWAY_CLIENT_MAX_CONN`. */
export function envName(name: string): string {
  return `FASTWAY_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** Builds the flag an entry of the table describes. */
export function defineFlag<T>(entry: FlagEntry<T>): FlagSpec {
  const { value: kind } = entry;
  return {
    name: entry.name,
    env: envName(entry.name),
    placeholder: kind.placeholder,
    defaultText: entry.defaultText ?? kind.show(entry.default),
    acceptsText: kind.accepts,
    description: entry.description,
    repeatable: entry.repeatable ?? false,
    secret: entry.secret ?? false,
    option: entry.option,
    apply(config, text) {
      const parsed = kind.parse(text);
      if (parsed instanceof Invalid) return parsed.complete ? parsed.problem : `${parsed.problem}, got ${JSON.stringify(text)}`;
      entry.set(config, parsed);
      return undefined;
    },
    effective(config) {
      const value = entry.get(config);
      return kind.json(value === undefined ? entry.default : value);
    },
  };
}
