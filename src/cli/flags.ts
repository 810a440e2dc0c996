/**
 * The `fastway` command line: the flag table, and the reading of argv, `FASTWAY_*`
 * environment variables and a `--config` file into one configuration, with the `--help`
 * text and the `--print-config` view. Pure: no process access; the config file is read
 * through the function the caller passes.
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
  normaliseOrigin,
  type ServerListenerOptions,
} from '../gateway/options.js';
import type { GatewayLogger } from '../gateway/logger.js';
import { type JsonValue, parseConfigFile } from './config-file.js';
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

/** How the log is written: JSON lines (for machines) or pino-pretty (for people). */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What the command line asks for. Gateway options left unset here take the gateway's defaults. */
export interface CliConfig {
  /** Where game clients connect, `host:port`. */
  clientAddr: string;
  /** Where game servers connect, `host:port`. */
  serverAddr: string;
  /** Where the metrics and health listener binds, `host:port`; `null` when off. */
  metricsAddr: string | null;
  /** Where the WebSocket client listener binds, `host:port`; `null` when off. */
  clientWsAddr: string | null;
  /** The path the WebSocket listener upgrades. */
  clientWsPath: string;
  /** Origins allowed on the WebSocket listener; empty allows any. */
  clientWsOrigins: string[];
  /** PEM files of the client listeners' TLS (both or neither). */
  clientTlsCert?: string;
  clientTlsKey?: string;
  /** PEM files of the server listener's TLS (both or neither), and of the CA servers' certificates must be signed by. */
  serverTlsCert?: string;
  serverTlsKey?: string;
  serverTlsCa?: string;
  /** Server auth keys given; with none here nor in a keys file, one is generated. */
  authKeys: string[];
  /** A file of server auth keys (see keys-file.ts), read at start. */
  authKeysFile?: string;
  /** How long, in ms, live virtual connections may go on after SIGTERM or SIGINT. */
  drainTimeout: number;
  /** A file to write the process ID to once listening; removed on exit. */
  pidFile?: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  maxPacketSize?: number;
  /** Microseconds of polling after each read (0: off). */
  busyPollMicros?: number;
  client: Omit<ClientListenerOptions, 'tls' | 'webSocket'>;
  server: Omit<ServerListenerOptions, 'authKey' | 'authKeysById' | 'tls'>;
}

/** The command to run: print help, the version or the configuration, or run the gateway. */
export type CliCommand =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'print-config'; config: CliConfig }
  | { action: 'run'; config: CliConfig };

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
  /** Parses `text` into `config`; returns what is wrong with it, or `undefined` when it is fine. */
  readonly apply: (config: CliConfig, text: string) => string | undefined;
  /** The value in force in `config` (the default when unset) as `--print-config` shows it; a config file accepts it back. */
  readonly effective: (config: CliConfig) => JsonValue;
}

/** What `--print-config` shows in place of each secret. */
export const REDACTED = '<redacted>';

const D = GATEWAY_DEFAULTS;
const L = GATEWAY_LIMITS;
const got = (text: string): string => `got ${JSON.stringify(text)}`;

function envName(name: string): string {
  return `FASTWAY_${name.toUpperCase().replace(/-/g, '_')}`;
}

type Setter<T> = (config: CliConfig, value: T) => void;
type Getter<T> = (config: CliConfig) => T | undefined;
type FlagDoc = Pick<FlagSpec, 'name' | 'description'>;

function durationFlag(doc: FlagDoc, range: Range, fallback: number, set: Setter<number>, get: Getter<number>): FlagSpec {
  const acceptsText = `${formatDuration(range.min)} to ${formatDuration(range.max)}`;
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<duration>',
    defaultText: formatDuration(fallback),
    acceptsText,
    repeatable: false,
    secret: false,
    apply(config, text) {
      const ms = parseDuration(text);
      if (ms === undefined || ms < range.min || ms > range.max) {
        return `must be a duration from ${acceptsText} (like 500ms, 30s, 2m; plain digits are ms), ${got(text)}`;
      }
      set(config, ms);
      return undefined;
    },
    effective: (config) => formatDuration(get(config) ?? fallback),
  };
}

