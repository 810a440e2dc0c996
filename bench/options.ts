import { parseArgs } from 'node:util';
import { parseDuration as parseDurationText } from '../src/values/duration.js';
import { type HostPort, HOST_PORT_TEXT, parseHostPort } from '../src/values/host-port.js';
import { parseCount } from '../src/values/integer.js';
import { DEFAULT_SCENARIOS, SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenarios.js';

/** A host and port. */
export type Address = HostPort;

/** Everything `npm run bench` was asked to do. */
export interface BenchOptions {
  scenarios: Scenario[];
  durationMs: number;
  warmupMs: number;
  /** Pin the gateway to core 0 and the load side (generators, echo servers) to core 1. */
  pin: boolean;
  /** Load generator processes the clients are spread over (`--load-procs`, or its older name `--workers`). */
  workers: number;
  /** Echo server processes (server IDs 1..servers); clients are spread over them. */
  servers: number;
  /** An external gateway to measure instead of starting ours. */
  gateway: { client: Address; server: Address; moreServers: Address[] } | null;
  /** The external gateway's WebSocket client listener (for scenario bws), path `/`. */
  gatewayWs: Address | null;
  authKey: string;
  /** PID of the external gateway, to read its CPU and memory from /proc. */
  gatewayPid: number | null;
  /** Also run each scenario with no gateway (the limit). */
  direct: boolean;
  /** Also run each scenario through the minimal forwarder (the fast path without checks). */
  minimal: boolean;
  /** Run the minimal forwarder's onread variant (minimal-forwarder-onread.ts) instead. */
  minimalOnread: boolean;
  /** Where to write the results JSON; default bench/results/<timestamp>.json. */
  jsonOut: string | null;
  /** Where to draw the results as an SVG chart (none by default). */
  chart: string | null;
  /** Interface everything listens on and connects to. */
  host: string;
  /** Runs of each scenario and mode; the median run is reported. */
  repeat: number;
  /** Write a V8 CPU profile of every child process into this directory. */
  cpuProfDir: string | null;
  /** Our gateway's `busyPollMicros` (0: off, as it ships). */
  busyPollMicros: number;
  /** Scenario f: storms in a row in one gateway process. */
  storms: number;
  /** Scenario f: how long after the clients of a storm left its RSS is read, in ms. */
  stormSettleMs: number;
  /** Our gateway's `listenBacklog` (null: its default). */
  listenBacklog: number | null;
  /** Our gateway's client and server ping interval, ms (default one hour: no Pings during a run). */
  pingIntervalMs: number;
  /** Scenario e: how long the connections sit idle after the memory reading while the middle's CPU is measured, ms. */
  idleWindowMs: number;
}

export const USAGE = `Usage: npm run bench -- [options]

Scenarios (the gateway's, and the endpoint library's own):
  a  latency:        1 client × 1 vconn × 64 B × 1 in flight
  b  small messages: 50 clients × 4 vconns × 64 B × 8 in flight
  bws                b with the clients on the gateway's WebSocket listener (gateway only,
                     compared with b over TCP: "÷ b")
  c  1 KiB messages: 50 × 4 × 1024 B × 8
  d  many players:   1000 clients × 1 vconn × 256 B × 1
  e  idle:           10000 idle client connections (gateway memory per connection)
  f  reconnect storm: 10000 clients connect at once, each round-trips one 256 B message;
                     --storms of them in one gateway process
  ep endpoint library: 1 client × 4 vconns × 64 B × 32, a game client and server on the
                     endpoint library through the gateway (gateway only, compared with the
                     raw-protocol load of the same shape: "÷ raw")

Options:
  --scenarios a,b,bws,... which scenarios to run (default: all)
  --duration 10s          measured time per scenario and mode (ms, s, m or h; plain digits
                          are ms, as in the gateway's flags; default 10s)
  --warmup 1s             traffic before measuring starts (default 1s)
  --clients N | s=N,...   clients per scenario (for e: idle connections); N sets every
                          selected scenario, s=N one scenario (e.g. d=200,e=2000)
  --vconns N | s=N,...    virtual connections per client
  --size N | s=N,...      message size in bytes (at least 8: the timestamp)
  --inflight N | s=N,...  messages in flight per virtual connection
  --repeat N              run each scenario N times (gateway and direct alternating) and
                          report the median run (default 1)
  --load-procs N          load generator processes the clients are dealt over (default 1;
                          --workers N is the same); with --pin they share every core but 0
  --servers N             echo server processes (default 1)
  --pin                   taskset the gateway to core 0, generators and echo servers to the
                          other cores (core 1 on a 2-core machine)
  --gateway C,S           measure an external gateway: client address, server address;
                          S1+S2+… for one with several server listeners (fastway --workers):
                          each echo server attaches to every one
                          (host:port each); needs --auth-key
  --auth-key KEY          the external gateway's server key
  --gateway-ws HOST:PORT  the external gateway's WebSocket client listener (path /), for bws;
                          without it, bws is left out with --gateway
  --gateway-pid PID       read the external gateway's CPU and memory from /proc (with
                          its child processes: a --workers primary and its workers)
  --no-direct             skip the no-gateway baseline
  --minimal               also run the minimal forwarder (fast path, no checks) as a reference
  --minimal-onread        the same, with the forwarder reading into one shared buffer (onread)
  --json-out FILE         write the results there (default bench/results/<timestamp>.json)
  --chart FILE            also draw them as an SVG chart (msg/s, p99, memory per connection)
  --host HOST             interface for everything local (default 127.0.0.1)
  --cpu-prof DIR          write a CPU profile (.cpuprofile) of every child process to DIR
  --storms N              scenario f: storms in a row in one gateway process (default 5)
  --storm-settle 30s      scenario f: wait after each storm's clients left before reading
                          the gateway's RSS (default 30s)
  --listen-backlog N      run our gateway with listenBacklog N (default: the gateway's own)
  --ping-interval 1h      our gateway's client and server ping interval (default 1h: no Pings
                          in a run; e with 30s or 1s measures the liveness sweep and Pings)
  --idle-window 5s        scenario e: idle time after the memory reading over which the
                          gateway's CPU is measured (0 skips it)
  --busy-poll-us N        run our gateway with busyPollMicros N (keep polling N µs after each
                          read instead of sleeping; default 0, off, as the gateway ships)
  --help
`;

/** Parses `10s`, `500ms`, `1.5m` or plain digits (ms) into ms, as the gateway's flags do (src/values/duration.ts). */
export function parseDuration(text: string, name: string): number {
  const ms = parseDurationText(text.trim());
  if (ms === undefined) throw new Error(`--${name}: expected a duration like 10s or 500ms (plain digits are ms), got "${text}"`);
  return ms;
}

function positiveInt(text: string, name: string, min = 1): number {
  const n = parseCount(text.trim());
  if (n === undefined || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got "${text}"`);
  return n;
}

/** Parses `N` (every scenario) or `a=N,d=M` (per scenario). */
export function parseOverride(text: string, name: string, min = 1): Partial<Record<ScenarioName | '*', number>> {
  const out: Partial<Record<ScenarioName | '*', number>> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      out['*'] = positiveInt(part, name, min);
      continue;
    }
    const key = part.slice(0, eq).trim() as ScenarioName;
    if (!SCENARIO_NAMES.includes(key)) throw new Error(`--${name}: unknown scenario "${key}"`);
    out[key] = positiveInt(part.slice(eq + 1), name, min);
  }
  return out;
}

/** Parses `host:port` (`[::1]:7000` for IPv6) with a port from 1, as every part of fastway does (src/values/host-port.ts). */
export function parseAddress(text: string, name: string): Address {
  const address = parseHostPort(text.trim());
  if (address === undefined || address.port === 0) throw new Error(`--${name}: expected ${HOST_PORT_TEXT} with a port from 1 to 65535, got "${text}"`);
  return address;
}

/** Parses the command line; returns null when `--help` was asked for. */
export function parseBenchArgs(argv: string[]): BenchOptions | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenarios: { type: 'string' },
      duration: { type: 'string', default: '10s' },
      warmup: { type: 'string', default: '1s' },
      clients: { type: 'string' },
      vconns: { type: 'string' },
      size: { type: 'string' },
      inflight: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      workers: { type: 'string' },
      'load-procs': { type: 'string' },
      servers: { type: 'string', default: '1' },
      pin: { type: 'boolean', default: false },
      gateway: { type: 'string' },
      'auth-key': { type: 'string' },
      'gateway-pid': { type: 'string' },
      'gateway-ws': { type: 'string' },
      'no-direct': { type: 'boolean', default: false },
      minimal: { type: 'boolean', default: false },
      'minimal-onread': { type: 'boolean', default: false },
      'json-out': { type: 'string' },
      chart: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'cpu-prof': { type: 'string' },
      'busy-poll-us': { type: 'string', default: '0' },
      storms: { type: 'string', default: '5' },
      'storm-settle': { type: 'string', default: '30s' },
      'listen-backlog': { type: 'string' },
      'ping-interval': { type: 'string', default: '1h' },
      'idle-window': { type: 'string', default: '5s' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;

  const names = (values.scenarios ?? SCENARIO_NAMES.join(',')).split(',').map((s) => s.trim().toLowerCase());
  for (const n of names) if (!SCENARIO_NAMES.includes(n as ScenarioName)) throw new Error(`--scenarios: unknown scenario "${n}"`);
  const overrides = {
    clients: values.clients === undefined ? {} : parseOverride(values.clients, 'clients'),
    vconns: values.vconns === undefined ? {} : parseOverride(values.vconns, 'vconns'),
    size: values.size === undefined ? {} : parseOverride(values.size, 'size', 8),
    inflight: values.inflight === undefined ? {} : parseOverride(values.inflight, 'inflight'),
  };
  const external = values.gateway !== undefined;
  if (external && values['gateway-ws'] === undefined) {
    // No WebSocket address to measure: bws is left out of the default set, and refused if asked for.
    if (values.scenarios !== undefined && names.includes('bws')) {
      throw new Error('--scenarios bws with --gateway needs --gateway-ws (its WebSocket client listener)');
    }
    names.splice(0, names.length, ...names.filter((n) => n !== 'bws'));
  }
  if (!external && values['gateway-ws'] !== undefined) throw new Error('--gateway-ws goes with --gateway');
  const scenarios = SCENARIO_NAMES.filter((n) => names.includes(n)).map((n) => {
    const s = { ...DEFAULT_SCENARIOS[n] };
    s.clients = overrides.clients[n] ?? overrides.clients['*'] ?? s.clients;
    if (s.kind === 'traffic') {
      s.vconns = overrides.vconns[n] ?? overrides.vconns['*'] ?? s.vconns;
      s.size = overrides.size[n] ?? overrides.size['*'] ?? s.size;
      s.inflight = overrides.inflight[n] ?? overrides.inflight['*'] ?? s.inflight;
    } else if (s.kind === 'storm') {
      s.size = overrides.size[n] ?? overrides.size['*'] ?? s.size;
    }
    return s;
  });

  let gateway: BenchOptions['gateway'] = null;
  if (values.gateway !== undefined) {
    const parts = values.gateway.split(',');
    if (parts.length !== 2) throw new Error('--gateway: expected two addresses, client,server (host:port,host:port[+host:port…])');
    const servers = parts[1]!.split('+').map((a) => parseAddress(a, 'gateway'));
    gateway = { client: parseAddress(parts[0]!, 'gateway'), server: servers[0]!, moreServers: servers.slice(1) };
    if (values['auth-key'] === undefined) throw new Error('--gateway needs --auth-key (the key its server listener accepts)');
  }

  return {
    scenarios,
    durationMs: parseDuration(values.duration, 'duration'),
    warmupMs: parseDuration(values.warmup, 'warmup'),
    pin: values.pin,
    repeat: positiveInt(values.repeat, 'repeat'),
    workers: loadProcs(values['load-procs'], values.workers),
    servers: positiveInt(values.servers, 'servers'),
    gateway,
    authKey: values['auth-key'] ?? 'bench-key',
    gatewayWs: values['gateway-ws'] === undefined ? null : parseAddress(values['gateway-ws'], 'gateway-ws'),
    gatewayPid: values['gateway-pid'] === undefined ? null : positiveInt(values['gateway-pid'], 'gateway-pid'),
    direct: !values['no-direct'],
    minimal: values.minimal || values['minimal-onread'],
    minimalOnread: values['minimal-onread'],
    jsonOut: values['json-out'] ?? null,
    chart: values.chart ?? null,
    host: values.host,
    cpuProfDir: values['cpu-prof'] ?? null,
    busyPollMicros: busyPoll(values['busy-poll-us'], external),
    storms: positiveInt(values.storms, 'storms'),
    stormSettleMs: parseDuration(values['storm-settle'], 'storm-settle'),
    listenBacklog: listenBacklog(values['listen-backlog'], external),
    pingIntervalMs: parseDuration(values['ping-interval'], 'ping-interval'),
    idleWindowMs: parseDuration(values['idle-window'], 'idle-window'),
  };
}

function loadProcs(loadProcsText: string | undefined, workersText: string | undefined): number {
  if (loadProcsText !== undefined && workersText !== undefined) throw new Error('--load-procs and --workers are the same option: give one');
  if (loadProcsText !== undefined) return positiveInt(loadProcsText, 'load-procs');
  return workersText === undefined ? 1 : positiveInt(workersText, 'workers');
}

function listenBacklog(text: string | undefined, external: boolean): number | null {
  if (text === undefined) return null;
  if (external) throw new Error("--listen-backlog sets our gateway's option; an external gateway (--gateway) is configured by whoever started it");
  return positiveInt(text, 'listen-backlog');
}

function busyPoll(text: string, external: boolean): number {
  const n = parseCount(text);
  if (n === undefined || n > 10_000) throw new Error(`--busy-poll-us: expected a whole number of microseconds from 0 to 10000, got "${text}"`);
  if (n > 0 && external) throw new Error('--busy-poll-us sets our gateway\'s option; an external gateway (--gateway) is configured by whoever started it');
  return n;
}
