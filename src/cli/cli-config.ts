/**
 * What the `fastway` command line asks for ({@link CliConfig}), and the defaults of what is
 * the command's own (addresses, drain, logging). Gateway options left unset take the
 * gateway's defaults (`GATEWAY_DEFAULTS`).
 */
import { DEFAULT_CLUSTER_NAME } from '../cluster/cluster-keys.js';
import { REGISTRATION_DEFAULTS } from '../cluster/gateway-registration.js';
import type { ClientListenerOptions, ServerListenerOptions } from '../gateway/options.js';

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
  /** The listeners' accept backlog (the kernel caps it at net.core.somaxconn). */
  listenBacklog?: number;
  /** Client listener options; whatever a flag sets here is handed to the gateway as it is. */
  client: Omit<ClientListenerOptions, 'tls' | 'webSocket'>;
  /** Server listener options; whatever a flag sets here is handed to the gateway as it is. */
  server: Omit<ServerListenerOptions, 'authKey' | 'authKeysById' | 'tls'>;
  /** The registry's URL (`--cluster`, `redis://…`); null when the gateway runs on its own. */
  cluster: string | null;
  /** The prefix of the registry's keys. */
  clusterName: string;
  /** The gateway's ID in the registry; unset: the host name and a random suffix. */
  gatewayId?: string;
  /** What the gateway advertises in the registry instead of its bound addresses. */
  advertiseClientAddr?: string;
  advertiseClientWsUrl?: string;
  advertiseServerAddr?: string;
  /** ms between two writes of the gateway's record, and how long it lives without one. */
  clusterHeartbeat: number;
  clusterTtl: number;
  /** Gateway processes to run (`--workers`); null: this process is the gateway. */
  workers: number | null;
}

/** Defaults of the listen addresses and of the drain. */
export const DEFAULT_CLIENT_ADDR = '127.0.0.1:7000';
export const DEFAULT_SERVER_ADDR = '127.0.0.1:7001';
export const DEFAULT_METRICS_ADDR = '127.0.0.1:9464';
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
export const DEFAULT_WS_PATH = '/';

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
    cluster: null,
    clusterName: DEFAULT_CLUSTER_NAME,
    clusterHeartbeat: REGISTRATION_DEFAULTS.heartbeatInterval,
    clusterTtl: REGISTRATION_DEFAULTS.ttl,
    workers: null,
  };
}