function countFlag(doc: FlagDoc, range: Range, fallback: number, set: Setter<number>, get: Getter<number>): FlagSpec {
  const acceptsText = `${range.min} to ${range.max}`;
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<n>',
    defaultText: String(fallback),
    acceptsText,
    repeatable: false,
    secret: false,
    apply(config, text) {
      const n = parseCount(text);
      if (n === undefined || n < range.min || n > range.max) {
        return `must be a whole number from ${acceptsText}, ${got(text)}`;
      }
      set(config, n);
      return undefined;
    },
    effective: (config) => get(config) ?? fallback,
  };
}

function sizeFlag(doc: FlagDoc, range: Range, fallback: number, set: Setter<number>, get: Getter<number>): FlagSpec {
  const acceptsText = `${range.min} to ${formatByteSize(range.max)}`;
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<bytes>',
    defaultText: formatByteSize(fallback),
    acceptsText,
    repeatable: false,
    secret: false,
    apply(config, text) {
      const bytes = parseByteSize(text);
      if (bytes === undefined || bytes < range.min || bytes > range.max) {
        return `must be a size in bytes from ${acceptsText} (plain digits, or with a KiB or MiB suffix), ${got(text)}`;
      }
      set(config, bytes);
      return undefined;
    },
    effective: (config) => get(config) ?? fallback,
  };
}

const ADDRESS_PROBLEM = 'must be host:port with a port from 0 to 65535 (IPv6 as [::1]:7000; 0.0.0.0 for every interface)';

function addressFlag(doc: FlagDoc, fallback: string, set: Setter<string>, get: Getter<string>): FlagSpec {
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<host:port>',
    defaultText: fallback,
    acceptsText: 'host:port, port 0 to 65535',
    repeatable: false,
    secret: false,
    apply(config, text) {
      if (parseAddress(text) === undefined) return `${ADDRESS_PROBLEM}, ${got(text)}`;
      set(config, text);
      return undefined;
    },
    effective: (config) => get(config) ?? fallback,
  };
}

function pathFlag(doc: FlagDoc, set: Setter<string>, get: Getter<string>): FlagSpec {
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: '<path>',
    defaultText: 'none',
    acceptsText: 'a file path',
    repeatable: false,
    secret: false,
    apply(config, text) {
      if (text.length === 0) return 'must be a file path, got ""';
      set(config, text);
      return undefined;
    },
    effective: (config) => get(config) ?? null,
  };
}

function choiceFlag<T extends string>(doc: FlagDoc, choices: readonly T[], fallback: T, set: Setter<T>, get: Getter<T>): FlagSpec {
  return {
    ...doc,
    env: envName(doc.name),
    placeholder: `<${doc.name.split('-').pop()}>`,
    defaultText: fallback,
    acceptsText: choices.join(', '),
    repeatable: false,
    secret: false,
    apply(config, text) {
      if (!(choices as readonly string[]).includes(text)) return `must be one of ${choices.join(', ')}, ${got(text)}`;
      set(config, text as T);
      return undefined;
    },
    effective: (config) => get(config) ?? fallback,
  };
}

/** Defaults of the listen addresses and of the drain. */
export const DEFAULT_CLIENT_ADDR = '127.0.0.1:7000';
export const DEFAULT_SERVER_ADDR = '127.0.0.1:7001';
export const DEFAULT_METRICS_ADDR = '127.0.0.1:9464';
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** The longest `--drain-timeout`. */
const DRAIN_TIMEOUT_RANGE: Range = { min: 0, max: 24 * 3_600_000 };

/** The `--metrics-addr` value that turns the metrics listener off. */
export const METRICS_OFF = 'off';
/** The `--client-ws-addr` value (and default) that leaves the WebSocket listener off. */
export const WS_OFF = 'off';
export const DEFAULT_WS_PATH = '/';

