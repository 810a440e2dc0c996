/**
 * The PROXY protocol (HAProxy's, versions 1 and 2): the header an L4 load balancer puts in
 * front of a TCP stream to tell the server who the client really is. Pure and browser-safe
 * (Uint8Array only): {@link parseProxyHeader} reads a header from the first bytes of a
 * stream, {@link encodeProxyV1} and {@link encodeProxyV2} write one.
 *
 * Trust is not decided here: a header is only to be believed from a balancer the operator
 * named; from anyone else it is a forgery of the source address.
 */

/** An address and port as a header carries them; IPv6 in RFC 5952 form, IPv4-mapped as `::ffff:a.b.c.d`. */
export interface ProxyAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  port: number;
}

/** What {@link parseProxyHeader} found. */
export type ProxyParse =
  /** The bytes so far are the start of a header: wait for more. */
  | { status: 'incomplete' }
  /** Not a header, or a broken one; `reason` says what is wrong. */
  | { status: 'invalid'; reason: string }
  /**
   * A whole header of `length` bytes (the stream proper starts after it). `source` and
   * `destination` are null when the balancer speaks for itself (v2 `LOCAL`, v1 `UNKNOWN`) or
   * the addresses are not TCP over IPv4 or IPv6: keep the connection's own address then.
   */
  | { status: 'header'; version: 1 | 2; length: number; source: ProxyAddress | null; destination: ProxyAddress | null };

/** The longest v1 header, CRLF included (the specification's bound). */
export const PROXY_V1_MAX_LENGTH = 107;
/** The 12 bytes every v2 header starts with. */
export const PROXY_V2_SIGNATURE = Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The largest v2 header this parser accepts (16-byte prefix + addresses and TLVs). */
export const PROXY_V2_MAX_LENGTH = 16 + 1024;

const V1_PREFIX = Uint8Array.from([0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]); // "PROXY "

/** True when `bytes` starts with the first `min(len)` bytes of `prefix`. */
function startsLike(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

const invalid = (reason: string): ProxyParse => ({ status: 'invalid', reason });
const INCOMPLETE: ProxyParse = { status: 'incomplete' };

/**
 * Reads a PROXY header (v1 or v2) from the start of `bytes`, the first bytes received on a
 * connection. Never throws. A result of `incomplete` is final only once more bytes came:
 * call again with everything received so far. Bytes after the header are not looked at.
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyParse {
  if (bytes.length === 0) return INCOMPLETE;
  if (bytes[0] === V1_PREFIX[0]) {
    return startsLike(bytes, V1_PREFIX) ? parseV1(bytes) : invalid('does not start with "PROXY " or the v2 signature');
  }
  if (bytes[0] === PROXY_V2_SIGNATURE[0]) {
    return startsLike(bytes, PROXY_V2_SIGNATURE) ? parseV2(bytes) : invalid('does not start with "PROXY " or the v2 signature');
  }
  return invalid('does not start with "PROXY " or the v2 signature');
}

// ---- Version 1: one text line ----

function parseV1(bytes: Uint8Array): ProxyParse {
  let end = -1;
  const limit = Math.min(bytes.length, PROXY_V1_MAX_LENGTH);
  for (let i = V1_PREFIX.length; i < limit; i++) {
    if (bytes[i] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) return bytes.length >= PROXY_V1_MAX_LENGTH ? invalid(`a v1 header longer than ${PROXY_V1_MAX_LENGTH} bytes`) : INCOMPLETE;
  if (bytes[end - 1] !== 0x0d) return invalid('a v1 header must end with CRLF');
  let line = '';
  for (let i = 0; i < end - 1; i++) {
    const c = bytes[i]!;
    if (c < 0x20 || c > 0x7e) return invalid('a v1 header holds a byte that is not printable ASCII');
    line += String.fromCharCode(c);
  }
  const length = end + 1;
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { status: 'header', version: 1, length, source: null, destination: null };
  if (parts.length !== 6) return invalid('a v1 header must be "PROXY TCP4|TCP6 <source> <destination> <source port> <destination port>"');
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  if (proto !== 'TCP4' && proto !== 'TCP6') return invalid(`unknown v1 protocol ${JSON.stringify(proto)}`);
  const family = proto === 'TCP4' ? 'IPv4' : 'IPv6';
  const srcAddress = family === 'IPv4' ? canonicalIpv4(src) : canonicalIpv6(src);
  const dstAddress = family === 'IPv4' ? canonicalIpv4(dst) : canonicalIpv6(dst);
  if (srcAddress === null || dstAddress === null) return invalid(`a v1 ${proto} header with an address that is not ${family}`);
  const sourcePort = v1Port(sport);
  const destinationPort = v1Port(dport);
  if (sourcePort === null || destinationPort === null) return invalid('a v1 port must be a number from 0 to 65535 without leading zeros');
  return {
    status: 'header',
    version: 1,
    length,
    source: { family, address: srcAddress, port: sourcePort },
    destination: { family, address: dstAddress, port: destinationPort },
  };
}

function v1Port(text: string): number | null {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

/** `a.b.c.d` with each part 0–255 without leading zeros, or null. */
function canonicalIpv4(text: string): string | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  for (const p of parts) if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
  return text;
}

