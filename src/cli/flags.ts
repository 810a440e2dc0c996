/**
 * The table of the `fastway` command's flags. Each flag is also a `FASTWAY_*` environment
 * variable and a key of the `--config` file (see command-line.ts); adding a flag is adding
 * one entry here (and, for a setting that is not a gateway listener option, its field in
 * {@link CliConfig}).
 *
 * Defaults and accepted ranges of gateway options come from the gateway's own
 * `GATEWAY_DEFAULTS` and `GATEWAY_LIMITS`, so the command line and the library can never disagree.
 */
import { GATEWAY_DEFAULTS as D, GATEWAY_LIMITS as L } from '../gateway/options.js';
import {
  type CliConfig,
  DEFAULT_CLIENT_ADDR,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_METRICS_ADDR,
  DEFAULT_SERVER_ADDR,
  DEFAULT_WS_PATH,
  LOG_FORMATS,
  LOG_LEVELS,
} from './cli-config.js';
import { CLUSTER_NAME, CLUSTER_NAME_RULE, DEFAULT_CLUSTER_NAME, GATEWAY_ID, GATEWAY_ID_RULE } from '../cluster/cluster-keys.js';
import { HEARTBEAT_RANGE, REGISTRATION_DEFAULTS, TTL_RANGE } from '../cluster/gateway-registration.js';
import { defineFlag, type FlagSpec } from './flag-builder.js';
import {
  address,
  addressOrOff,
  advertisedAddress,
  byteSize,
  choice,
  count,
  duration,
  filePath,
  identifier,
  origins,
  redisUrlOrOff,
  secretKeys,
  trustedSources,
  webSocketPath,
  workerCount,
} from './flag-values.js';

/** The `--metrics-addr` value that turns the metrics listener off. */
export const METRICS_OFF = 'off';
/** The `--client-ws-addr` value (and default) that leaves the WebSocket listener off. */
export const WS_OFF = 'off';
/** The longest `--drain-timeout`. */
const DRAIN_TIMEOUT_RANGE = { min: 0, max: 24 * 3_600_000 };

