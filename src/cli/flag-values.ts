/**
 * The kinds of value the `fastway` flags take, each a {@link ValueKind}: how its text is
 * parsed (with the parsers every part of fastway shares, in src/values/), what help says it
 * accepts, and how `--print-config` shows it.
 */
import { normaliseOrigin, WEBSOCKET_PATH_RULE, isWebSocketPath } from '../gateway/options.js';
import { TRUSTED_SOURCE_RULE, TrustedSources } from '../gateway/trusted-sources.js';
import { formatByteSize, parseByteSize } from '../values/byte-size.js';
import { formatDuration, parseDuration } from '../values/duration.js';
import { parseHostPort } from '../values/host-port.js';
import { parseCount, type Range } from '../values/integer.js';
import { checkRedisUrl, redactRedisUrl } from '../cluster/redis-connection.js';
import { Invalid, type ValueKind } from './flag-builder.js';
import { REDACTED, REDACTED_KEY_PROBLEM } from './redacted.js';
import { MAX_WORKERS, parseWorkers } from './workers.js';

/** What `--print-config` shows in place of each secret. */
export { REDACTED } from './redacted.js';

/** A duration in ms within `range`: `500ms`, `30s`, `2m`, plain digits are ms. */
export function duration(range: Range): ValueKind<number> {
  const accepts = `${formatDuration(range.min)} to ${formatDuration(range.max)}`;
  const problem = new Invalid(`must be a duration from ${accepts} (like 500ms, 30s, 2m; plain digits are ms)`);
  return {
    placeholder: '<duration>',
    accepts,
    parse: (text) => inRange(parseDuration(text), range) ?? problem,
    show: formatDuration,
    json: formatDuration,
  };
}

/** A whole number within `range`. */
export function count(range: Range): ValueKind<number> {
  const accepts = `${range.min} to ${range.max}`;
  const problem = new Invalid(`must be a whole number from ${accepts}`);
  return { placeholder: '<n>', accepts, parse: (text) => inRange(parseCount(text), range) ?? problem, show: String, json: (n) => n };
}

/** A size in bytes within `range`: plain digits, or with a KiB or MiB suffix. */
export function byteSize(range: Range): ValueKind<number> {
  const accepts = `${range.min} to ${formatByteSize(range.max)}`;
  const problem = new Invalid(`must be a size in bytes from ${accepts} (plain digits, or with a KiB or MiB suffix)`);
  return { placeholder: '<bytes>', accepts, parse: (text) => inRange(parseByteSize(text), range) ?? problem, show: formatByteSize, json: (n) => n };
}

function inRange(n: number | undefined, range: Range): number | undefined {
  return n !== undefined && n >= range.min && n <= range.max ? n : undefined;
}

const ADDRESS_PROBLEM = 'must be host:port with a port from 0 to 65535 (IPv6 as [::1]:7000; 0.0.0.0 for every interface)';

/** A listen address, `host:port` (port 0 picks a free port), kept as written. */
export const address: ValueKind<string> = {
  placeholder: '<host:port>',
  accepts: 'host:port, port 0 to 65535',
  parse: (text) => (parseHostPort(text) !== undefined ? text : new Invalid(ADDRESS_PROBLEM)),
  show: (text) => text,
  json: (text) => text,
};

/** A listen address, or the word `off` (held as `null`): a listener that may be turned off. */
export function addressOrOff(off: string): ValueKind<string | null> {
  const problem = new Invalid(`${ADDRESS_PROBLEM}, or ${off}`);
  return {
    placeholder: '<host:port>',
    accepts: `host:port, or ${off}`,
    parse: (text) => (text === off ? null : parseHostPort(text) !== undefined ? text : problem),
    show: (text) => text ?? off,
    json: (text) => text ?? off,
  };
}

/** A file path (not empty); unset by default. */
export const filePath: ValueKind<string | undefined> = {
  placeholder: '<path>',
  accepts: 'a file path',
  parse: (text) => (text.length > 0 ? text : new Invalid('must be a file path')),
  show: (path) => path ?? 'none',
  json: (path) => path ?? null,
};

/** One of `choices`; the placeholder is the last word of the flag's name (`--log-level <level>`). */
export function choice<T extends string>(choices: readonly T[], placeholder: string): ValueKind<T> {
  const problem = new Invalid(`must be one of ${choices.join(', ')}`);
  return {
    placeholder: `<${placeholder}>`,
    accepts: choices.join(', '),
    parse: (text) => ((choices as readonly string[]).includes(text) ? (text as T) : problem),
    show: (value) => value,
    json: (value) => value,
  };
}

/** The request path of the WebSocket listener (the gateway's own rule). */
export const webSocketPath: ValueKind<string> = {
  placeholder: '<path>',
  accepts: 'a URL path starting with /',
  parse: (text) => (isWebSocketPath(text) ? text : new Invalid(`must be a URL ${WEBSOCKET_PATH_RULE}`)),
  show: (path) => path,
  json: (path) => path,
};

