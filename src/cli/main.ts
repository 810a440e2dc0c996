#!/usr/bin/env node
/**
 * The `fastway` command: runs a gateway configured from flags, `FASTWAY_*` variables and a
 * config file, with a metrics listener, a PID file and a graceful drain on SIGTERM/SIGINT.
 *
 * stdout gets a few lines for people (the generated key, the bound addresses, the drain);
 * stderr gets the log (JSON lines or pretty), and a one-line message when the command fails.
 * Exit codes: 0 after a drain, 1 on a runtime failure, 2 on a bad flag, variable or config
 * file, 128 + signal number when a second signal cut the drain short.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { FastwayError, InvalidOptionError } from '../errors.js';
import { type BoundAddress, Gateway } from '../gateway/gateway.js';
import { GatewayMetrics, MetricsServer } from '../gateway/metrics.js';
import { GatewayDirectory } from '../cluster/gateway-directory.js';
import type { CliConfig } from './cli-config.js';
import { effectiveConfig, parseCommandLine } from './command-line.js';
import { toGatewayOptions } from './gateway-options.js';
import { inFlagNames } from './option-errors.js';
import { resolveGatewayOptions } from '../gateway/options.js';
import { silentLogger } from '../gateway/logger.js';
import { helpText } from './help.js';
import { parseKeysFile } from './keys-file.js';
import { createLogger } from './logging.js';
import { removePidFile, writePidFile } from './pid-file.js';
import { chooseServerKeys, type ServerKeys } from './server-keys.js';
import { StopSignals, signalExitCode } from './stop-signals.js';
import { hasTls, readTlsFiles } from './tls-files.js';
import { formatDuration } from '../values/duration.js';
import { formatHostPort as formatAddress } from '../values/host-port.js';
import { ClusterMember, defaultGatewayId, gatewaysRoute, withPort } from './cluster-member.js';
import { clusterStatus, parseClusterStatusArgs } from './cluster-status.js';
import { Primary, shareMetricsWithPrimary, tellPrimary, workerServerAddress, workerSlot, type WorkerSlot } from './workers.js';

const EXIT_OK = 0;
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A key for this run only: 24 random bytes, URL-safe base64 (32 characters). */
function generateAuthKey(): string {
  return randomBytes(24).toString('base64url');
}

const readText = (path: string): string => readFileSync(path, 'utf8');

/** The `--workers` slot this process runs in, or null. */
const slot: WorkerSlot | null = workerSlot();

const say = (line: string): void => void process.stdout.write(`fastway: ${slot === null ? '' : `worker ${slot.index} (pid ${process.pid}): `}${line}\n`);