/** Every flag, in the order `--help` lists them. */
export const FLAGS: readonly FlagSpec[] = [
  defineFlag({
    name: 'client-addr',
    description: 'Address the client listener binds, where game clients connect (port 0 picks a free port).',
    value: address,
    default: DEFAULT_CLIENT_ADDR,
    set: (c, v) => (c.clientAddr = v),
    get: (c) => c.clientAddr,
  }),
  defineFlag({
    name: 'server-addr',
    description: 'Address the server listener binds, where game servers connect; keep it on a private network.',
    value: address,
    default: DEFAULT_SERVER_ADDR,
    set: (c, v) => (c.serverAddr = v),
    get: (c) => c.serverAddr,
  }),
  defineFlag({
    name: 'metrics-addr',
    description: `Address of the HTTP listener serving /metrics (Prometheus), /healthz and /readyz; ${METRICS_OFF} disables it.`,
    value: addressOrOff(METRICS_OFF),
    default: DEFAULT_METRICS_ADDR,
    set: (c, v) => (c.metricsAddr = v),
    get: (c) => c.metricsAddr,
  }),
  defineFlag({
    name: 'client-ws-addr',
    description:
      'Address of the WebSocket listener for game clients (browsers); WSS when --client-tls-cert is set. Each message holds whole frames. Off unless set.',
    value: addressOrOff(WS_OFF),
    default: null,
    set: (c, v) => (c.clientWsAddr = v),
    get: (c) => c.clientWsAddr,
  }),
  defineFlag({
    name: 'client-ws-path',
    description: 'The request path the WebSocket listener upgrades; other paths get 404.',
    value: webSocketPath,
    default: DEFAULT_WS_PATH,
    set: (c, v) => (c.clientWsPath = v),
    get: (c) => c.clientWsPath,
  }),
  defineFlag({
    name: 'client-ws-origins',
    description:
      'Origins whose pages may connect to the WebSocket listener (comma-separated, or the flag repeated); an upgrade from another Origin gets 403. ' +
      'Requests without an Origin header (not from a browser) are let in.',
    value: origins,
    default: [],
    repeatable: true,
    // `any` allows every origin again; other values add up.
    set: (c, v) => (c.clientWsOrigins = v.length === 0 ? [] : [...c.clientWsOrigins, ...v]),
    get: (c) => c.clientWsOrigins,
  }),
  defineFlag({
    name: 'client-tls-cert',
    description: 'PEM certificate chain: turns the client listener into TLS and the WebSocket listener into WSS. Needs --client-tls-key. Reloaded on SIGHUP.',
    value: filePath,
    default: undefined,
    set: (c, v) => (c.clientTlsCert = v),
    get: (c) => c.clientTlsCert,
  }),
  defineFlag({
    name: 'client-tls-key',
    description: 'PEM private key of --client-tls-cert. Reloaded on SIGHUP.',
    value: filePath,
    default: undefined,
    set: (c, v) => (c.clientTlsKey = v),
    get: (c) => c.clientTlsKey,
  }),
  defineFlag({
    name: 'server-tls-cert',
    description: 'PEM certificate chain: turns the server listener into TLS. Needs --server-tls-key. Reloaded on SIGHUP.',
    value: filePath,
    default: undefined,
    set: (c, v) => (c.serverTlsCert = v),
    get: (c) => c.serverTlsCert,
  }),
  defineFlag({
    name: 'server-tls-key',
    description: 'PEM private key of --server-tls-cert. Reloaded on SIGHUP.',
    value: filePath,
    default: undefined,
    set: (c, v) => (c.serverTlsKey = v),
    get: (c) => c.serverTlsKey,
  }),
  defineFlag({
    name: 'server-tls-ca',
    description:
      'PEM CA certificate(s): game servers must present a certificate signed by one (mutual TLS; the key handshake still runs inside). Needs --server-tls-cert. Reloaded on SIGHUP.',
    value: filePath,
    default: undefined,
    set: (c, v) => (c.serverTlsCa = v),
    get: (c) => c.serverTlsCa,
  }),
  defineFlag({
    name: 'server-auth-key',
    description:
      'Key game servers authenticate with. Several keys (comma-separated, or the flag repeated) are all accepted, for rotation. ' +
      'With no key here nor in a keys file, a random key is generated and printed at start.',
    value: secretKeys,
    default: [],
    defaultText: 'generated',
    repeatable: true,
    secret: true,
    set: (c, v) => c.authKeys.push(...v),
    get: (c) => c.authKeys,
  }),
  defineFlag({
    name: 'server-auth-keys-file',
    description:
      'File of server auth keys, read at start and on SIGHUP: one key per line, or ID:key for a key of one server ID only; blank lines and # comments are skipped. Its keys add to --server-auth-key.',
    value: filePath,
    default: undefined,
    set: (c, v) => (c.authKeysFile = v),
    get: (c) => c.authKeysFile,
  }),
  defineFlag({
    name: 'server-auth-timeout',
    description: 'Time a game server has to finish the handshake before it is disconnected.',
    value: duration(L.authTimeout),
    default: D.server.authTimeout,
    set: (c, v) => (c.server.authTimeout = v),
    get: (c) => c.server.authTimeout,
  }),
  defineFlag({
    name: 'max-packet-size',
    option: 'maxPacketSize',
    description: 'Largest frame Length accepted or forwarded; a larger frame is a protocol error.',
    value: byteSize(L.maxPacketSize),
    default: D.maxPacketSize,
    set: (c, v) => (c.maxPacketSize = v),
    get: (c) => c.maxPacketSize,
  }),
  defineFlag({
    name: 'busy-poll-us',
    description:
      'After each read, keep polling this many microseconds instead of sleeping: lower latency on virtual machines, for up to that much CPU per read while traffic is sparse. 0 is off.',
    value: count(L.busyPollMicros),
    default: D.busyPollMicros,
    set: (c, v) => (c.busyPollMicros = v),
    get: (c) => c.busyPollMicros,
  }),
  defineFlag({
    name: 'listen-backlog',
    description:
      'Connections the kernel may queue on each listener before the gateway accepts them; sized for a reconnect storm. Linux caps it at net.core.somaxconn.',
    value: count(L.listenBacklog),
    default: D.listenBacklog,
    set: (c, v) => (c.listenBacklog = v),
    get: (c) => c.listenBacklog,
  }),
  defineFlag({
    name: 'max-clients',
    option: 'client.maxClients',
    description:
      'Client connections (TCP, TLS and WebSocket together, from the TCP accept on) the gateway holds at once; past it a connection is closed at accept. 0 is no bound.',
    value: count(L.maxClients),
    default: D.client.maxClients,
    set: (c, v) => (c.client.maxClients = v),
    get: (c) => c.client.maxClients,
  }),
  defineFlag({
    name: 'max-clients-per-ip',
    option: 'client.maxClientsPerIp',
    description: 'The same, per remote IP address; past it that address\'s next connection is closed at accept. 0 is no bound.',
    value: count(L.maxClients),
    default: D.client.maxClientsPerIp,
    set: (c, v) => (c.client.maxClientsPerIp = v),
    get: (c) => c.client.maxClientsPerIp,
  }),
  defineFlag({
    name: 'client-proxy-protocol',
    description:
      'Behind an L4 balancer: the addresses and CIDR blocks of the balancers (comma-separated, or the flag repeated). Every client connection ' +
      '(TCP, TLS and WebSocket) must then come from one of them and begin with a PROXY protocol v1 or v2 header, whose player address the ' +
      'per-IP bound and the log use; others are closed and counted. off turns it off.',
    value: trustedSources,
    default: [],
    repeatable: true,
    // `off` turns it off again; other values add up.
    set: (c, v) => {
      if (v.length === 0) delete c.client.proxyProtocol;
      else c.client.proxyProtocol = [...(c.client.proxyProtocol ?? []), ...v];
    },
    get: (c) => (c.client.proxyProtocol === undefined ? undefined : [...c.client.proxyProtocol]),
  }),
  defineFlag({
    name: 'client-proxy-header-timeout',
    description: 'With --client-proxy-protocol: the time a balancer\'s connection has to send its whole PROXY header before it is closed.',
    value: duration(L.proxyHeaderTimeout),
    default: D.client.proxyHeaderTimeout,
    set: (c, v) => (c.client.proxyHeaderTimeout = v),
    get: (c) => c.client.proxyHeaderTimeout,
  }),
  defineFlag({
    name: 'client-message-rate',
    description:
      'Messages (frames, commands included) one game client may send a second on average; a client beyond it has its socket paused until it is back ' +
      'within the rate, so a game server never gets more than this from one player. 0 is no limit.',
    value: count(L.messageRate),
    default: D.client.messageRate,
    set: (c, v) => (c.client.messageRate = v),
    get: (c) => c.client.messageRate,
  }),
  defineFlag({
    name: 'client-message-burst',
    description: 'With --client-message-rate: messages a client may send at once before the rate holds it back.',
    value: count(L.messageBurst),
    default: D.client.messageBurst,
    set: (c, v) => (c.client.messageBurst = v),
    get: (c) => c.client.messageBurst,
  }),
  defineFlag({
    name: 'client-message-debt-limit',
    description:
      'With --client-message-rate: messages beyond its allowance a client may get (what one read brings in before the pause) before it is disconnected instead of paused. 0 is never.',
    value: count(L.messageDebtLimit),
    default: D.client.messageDebtLimit,
    set: (c, v) => (c.client.messageDebtLimit = v),
    get: (c) => c.client.messageDebtLimit,
  }),
  defineFlag({
    name: 'client-max-conn',
    description: 'Live virtual connections one game client may have at once; more dials are refused.',
    value: count(L.maxConn),
    default: D.client.maxConn,
    set: (c, v) => (c.client.maxConn = v),
    get: (c) => c.client.maxConn,
  }),
  defineFlag({
    name: 'client-max-pending',
    description: 'IDs one game client may hold between New and Dial; past it New is answered with Open(0).',
    value: count(L.maxPending),
    default: D.client.maxPending,
    set: (c, v) => (c.client.maxPending = v),
    get: (c) => c.client.maxPending,
  }),
  defineFlag({
    name: 'client-ping-interval',
    description: 'Silence after which a game client is pinged; a second interval of silence disconnects it.',
    value: duration(L.pingInterval),
    default: D.client.pingInterval,
    set: (c, v) => (c.client.pingInterval = v),
    get: (c) => c.client.pingInterval,
  }),
  defineFlag({
    name: 'client-send-queue',
    description: 'Messages buffered for one game client; a client that falls further behind is disconnected.',
    value: count(L.sendQueue),
    default: D.client.sendQueue,
    set: (c, v) => (c.client.sendQueue = v),
    get: (c) => c.client.sendQueue,
  }),
  defineFlag({
    name: 'client-send-buffer',
    option: 'client.sendBuffer',
    description: 'Bytes buffered for one game client; a client that falls further behind is disconnected (with --client-send-queue, whichever comes first). At least --max-packet-size + 4; unset, it is raised to that.',
    value: byteSize(L.sendBuffer),
    default: D.client.sendBuffer,
    set: (c, v) => (c.client.sendBuffer = v),
    get: (c) => c.client.sendBuffer,
  }),
  defineFlag({
    name: 'server-max-pending',
    description: 'IDs one game server connection may hold between New and Dial; past it New is answered with Open(0).',
    value: count(L.maxPending),
    default: D.server.maxPending,
    set: (c, v) => (c.server.maxPending = v),
    get: (c) => c.server.maxPending,
  }),
  defineFlag({
    name: 'server-ping-interval',
    description: 'Silence after which a game server is pinged; a second interval of silence disconnects it.',
    value: duration(L.pingInterval),
    default: D.server.pingInterval,
    set: (c, v) => (c.server.pingInterval = v),
    get: (c) => c.server.pingInterval,
  }),
  defineFlag({
    name: 'server-send-queue',
    description: 'Messages buffered for one game server; past it the gateway stops reading from the clients sending to it until it drains.',
    value: count(L.sendQueue),
    default: D.server.sendQueue,
    set: (c, v) => (c.server.sendQueue = v),
    get: (c) => c.server.sendQueue,
  }),
  defineFlag({
    name: 'server-send-buffer',
    option: 'server.sendBuffer',
    description: 'Bytes buffered for one game server; past it the gateway stops reading from the clients sending to it until it drains (with --server-send-queue, whichever comes first).',
    value: byteSize(L.sendBuffer),
    default: D.server.sendBuffer,
    set: (c, v) => (c.server.sendBuffer = v),
    get: (c) => c.server.sendBuffer,
  }),
  defineFlag({
    name: 'drain-timeout',
    description:
      'On SIGTERM or SIGINT the gateway stops accepting and refuses new virtual connections; live ones may go on this long before the rest are closed. 0 closes at once.',
    value: duration(DRAIN_TIMEOUT_RANGE),
    default: DEFAULT_DRAIN_TIMEOUT_MS,
    set: (c, v) => (c.drainTimeout = v),
    get: (c) => c.drainTimeout,
  }),
  defineFlag({
    name: 'pid-file',
    description: 'File to write the process ID to once every listener is bound; removed on exit.',
    value: filePath,
    default: undefined,
    set: (c, v) => (c.pidFile = v),
    get: (c) => c.pidFile,
  }),
  defineFlag({
    name: 'log-level',
    description: 'Least severe level of the log written to stderr.',
    value: choice(LOG_LEVELS, 'level'),
    default: 'info',
    set: (c, v) => (c.logLevel = v),
    get: (c) => c.logLevel,
  }),
  defineFlag({
    name: 'log-format',
    description: 'json writes one JSON object per line (for log collectors); pretty writes readable lines (for people).',
    value: choice(LOG_FORMATS, 'format'),
    default: 'json',
    set: (c, v) => (c.logFormat = v),
    get: (c) => c.logFormat,
  }),
  defineFlag({
    name: 'workers',
    description:
      'Run this many gateway processes (auto: one per core). They share the client listeners; worker k binds --server-addr port P + k ' +
      '(port 0: a free port each) and registers as <gateway-id>-<k>. The metrics listener serves all of them.',
    value: workerCount,
    default: null,
    set: (c, v) => (c.workers = v),
    get: (c) => c.workers,
  }),
  defineFlag({
    name: 'cluster',
    description:
      'The registry (Redis) of a cluster of gateways: the gateway registers there, refreshes its record on a heartbeat and announces join, drain and leave, ' +
      'so that game servers (joinCluster) and placement (pickGateway) follow it. Traffic never waits on Redis.',
    value: redisUrlOrOff,
    default: null,
    set: (c, v) => (c.cluster = v),
    get: (c) => c.cluster,
  }),
  defineFlag({
    name: 'cluster-name',
    description: 'The cluster: the prefix of every registry key, so that several clusters can share one Redis.',
    value: identifier(CLUSTER_NAME, CLUSTER_NAME_RULE),
    default: DEFAULT_CLUSTER_NAME,
    set: (c, v) => (c.clusterName = v!),
    get: (c) => c.clusterName,
  }),
  defineFlag({
    name: 'gateway-id',
    description: 'The gateway ID in the registry; a second live gateway with the same ID refuses to start.',
    value: identifier(GATEWAY_ID, GATEWAY_ID_RULE),
    default: undefined,
    defaultText: 'host name and a random suffix',
    set: (c, v) => (c.gatewayId = v),
    get: (c) => c.gatewayId,
  }),
  defineFlag({
    name: 'advertise-client-addr',
    description: 'The client address game clients are given (host:port, tls://host:port); needed with --cluster when --client-addr is a wildcard.',
    value: advertisedAddress,
    default: undefined,
    defaultText: 'the bound address',
    set: (c, v) => (c.advertiseClientAddr = v),
    get: (c) => c.advertiseClientAddr,
  }),
  defineFlag({
    name: 'advertise-client-ws-url',
    description: 'The WebSocket URL browsers are given (ws://…, wss://…); needed with --cluster when --client-ws-addr is a wildcard.',
    value: advertisedAddress,
    default: undefined,
    defaultText: 'the bound address',
    set: (c, v) => (c.advertiseClientWsUrl = v),
    get: (c) => c.advertiseClientWsUrl,
  }),
  defineFlag({
    name: 'advertise-server-addr',
    description: 'The server address game servers link to (host:port, tls://host:port); needed with --cluster when --server-addr is a wildcard.',
    value: advertisedAddress,
    default: undefined,
    defaultText: 'the bound address',
    set: (c, v) => (c.advertiseServerAddr = v),
    get: (c) => c.advertiseServerAddr,
  }),
  defineFlag({
    name: 'cluster-heartbeat',
    description: 'How often the gateway rewrites its registry record.',
    value: duration(HEARTBEAT_RANGE),
    default: REGISTRATION_DEFAULTS.heartbeatInterval,
    set: (c, v) => (c.clusterHeartbeat = v),
    get: (c) => c.clusterHeartbeat,
  }),
  defineFlag({
    name: 'cluster-ttl',
    description: 'How long the record lives without a heartbeat: a gateway killed outright leaves the registry this long after its last one. At least twice --cluster-heartbeat.',
    value: duration(TTL_RANGE),
    default: REGISTRATION_DEFAULTS.ttl,
    set: (c, v) => (c.clusterTtl = v),
    get: (c) => c.clusterTtl,
  }),
];

/** The flags by name. */
export const FLAG_BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((flag) => [flag.name, flag]));

export type { CliConfig };