/** Origins separated by commas (`[]`: the word `any`, meaning any origin). */
export const origins: ValueKind<string[]> = {
  placeholder: '<origin[,origin…]>',
  accepts: 'origins like https://game.example.com, separated by commas; or any',
  parse(text) {
    if (text === 'any') return [];
    const list = text.split(',');
    const bad = list.find((o) => normaliseOrigin(o) === null);
    if (bad === undefined) return list;
    return new Invalid(`must be origins like https://game.example.com separated by commas, ${JSON.stringify(bad)} is not one`, true);
  },
  show: (list) => (list.length === 0 ? 'any' : list.join(',')),
  json: (list) => (list.length === 0 ? 'any' : [...list]),
};

/** Addresses and CIDR blocks separated by commas (the PROXY protocol's trusted balancers); `[]`: the word `off`. */
export const trustedSources: ValueKind<string[]> = {
  placeholder: '<source[,source…]>',
  accepts: `addresses or CIDR blocks (like 10.0.0.0/8), separated by commas; or off`,
  parse(text) {
    if (text === 'off') return [];
    const list = text.split(',');
    for (const source of list) {
      try {
        new TrustedSources('', [source]);
      } catch {
        return new Invalid(`must be sources separated by commas, each ${TRUSTED_SOURCE_RULE}; ${JSON.stringify(source)} is not one`, true);
      }
    }
    return list;
  },
  show: (list) => (list.length === 0 ? 'off' : list.join(',')),
  json: (list) => (list.length === 0 ? 'off' : [...list]),
};

/** Secret keys separated by commas; never echoed in an error (the message goes to logs and terminals), redacted when shown. */
export const secretKeys: ValueKind<string[]> = {
  placeholder: '<key[,key…]>',
  accepts: 'non-empty keys, separated by commas',
  parse(text) {
    if (text.length === 0) return new Invalid('must not be empty (a server could authenticate without knowing any secret)', true);
    const keys = text.split(',');
    if (keys.some((k) => k.length === 0)) return new Invalid('has an empty key between commas; every key must not be empty', true);
    if (keys.some((k) => k.trim() !== k)) return new Invalid('has a key that starts or ends with whitespace (write old,new with no spaces)', true);
    if (keys.includes(REDACTED)) return new Invalid(REDACTED_KEY_PROBLEM, true);
    return keys;
  },
  show: (keys) => (keys.length === 0 ? 'none' : `${keys.length} keys`),
  json: (keys) => keys.map(() => REDACTED),
};

/** A registry URL, `redis://host:port[/db]` or `rediss://…`, or the word `off` (held as `null`); a password in it is redacted when shown. */
export const redisUrlOrOff: ValueKind<string | null> = {
  placeholder: '<url>',
  accepts: 'redis://host:port[/db], rediss://host:port[/db], or off',
  parse: (text) => (text === 'off' ? null : isRedisUrl(text) ? text : new Invalid('must be redis://host:port[/db], rediss://host:port[/db], or off')),
  show: (url) => (url === null ? 'off' : redactRedisUrl(url)),
  json: (url) => (url === null ? 'off' : redactRedisUrl(url)),
};

function isRedisUrl(text: string): boolean {
  try {
    checkRedisUrl('', text);
    return true;
  } catch {
    return false;
  }
}

/** A name that must match `pattern`, described by `rule` (cluster names, gateway IDs). */
export function identifier(pattern: RegExp, rule: string): ValueKind<string | undefined> {
  return {
    placeholder: '<name>',
    accepts: rule,
    parse: (text) => (pattern.test(text) ? text : new Invalid(`must be ${rule}`)),
    show: (name) => name ?? 'none',
    json: (name) => name ?? null,
  };
}

/** An address as others reach it, kept as written: `host:port`, `tls://host:port`, or a `ws://`/`wss://` URL. */
export const advertisedAddress: ValueKind<string | undefined> = {
  placeholder: '<address>',
  accepts: 'host:port, tls://host:port, ws://… or wss://…',
  parse: (text) => (/^(tls:\/\/)?[^\s/]+:\d{1,5}$|^wss?:\/\/\S+$/.test(text) ? text : new Invalid('must be host:port, tls://host:port, or a ws:// or wss:// URL')),
  show: (text) => text ?? 'the bound address',
  json: (text) => text ?? null,
};

/** `--workers`: a number of processes, `auto` (one per core), or `off` (held as `null`). */
export const workerCount: ValueKind<number | null> = {
  placeholder: '<n|auto>',
  accepts: `1 to ${MAX_WORKERS}, auto (one per core), or off`,
  parse: (text) => (text === 'off' ? null : parseWorkers(text) ?? new Invalid(`must be a number of workers from 1 to ${MAX_WORKERS}, auto, or off`)),
  show: (n) => (n === null ? 'off' : String(n)),
  json: (n) => (n === null ? 'off' : n),
};
