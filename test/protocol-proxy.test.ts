/**
 * The PROXY protocol parser (src/protocol/proxy-protocol.ts): the specification's examples,
 * every way a header can be broken, and properties — what is encoded parses back to the
 * same addresses with the bytes after it untouched, every strict prefix of a header is
 * "incomplete", and no input at all makes it throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  encodeProxyV1,
  encodeProxyV2,
  formatIpv6,
  parseProxyHeader,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  type ProxyAddress,
} from '../src/protocol/proxy-protocol.js';

const text = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

describe('PROXY protocol v1', () => {
  test('the specification\'s examples', () => {
    assert.deepEqual(parseProxyHeader(text('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /')), {
      status: 'header',
      version: 1,
      length: 47,
      source: { family: 'IPv4', address: '192.168.0.1', port: 56324 },
      destination: { family: 'IPv4', address: '192.168.0.11', port: 443 },
    });
    const v6 = parseProxyHeader(text('PROXY TCP6 2001:DB8::1 2001:db8:0:0:0:0:0:2 1 65535\r\n'));
    assert.equal(v6.status, 'header');
    assert.deepEqual(v6.status === 'header' && [v6.source, v6.destination], [
      { family: 'IPv6', address: '2001:db8::1', port: 1 },
      { family: 'IPv6', address: '2001:db8::2', port: 65535 },
    ]);
    assert.deepEqual(parseProxyHeader(text('PROXY UNKNOWN\r\n')), { status: 'header', version: 1, length: 15, source: null, destination: null });
    assert.deepEqual(parseProxyHeader(text('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')), { status: 'header', version: 1, length: 35, source: null, destination: null });
  });

  const broken: [string, string, RegExp][] = [
    ['no CR before LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /CRLF/],
    ['an unknown protocol', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', /unknown v1 protocol/],
    ['IPv6 in TCP4', 'PROXY TCP4 ::1 ::1 1 2\r\n', /not IPv4/],
    ['IPv4 in TCP6', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /not IPv6/],
    ['an octet over 255', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', /not IPv4/],
    ['a leading zero in an octet', 'PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n', /not IPv4/],
    ['a port over 65535', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', /port/],
    ['a port with a leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n', /port/],
    ['a missing field', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /must be/],
    ['two spaces', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', /must be|not IPv4/],
    ['two ::', 'PROXY TCP6 1::2::3 ::1 1 2\r\n', /not IPv6/],
    ['a control byte', 'PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n', /printable/],
    ['lower case', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', /does not start/],
    ['not a header at all', 'GET / HTTP/1.1\r\n', /does not start/],
  ];
  for (const [what, header, reason] of broken) {
    test(`invalid: ${what}`, () => {
      const r = parseProxyHeader(text(header));
      assert.equal(r.status, 'invalid');
      assert.match(r.status === 'invalid' ? r.reason : '', reason);
    });
  }

  test(`a line with no LF within ${PROXY_V1_MAX_LENGTH} bytes is invalid; shorter, it is incomplete`, () => {
    const long = text(`PROXY TCP6 ${'a'.repeat(200)}`);
    assert.equal(parseProxyHeader(long.subarray(0, PROXY_V1_MAX_LENGTH - 1)).status, 'incomplete');
    assert.equal(parseProxyHeader(long.subarray(0, PROXY_V1_MAX_LENGTH)).status, 'invalid');
  });
});

describe('PROXY protocol v2', () => {
  test('LOCAL (a health check from the balancer itself) carries no address', () => {
    assert.deepEqual(parseProxyHeader(encodeProxyV2(null, null)), { status: 'header', version: 2, length: 16, source: null, destination: null });
  });

  test('TLVs after the addresses are skipped; UDP and unix sockets carry no usable address', () => {
    const src: ProxyAddress = { family: 'IPv4', address: '10.1.2.3', port: 4000 };
    const dst: ProxyAddress = { family: 'IPv4', address: '10.9.9.9', port: 7000 };
    const withTlv = encodeProxyV2(src, dst, Uint8Array.from([0x04, 0x00, 0x02, 0xaa, 0xbb]));
    assert.deepEqual(parseProxyHeader(withTlv), { status: 'header', version: 2, length: 16 + 12 + 5, source: src, destination: dst });
    const udp = Uint8Array.from(encodeProxyV2(src, dst));
    udp[13] = 0x12;
    assert.deepEqual(parseProxyHeader(udp), { status: 'header', version: 2, length: 28, source: null, destination: null });
  });

  const mutate = (f: (h: Uint8Array) => void): Uint8Array => {
    const h = Uint8Array.from(encodeProxyV2({ family: 'IPv4', address: '1.2.3.4', port: 1 }, { family: 'IPv4', address: '5.6.7.8', port: 2 }));
    f(h);
    return h;
  };
  const broken: [string, Uint8Array, RegExp][] = [
    ['version 1 in the version nibble', mutate((h) => (h[12] = 0x11)), /version 1/],
    ['command 2', mutate((h) => (h[12] = 0x22)), /command 2/],
    ['family 4', mutate((h) => (h[13] = 0x41)), /family/],
    ['too few address bytes for IPv4', mutate((h) => (h[15] = 11)), /needs 12/],
    ['longer than accepted', mutate((h) => ((h[14] = 0xff), (h[15] = 0xff))), /at most/],
    ['a broken signature', mutate((h) => (h[5] = 0)), /does not start/],
  ];
  for (const [what, header, reason] of broken) {
    test(`invalid: ${what}`, () => {
      const r = parseProxyHeader(header);
      assert.equal(r.status, 'invalid');
      assert.match(r.status === 'invalid' ? r.reason : '', reason);
    });
  }
});

// ---- Properties ----

const port = fc.integer({ min: 0, max: 65535 });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }).map(formatIpv6);
const endpointPair = fc.oneof(
  fc.record({ a: ipv4, b: ipv4, p: port, q: port }).map(({ a, b, p, q }): [ProxyAddress, ProxyAddress] => [
    { family: 'IPv4', address: a, port: p },
    { family: 'IPv4', address: b, port: q },
  ]),
  fc.record({ a: ipv6, b: ipv6, p: port, q: port }).map(({ a, b, p, q }): [ProxyAddress, ProxyAddress] => [
    { family: 'IPv6', address: a, port: p },
    { family: 'IPv6', address: b, port: q },
  ]),
);
const tail = fc.uint8Array({ maxLength: 64 });

describe('properties', () => {
  test('encode then parse gives the same addresses back, and exactly the header\'s length, whatever follows', () => {
    fc.assert(
      fc.property(endpointPair, fc.constantFrom(1, 2), tail, ([src, dst], version, after) => {
        const header = version === 1 ? encodeProxyV1(src, dst) : encodeProxyV2(src, dst);
        const r = parseProxyHeader(Uint8Array.from([...header, ...after]));
        assert.deepEqual(r, { status: 'header', version, length: header.length, source: src, destination: dst });
      }),
      { numRuns: 500 },
    );
  });

  test('every strict prefix of a header is incomplete', () => {
    fc.assert(
      fc.property(endpointPair, fc.constantFrom(1, 2), ([src, dst], version) => {
        const header = version === 1 ? encodeProxyV1(src, dst) : encodeProxyV2(src, dst);
        for (let n = 0; n < header.length; n++) assert.equal(parseProxyHeader(header.subarray(0, n)).status, 'incomplete', `prefix of ${n} bytes`);
      }),
      { numRuns: 200 },
    );
  });

  test('no input makes it throw; a header is never longer than the input', () => {
    const noise = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 200 }).map((b) => Uint8Array.from([...text('PROXY '), ...b])),
      fc.uint8Array({ maxLength: 200 }).map((b) => Uint8Array.from([...PROXY_V2_SIGNATURE, ...b])),
    );
    fc.assert(
      fc.property(noise, (bytes) => {
        const r = parseProxyHeader(bytes);
        assert.ok(['incomplete', 'invalid', 'header'].includes(r.status));
        if (r.status === 'header') assert.ok(r.length <= bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  test('IPv6 text is made canonical (RFC 5952), as the WHATWG URL parser makes it', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }), (groups) => {
        const mine = formatIpv6(groups);
        if (mine.startsWith('::ffff:') && mine.includes('.')) return; // the URL parser writes mapped addresses in hex
        assert.equal(mine, new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1));
      }),
      { numRuns: 1000 },
    );
  });
});
