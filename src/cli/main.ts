#!/usr/bin/env node
/**
 * The `fastway` command: runs a gateway configured from flags and `FASTWAY_*` variables.
 *
 * stdout gets a few lines for people (the generated key, the bound addresses); stderr gets
 * the gateway's log as JSON lines, and a one-line message when the command fails.
 * Exit codes: 0 after a signal closed everything, 1 on a runtime failure, 2 on a bad flag.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { FastwayError, InvalidOptionError } from '../errors.js';
import { Gateway } from '../gateway/gateway.js';
import { type CliConfig, helpText, parseCommandLine, toGatewayOptions } from './flags.js';
import { formatAddress } from './values.js';

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A key for this run only: 24 random bytes, URL-safe base64 (32 characters). */
function generateAuthKey(): string {
  return randomBytes(24).toString('base64url');
}

function fail(code: number, message: string): void {
  process.stderr.write(`fastway: ${message}\n`);
  process.exitCode = code;
}

async function run(config: CliConfig): Promise<void> {
  const logger = pino({ name: 'fastway', level: config.logLevel }, pino.destination({ dest: 2, sync: true }));
  const generatedKey = config.authKeys.length === 0 ? generateAuthKey() : undefined;
  const gateway = new Gateway(toGatewayOptions(config, generatedKey !== undefined ? [generatedKey] : config.authKeys, logger));

  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    // A second signal (Ctrl-C often reaches us twice through npm) changes nothing.
    if (closing) return;
    closing = true;
    logger.info({ event: 'shutdown', signal }, 'closing on signal');
    gateway.close().then(
      () => {
        logger.info({ event: 'closed' }, 'gateway closed');
        process.exit(0);
      },
      (err: unknown) => {
        fail(EXIT_RUNTIME, `error while closing: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  let bound: Awaited<ReturnType<Gateway['listen']>>;
  try {
    bound = await gateway.listen({ client: config.clientAddr, server: config.serverAddr });
  } catch (err) {
    process.off('SIGINT', shutdown);
    process.off('SIGTERM', shutdown);
    await gateway.close();
    fail(EXIT_RUNTIME, err instanceof Error ? err.message : String(err));
    return;
  }
  if (closing) return;

  if (generatedKey !== undefined) {
    process.stdout.write(
      'fastway: no server auth key configured (--server-auth-key or FASTWAY_SERVER_AUTH_KEY), so one was\n' +
        'fastway: generated for this run only; game servers must authenticate with it:\n' +
        `fastway: server auth key: ${generatedKey}\n`,
    );
  }
  const client = formatAddress(bound.client!);
  const server = formatAddress(bound.server!);
  logger.info({ event: 'listening', client, server }, 'gateway listening');
  process.stdout.write(`fastway: listening for game clients on ${client}\n`);
  process.stdout.write(`fastway: listening for game servers on ${server}\n`);
}

async function main(argv: readonly string[]): Promise<void> {
  let command;
  try {
    command = parseCommandLine(argv, process.env);
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
    await run(command.config);
  } catch (err) {
    if (err instanceof InvalidOptionError) return fail(EXIT_USAGE, err.message);
    if (err instanceof FastwayError) return fail(EXIT_RUNTIME, err.message);
    throw err;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  fail(EXIT_RUNTIME, `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
});
