import { InvalidOptionError } from '../errors.js';
import { type HostPort, parseHostPort } from '../values/host-port.js';

/** A gateway address split into its parts. */
export type GatewayAddress = HostPort;

/**
 * Parses a gateway address: `host:port`, `[ipv6]:port`, or either with a `tcp://` prefix
 * (the same `host:port` rule as the gateway's listeners, with port 0 refused: it cannot be dialed).
 *
 * @param scheme the prefix the caller took off, for the message (`tls://`).
 * @throws InvalidOptionError (`addr`) for anything else, or a port outside 1–65535.
 */
export function parseGatewayAddress(addr: string, scheme = ''): GatewayAddress {
  const parsed = typeof addr === 'string' ? parseHostPort(scheme === '' && addr.startsWith('tcp://') ? addr.slice(6) : addr) : undefined;
  if (parsed === undefined || parsed.port === 0) {
    const shown = scheme === '' ? 'host:port' : `${scheme}host:port`;
    throw new InvalidOptionError(
      'addr',
      `must be ${shown} (IPv6 as ${scheme}[::1]:port) with a port from 1 to 65535, got ${JSON.stringify(scheme + String(addr))}`,
    );
  }
  return parsed;
}
