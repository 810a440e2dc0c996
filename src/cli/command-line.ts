/**
 * Reading the command line: argv, `FASTWAY_*` environment variables and a `--config` file
 * into one {@link CliConfig}, by the table in flags.ts; and the `--print-config` view. Pure:
 * no process access; the config file is read through the function the caller passes.
 */
import { InvalidOptionError } from '../errors.js';
import { type CliConfig, defaultConfig } from './cli-config.js';
import { type JsonValue, parseConfigFile } from './config-file.js';
import { envName, type FlagSpec } from './flag-builder.js';
import { FLAG_BY_NAME, FLAGS } from './flags.js';

/** The command to run: print help, the version or the configuration, or run the gateway. */
export type CliCommand =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'print-config'; config: CliConfig }
  | { action: 'run'; config: CliConfig };

/** The flags that are not configuration (and so not config file keys): they choose what to do. */
export const CONFIG_FLAG = 'config';
export const CONFIG_ENV = envName(CONFIG_FLAG);
export const PRINT_CONFIG_FLAG = 'print-config';

/** Environment variables, as `process.env` has them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a file's text; throws (with a message saying why) when it cannot. */
export type ReadFile = (path: string) => string;

const noFiles: ReadFile = () => {
  throw new Error('reading files is not available here');
};

/**
 * Reads the command line. Flags are `--name value` or `--name=value` (use the `=` form for a
 * value that starts with `--`). Each setting is taken from, in order of precedence: the
 * command line, its `FASTWAY_*` variable in `env`, the `--config` file (or `FASTWAY_CONFIG`),
 * the default. Only the source that wins is used; but every key of the config file is
 * checked, so a mistake in the file is found even when something overrides it.
 *
 * @param readFile reads the config file; the default cannot read any.
 * @throws InvalidOptionError naming the flag, variable or file key, and what it accepts.
 */
export function parseCommandLine(argv: readonly string[], env: Env = {}, readFile: ReadFile = noFiles): CliCommand {
  if (argv.includes('--help') || argv.includes('-h')) return { action: 'help' };
  if (argv.includes('--version') || argv.includes('-V')) return { action: 'version' };

  const given = new Map<FlagSpec, string[]>();
  let configPath: string | undefined;
  let printConfig = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      throw new InvalidOptionError(JSON.stringify(arg), 'unexpected argument: fastway takes only flags (fastway --help lists them)');
    }
    const eq = arg.indexOf('=');
    const written = eq < 0 ? arg : arg.slice(0, eq);
    if (written === `--${PRINT_CONFIG_FLAG}`) {
      if (eq >= 0) throw new InvalidOptionError(written, 'takes no value');
      printConfig = true;
      continue;
    }
    const isConfig = written === `--${CONFIG_FLAG}`;
    const flag = written.startsWith('--') ? FLAG_BY_NAME.get(written.slice(2)) : undefined;
    if (flag === undefined && !isConfig) throw new InvalidOptionError(written, 'unknown flag (fastway --help lists them)');
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new InvalidOptionError(written, `needs a value: ${written} ${flag?.placeholder ?? '<path>'} (or ${written}=${flag?.placeholder ?? '<path>'})`);
      }
      value = next;
      i++;
    }
    if (isConfig) {
      if (configPath !== undefined) throw new InvalidOptionError(written, 'given more than once');
      if (value.length === 0) throw new InvalidOptionError(written, 'must be a file path, got ""');
      configPath = value;
      continue;
    }
    const values = given.get(flag!);
    if (values === undefined) given.set(flag!, [value]);
    else if (flag!.repeatable) values.push(value);
    else throw new InvalidOptionError(written, 'given more than once');
  }

  const fromFile = configPath !== undefined ? readConfig(configPath, `--${CONFIG_FLAG}`, readFile) : readConfigFromEnv(env, readFile);

  const config = defaultConfig();
  for (const flag of FLAGS) {
    const fromArgv = given.get(flag);
    const fromEnv = env[flag.env];
    const inFile = fromFile.get(flag.name);
    let values: readonly string[] = [];
    let source = '';
    if (fromArgv !== undefined) [values, source] = [fromArgv, `--${flag.name}`];
    else if (fromEnv !== undefined) [values, source] = [[fromEnv], flag.env];
    else if (inFile !== undefined) [values, source] = [inFile.texts, inFile.source];
    for (const value of values) {
      const problem = flag.apply(config, value);
      if (problem !== undefined) throw new InvalidOptionError(source, problem);
    }
  }
  return printConfig ? { action: 'print-config', config } : { action: 'run', config };
}

function readConfigFromEnv(env: Env, readFile: ReadFile): ReturnType<typeof readConfig> {
  const path = env[CONFIG_ENV];
  if (path === undefined) return new Map();
  if (path.length === 0) throw new InvalidOptionError(CONFIG_ENV, 'must be a file path, got ""');
  return readConfig(path, CONFIG_ENV, readFile);
}

/** Reads and checks the config file at `path`: every key must be a flag and every value valid for it. */
function readConfig(path: string, source: string, readFile: ReadFile) {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new InvalidOptionError(source, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const settings = parseConfigFile(text, path, FLAG_BY_NAME, [CONFIG_FLAG, PRINT_CONFIG_FLAG]);
  const scratch = defaultConfig();
  for (const [name, setting] of settings) {
    const flag = FLAG_BY_NAME.get(name)!;
    for (const value of setting.texts) {
      const problem = flag.apply(scratch, value);
      if (problem !== undefined) throw new InvalidOptionError(setting.source, problem);
    }
  }
  return settings;
}

/**
 * The configuration in force, as `--print-config` prints it: every flag by name, with its
 * value or default, and secrets redacted. The result is valid config file content (once
 * the redacted keys are put back).
 */
export function effectiveConfig(config: CliConfig): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const flag of FLAGS) out[flag.name] = flag.effective(config);
  return out;
}

