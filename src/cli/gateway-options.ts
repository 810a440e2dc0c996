/** The mapping of a {@link CliConfig} onto the gateway's options. */
import type { GatewayLogger } from '../gateway/logger.js';
import type { GatewayOptions } from '../gateway/options.js';
import { type CliConfig, DEFAULT_WS_PATH } from './cli-config.js';

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
  if (config.listenBacklog !== undefined) options.listenBacklog = config.listenBacklog;
  if (config.clientWsPath !== DEFAULT_WS_PATH || config.clientWsOrigins.length > 0) {
    options.client!.webSocket = { path: config.clientWsPath };
    if (config.clientWsOrigins.length > 0) options.client!.webSocket.origins = [...config.clientWsOrigins];
  }
  return options;
}

function isKeyList(keys: AuthKeys | readonly string[]): keys is readonly string[] {
  return Array.isArray(keys);
}