/** Every flag, in the order `--help` lists them. */
export const FLAGS: readonly FlagSpec[] = [
  addressFlag(
    { name: 'client-addr', description: 'Address the client listener binds, where game clients connect (port 0 picks a free port).' },
    DEFAULT_CLIENT_ADDR,
    (c, v) => (c.clientAddr = v),
    (c) => c.clientAddr,
  ),
  addressFlag(
    { name: 'server-addr', description: 'Address the server listener binds, where game servers connect; keep it on a private network.' },
    DEFAULT_SERVER_ADDR,
    (c, v) => (c.serverAddr = v),
    (c) => c.serverAddr,
  ),
  {
    name: 'metrics-addr',
    env: envName('metrics-addr'),
    placeholder: '<host:port>',
    defaultText: DEFAULT_METRICS_ADDR,
    acceptsText: `host:port, or ${METRICS_OFF}`,
    description: `Address of the HTTP listener serving /metrics (Prometheus), /healthz and /readyz; ${METRICS_OFF} disables it.`,
    repeatable: false,
    secret: false,
    apply(config, text) {
      if (text === METRICS_OFF) {
        config.metricsAddr = null;
        return undefined;
      }
      if (parseAddress(text) === undefined) return `${ADDRESS_PROBLEM}, or ${METRICS_OFF}, ${got(text)}`;
      config.metricsAddr = text;
      return undefined;
    },
    effective: (config) => config.metricsAddr ?? METRICS_OFF,
  },
  {
    name: 'client-ws-addr',
    env: envName('client-ws-addr'),
    placeholder: '<host:port>',
    defaultText: WS_OFF,
    acceptsText: `host:port, or ${WS_OFF}`,
    description:
      'Address of the WebSocket listener for game clients (browsers); WSS when --client-tls-cert is set. Each message holds whole frames. Off unless set.',
    repeatable: false,
    secret: false,
    apply(config, text) {
      if (text === WS_OFF) {
        config.clientWsAddr = null;
        return undefined;
      }
      if (parseAddress(text) === undefined) return `${ADDRESS_PROBLEM}, or ${WS_OFF}, ${got(text)}`;
      config.clientWsAddr = text;
      return undefined;
    },
    effective: (config) => config.clientWsAddr ?? WS_OFF,
  },
  {
    name: 'client-ws-path',
    env: envName('client-ws-path'),
    placeholder: '<path>',
    defaultText: DEFAULT_WS_PATH,
    acceptsText: 'a URL path starting with /',
    description: 'The request path the WebSocket listener upgrades; other paths get 404.',
    repeatable: false,
    secret: false,
    apply(config, text) {
      if (!/^\/[^\s?#]*$/.test(text)) return `must be a URL path starting with / (no spaces, ? or #), ${got(text)}`;
      config.clientWsPath = text;
      return undefined;
    },
    effective: (config) => config.clientWsPath,
  },
  {
    name: 'client-ws-origins',
    env: envName('client-ws-origins'),
    placeholder: '<origin[,origin…]>',
    defaultText: 'any',
    acceptsText: 'origins like https://game.example.com, separated by commas; or any',
    description:
      'Origins whose pages may connect to the WebSocket listener (comma-separated, or the flag repeated); an upgrade from another Origin gets 403. ' +
      'Requests without an Origin header (not from a browser) are let in.',
    repeatable: true,
    secret: false,
    apply(config, text) {
      if (text === 'any') {
        config.clientWsOrigins = [];
        return undefined;
      }
      const origins = text.split(',');
      const bad = origins.find((o) => normaliseOrigin(o) === null);
      if (bad !== undefined) return `must be origins like https://game.example.com separated by commas, ${got(bad)} is not one`;
      config.clientWsOrigins.push(...origins);
      return undefined;
    },
    effective: (config) => (config.clientWsOrigins.length === 0 ? 'any' : [...config.clientWsOrigins]),
  },
  pathFlag(
    { name: 'client-tls-cert', description: 'PEM certificate chain: turns the client listener into TLS and the WebSocket listener into WSS. Needs --client-tls-key. Reloaded on SIGHUP.' },
    (c, v) => (c.clientTlsCert = v),
    (c) => c.clientTlsCert,
  ),
  pathFlag(
    { name: 'client-tls-key', description: 'PEM private key of --client-tls-cert. Reloaded on SIGHUP.' },
    (c, v) => (c.clientTlsKey = v),
    (c) => c.clientTlsKey,
  ),
  pathFlag(
    { name: 'server-tls-cert', description: 'PEM certificate chain: turns the server listener into TLS. Needs --server-tls-key. Reloaded on SIGHUP.' },
    (c, v) => (c.serverTlsCert = v),
    (c) => c.serverTlsCert,
  ),
  pathFlag(
    { name: 'server-tls-key', description: 'PEM private key of --server-tls-cert. Reloaded on SIGHUP.' },
    (c, v) => (c.serverTlsKey = v),
    (c) => c.serverTlsKey,
  ),
  pathFlag(
    {
      name: 'server-tls-ca',
      description:
        'PEM CA certificate(s): game servers must present a certificate signed by one (mutual TLS; the key handshake still runs inside). Needs --server-tls-cert. Reloaded on SIGHUP.',
    },
    (c, v) => (c.serverTlsCa = v),
    (c) => c.serverTlsCa,
  ),
  {
    name: 'server-auth-key',
    env: envName('server-auth-key'),
    placeholder: '<key[,key…]>',
    defaultText: 'generated',
    acceptsText: 'non-empty keys, separated by commas',
    description:
      'Key game servers authenticate with. Several keys (comma-separated, or the flag repeated) are all accepted, for rotation. ' +
      'With no key here nor in a keys file, a random key is generated and printed at start.',
    repeatable: true,
    secret: true,
    apply(config, text) {
      // Never echo a key in an error: the message goes to logs and terminals.
      if (text.length === 0) return 'must not be empty (a server could authenticate without knowing any secret)';
      const keys = text.split(',');
      if (keys.some((k) => k.length === 0)) return 'has an empty key between commas; every key must not be empty';
      if (keys.some((k) => k.trim() !== k)) return 'has a key that starts or ends with whitespace (write old,new with no spaces)';
      config.authKeys.push(...keys);
      return undefined;
    },
    effective: (config) => config.authKeys.map(() => REDACTED),
  },
  pathFlag(
    {
      name: 'server-auth-keys-file',
      description:
        'File of server auth keys, read at start: one key per line, or ID:key for a key of one server ID only; blank lines and # comments are skipped. Its keys add to --server-auth-key.',
    },
    (c, v) => (c.authKeysFile = v),
    (c) => c.authKeysFile,
  ),
  durationFlag(
    { name: 'server-auth-timeout', description: 'Time a game server has to finish the handshake before it is disconnected.' },
    L.authTimeout,
    D.server.authTimeout,
    (c, v) => (c.server.authTimeout = v),
    (c) => c.server.authTimeout,
  ),
  sizeFlag(
    { name: 'max-packet-size', description: 'Largest frame Length accepted or forwarded; a larger frame is a protocol error.' },
    L.maxPacketSize,
    D.maxPacketSize,
    (c, v) => (c.maxPacketSize = v),
    (c) => c.maxPacketSize,
  ),
  countFlag(
    {
      name: 'busy-poll-us',
      description:
        'After each read, keep polling this many microseconds instead of sleeping: lower latency on virtual machines, for up to that much CPU per read while traffic is sparse. 0 is off.',
    },
    L.busyPollMicros,
    D.busyPollMicros,
    (c, v) => (c.busyPollMicros = v),
    (c) => c.busyPollMicros,
  ),
  countFlag(
    { name: 'client-max-conn', description: 'Live virtual connections one game client may have at once; more dials are refused.' },
    L.maxConn,
    D.client.maxConn,
    (c, v) => (c.client.maxConn = v),
    (c) => c.client.maxConn,
  ),
  countFlag(
    { name: 'client-max-pending', description: 'IDs one game client may hold between New and Dial; past it New is answered with Open(0).' },
    L.maxPending,
    D.client.maxPending,
    (c, v) => (c.client.maxPending = v),
    (c) => c.client.maxPending,
  ),
  durationFlag(
    { name: 'client-ping-interval', description: 'Silence after which a game client is pinged; a second interval of silence disconnects it.' },
    L.pingInterval,
    D.client.pingInterval,
    (c, v) => (c.client.pingInterval = v),
    (c) => c.client.pingInterval,
  ),
  countFlag(
    { name: 'client-send-queue', description: 'Messages buffered for one game client; a client that falls further behind is disconnected.' },
    L.sendQueue,
    D.client.sendQueue,
    (c, v) => (c.client.sendQueue = v),
    (c) => c.client.sendQueue,
  ),
  countFlag(
    { name: 'server-max-pending', description: 'IDs one game server connection may hold between New and Dial; past it New is answered with Open(0).' },
    L.maxPending,
    D.server.maxPending,
    (c, v) => (c.server.maxPending = v),
    (c) => c.server.maxPending,
  ),
  durationFlag(
    { name: 'server-ping-interval', description: 'Silence after which a game server is pinged; a second interval of silence disconnects it.' },
    L.pingInterval,
    D.server.pingInterval,
    (c, v) => (c.server.pingInterval = v),
    (c) => c.server.pingInterval,
  ),
  countFlag(
    { name: 'server-send-queue', description: 'Messages buffered for one game server; past it the gateway stops reading from the clients sending to it until it drains.' },
    L.sendQueue,
    D.server.sendQueue,
    (c, v) => (c.server.sendQueue = v),
    (c) => c.server.sendQueue,
  ),
  durationFlag(
    {
      name: 'drain-timeout',
      description:
        'On SIGTERM or SIGINT the gateway stops accepting and refuses new virtual connections; live ones may go on this long before the rest are closed. 0 closes at once.',
    },
    DRAIN_TIMEOUT_RANGE,
    DEFAULT_DRAIN_TIMEOUT_MS,
    (c, v) => (c.drainTimeout = v),
    (c) => c.drainTimeout,
  ),
  pathFlag(
    { name: 'pid-file', description: 'File to write the process ID to once every listener is bound; removed on exit.' },
    (c, v) => (c.pidFile = v),
    (c) => c.pidFile,
  ),
  choiceFlag(
    { name: 'log-level', description: 'Least severe level of the log written to stderr.' },
    LOG_LEVELS,
    'info',
    (c, v) => (c.logLevel = v),
    (c) => c.logLevel,
  ),
  choiceFlag(
    { name: 'log-format', description: 'json writes one JSON object per line (for log collectors); pretty writes readable lines (for people).' },
    LOG_FORMATS,
    'json',
    (c, v) => (c.logFormat = v),
    (c) => c.logFormat,
  ),
];

const FLAG_BY_NAME = new Map(FLAGS.map((flag) => [flag.name, flag]));

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

/** A configuration with every value unset (the defaults). */
export function defaultConfig(): CliConfig {
  return {
    clientAddr: DEFAULT_CLIENT_ADDR,
    serverAddr: DEFAULT_SERVER_ADDR,
    metricsAddr: DEFAULT_METRICS_ADDR,
    clientWsAddr: null,
    clientWsPath: DEFAULT_WS_PATH,
    clientWsOrigins: [],
    authKeys: [],
    drainTimeout: DEFAULT_DRAIN_TIMEOUT_MS,
    logLevel: 'info',
    logFormat: 'json',
    client: {},
    server: {},
  };
}

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

/** Server auth keys for the gateway: the default keys, and the keys of particular server IDs. */
export interface AuthKeys {
  authKey: readonly string[];
  authKeysById?: Readonly<Record<number, readonly string[]>>;
}

/** The gateway's options for `config`, with the auth keys to use and the logger. */
export function toGatewayOptions(config: CliConfig, keys: AuthKeys | readonly string[], logger: GatewayLogger): GatewayOptions {
  const { authKey, authKeysById } = isKeyList(keys) ? { authKey: keys, authKeysById: undefined } : keys;
  const options: GatewayOptions = {
    client: { ...config.client },
    server: { ...config.server, authKey },
    logger,
  };
  if (authKeysById !== undefined && Object.keys(authKeysById).length > 0) options.server.authKeysById = authKeysById;
  if (config.maxPacketSize !== undefined) options.maxPacketSize = config.maxPacketSize;
  if (config.busyPollMicros !== undefined) options.busyPollMicros = config.busyPollMicros;
  if (config.clientWsPath !== DEFAULT_WS_PATH || config.clientWsOrigins.length > 0) {
    options.client!.webSocket = { path: config.clientWsPath };
    if (config.clientWsOrigins.length > 0) options.client!.webSocket.origins = [...config.clientWsOrigins];
  }
  return options;
}

function isKeyList(keys: AuthKeys | readonly string[]): keys is readonly string[] {
  return Array.isArray(keys);
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

function helpEntry(lines: string[], head: string, description: string, ...details: string[]): void {
  lines.push(`  ${head}`);
  for (const line of wrap(description, HELP_WIDTH - 6)) lines.push(`      ${line}`);
  for (const detail of details) lines.push(`      ${detail}`);
}

/** The `--help` text. */
export function helpText(version: string): string {
  const lines = [
    `fastway ${version}: a game gateway; it carries virtual connections between game`,
    'clients and game servers.',
    '',
    'Usage: fastway [flags]',
    '',
    ...wrap(
      'Every flag can also be set with its environment variable, or in a --config file (a JSON object ' +
        'keyed by flag names). A flag on the command line wins over the variable, which wins over the file. ' +
        'Durations take ms, s, m or h (500ms, 30s, 2m); plain digits are milliseconds.',
      HELP_WIDTH,
    ),
    '',
    'Flags:',
  ];
  for (const flag of FLAGS) {
    helpEntry(lines, `--${flag.name} ${flag.placeholder}`, flag.description, `env ${flag.env}; default ${flag.defaultText}`, `accepts ${flag.acceptsText}`);
  }
  helpEntry(
    lines,
    `--${CONFIG_FLAG} <path>`,
    'Read settings from this JSON file: {"client-addr": "0.0.0.0:7000", "server-auth-key": ["old", "new"], ...}. Variables and flags override it.',
    `env ${CONFIG_ENV}`,
  );
  helpEntry(lines, `--${PRINT_CONFIG_FLAG}`, 'Print the configuration in force as JSON, with keys redacted, and exit.');
  helpEntry(lines, '-h, --help', 'Print this help and exit.');
  helpEntry(lines, '-V, --version', 'Print the version and exit.');
  lines.push('');
  lines.push(
    ...wrap(
      'Signals: SIGTERM or SIGINT drains (see --drain-timeout), then exits 0; another one more than 500ms later ' +
        'exits at once with 128 + the signal number (143 or 130). A second signal within 500ms counts as the same ' +
        'one (Ctrl-C through npm arrives twice). SIGHUP reloads the TLS certificate, key and CA files (and is only logged without TLS).',
      HELP_WIDTH,
    ),
  );
  lines.push('');
  lines.push(...wrap('Exit codes: 0 after a drain, 1 on a runtime failure (such as a port in use), 2 on a bad flag, variable or config file.', HELP_WIDTH));
  return lines.join('\n') + '\n';
}