/** Parses IPv6 text (with `::` and a trailing dotted IPv4 allowed) into 8 groups, or null. */
function ipv6Groups(text: string): number[] | null {
  if (text.length === 0 || text.length > 45) return null;
  let tail: number[] = [];
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = canonicalIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
    tail = [(a << 8) | b, (c << 8) | d];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const group = (g: string): number | null => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : null);
  const side = (s: string): number[] | null => {
    if (s.length === 0) return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      const v = group(g);
      if (v === null) return null;
      out.push(v);
    }
    return out;
  };
  const left = side(halves[0]!);
  const right = halves.length === 2 ? side(halves[1]!) : [];
  if (left === null || right === null) return null;
  const given = left.length + right.length + tail.length;
  if (halves.length === 1) return given === 8 ? [...left, ...tail] : null;
  if (given > 7) return null;
  return [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail];
}

function canonicalIpv6(text: string): string | null {
  const groups = ipv6Groups(text);
  return groups === null ? null : formatIpv6(groups);
}

/** RFC 5952: lower case, the longest run of two or more zero groups as `::`; IPv4-mapped as `::ffff:a.b.c.d`. */
export function formatIpv6(groups: readonly number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: readonly number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

// ---- Version 2: binary ----

const V2_HEADER = 16;

function parseV2(bytes: Uint8Array): ProxyParse {
  if (bytes.length < V2_HEADER) return INCOMPLETE;
  const verCmd = bytes[12]!;
  if (verCmd >> 4 !== 2) return invalid(`a v2 header with version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) return invalid(`a v2 header with command ${command} (only LOCAL and PROXY exist)`);
  const famProto = bytes[13]!;
  const bodyLength = (bytes[14]! << 8) | bytes[15]!;
  const length = V2_HEADER + bodyLength;
  if (length > PROXY_V2_MAX_LENGTH) return invalid(`a v2 header of ${length} bytes (at most ${PROXY_V2_MAX_LENGTH} accepted)`);
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  if (family > 3 || transport > 2) return invalid(`a v2 header with address family byte 0x${famProto.toString(16)}`);
  const needed = family === 1 ? 12 : family === 2 ? 36 : family === 3 ? 216 : 0;
  if (bodyLength < needed) return invalid(`a v2 header of ${bodyLength} address bytes where the family needs ${needed}`);
  if (bytes.length < length) return INCOMPLETE;
  // LOCAL (the balancer's own connection, e.g. a health check), UNSPEC, UDP and unix sockets: no client address to use.
  if (command === 0 || transport !== 1 || (family !== 1 && family !== 2)) return { status: 'header', version: 2, length, source: null, destination: null };
  const at = V2_HEADER;
  const port = (i: number): number => (bytes[i]! << 8) | bytes[i + 1]!;
  // IPv4: two 4-byte addresses, then the two ports; IPv6: two 16-byte addresses, then the ports.
  const kind = family === 1 ? 'IPv4' : 'IPv6';
  const size = family === 1 ? 4 : 16;
  const address =
    family === 1
      ? (i: number): string => `${bytes[i]}.${bytes[i + 1]}.${bytes[i + 2]}.${bytes[i + 3]}`
      : (i: number): string => formatIpv6(Array.from({ length: 8 }, (_, k) => (bytes[i + 2 * k]! << 8) | bytes[i + 2 * k + 1]!));
  return {
    status: 'header',
    version: 2,
    length,
    source: { family: kind, address: address(at), port: port(at + 2 * size) },
    destination: { family: kind, address: address(at + size), port: port(at + 2 * size + 2) },
  };
}

// ---- Writing headers (for balancers in tests, and for clients that sit behind none) ----

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A v1 header for a TCP connection from `source` to `destination` (both of one family); null addresses give `UNKNOWN`. */
export function encodeProxyV1(source: ProxyAddress | null, destination: ProxyAddress | null): Uint8Array {
  if (source === null || destination === null) return ascii('PROXY UNKNOWN\r\n');
  const proto = source.family === 'IPv4' ? 'TCP4' : 'TCP6';
  return ascii(`PROXY ${proto} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`);
}

/**
 * A v2 header: `PROXY` for TCP from `source` to `destination` (both of one family), or `LOCAL`
 * when they are null. `tlvs` are appended after the addresses as they are (a parser skips them).
 */
export function encodeProxyV2(source: ProxyAddress | null, destination: ProxyAddress | null, tlvs: Uint8Array = new Uint8Array(0)): Uint8Array {
  const local = source === null || destination === null;
  const v4 = !local && source.family === 'IPv4';
  const addressBytes = local ? 0 : v4 ? 12 : 36;
  const out = new Uint8Array(V2_HEADER + addressBytes + tlvs.length);
  out.set(PROXY_V2_SIGNATURE, 0);
  out[12] = local ? 0x20 : 0x21;
  out[13] = local ? 0x00 : v4 ? 0x11 : 0x21;
  const bodyLength = addressBytes + tlvs.length;
  out[14] = bodyLength >> 8;
  out[15] = bodyLength & 0xff;
  if (!local) {
    const put = (address: string, at: number): void => {
      if (v4) address.split('.').forEach((p, i) => (out[at + i] = Number(p)));
      else ipv6Groups(address)!.forEach((g, i) => ((out[at + 2 * i] = g >> 8), (out[at + 2 * i + 1] = g & 0xff)));
    };
    const size = v4 ? 4 : 16;
    put(source.address, V2_HEADER);
    put(destination.address, V2_HEADER + size);
    const ports = V2_HEADER + 2 * size;
    out[ports] = source.port >> 8;
    out[ports + 1] = source.port & 0xff;
    out[ports + 2] = destination.port >> 8;
    out[ports + 3] = destination.port & 0xff;
  }
  out.set(tlvs, V2_HEADER + addressBytes);
  return out;
}
