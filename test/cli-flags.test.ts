/** The `fastway` command line, unit-level: flags, environment variables and every error. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type CliConfig, LOG_LEVELS } from '../src/cli/cli-config.js';
import { type Env, parseCommandLine } from '../src/cli/command-line.js';
import { FLAGS } from '../src/cli/flags.js';
import { toGatewayOptions } from '../src/cli/gateway-options.js';
import { inFlagNames } from '../src/cli/option-errors.js';
import { helpText } from '../src/cli/help.js';
import { formatByteSize, parseByteSize } from '../src/values/byte-size.js';
import { formatDuration, parseDuration } from '../src/values/duration.js';
import { formatHostPort as formatAddress, parseHostPort as parseAddress } from '../src/values/host-port.js';
import { parseCount } from '../src/values/integer.js';
import { InvalidOptionError } from '../src/errors.js';
import { GATEWAY_DEFAULTS, GATEWAY_LIMITS, resolveGatewayOptions } from '../src/gateway/options.js';
import { silentLogger } from '../src/gateway/logger.js';

function config(argv: string[], env: Env = {}): CliConfig {
  const command = parseCommandLine(argv, env);
  assert.equal(command.action, 'run');
  return (command as { config: CliConfig }).config;
}

/** Asserts `argv`/`env` is rejected with an InvalidOptionError naming `option`, on one line containing each of `mentions`. */
function rejects(argv: string[], env: Env, option: string, ...mentions: string[]): void {
  assert.throws(
    () => parseCommandLine(argv, env),
    (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(err)}`);
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.equal(err.option, option);
      assert.ok(err.message.startsWith(`${option}: `), err.message);
      assert.ok(!err.message.includes('\n'), `one line: ${JSON.stringify(err.message)}`);
      for (const m of mentions) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} mentions ${JSON.stringify(m)}`);
      return true;
    },
  );
}

