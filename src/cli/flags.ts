/**
 * The `fastway` command line: the flag table, parsing of argv and `FASTWAY_*` environment
 * variables into gateway options, and the `--help` text. Pure: no I/O, no process access.
 *
 * Defaults and accepted ranges come from the gateway's own `GATEWAY_DEFAULTS` and
 * `GATEWAY_LIMITS`, so the command line and the library can never disagree.
 */
import { InvalidOptionError } from '../errors.js';
import {
  type ClientListenerOptions,
  GATEWAY_DEFAULTS,
  GATEWAY_LIMITS,
  type GatewayOptions,
  type ServerListenerOptions,
} from '../gateway/options.js';
import type { GatewayLogger } from '../gateway/logger.js';
import {
  type Range,
  formatByteSize,
  formatDuration,
  parseAddress,
  parseByteSize,
  parseCount,
  parseDuration,
} from './values.js';

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What the command line asks for. Options left unset here take the gateway's defaults. */
export interface CliConfig {
  /** Where game clients connect, `host:port`. */
  clientAddr: string;
  /** Where game servers connect, `host:port`. */
  serverAddr: string;
  /** Server auth keys given; empty means "generate one". */
  authKeys: string[];
  logLevel: LogLevel;
  maxPacketSize?: number;
  client: ClientListenerOptions;
  server: Omit<ServerListenerOptions, 'authKey'>;
}

/** The command to run: print help, print the version, or run the gateway. */
export type CliCommand = { action: 'help' } | { action: 'version' } | { action: 'run'; config: CliConfig };

/** One flag of the command line. */
export interface FlagSpec {
  /** The name without dashes: `client-max-conn`. */
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
  /** Parses `text` into `config`; returns what is wrong with it, or `undefined` when it is fine. */
  readonly apply: (config: CliConfig, text: string) => string | undefined;
}

const D = GATEWAY_DEFAULTS;
const L = GATEWAY_LIMITS;
const got = (text: string): string => `got ${JSON.stringify(text)}`;

function envName(name: string): string {
  return `FASTWAY_${name.toUpperCase().replace(/-/g, '_')}`;
}

type Setter<T> = (config: CliConfig, value: T) => void;
type FlagDoc = Pick<FlagSpec, 'name' | 'description'>;

function durationFlag(doc: FlagDoc, range: Range, fallback: number, set: Setter<number>): FlagSpec {
  const acceptsText = `${formatDuration(range.min)} to ${formatDuration(range.max)}`;
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<duration>',
    defaultText: formatDuration(fallback),
    acceptsText,
    repeatable: false,
    apply(config, text) {
      const ms = parseDuration(text);
      if (ms === undefined || ms < range.min || ms > range.max) {
        return `must be a duration from ${acceptsText} (like 500ms, 30s, 2m; plain digits are ms), ${got(text)}`;
      }
      set(config, ms);
      return undefined;
    },
  };
}

function countFlag(doc: FlagDoc, range: Range, fallback: number, set: Setter<number>): FlagSpec {
  const acceptsText = `${range.min} to ${range.max}`;
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<n>',
    defaultText: String(fallback),
    acceptsText,
    repeatable: false,
    apply(config, text) {
      const n = parseCount(text);
      if (n === undefined || n < range.min || n > range.max) {
        return `must be a whole number from ${acceptsText}, ${got(text)}`;
      }
      set(config, n);
      return undefined;
    },
  };
}

function sizeFlag(doc: FlagDoc, range: Range, fallback: number, set: Setter<number>): FlagSpec {
  const acceptsText = `${range.min} to ${formatByteSize(range.max)}`;
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<bytes>',
    defaultText: formatByteSize(fallback),
    acceptsText,
    repeatable: false,
    apply(config, text) {
      const bytes = parseByteSize(text);
      if (bytes === undefined || bytes < range.min || bytes > range.max) {
        return `must be a size in bytes from ${acceptsText} (plain digits, or with a KiB or MiB suffix), ${got(text)}`;
      }
      set(config, bytes);
      return undefined;
    },
  };
}