function fail(code: number, message: string): void {
  process.stderr.write(`fastway: ${message}\n`);
  process.exitCode = code;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The server keys for `config`, reading its keys file if it names one. */
function serverKeys(config: CliConfig): ServerKeys {
  let file: Parameters<typeof chooseServerKeys>[1];
  if (config.authKeysFile !== undefined) {
    const path = config.authKeysFile;
    let text: string;
    try {
      text = readText(path);
    } catch (err) {
      throw new InvalidOptionError('--server-auth-keys-file', `cannot read ${path}: ${messageOf(err)}`);
    }
    file = { path, keys: parseKeysFile(text, path) };
  }
  return chooseServerKeys(config.authKeys, file, generateAuthKey);
}

function printConfig(config: CliConfig): void {
  checkGatewayOptions(config, serverKeys(config)); // reads the keys file: a broken one fails here too
  readTlsFiles(config, readText); // and the TLS files
  process.stdout.write(`${JSON.stringify(effectiveConfig(config), null, 2)}\n`);
}

/**
 * The gateway's own checks of the options (the relations between them) before anything is
 * logged or started; an error names the flags.
 */
function checkGatewayOptions(config: CliConfig, keys: ServerKeys): void {
  try {
    resolveGatewayOptions(toGatewayOptions(config, keys.keys, silentLogger));
  } catch (err) {
    throw err instanceof InvalidOptionError ? inFlagNames(err) : err;
  }
}

/** One running gateway with its metrics listener and PID file, and how it stops. */
class Service {
  private readonly gateway: Gateway;
  private metricsServer: MetricsServer | null = null;
  /** The gateway's registration with `--cluster`. */
  private member: ClusterMember | null = null;
  private pidFileWritten = false;
  private readonly signals = new StopSignals();
  /** Resolves with whether the gateway started; a stop waits for it. */
  private started: Promise<boolean> = Promise.resolve(false);

  /**
   * @param rereadKeys reads the server keys again from where they came from (the command line,
   *   the config file, the keys file): what SIGHUP applies.
   */
  constructor(
    private readonly config: CliConfig,
    private readonly keys: ServerKeys,
    private readonly logger: Logger,
    private readonly rereadKeys: () => ServerKeys,
  ) {
    const options = toGatewayOptions(config, keys.keys, logger);
    const tls = readTlsFiles(config, readText);
    if (tls.client !== undefined) options.client = { ...options.client, tls: tls.client };
    if (tls.server !== undefined) options.server.tls = tls.server;
    try {
      this.gateway = new Gateway(options);
    } catch (err) {
      // Name the flags, not the library's option, when a certificate file is unusable.
      if (err instanceof InvalidOptionError && /^(client|server)\.tls/.test(err.option)) {
        const side = err.option.slice(0, 6);
        throw new InvalidOptionError(`--${side}-tls-*`, err.message);
      }
      throw err instanceof InvalidOptionError ? inFlagNames(err) : err;
    }
  }

  private readonly onStopSignal = (signal: NodeJS.Signals): void => {
    const action = this.signals.receive();
    if (action === 'repeat') {
      this.logger.debug({ event: 'signal_repeated', signal }, 'same stop signal again within 500ms: already draining');
    } else if (action === 'force') {
      this.logger.warn({ event: 'forced_exit', signal, liveConnections: this.gateway.stats.liveConnections }, 'second stop signal: exiting now');
      this.removePidFile();
      // Delete the registry record on the way out, but never wait long for Redis.
      const left = this.member === null ? Promise.resolve() : this.member.leave();
      void Promise.race([left, new Promise((resolve) => setTimeout(resolve, 300))]).then(() => process.exit(signalExitCode(signal)));
    } else {
      void this.drainAndExit(signal);
    }
  };

  /**
   * SIGHUP: reads the server auth keys again (the keys file, and the config file the keys
   * flags may come from) and, with TLS, the certificate files. New handshakes use the new
   * keys and new connections the new certificates; connections already up are kept. What
   * cannot be read or used is logged and the old keys or certificates stay in force.
   */
  private readonly onHangup = (): void => {
    this.reloadKeys();
    if (!hasTls(this.config)) return;
    try {
      this.gateway.updateTls(readTlsFiles(this.config, readText));
      this.logger.info({ event: 'tls_reloaded' }, 'TLS certificate files reloaded: new connections use them');
    } catch (err) {
      this.logger.error({ event: 'tls_reload_failed', err: messageOf(err) }, 'TLS reload failed: the certificates in use are kept');
    }
  };

  private reloadKeys(): void {
    let keys: ServerKeys;
    try {
      keys = this.rereadKeys();
      if (keys.generated !== undefined) {
        // Nothing configured: the key generated at start (the one printed) stays.
        this.logger.warn({ event: 'auth_keys_unchanged' }, 'SIGHUP: no server auth key is configured, the key generated at start is kept');
        return;
      }
      this.gateway.updateAuthKeys(keys.keys);
    } catch (err) {
      this.logger.error({ event: 'auth_keys_reload_failed', err: messageOf(err) }, 'server auth keys reload failed: the keys in force are kept');
      return;
    }
    const byId = keys.keys.authKeysById ?? {};
    this.logger.info(
      { event: 'auth_keys_reloaded', keys: keys.keys.authKey.length, serverIds: Object.keys(byId).length },
      'server auth keys reloaded: new handshakes use them, servers already connected stay',
    );
  }

  /** Starts everything; on failure, releases what was started and sets the exit code. */
  async start(): Promise<void> {
    for (const signal of STOP_SIGNALS) process.on(signal, this.onStopSignal);
    process.on('SIGHUP', this.onHangup);
    this.started = this.listen();
    await this.started;
  }

  private async listen(): Promise<boolean> {
    const { config } = this;
    try {
      const bound = await this.gateway.listen({
        client: config.clientAddr,
        server: slot === null ? config.serverAddr : await workerServerAddress(config.serverAddr, slot.index),
        ...(config.clientWsAddr !== null && { clientWs: config.clientWsAddr }),
      });
      const clientTls = config.clientTlsCert !== undefined;
      if (config.cluster !== null) {
        const baseId = config.gatewayId ?? defaultGatewayId();
        this.member = await ClusterMember.join(
          {
            url: config.cluster,
            name: config.clusterName,
            gatewayId: slot === null ? baseId : `${baseId}-${slot.index}`,
            ...(config.advertiseClientAddr !== undefined && { advertiseClientAddr: config.advertiseClientAddr }),
            ...(config.advertiseClientWsUrl !== undefined && { advertiseClientWsUrl: config.advertiseClientWsUrl }),
            // A worker's server port is its own: the advertised host with the port it bound.
            ...(config.advertiseServerAddr !== undefined && {
              advertiseServerAddr: slot === null ? config.advertiseServerAddr : withPort(config.advertiseServerAddr, bound.server!.port),
            }),
            heartbeatInterval: config.clusterHeartbeat,
            ttl: config.clusterTtl,
            ...(slot !== null && { instance: slot.instance }),
          },
          this.gateway,
          {
            client: bound.client!,
            server: bound.server!,
            ...(bound.clientWs && { clientWs: bound.clientWs }),
            clientTls,
            serverTls: config.serverTlsCert !== undefined,
            clientWsPath: config.clientWsPath,
          },
          packageVersion(),
          this.logger,
        );
      }
      let metrics: BoundAddress | undefined;
      const gatewayMetrics = new GatewayMetrics(this.gateway);
      if (slot !== null) {
        shareMetricsWithPrimary(gatewayMetrics.registry); // the primary serves /metrics for every worker
      } else if (config.metricsAddr !== null) {
        const member = this.member;
        this.metricsServer = new MetricsServer(gatewayMetrics, {
          address: config.metricsAddr,
          ready: () => this.gateway.ready,
          ...(member !== null && { routes: new Map([['/cluster/gateways', () => member.gatewaysRoute()]]) }),
        });
        metrics = await this.metricsServer.listen();
      }
      if (config.pidFile !== undefined && slot === null) {
        try {
          writePidFile(config.pidFile);
        } catch (err) {
          throw new Error(`cannot write the PID file ${config.pidFile}: ${messageOf(err)}`);
        }
        this.pidFileWritten = true;
      }
      const client = formatAddress(bound.client!);
      const server = formatAddress(bound.server!);
      const ws = bound.clientWs && `${clientTls ? 'wss' : 'ws'}://${formatAddress(bound.clientWs)}${config.clientWsPath}`;
      const metricsUrl = metrics && `http://${formatAddress(metrics)}/metrics`;
      const { keys } = this;
      if (keys.generated !== undefined) {
        say('no server auth key configured (--server-auth-key or FASTWAY_SERVER_AUTH_KEY), so one was');
        say('generated for this run only; game servers must authenticate with it:');
        say(`server auth key: ${keys.generated}`);
      }
      if (keys.onlyListedIds) {
        this.logger.info({ event: 'keys_per_id_only' }, 'only per-ID server keys are configured: servers with other IDs cannot authenticate');
      }
      this.logger.info(
        { event: 'listening', client, server, clientWs: ws ?? 'off', metrics: metricsUrl ?? 'off', pid: process.pid },
        'gateway listening',
      );
      say(`listening for game clients on ${client}${clientTls ? ' (TLS)' : ''}`);
      if (ws !== undefined) say(`listening for WebSocket game clients on ${ws}`);
      say(`listening for game servers on ${server}${config.serverTlsCert === undefined ? '' : config.serverTlsCa === undefined ? ' (TLS)' : ' (mutual TLS)'}`);
      if (metricsUrl !== undefined) say(`metrics on ${metricsUrl}`);
      if (this.member !== null) say(`registered as gateway ${this.member.gatewayId} in cluster ${config.clusterName}`);
      tellPrimary({ fastway: 'ready', server });
      return true;
    } catch (err) {
      for (const signal of STOP_SIGNALS) process.off(signal, this.onStopSignal);
      process.off('SIGHUP', this.onHangup);
      await this.member?.leave();
      await this.metricsServer?.close();
      await this.gateway.close();
      this.removePidFile();
      fail(err instanceof InvalidOptionError ? EXIT_USAGE : EXIT_RUNTIME, messageOf(err));
      return false;
    }
  }

  /** The graceful stop: drain, close the metrics listener, remove the PID file, exit 0. */
  private async drainAndExit(signal: NodeJS.Signals): Promise<void> {
    if (!(await this.started)) return; // the start failed and is already on its way out
    const live = this.gateway.stats.liveConnections;
    const timeout = this.config.drainTimeout;
    const marked = this.member?.drain(); // the registry says draining at once: no new placements or links
    tellPrimary({ fastway: 'draining' });
    const drained = this.gateway.drain(timeout); // readiness is off from here on
    say(
      `${signal}: draining; ${live} live virtual connection${live === 1 ? '' : 's'} may go on for up to ` +
        `${formatDuration(timeout)} (signal again to stop at once)`,
    );
    let code = EXIT_OK;
    try {
      const cut = await drained;
      this.logger.info({ event: 'drain_finished', cut }, cut === 0 ? 'drained: every virtual connection finished' : 'drain timed out: the rest were closed');
    } catch (err) {
      this.logger.error({ event: 'drain_failed', err: messageOf(err) }, 'error while draining');
      code = EXIT_RUNTIME;
    }
    await marked;
    await this.member?.leave(); // the record is deleted: servers drop the link at once
    await this.metricsServer?.close();
    this.removePidFile();
    this.logger.info({ event: 'stopped' }, 'gateway stopped');
    process.exit(code);
  }

  private removePidFile(): void {
    if (this.pidFileWritten && this.config.pidFile !== undefined) removePidFile(this.config.pidFile);
    this.pidFileWritten = false;
  }
}

/** `--workers` in the primary: one gateway process per worker, supervised; the metrics listener for them all. */
async function runPrimary(config: CliConfig, keys: ServerKeys, logger: Logger): Promise<void> {
  if (keys.generated !== undefined) {
    say('no server auth key configured (--server-auth-key or FASTWAY_SERVER_AUTH_KEY), so one was');
    say('generated for this run only; game servers must authenticate with it:');
    say(`server auth key: ${keys.generated}`);
    process.env.FASTWAY_SERVER_AUTH_KEY = keys.generated; // every worker uses the same one
  }
  // Every worker registers as <id>-<k> under one base ID.
  if (config.cluster !== null && config.gatewayId === undefined) process.env.FASTWAY_GATEWAY_ID = defaultGatewayId();
  let directory: GatewayDirectory | null = null;
  if (config.cluster !== null && config.metricsAddr !== null) {
    directory = await GatewayDirectory.open({ redis: config.cluster, clusterName: config.clusterName, logger });
  }
  const routes = directory === null ? undefined : new Map([['/cluster/gateways', () => gatewaysRoute(directory)]]);
  const primary = new Primary({ workers: config.workers!, metricsAddr: config.metricsAddr, logger, say, ...(routes && { routes }) });
  if (config.pidFile !== undefined) writePidFile(config.pidFile);
  await primary.start(() => {
    if (config.pidFile !== undefined) removePidFile(config.pidFile);
    return directory?.close();
  });
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'cluster') return clusterCommand(argv.slice(1));
  let command;
  try {
    command = parseCommandLine(argv, process.env, readText);
  } catch (err) {
    if (err instanceof InvalidOptionError) return fail(EXIT_USAGE, err.message);
    throw err;
  }
  if (command.action === 'help') {
    process.stdout.write(helpText(packageVersion()));
    return;
  }
  if (command.action === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  try {
    if (command.action === 'print-config') return printConfig(command.config);
    const keys = serverKeys(command.config);
    checkGatewayOptions(command.config, keys);
    const logger = createLogger(command.config.logLevel, command.config.logFormat);
    if (command.config.workers !== null && slot === null) {
      logger.info({ event: 'starting', version: packageVersion(), workers: command.config.workers, config: effectiveConfig(command.config) }, 'fastway starting its workers');
      return await runPrimary(command.config, keys, logger);
    }
    logger.info({ event: 'starting', version: packageVersion(), config: effectiveConfig(command.config) }, 'fastway starting');
    const rereadKeys = (): ServerKeys => {
      const again = parseCommandLine(argv, process.env, readText);
      if (again.action !== 'run') throw new Error('the command line no longer runs a gateway');
      return serverKeys(again.config);
    };
    await new Service(command.config, keys, logger, rereadKeys).start();
    // A worker that could not start leaves at once (its IPC channel would keep it alive).
    if (slot !== null && process.exitCode !== undefined && process.exitCode !== 0) process.exit(process.exitCode);
  } catch (err) {
    if (err instanceof InvalidOptionError) return fail(EXIT_USAGE, err.message);
    if (err instanceof FastwayError) return fail(EXIT_RUNTIME, err.message);
    throw err;
  }
}

/** `fastway cluster status --cluster redis://…`. */
async function clusterCommand(argv: readonly string[]): Promise<void> {
  if (argv[0] !== 'status') return fail(EXIT_USAGE, `unknown cluster command ${JSON.stringify(argv[0] ?? '')}: the one there is is fastway cluster status --cluster redis://…`);
  let args;
  try {
    args = parseClusterStatusArgs(argv.slice(1), process.env);
  } catch (err) {
    if (err instanceof InvalidOptionError) return fail(EXIT_USAGE, err.message);
    throw err;
  }
  try {
    process.exitCode = await clusterStatus(args, (text) => process.stdout.write(text));
  } catch (err) {
    if (err instanceof FastwayError) return fail(EXIT_RUNTIME, err.message);
    throw err;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  fail(EXIT_RUNTIME, `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
});