/** Where each flag lands in the config, and a valid value with what it parses to. */
const FLAG_TARGETS: Record<string, { get: (c: CliConfig) => unknown; text: string; value: unknown }> = {
  'client-addr': { get: (c) => c.clientAddr, text: '0.0.0.0:9000', value: '0.0.0.0:9000' },
  'server-addr': { get: (c) => c.serverAddr, text: '[::1]:0', value: '[::1]:0' },
  'server-auth-key': { get: (c) => c.authKeys, text: 's3cret', value: ['s3cret'] },
  'server-auth-timeout': { get: (c) => c.server.authTimeout, text: '500ms', value: 500 },
  'max-packet-size': { get: (c) => c.maxPacketSize, text: '64KiB', value: 65536 },
  'busy-poll-us': { get: (c) => c.busyPollMicros, text: '100', value: 100 },
  'listen-backlog': { get: (c) => c.listenBacklog, text: '8192', value: 8192 },
  'max-clients': { get: (c) => c.client.maxClients, text: '50000', value: 50_000 },
  'max-clients-per-ip': { get: (c) => c.client.maxClientsPerIp, text: '0', value: 0 },
  'client-proxy-protocol': { get: (c) => c.client.proxyProtocol, text: '10.0.0.0/8,192.0.2.7', value: ['10.0.0.0/8', '192.0.2.7'] },
  'client-proxy-header-timeout': { get: (c) => c.client.proxyHeaderTimeout, text: '2s', value: 2000 },
  'client-message-rate': { get: (c) => c.client.messageRate, text: '200', value: 200 },
  'client-message-burst': { get: (c) => c.client.messageBurst, text: '40', value: 40 },
  'client-message-debt-limit': { get: (c) => c.client.messageDebtLimit, text: '5000', value: 5000 },
  'client-max-conn': { get: (c) => c.client.maxConn, text: '5', value: 5 },
  'client-max-pending': { get: (c) => c.client.maxPending, text: '7', value: 7 },
  'client-ping-interval': { get: (c) => c.client.pingInterval, text: '2m', value: 120_000 },
  'client-send-queue': { get: (c) => c.client.sendQueue, text: '10', value: 10 },
  'client-send-buffer': { get: (c) => c.client.sendBuffer, text: '1MiB', value: 1024 * 1024 },
  'server-send-buffer': { get: (c) => c.server.sendBuffer, text: '128MiB', value: 128 * 1024 * 1024 },
  'server-max-pending': { get: (c) => c.server.maxPending, text: '3', value: 3 },
  'server-ping-interval': { get: (c) => c.server.pingInterval, text: '30s', value: 30_000 },
  'server-send-queue': { get: (c) => c.server.sendQueue, text: '2000', value: 2000 },
  'log-level': { get: (c) => c.logLevel, text: 'warn', value: 'warn' },
  'log-format': { get: (c) => c.logFormat, text: 'pretty', value: 'pretty' },
  'metrics-addr': { get: (c) => c.metricsAddr, text: 'off', value: null },
  'server-auth-keys-file': { get: (c) => c.authKeysFile, text: 'keys.txt', value: 'keys.txt' },
  'drain-timeout': { get: (c) => c.drainTimeout, text: '5s', value: 5000 },
  'pid-file': { get: (c) => c.pidFile, text: 'fastway.pid', value: 'fastway.pid' },
  'client-ws-addr': { get: (c) => c.clientWsAddr, text: '127.0.0.1:0', value: '127.0.0.1:0' },
  'client-ws-path': { get: (c) => c.clientWsPath, text: '/fastway', value: '/fastway' },
  'client-ws-origins': { get: (c) => c.clientWsOrigins, text: 'https://a.example,http://localhost:8080', value: ['https://a.example', 'http://localhost:8080'] },
  'client-tls-cert': { get: (c) => c.clientTlsCert, text: 'client.crt', value: 'client.crt' },
  'client-tls-key': { get: (c) => c.clientTlsKey, text: 'client.key', value: 'client.key' },
  'server-tls-cert': { get: (c) => c.serverTlsCert, text: 'server.crt', value: 'server.crt' },
  'server-tls-key': { get: (c) => c.serverTlsKey, text: 'server.key', value: 'server.key' },
  'server-tls-ca': { get: (c) => c.serverTlsCa, text: 'ca.crt', value: 'ca.crt' },
  workers: { get: (c) => c.workers, text: '3', value: 3 },
  cluster: { get: (c) => c.cluster, text: 'redis://10.0.0.9:6379/2', value: 'redis://10.0.0.9:6379/2' },
  'cluster-name': { get: (c) => c.clusterName, text: 'eu-1', value: 'eu-1' },
  'gateway-id': { get: (c) => c.gatewayId, text: 'gw-7', value: 'gw-7' },
  'advertise-client-addr': { get: (c) => c.advertiseClientAddr, text: 'play.example.com:7000', value: 'play.example.com:7000' },
  'advertise-client-ws-url': { get: (c) => c.advertiseClientWsUrl, text: 'wss://play.example.com/ws', value: 'wss://play.example.com/ws' },
  'advertise-server-addr': { get: (c) => c.advertiseServerAddr, text: 'tls://10.0.0.5:7001', value: 'tls://10.0.0.5:7001' },
  'cluster-heartbeat': { get: (c) => c.clusterHeartbeat, text: '1s', value: 1000 },
  'cluster-ttl': { get: (c) => c.clusterTtl, text: '10s', value: 10_000 },
};

/** The numeric flags and the gateway range each must accept, exactly. */
const NUMERIC_RANGES: Record<string, { min: number; max: number; unit: 'ms' | 'bytes' | 'count' }> = {
  'server-auth-timeout': { ...GATEWAY_LIMITS.authTimeout, unit: 'ms' },
  'max-packet-size': { ...GATEWAY_LIMITS.maxPacketSize, unit: 'bytes' },
  'client-max-conn': { ...GATEWAY_LIMITS.maxConn, unit: 'count' },
  'client-max-pending': { ...GATEWAY_LIMITS.maxPending, unit: 'count' },
  'client-ping-interval': { ...GATEWAY_LIMITS.pingInterval, unit: 'ms' },
  'client-proxy-header-timeout': { ...GATEWAY_LIMITS.proxyHeaderTimeout, unit: 'ms' },
  'client-send-queue': { ...GATEWAY_LIMITS.sendQueue, unit: 'count' },
  'client-message-burst': { ...GATEWAY_LIMITS.messageBurst, unit: 'count' },
  'server-max-pending': { ...GATEWAY_LIMITS.maxPending, unit: 'count' },
  'server-ping-interval': { ...GATEWAY_LIMITS.pingInterval, unit: 'ms' },
  'server-send-queue': { ...GATEWAY_LIMITS.sendQueue, unit: 'count' },
  'drain-timeout': { min: 0, max: 24 * 3_600_000, unit: 'ms' },
};

