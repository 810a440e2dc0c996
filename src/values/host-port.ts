/**
 * `host:port` addresses, as every part of fastway takes them: the gateway's listeners, the
 * metrics listener, the command line and the endpoint library. Pure (browser-safe).
 */

/** An address split into its host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, or `[ipv6]:port`: a host is required (no spaces, brackets or slashes), the port is 1 to 5 digits. */
const HOST_PORT = /^(?:\[([^[\]\s]+)\]|([^:[\]\s/]+)):(\d{1,5})$/;

/** What {@link parseHostPort} accepts, in words (for error messages). */
export const HOST_PORT_TEXT = 'host:port (IPv6 as [::1]:7000)';

/**
 * Parses `host:port`, with an IPv6 host in brackets (`[::1]:7000`). The port is 0–65535 (a
 * listener given port 0 picks a free one; a caller that dials checks for 0 itself). The host
 * is required: an empty one would silently mean "every interface", which for a listener
 * must be a deliberate choice (`0.0.0.0`). Returns `undefined` for anything else.
 */
export function parseHostPort(text: string): HostPort | undefined {
  const m = typeof text === 'string' ? HOST_PORT.exec(text) : null;
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

/** Formats an address for people and for {@link parseHostPort}: IPv6 hosts in brackets. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
