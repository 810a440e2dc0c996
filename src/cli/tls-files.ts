/**
 * Reads the PEM files the TLS flags name, at start and again on SIGHUP (a certificate
 * renewal without a restart). Pure but for the `readFile` the caller passes.
 */
import { InvalidOptionError } from '../errors.js';
import type { TlsUpdate } from '../gateway/gateway.js';
import type { CliConfig } from './cli-config.js';
import type { ReadFile } from './command-line.js';

/** True when any TLS flag is set (so SIGHUP has files to reload). */
export function hasTls(config: CliConfig): boolean {
  return config.clientTlsCert !== undefined || config.serverTlsCert !== undefined;
}

/** TLS flags come in pairs: a certificate needs its key, and a CA needs the server certificate. */
export function checkTlsFlags(config: CliConfig): void {
  const pairs: [string, string | undefined, string, string | undefined][] = [
    ['client-tls-cert', config.clientTlsCert, 'client-tls-key', config.clientTlsKey],
    ['server-tls-cert', config.serverTlsCert, 'server-tls-key', config.serverTlsKey],
  ];
  for (const [a, aValue, b, bValue] of pairs) {
    if (aValue !== undefined && bValue === undefined) throw new InvalidOptionError(`--${a}`, `needs --${b} too`);
    if (bValue !== undefined && aValue === undefined) throw new InvalidOptionError(`--${b}`, `needs --${a} too`);
  }
  if (config.serverTlsCa !== undefined && config.serverTlsCert === undefined) {
    throw new InvalidOptionError('--server-tls-ca', 'needs --server-tls-cert and --server-tls-key: mutual TLS runs on a TLS server listener');
  }
}

/**
 * The certificates, keys and CA the TLS flags of `config` name, read with `readFile`.
 * @throws InvalidOptionError naming the flag whose file cannot be read, or a flag missing its pair.
 */
export function readTlsFiles(config: CliConfig, readFile: ReadFile): TlsUpdate {
  checkTlsFlags(config);
  const read = (flag: string, path: string): string => {
    try {
      return readFile(path);
    } catch (err) {
      throw new InvalidOptionError(`--${flag}`, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const update: TlsUpdate = {};
  if (config.clientTlsCert !== undefined && config.clientTlsKey !== undefined) {
    update.client = { cert: read('client-tls-cert', config.clientTlsCert), key: read('client-tls-key', config.clientTlsKey) };
  }
  if (config.serverTlsCert !== undefined && config.serverTlsKey !== undefined) {
    update.server = { cert: read('server-tls-cert', config.serverTlsCert), key: read('server-tls-key', config.serverTlsKey) };
    if (config.serverTlsCa !== undefined) update.server.ca = read('server-tls-ca', config.serverTlsCa);
  }
  return update;
}