describe('the flag table', () => {
  test('has exactly the flags that map onto gateway options (FLAG_TARGETS), no more and no fewer', () => {
    assert.deepEqual(FLAGS.map((f) => f.name).sort(), Object.keys(FLAG_TARGETS).sort());
  });

  test('every flag has the environment variable FASTWAY_<NAME>', () => {
    for (const flag of FLAGS) assert.equal(flag.env, `FASTWAY_${flag.name.toUpperCase().replaceAll('-', '_')}`);
  });

  test('defaults shown are the gateway defaults', () => {
    const shown = Object.fromEntries(FLAGS.map((f) => [f.name, f.defaultText]));
    assert.equal(shown['client-addr'], '127.0.0.1:7000');
    assert.equal(shown['server-addr'], '127.0.0.1:7001');
    assert.equal(shown['server-auth-timeout'], formatDuration(GATEWAY_DEFAULTS.server.authTimeout));
    assert.equal(shown['max-packet-size'], formatByteSize(GATEWAY_DEFAULTS.maxPacketSize));
    assert.equal(shown['client-max-conn'], String(GATEWAY_DEFAULTS.client.maxConn));
    assert.equal(shown['client-ping-interval'], '30s');
    assert.equal(shown['client-send-queue'], '1024');
    assert.equal(shown['server-ping-interval'], '30s');
    assert.equal(shown['server-send-queue'], '102400');
    assert.equal(shown['server-max-pending'], String(GATEWAY_DEFAULTS.server.maxPending));
    assert.equal(shown['metrics-addr'], '127.0.0.1:9464');
    assert.equal(shown['drain-timeout'], '30s');
    assert.equal(shown['log-format'], 'json');
    assert.equal(shown['pid-file'], 'none');
  });
});

