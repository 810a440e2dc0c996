/** The address a listener binds (gateway listeners and the metrics listener alike), and how a failed bind is reported. */
import { ListenError } from '../errors.js';
import { type HostPort, parseHostPort } from '../values/host-port.js';

/**
 * Parses a listen address, `host:port` (port 0 picks a free port). The host is required, as
 * on the command line: every interface is `0.0.0.0` (or `[::]`), never an empty host.
 * @throws ListenError `ERR_LISTEN` naming the listener.
 */
export function parseListenAddress(address: string, which: string): HostPort {
  const parsed = parseHostPort(address);
  if (parsed === undefined) {
    throw new ListenError(
      'ERR_LISTEN',
      `${which} address must be host:port with a port from 0 to 65535 (IPv6 as [::1]:7000; 0.0.0.0 for every interface), got ${JSON.stringify(address)}`,
    );
  }
  return parsed;
}

/** The error of a listener that could not bind `address`: `ERR_ADDRESS_IN_USE` when the port is taken, else `ERR_LISTEN`. */
export function bindError(which: string, address: string, err: NodeJS.ErrnoException): ListenError {
  const code = err.code === 'EADDRINUSE' ? 'ERR_ADDRESS_IN_USE' : 'ERR_LISTEN';
  return new ListenError(code, `${which} listener cannot bind ${address}: ${err.message}`, { cause: err });
}