function addressFlag(doc: FlagDoc, fallback: string, set: Setter<string>): FlagSpec {
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<host:port>',
    defaultText: fallback,
    acceptsText: 'host:port, port 0 to 65535',
    repeatable: false,
    apply(config, text) {
      if (parseAddress(text) === undefined) {
        return `must be host:port with a port from 0 to 65535 (IPv6 as [::1]:7000; 0.0.0.0 for every interface), ${got(text)}`;
      }
      set(config, text);
      return undefined;
    },
  };
}

/** Defaults of the two listen addresses. */
export const DEFAULT_CLIENT_ADDR = '127.0.0.1:7000';
export const DEFAULT_SERVER_ADDR = '127.0.0.1:7001';

/** Every flag, in the order `--help` lists them. */
export const FLAGS: readonly FlagSpec[] = [
  addressFlag(
    { name: 'client-addr', description: 'Address the client listener binds, where game clients connect (port 0 picks a free port).' },
    DEFAULT_CLIENT_ADDR,
    (c, v) => (c.clientAddr = v),
  ),
  addressFlag(
    { name: 'server-addr', description: 'Address the server listener binds, where game servers connect; keep it on a private network.' },
    DEFAULT_SERVER_ADDR,
    (c, v) => (c.serverAddr = v),
  ),
  {
    name: 'server-auth-key',
    env: envName('server-auth-key'),
    placeholder: '<key>',
    defaultText: 'generated',
    acceptsText: 'any non-empty string',
    description:
      'Key game servers authenticate with. Repeat the flag to accept several keys (for rotation). When none is given, a random key is generated and printed at start.',
    repeatable: true,
    apply(config, text) {
      if (text.length === 0) return 'must not be empty (a server could authenticate without knowing any secret)';
      config.authKeys.push(text);
      return undefined;
    },
  },
  durationFlag(
    { name: 'server-auth-timeout', description: 'Time a game server has to finish the handshake before it is disconnected.' },
    L.authTimeout,
    D.server.authTimeout,
    (c, v) => (c.server.authTimeout = v),
  ),
  sizeFlag(
    { name: 'max-packet-size', description: 'Largest frame Length accepted or forwarded; a larger frame is a protocol error.' },
    L.maxPacketSize,
    D.maxPacketSize,
    (c, v) => (c.maxPacketSize = v),
  ),
  countFlag(
    { name: 'client-max-conn', description: 'Live virtual connections one game client may have at once; more dials are refused.' },
    L.maxConn,
    D.client.maxConn,
    (c, v) => (c.client.maxConn = v),
  ),
  countFlag(
    { name: 'client-max-pending', description: 'IDs one game client may hold between New and Dial; past it New is answered with Open(0).' },
    L.maxPending,
    D.client.maxPending,
    (c, v) => (c.client.maxPending = v),
  ),
  durationFlag(
    { name: 'client-ping-interval', description: 'Silence after which a game client is pinged; a second interval of silence disconnects it.' },
    L.pingInterval,
    D.client.pingInterval,
    (c, v) => (c.client.pingInterval = v),
  ),
  countFlag(
    { name: 'client-send-queue', description: 'Messages buffered for one game client; a client that falls further behind is disconnected.' },
    L.sendQueue,
    D.client.sendQueue,
    (c, v) => (c.client.sendQueue = v),
  ),
  countFlag(
    { name: 'server-max-pending', description: 'IDs one game server connection may hold between New and Dial; past it New is answered with Open(0).' },
    L.maxPending,
    D.server.maxPending,
    (c, v) => (c.server.maxPending = v),
  ),
  durationFlag(
    { name: 'server-ping-interval', description: 'Silence after which a game server is pinged; a second interval of silence disconnects it.' },
    L.pingInterval,
    D.server.pingInterval,
    (c, v) => (c.server.pingInterval = v),
  ),
  countFlag(
    { name: 'server-send-queue', description: 'Messages buffered for one game server; past it the gateway stops reading from the clients sending to it until it drains.' },
    L.sendQueue,
    D.server.sendQueue,
    (c, v) => (c.server.sendQueue = v),
  ),
  {
    name: 'log-level',
    env: envName('log-level'),
    placeholder: '<level>',
    defaultText: 'info',
    acceptsText: LOG_LEVELS.join(', '),
    description: 'Least severe level of the log written to stderr as JSON lines.',
    repeatable: false,
    apply(config, text) {
      if (!(LOG_LEVELS as readonly string[]).includes(text)) return `must be one of ${LOG_LEVELS.join(', ')}, ${got(text)}`;
      config.logLevel = text as LogLevel;
      return undefined;
    },
  },
];