describe('parseCommandLine', () => {
  test('no flags: default addresses, no key (to be generated), every gateway option left to its default', () => {
    const c = config([]);
    assert.deepEqual(c, {
      clientAddr: '127.0.0.1:7000',
      serverAddr: '127.0.0.1:7001',
      metricsAddr: '127.0.0.1:9464',
      clientWsAddr: null,
      clientWsPath: '/',
      clientWsOrigins: [],
      authKeys: [],
      drainTimeout: 30_000,
      logLevel: 'info',
      logFormat: 'json',
      client: {},
      server: {},
      cluster: null,
      clusterName: 'fastway',
      clusterHeartbeat: 2000,
      clusterTtl: 6000,
      workers: null,
    });
    const resolved = resolveGatewayOptions(toGatewayOptions(c, ['k'], silentLogger));
    assert.equal(resolved.maxPacketSize, GATEWAY_DEFAULTS.maxPacketSize);
    assert.deepEqual(resolved.client, { ...GATEWAY_DEFAULTS.client, proxyProtocol: null, tls: null, webSocket: { path: '/', origins: null } });
    assert.deepEqual(
      { ...resolved.server, authKey: undefined, authKeysById: undefined },
      { ...GATEWAY_DEFAULTS.server, authKey: undefined, authKeysById: undefined, tls: null },
    );
    assert.equal(resolved.server.authKeysById.size, 0, 'no key of a particular server ID');
  });

  for (const [name, target] of Object.entries(FLAG_TARGETS)) {
    test(`--${name} ${target.text}, --${name}=${target.text} and its variable all set it`, () => {
      assert.notDeepEqual(target.get(config([])), target.value, 'the test value differs from the default');
      assert.deepEqual(target.get(config([`--${name}`, target.text])), target.value);
      assert.deepEqual(target.get(config([`--${name}=${target.text}`])), target.value);
      const env = `FASTWAY_${name.toUpperCase().replaceAll('-', '_')}`;
      assert.deepEqual(target.get(config([], { [env]: target.text })), target.value);
    });
  }

  test('a flag wins over its variable, even when the variable is invalid', () => {
    assert.equal(config(['--client-max-conn', '3'], { FASTWAY_CLIENT_MAX_CONN: '9' }).client.maxConn, 3);
    assert.equal(config(['--client-max-conn', '3'], { FASTWAY_CLIENT_MAX_CONN: 'lots' }).client.maxConn, 3);
    assert.deepEqual(config(['--server-auth-key', 'flag'], { FASTWAY_SERVER_AUTH_KEY: 'env' }).authKeys, ['flag']);
  });

  test('variables that are not FASTWAY_<NAME> of a flag are ignored', () => {
    assert.deepEqual(config([], { CLIENT_MAX_CONN: '3', FASTWAY_CLIENT_MAX: '3', fastway_client_max_conn: '3' }).client, {});
  });

  test('--server-auth-key may be repeated to accept several keys', () => {
    assert.deepEqual(config(['--server-auth-key', 'old', '--server-auth-key=new']).authKeys, ['old', 'new']);
  });

  test('a value may start with a single dash, and with -- in the = form', () => {
    assert.deepEqual(config(['--server-auth-key', '-k']).authKeys, ['-k']);
    assert.deepEqual(config(['--server-auth-key=--k']).authKeys, ['--k']);
    assert.deepEqual(config(['--server-auth-key=a=b']).authKeys, ['a=b']);
  });

  test('durations: ms, s, m, h, fractions and plain milliseconds', () => {
    const ping = (text: string) => config(['--client-ping-interval', text]).client.pingInterval;
    assert.equal(ping('500ms'), 500);
    assert.equal(ping('30s'), 30_000);
    assert.equal(ping('2m'), 120_000);
    assert.equal(ping('1h'), 3_600_000);
    assert.equal(ping('1.5s'), 1500);
    assert.equal(ping('1500'), 1500);
  });

  test('sizes: plain bytes, KiB and MiB', () => {
    const size = (text: string) => config(['--max-packet-size', text]).maxPacketSize;
    assert.equal(size('1000'), 1000);
    assert.equal(size('512KiB'), 524_288);
    assert.equal(size('512k'), 524_288);
    assert.equal(size('1MiB'), 1_048_576);
    assert.equal(size('2m'), 2_097_152);
  });

  test('--help, -h, --version and -V win over everything else, even bad flags', () => {
    assert.deepEqual(parseCommandLine(['--help']), { action: 'help' });
    assert.deepEqual(parseCommandLine(['--nope', '-h']), { action: 'help' });
    assert.deepEqual(parseCommandLine(['--version']), { action: 'version' });
    assert.deepEqual(parseCommandLine(['--client-max-conn', '0', '-V']), { action: 'version' });
  });

  test('the ranges accepted are exactly the gateway ranges, at both ends', () => {
    for (const [name, range] of Object.entries(NUMERIC_RANGES)) {
      const get = FLAG_TARGETS[name]!.get;
      assert.equal(get(config([`--${name}`, String(range.min)])), range.min, `${name} min`);
      assert.equal(get(config([`--${name}`, String(range.max)])), range.max, `${name} max`);
      rejects([`--${name}`, String(range.min - 1)], {}, `--${name}`);
      rejects([`--${name}`, String(range.max + 1)], {}, `--${name}`);
    }
  });

  test('any in-range values map onto options the gateway accepts unchanged', () => {
    const arb = fc.record(
      Object.fromEntries(Object.entries(NUMERIC_RANGES).map(([name, r]) => [name, fc.integer({ min: r.min, max: r.max })])),
    );
    fc.assert(
      fc.property(arb, (values) => {
        const argv = Object.entries(values).flatMap(([name, v]) => [`--${name}`, String(v)]);
        const c = config(argv);
        const resolved = resolveGatewayOptions(toGatewayOptions(c, ['key'], silentLogger));
        assert.equal(resolved.maxPacketSize, values['max-packet-size']);
        assert.equal(resolved.client.maxConn, values['client-max-conn']);
        assert.equal(resolved.client.maxPending, values['client-max-pending']);
        assert.equal(resolved.client.pingInterval, values['client-ping-interval']);
        assert.equal(resolved.client.sendQueue, values['client-send-queue']);
        assert.equal(resolved.server.authTimeout, values['server-auth-timeout']);
        assert.equal(resolved.server.maxPending, values['server-max-pending']);
        assert.equal(resolved.server.pingInterval, values['server-ping-interval']);
        assert.equal(resolved.server.sendQueue, values['server-send-queue']);
        assert.deepEqual(resolved.server.authKey, ['key']);
        assert.equal(c.drainTimeout, values['drain-timeout']);
      }),
      { numRuns: 50 },
    );
  });

  test('toGatewayOptions passes the keys and logger and does not share objects with the config', () => {
    const c = config(['--client-max-conn', '4', '--server-send-queue', '9']);
    const options = toGatewayOptions(c, ['a', 'b'], silentLogger);
    assert.deepEqual(options.server.authKey, ['a', 'b']);
    assert.equal(options.logger, silentLogger);
    assert.equal(options.client?.maxConn, 4);
    assert.equal(options.server.sendQueue, 9);
    assert.notEqual(options.client, c.client);
    assert.equal('maxPacketSize' in options, false, 'unset options are left to the gateway');
  });
});

