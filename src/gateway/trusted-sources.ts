import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { describeValue } from '../values/describe-value.js';
import { admissionKey } from './client-admission.js';

/** The form of one trusted source, in words (for error messages and help). */
export const TRUSTED_SOURCE_RULE = 'an IPv4 or IPv6 address, or a CIDR block like 10.0.0.0/8 or fd00::/8';

/**
 * The addresses a PROXY protocol header is believed from (`client.proxyProtocol`): single
 * addresses and CIDR blocks, IPv4 and IPv6. An IPv4-mapped IPv6 peer (`::ffff:10.0.0.5`,
 * as a dual-stack listener reports it) matches as its IPv4 address.
 */
export class TrustedSources {
  readonly #list = new BlockList();
  /** The sources as given (for logs and `--print-config`). */
  readonly sources: readonly string[];

  /**
   * @param name the option's name, for errors.
   * @throws InvalidOptionError when `sources` is not a non-empty array of {@link TRUSTED_SOURCE_RULE}.
   */
  constructor(name: string, sources: unknown) {
    if (!Array.isArray(sources) || sources.length === 0) {
      throw new InvalidOptionError(name, `must be a non-empty array of sources, each ${TRUSTED_SOURCE_RULE}; got ${describeValue(sources)}`);
    }
    for (const source of sources as unknown[]) {
      const problem = typeof source === 'string' ? this.#add(source) : 'is not a string';
      if (problem !== null) throw new InvalidOptionError(name, `${typeof source === 'string' ? JSON.stringify(source) : describeValue(source)} ${problem}: each source must be ${TRUSTED_SOURCE_RULE}`);
    }
    this.sources = Object.freeze([...(sources as string[])]);
  }

  /** Whether a connection from `address` (a socket's `remoteAddress`) is from a trusted source. */
  trusts(address: string | undefined): boolean {
    const key = admissionKey(address);
    if (isIPv4(key)) return this.#list.check(key, 'ipv4');
    if (isIPv6(key)) return this.#list.check(key, 'ipv6');
    return false;
  }

  /** Adds one source; what is wrong with it, or null. */
  #add(source: string): string | null {
    const slash = source.indexOf('/');
    const address = slash < 0 ? source : source.slice(0, slash);
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
    if (family === null) return 'is not an address';
    if (slash < 0) {
      this.#list.addAddress(address, family);
      return null;
    }
    const prefixText = source.slice(slash + 1);
    const max = family === 'ipv4' ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return `has a prefix length that is not 0 to ${max}`;
    this.#list.addSubnet(address, Number(prefixText), family);
    return null;
  }
}
