/** The endpoint library's small parts on their own: addresses, options, the queue. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ENDPOINT_DEFAULTS, InvalidOptionError, raw } from '../src/index.js';
import { parseGatewayAddress } from '../src/endpoint/address.js';
import { Deque } from '../src/endpoint/deque.js';
import { resolveEndpointOptions, resolveServerOptions } from '../src/endpoint/options.js';

const invalid = (option: string) => (err: unknown) => err instanceof InvalidOptionError && err.option === option && err.code === 'ERR_INVALID_OPTION';

describe('parseGatewayAddress', () => {
  test('host:port, [ipv6]:port, with or without tcp://', () => {
    assert.deepEqual(parseGatewayAddress('127.0.0.1:7000'), { host: '127.0.0.1', port: 7000 });
    assert.deepEqual(parseGatewayAddress('gw.example:1'), { host: 'gw.example', port: 1 });
    assert.deepEqual(parseGatewayAddress('[::1]:65535'), { host: '::1', port: 65535 });
    assert.deepEqual(parseGatewayAddress('tcp://localhost:7001'), { host: 'localhost', port: 7001 });
  });

  test('anything else is an InvalidOptionError naming addr', () => {
    for (const bad of ['', '7000', 'host', 'host:', ':7000', 'host:0', 'host:65536', 'host:7000x', '::1:7000', 'ws://h:1', 42]) {
      assert.throws(() => parseGatewayAddress(bad as string), invalid('addr'), String(bad));
    }
  });
});

describe('endpoint options', () => {
  test('defaults', () => {
    const o = resolveEndpointOptions(undefined);
    assert.equal(o.format, raw);
    assert.equal(o.maxPacketSize, 524288);
    assert.equal(o.maxMessageSize, 524284);
    assert.equal(o.recvQueue, 1024);
    assert.equal(o.sendQueue, ENDPOINT_DEFAULTS.sendQueue);
    assert.equal(o.acceptBacklog, ENDPOINT_DEFAULTS.acceptBacklog);
    assert.equal(o.pingTimeout, 0);
  });

  test('the input is not changed', () => {
    const input = Object.freeze({ recvQueue: 5 });
    assert.equal(resolveEndpointOptions(input).recvQueue, 5);
  });

  test('every numeric option is checked, by name', () => {
    const cases: [string, unknown][] = [
      ['maxPacketSize', 12],
      ['maxPacketSize', 2 ** 32],
      ['maxPacketSize', 1.5],
      ['sendQueue', 100],
      ['recvQueue', 0],
      ['recvQueue', '10'],
      ['acceptBacklog', -1],
      ['pingTimeout', -1],
      ['dialTimeout', Number.NaN],
      ['connectTimeout', 0],
    ];
    for (const [option, value] of cases) {
      assert.throws(() => resolveEndpointOptions({ [option]: value }), invalid(option), `${option}=${String(value)}`);
    }
  });

  test('sendQueue must hold at least one largest frame', () => {
    assert.throws(() => resolveEndpointOptions({ maxPacketSize: 1 << 20, sendQueue: 1 << 20 }), invalid('sendQueue'));
    assert.equal(resolveEndpointOptions({ maxPacketSize: 1 << 20, sendQueue: (1 << 20) + 4 }).sendQueue, (1 << 20) + 4);
    // A large maxPacketSize raises the default sendQueue with it.
    assert.ok(resolveEndpointOptions({ maxPacketSize: 16 << 20 }).sendQueue >= (16 << 20) + 4);
  });

  test('server options: serverId and authKey are required', () => {
    assert.throws(() => resolveServerOptions({ authKey: 'k' } as never), invalid('serverId'));
    assert.throws(() => resolveServerOptions({ serverId: -1, authKey: 'k' }), invalid('serverId'));
    assert.throws(() => resolveServerOptions({ serverId: 1 } as never), invalid('authKey'));
    assert.throws(() => resolveServerOptions({ serverId: 1, authKey: new Uint8Array(0) }), invalid('authKey'));
    assert.throws(() => resolveServerOptions({ serverId: 1, authKey: 'k', authTimeout: 0 }), invalid('authTimeout'));
    const o = resolveServerOptions({ serverId: 0xffffffff, authKey: 'k' });
    assert.equal(o.serverId, 0xffffffff);
    assert.equal(o.authTimeout, 3000);
  });
});

describe('Deque', () => {
  test('behaves as a FIFO under any sequence of pushes and shifts', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 300 }), (ops) => {
        const d = new Deque<number>();
        const model: number[] = [];
        for (const op of ops) {
          if (op === null) {
            assert.equal(d.shift(), model.shift());
          } else {
            d.push(op);
            model.push(op);
          }
          assert.equal(d.length, model.length);
          assert.equal(d.peek(), model[0]);
        }
        assert.deepEqual(d.drain(), model);
        assert.equal(d.length, 0);
      }),
    );
  });
});

describe('the endpoint core runs in browsers', () => {
  /** Every module reachable from `entry` through relative imports, with its import specifiers. */
  function reachable(entry: string): Map<string, string[]> {
    const seen = new Map<string, string[]>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      const source = readFileSync(file, 'utf8');
      const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g)].map((m) => m[1]!);
      const dynamic = [...source.matchAll(/(?:import|require)\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
      seen.set(file, [...specifiers, ...dynamic]);
      for (const s of specifiers) {
        if (s.startsWith('.')) visit(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
      }
    };
    visit(entry);
    return seen;
  }

  test('no module of the core imports anything but other relative modules (no node: built-ins)', () => {
    const src = fileURLToPath(new URL('../src/endpoint/', import.meta.url));
    const core = ['attach.ts', 'endpoint.ts', 'virtual-connection.ts', 'format.ts', 'options.ts', 'transport.ts', 'address.ts'];
    const modules = new Map<string, string[]>();
    for (const file of core) for (const [m, s] of reachable(resolve(src, file))) modules.set(m, s);
    assert.ok(modules.size >= core.length + 5, 'the walk followed the imports into errors and protocol');
    for (const [file, specifiers] of modules) {
      for (const s of specifiers) assert.ok(s.startsWith('.'), `${file} imports ${s}`);
      assert.doesNotMatch(readFileSync(file, 'utf8'), /\bBuffer\.|\bprocess\./, `${file} uses a Node global`);
    }
    assert.ok(![...modules.keys()].some((f) => f.endsWith('tcp-transport.ts')), 'the TCP transport stays out of the core');
  });
});