describe('parseCommandLine errors: one line naming the flag and what it accepts', () => {
  for (const [name, range] of Object.entries(NUMERIC_RANGES)) {
    const env = `FASTWAY_${name.toUpperCase().replaceAll('-', '_')}`;
    const shownMin = range.unit === 'ms' ? formatDuration(range.min) : String(range.min);
    for (const bad of ['', 'abc', '-1', '1e3', '12 ', String(range.max + 1)]) {
      test(`--${name} ${JSON.stringify(bad)}`, () => {
        rejects([`--${name}=${bad}`], {}, `--${name}`, `from ${shownMin} to `, JSON.stringify(bad));
        rejects([], { [env]: bad }, env, `from ${shownMin} to `);
      });
    }
  }

  test('a duration that is not a whole number of milliseconds', () => {
    rejects(['--client-ping-interval', '1.0005s'], {}, '--client-ping-interval', 'duration');
    rejects(['--client-ping-interval', '10x'], {}, '--client-ping-interval', '500ms, 30s, 2m');
  });

  test('--client-proxy-protocol: each source an address or CIDR block, named when wrong; repeated values add up; off turns it off; the gateway gets them', () => {
    rejects(['--client-proxy-protocol', '10.0.0.0/8,balancer.internal'], {}, '--client-proxy-protocol', '"balancer.internal"', 'CIDR');
    rejects(['--client-proxy-protocol', '10.0.0.0/40'], {}, '--client-proxy-protocol', '"10.0.0.0/40"');
    rejects([], { FASTWAY_CLIENT_PROXY_PROTOCOL: '' }, 'FASTWAY_CLIENT_PROXY_PROTOCOL', 'CIDR');
    const c = config(['--client-proxy-protocol', '10.0.0.0/8', '--client-proxy-protocol', 'fd00::/8,192.0.2.7']);
    assert.deepEqual(c.client.proxyProtocol, ['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    assert.equal(config(['--client-proxy-protocol', '10.0.0.0/8', '--client-proxy-protocol', 'off']).client.proxyProtocol, undefined);
    const resolved = resolveGatewayOptions(toGatewayOptions(c, ['k'], silentLogger));
    assert.equal(resolved.client.proxyProtocol!.trusts('10.9.8.7'), true);
    assert.equal(resolved.client.proxyProtocol!.trusts('192.0.2.8'), false);
    assert.equal(resolveGatewayOptions(toGatewayOptions(config([]), ['k'], silentLogger)).client.proxyProtocol, null, 'off by default');
  });

  test('a size with an unknown unit', () => {
    rejects(['--max-packet-size', '1GB'], {}, '--max-packet-size', 'KiB or MiB');
  });

  for (const bad of ['', 'localhost', ':7000', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:http', '[::1]', '::1:7000', 'a b:1']) {
    test(`address ${JSON.stringify(bad)}`, () => {
      rejects([`--client-addr=${bad}`], {}, '--client-addr', JSON.stringify(bad));
      rejects([`--server-addr=${bad}`], {}, '--server-addr', 'host:port', 'from 0 to 65535');
      rejects([], { FASTWAY_CLIENT_ADDR: bad }, 'FASTWAY_CLIENT_ADDR', 'host:port');
    });
  }

  test('an empty auth key, from the flag or the variable, is refused rather than accepted or replaced', () => {
    rejects(['--server-auth-key='], {}, '--server-auth-key', 'must not be empty');
    rejects(['--server-auth-key', 'good', '--server-auth-key='], {}, '--server-auth-key', 'must not be empty');
    rejects([], { FASTWAY_SERVER_AUTH_KEY: '' }, 'FASTWAY_SERVER_AUTH_KEY', 'must not be empty');
  });

  test('a log level that does not exist', () => {
    rejects(['--log-level', 'loud'], {}, '--log-level', LOG_LEVELS.join(', '));
  });

  test('an unknown flag, long or short', () => {
    rejects(['--client-max-connections', '3'], {}, '--client-max-connections', 'unknown flag', '--help');
    rejects(['-x'], {}, '-x', 'unknown flag');
    rejects(['--client-max-conn=3', '--'], {}, '--', 'unknown flag');
  });

  test('an argument that is not a flag', () => {
    rejects(['7000'], {}, '"7000"', 'unexpected argument');
  });

  test('a flag without its value, at the end or before another flag', () => {
    rejects(['--client-addr'], {}, '--client-addr', 'needs a value', '<host:port>');
    rejects(['--client-max-conn', '--client-addr', '127.0.0.1:1'], {}, '--client-max-conn', 'needs a value', '<n>');
  });

  test('a flag given twice (other than the auth key)', () => {
    rejects(['--client-max-conn', '1', '--client-max-conn=2'], {}, '--client-max-conn', 'more than once');
  });
});

describe('helpText', () => {
  const help = helpText('9.9.9');

  test('names the version and lists every flag with its variable and default', () => {
    assert.ok(help.includes('9.9.9'));
    for (const flag of FLAGS) {
      assert.ok(help.includes(`--${flag.name} ${flag.placeholder}`), flag.name);
      assert.ok(help.includes(`env ${flag.env}; default ${flag.defaultText}\n      accepts ${flag.acceptsText}\n`), flag.env);
    }
    assert.ok(help.includes('--help') && help.includes('--version'));
  });

  test('fits in 88 columns', () => {
    for (const line of help.split('\n')) assert.ok(line.length <= 88, line);
  });
});

describe('the README options table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = readme.split('\n').filter((line) => line.startsWith('|'));

  test('has a row for every flag with its variable, default and accepted values', () => {
    for (const flag of FLAGS) {
      const row = rows.find((r) => r.includes(`\`--${flag.name}\``));
      assert.ok(row, `no README row for --${flag.name}`);
      assert.ok(row.includes(`\`${flag.env}\``), `README row of --${flag.name} names ${flag.env}`);
      assert.ok(row.includes(` ${flag.defaultText} |`), `README row of --${flag.name} shows default ${flag.defaultText}`);
      assert.ok(row.includes(` ${flag.acceptsText} |`), `README row of --${flag.name} shows it accepts ${flag.acceptsText}`);
    }
  });
});

describe('value parsers', () => {
  test('formatDuration and parseDuration round-trip', () => {
    fc.assert(fc.property(fc.nat({ max: 10 * 24 * 3_600_000 }), (ms) => assert.equal(parseDuration(formatDuration(ms)), ms)));
    assert.equal(formatDuration(3000), '3s');
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatDuration(0), '0ms');
  });

  test('formatByteSize and parseByteSize', () => {
    assert.equal(formatByteSize(524_288), '524288 (512KiB)');
    assert.equal(formatByteSize(64 * 1024 * 1024), '67108864 (64MiB)');
    assert.equal(formatByteSize(1000), '1000');
    assert.equal(parseByteSize('0'), 0);
    assert.equal(parseByteSize('1.5k'), undefined);
    assert.equal(parseByteSize('99999999999999999999'), undefined);
  });

  test('parseCount takes plain digits only', () => {
    assert.equal(parseCount('0'), 0);
    assert.equal(parseCount('0012'), 12);
    for (const bad of ['', '+1', '1.0', '0x10', ' 1', '99999999999999999999']) assert.equal(parseCount(bad), undefined, bad);
  });

  test('parseAddress and formatAddress', () => {
    assert.deepEqual(parseAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseAddress('[::1]:7000'), { host: '::1', port: 7000 });
    assert.deepEqual(parseAddress('example.org:65535'), { host: 'example.org', port: 65535 });
    assert.equal(formatAddress({ host: '::1', port: 7000 }), '[::1]:7000');
    assert.equal(formatAddress({ host: '10.0.0.1', port: 1 }), '10.0.0.1:1');
  });
});

describe('flags the gateway checks against each other', () => {
  /** A value for each flag that names its gateway option, and that value as the gateway gets it. */
  const given: Record<string, [string, number]> = {
    'max-packet-size': ['1MiB', 1024 * 1024],
    'max-clients': ['50', 50],
    'max-clients-per-ip': ['5', 5],
    'client-send-buffer': ['2MiB', 2 * 1024 * 1024],
    'server-send-buffer': ['3MiB', 3 * 1024 * 1024],
  };

  test('each flag that names a gateway option sets exactly that option', () => {
    const named = FLAGS.filter((flag) => flag.option !== undefined);
    assert.deepEqual(named.map((flag) => flag.name).sort(), Object.keys(given).sort());
    for (const flag of named) {
      const [text, value] = given[flag.name]!;
      const options = toGatewayOptions(config([`--${flag.name}`, text]), ['k'], silentLogger) as unknown as Record<string, unknown>;
      const landed = flag.option!.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], options);
      assert.equal(landed, value, `--${flag.name} ${text} lands at ${flag.option}`);
    }
  });

  test('an error about options that do not go together names the flags, not the library options', () => {
    const cases: [string[], string, RegExp][] = [
      [['--max-packet-size', '1MiB', '--client-send-buffer', '512KiB'], '--client-send-buffer', /^--client-send-buffer: must be at least --max-packet-size \+ 4 \(1048580\)/],
      [['--max-packet-size', '1MiB', '--server-send-buffer', '600KiB'], '--server-send-buffer', /^--server-send-buffer: must be at least --max-packet-size \+ 4/],
      [['--max-clients', '10', '--max-clients-per-ip', '20'], '--max-clients-per-ip', /^--max-clients-per-ip: must be at most --max-clients \(10\)/],
    ];
    for (const [argv, flag, message] of cases) {
      assert.throws(
        () => resolveGatewayOptions(toGatewayOptions(config(argv), ['k'], silentLogger)),
        (err: unknown) => {
          assert.ok(err instanceof InvalidOptionError);
          const told = inFlagNames(err);
          assert.equal(told.option, flag);
          assert.equal(told.code, 'ERR_INVALID_OPTION');
          assert.match(told.message, message);
          assert.ok(!/client\.|server\.|maxPacketSize/.test(told.message), told.message);
          return true;
        },
      );
    }
  });

  test('an error about an option no flag names is left as it is', () => {
    const err = new InvalidOptionError('client.webSocket.path', 'must be a path');
    assert.equal(inFlagNames(err), err);
  });
});
