import { InvalidOptionError } from '../errors.js';

/** A gateway address split into its parts. */
export interface GatewayAddress {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:tcp:\/\/)?(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})$/;

/**
 * Parses a gateway address: `host:port`, `[ipv6]:port`, or either with a `tcp://` prefix.
 *
 * @throws InvalidOptionError (`addr`) for anything else, or a port outside 1–65535.
 */
export function parseGatewayAddress(addr: string): GatewayAddress {
  const m = typeof addr === 'string' ? HOST_PORT.exec(addr) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new InvalidOptionError('addr', `must be host:port (IPv6 as [::1]:port) with a port from 1 to 65535, got ${JSON.stringify(addr)}`);
  }
  return { host: m[1] ?? m[2]!, port };
}