const FLAG_BY_NAME = new Map(FLAGS.map((flag) => [flag.name, flag]));

/** Environment variables, as `process.env` has them. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the command line. Flags are `--name value` or `--name=value` (use the `=` form for a
 * value that starts with `--`). Each flag absent from `argv` is read from its `FASTWAY_*`
 * variable in `env`; a flag given on the command line wins.
 *
 * @throws InvalidOptionError naming the flag (or variable) and what it accepts.
 */
export function parseCommandLine(argv: readonly string[], env: Env = {}): CliCommand {
  if (argv.includes('--help') || argv.includes('-h')) return { action: 'help' };
  if (argv.includes('--version') || argv.includes('-V')) return { action: 'version' };

  const given = new Map<FlagSpec, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      throw new InvalidOptionError(JSON.stringify(arg), 'unexpected argument: fastway takes only flags (fastway --help lists them)');
    }
    const eq = arg.indexOf('=');
    const written = eq < 0 ? arg : arg.slice(0, eq);
    const flag = written.startsWith('--') ? FLAG_BY_NAME.get(written.slice(2)) : undefined;
    if (flag === undefined) throw new InvalidOptionError(written, 'unknown flag (fastway --help lists them)');
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new InvalidOptionError(written, `needs a value: ${written} ${flag.placeholder} (or ${written}=${flag.placeholder})`);
      }
      value = next;
      i++;
    }
    const values = given.get(flag);
    if (values === undefined) given.set(flag, [value]);
    else if (flag.repeatable) values.push(value);
    else throw new InvalidOptionError(written, 'given more than once');
  }

  const config: CliConfig = {
    clientAddr: DEFAULT_CLIENT_ADDR,
    serverAddr: DEFAULT_SERVER_ADDR,
    authKeys: [],
    logLevel: 'info',
    client: {},
    server: {},
  };
  for (const flag of FLAGS) {
    const fromArgv = given.get(flag);
    const fromEnv = env[flag.env];
    const values = fromArgv ?? (fromEnv !== undefined ? [fromEnv] : []);
    const source = fromArgv ? `--${flag.name}` : flag.env;
    for (const value of values) {
      const problem = flag.apply(config, value);
      if (problem !== undefined) throw new InvalidOptionError(source, problem);
    }
  }
  return { action: 'run', config };
}

/** The gateway's options for `config`, with the auth keys to use and the logger. */
export function toGatewayOptions(config: CliConfig, authKeys: readonly string[], logger: GatewayLogger): GatewayOptions {
  const options: GatewayOptions = {
    client: { ...config.client },
    server: { ...config.server, authKey: authKeys },
    logger,
  };
  if (config.maxPacketSize !== undefined) options.maxPacketSize = config.maxPacketSize;
  return options;
}

const HELP_WIDTH = 88;

/** Splits `text` into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

/** The `--help` text. */
export function helpText(version: string): string {
  const lines = [
    `fastway ${version}: a game gateway; it carries virtual connections between game`,
    'clients and game servers.',
    '',
    'Usage: fastway [flags]',
    '',
    'Every flag can also be set with its environment variable; a flag on the command line',
    'wins. Durations take ms, s, m or h (500ms, 30s, 2m); plain digits are milliseconds.',
    '',
    'Flags:',
  ];
  for (const flag of FLAGS) {
    lines.push(`  --${flag.name} ${flag.placeholder}`);
    for (const line of wrap(flag.description, HELP_WIDTH - 6)) lines.push(`      ${line}`);
    lines.push(`      env ${flag.env}; default ${flag.defaultText}`);
    lines.push(`      accepts ${flag.acceptsText}`);
  }
  lines.push('  -h, --help');
  lines.push('      Print this help and exit.');
  lines.push('  -V, --version');
  lines.push('      Print the version and exit.');
  lines.push('');
  lines.push(...wrap('Exit codes: 0 after SIGINT or SIGTERM closed everything, 1 on a runtime failure (such as a port in use), 2 on a bad flag.', HELP_WIDTH));
  return lines.join('\n') + '\n';
}
