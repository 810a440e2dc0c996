/**
 * The `fastway` command's configuration, unit-level: the config file and its precedence
 * against variables and flags, `--print-config`, comma-separated keys, the keys file, the
 * choice of server keys, the stop-signal window and the PID file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { type CliConfig, defaultConfig } from '../src/cli/cli-config.js';
import { type Env, effectiveConfig, parseCommandLine } from '../src/cli/command-line.js';
import { REDACTED } from '../src/cli/flag-values.js';
import { FLAGS } from '../src/cli/flags.js';
import { toGatewayOptions } from '../src/cli/gateway-options.js';
import { parseKeysFile } from '../src/cli/keys-file.js';
import { removePidFile, writePidFile } from '../src/cli/pid-file.js';
import { chooseServerKeys } from '../src/cli/server-keys.js';
import { StopSignals, signalExitCode } from '../src/cli/stop-signals.js';
import { InvalidOptionError } from '../src/errors.js';
import { GATEWAY_LIMITS, resolveGatewayOptions } from '../src/gateway/options.js';
import { silentLogger } from '../src/gateway/logger.js';

/** A reader serving `files` by path; any other path fails as a missing file does. */
function filesOf(files: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
}

function configFrom(argv: string[], env: Env, files: Record<string, string>): CliConfig {
  const command = parseCommandLine(argv, env, filesOf(files));
  assert.ok(command.action === 'run' || command.action === 'print-config', command.action);
  return command.config;
}

/** A config read from one file, `fastway.json`, holding `content`. */
function fromFile(content: unknown, argv: string[] = [], env: Env = {}): CliConfig {
  return configFrom(['--config', 'fastway.json', ...argv], env, { 'fastway.json': JSON.stringify(content) });
}

/** Asserts parsing is rejected with an InvalidOptionError naming `option`, on one line mentioning each of `mentions`. */
function rejects(run: () => unknown, option: string, ...mentions: string[]): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(err)}`);
    assert.equal(err.option, option);
    assert.ok(!err.message.includes('\n'), `one line: ${JSON.stringify(err.message)}`);
    for (const m of mentions) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} mentions ${JSON.stringify(m)}`);
    return true;
  });
}

describe('the config file', () => {
  test('keys are the flag names; strings take flag syntax, numbers are plain values', () => {
    const c = fromFile({
      'client-addr': '0.0.0.0:9000',
      'metrics-addr': 'off',
      'client-max-conn': 5,
      'client-ping-interval': '2m',
      'server-ping-interval': 1500,
      'max-packet-size': '64KiB',
      'server-send-queue': '2000',
      'drain-timeout': '10s',
      'log-format': 'pretty',
      'pid-file': 'fastway.pid',
    });
    assert.equal(c.clientAddr, '0.0.0.0:9000');
    assert.equal(c.metricsAddr, null);
    assert.equal(c.client.maxConn, 5);
    assert.equal(c.client.pingInterval, 120_000);
    assert.equal(c.server.pingInterval, 1500, 'a number for a duration is milliseconds');
    assert.equal(c.maxPacketSize, 65_536);
    assert.equal(c.server.sendQueue, 2000);
    assert.equal(c.drainTimeout, 10_000);
    assert.equal(c.logFormat, 'pretty');
    assert.equal(c.pidFile, 'fastway.pid');
  });

  test('every flag can be set in the file, to the same value as on the command line', () => {
    const samples: Record<string, string> = {
      'client-addr': '0.0.0.0:9000',
      'server-addr': '[::1]:0',
      'metrics-addr': '127.0.0.1:0',
      'server-auth-key': 'k1,k2',
      'server-auth-keys-file': 'keys.txt',
      'server-auth-timeout': '500ms',
      'max-packet-size': '1MiB',
      'busy-poll-us': '50',
      'listen-backlog': '2048',
      'max-clients': '1000',
      'max-clients-per-ip': '20',
      'client-max-conn': '3',
      'client-proxy-protocol': '10.0.0.0/8',
      'client-proxy-header-timeout': '3s',
      'client-message-rate': '300',
      'client-message-burst': '30',
      'client-message-debt-limit': '3000',
      'client-max-pending': '4',
      'client-ping-interval': '1m',
      'client-send-queue': '5',
      'client-send-buffer': '2MiB',
      'server-send-buffer': '256KiB',
      'server-max-pending': '6',
      'server-ping-interval': '7s',
      'server-send-queue': '8',
      'drain-timeout': '0',
      'pid-file': 'p.pid',
      'log-level': 'debug',
      'log-format': 'pretty',
      'client-ws-addr': '127.0.0.1:0',
      'client-ws-path': '/ws',
      'client-ws-origins': 'https://a.example',
      'client-tls-cert': 'c.crt',
      'client-tls-key': 'c.key',
      'server-tls-cert': 's.crt',
      'server-tls-key': 's.key',
      'server-tls-ca': 'ca.crt',
      workers: '2',
      cluster: 'rediss://cache.internal:6380/1',
      'cluster-name': 'eu-1',
      'gateway-id': 'gw-1',
      'advertise-client-addr': 'play.example.com:7000',
      'advertise-client-ws-url': 'wss://play.example.com/',
      'advertise-server-addr': '10.0.0.5:7001',
      'cluster-heartbeat': '1s',
      'cluster-ttl': '5s',
    };
    assert.deepEqual(Object.keys(samples).sort(), FLAGS.map((f) => f.name).sort(), 'a sample for every flag');
    const fromFlags = configFrom(Object.entries(samples).flatMap(([k, v]) => [`--${k}`, v]), {}, {});
    assert.deepEqual(fromFile(samples), fromFlags);
    assert.notDeepEqual(fromFlags, defaultConfig());
  });

  test('a count, size or duration as a JSON number equals the same digits as a flag', () => {
    fc.assert(
      fc.property(
        fc.integer(GATEWAY_LIMITS.maxConn),
        fc.integer(GATEWAY_LIMITS.maxPacketSize),
        fc.integer(GATEWAY_LIMITS.pingInterval),
        (conn, size, ping) => {
          const file = fromFile({ 'client-max-conn': conn, 'max-packet-size': size, 'client-ping-interval': ping });
          const flags = configFrom(['--client-max-conn', String(conn), '--max-packet-size', String(size), '--client-ping-interval', String(ping)], {}, {});
          assert.deepEqual(file, flags);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('precedence: flag over variable over file over default, key by key', () => {
    const file = { 'client-max-conn': 3, 'client-max-pending': 4, 'client-send-queue': 5, 'server-auth-key': ['file-a', 'file-b'] };
    const env = { FASTWAY_CLIENT_MAX_PENDING: '40', FASTWAY_CLIENT_SEND_QUEUE: '50', FASTWAY_SERVER_AUTH_KEY: 'env-key' };
    const c = fromFile(file, ['--client-send-queue', '500'], env);
    assert.equal(c.client.maxConn, 3, 'from the file: nothing overrides it');
    assert.equal(c.client.maxPending, 40, 'the variable overrides the file');
    assert.equal(c.client.sendQueue, 500, 'the flag overrides both');
    assert.equal(c.server.maxPending, undefined, 'set nowhere: the default');
    assert.deepEqual(c.authKeys, ['env-key'], 'keys are replaced, not merged, by a higher source');
    assert.deepEqual(fromFile(file).authKeys, ['file-a', 'file-b']);
  });

  test('null, or an empty list of keys, leaves a key at its default', () => {
    assert.deepEqual(fromFile({ 'client-max-conn': null, 'pid-file': null, 'server-auth-key': null }), defaultConfig());
    assert.deepEqual(fromFile({ 'server-auth-key': [] }), defaultConfig());
  });

  test('FASTWAY_CONFIG names the file when --config is absent; --config wins over it', () => {
    const files = { 'a.json': '{"client-max-conn": 2}', 'b.json': '{"client-max-conn": 9}' };
    assert.equal(configFrom([], { FASTWAY_CONFIG: 'a.json' }, files).client.maxConn, 2);
    assert.equal(configFrom(['--config=b.json'], { FASTWAY_CONFIG: 'a.json' }, files).client.maxConn, 9);
    assert.equal(configFrom([], {}, files).client.maxConn, undefined, 'no file is read unless named');
  });

  test('the file is not read for --help or --version', () => {
    assert.deepEqual(parseCommandLine(['--config', 'missing.json', '--help'], {}, filesOf({})), { action: 'help' });
    assert.deepEqual(parseCommandLine(['--version'], { FASTWAY_CONFIG: 'missing.json' }, filesOf({})), { action: 'version' });
  });
});

describe('config file errors: one line naming the file and key', () => {
  const read = (text: string, argv: string[] = []) => () => parseCommandLine(['--config', 'f.json', ...argv], {}, filesOf({ 'f.json': text }));

  test('a file that cannot be read names the flag or variable and the path', () => {
    rejects(() => parseCommandLine(['--config', 'nope.json'], {}, filesOf({})), '--config', 'cannot read nope.json', 'ENOENT');
    rejects(() => parseCommandLine([], { FASTWAY_CONFIG: 'nope.json' }, filesOf({})), 'FASTWAY_CONFIG', 'nope.json');
    rejects(() => parseCommandLine([], { FASTWAY_CONFIG: '' }, filesOf({})), 'FASTWAY_CONFIG', 'file path');
  });

  test('not JSON, or not an object', () => {
    rejects(read('{"client-max-conn": 3,}'), 'f.json', 'not valid JSON');
    rejects(read(''), 'f.json', 'not valid JSON');
    for (const text of ['[]', '"x"', '3', 'null']) rejects(read(text), 'f.json', 'one JSON object');
  });

  test('an unknown key, with the flag name it was probably meant as', () => {
    rejects(read('{"clientMaxConn": 3}'), 'f.json: "clientMaxConn"', 'unknown key', 'did you mean "client-max-conn"?');
    rejects(read('{"client_addr": "x"}'), 'f.json: "client_addr"', 'did you mean "client-addr"?');
    rejects(read('{"--log-level": "info"}'), 'f.json: "--log-level"', 'did you mean "log-level"?');
    rejects(read('{"colour": "red"}'), 'f.json: "colour"', 'unknown key', 'flag names');
  });

  test('the command flags cannot be set in a file', () => {
    rejects(read('{"config": "other.json"}'), 'f.json: "config"', 'cannot be set in a config file');
    rejects(read('{"print-config": "yes"}'), 'f.json: "print-config"', 'cannot be set in a config file');
  });

  test('a value of the wrong JSON type', () => {
    rejects(read('{"client-max-conn": true}'), 'f.json: "client-max-conn"', 'a string or a number', 'got true');
    rejects(read('{"client-addr": {"host": "x"}}'), 'f.json: "client-addr"', 'got an object');
    rejects(read('{"client-max-conn": [3]}'), 'f.json: "client-max-conn"', 'got an array');
    rejects(read('{"server-auth-key": ["a", 1]}'), 'f.json: "server-auth-key"', 'array of strings', 'got an array');
    rejects(read('{"server-auth-key": [""]}'), 'f.json: "server-auth-key"', 'must not be empty');
  });

  test('a bad value names the key and says what it accepts, as the flag would', () => {
    rejects(read('{"client-max-conn": 0}'), 'f.json: "client-max-conn"', 'whole number from 1 to 65535', 'got "0"');
    rejects(read('{"client-max-conn": 2.5}'), 'f.json: "client-max-conn"', 'whole number');
    rejects(read('{"client-ping-interval": "soon"}'), 'f.json: "client-ping-interval"', 'duration');
    rejects(read('{"metrics-addr": "9464"}'), 'f.json: "metrics-addr"', 'host:port', 'or off');
    rejects(read('{"log-format": "xml"}'), 'f.json: "log-format"', 'json, pretty');
  });

  test('a bad value in the file is reported even when a flag overrides it', () => {
    rejects(read('{"client-max-conn": 0}', ['--client-max-conn', '3']), 'f.json: "client-max-conn"');
  });

  test('--config twice, empty, or --print-config with a value', () => {
    rejects(() => parseCommandLine(['--config', 'a', '--config', 'b'], {}, filesOf({})), '--config', 'more than once');
    rejects(() => parseCommandLine(['--config='], {}, filesOf({})), '--config', 'file path');
    rejects(() => parseCommandLine(['--config'], {}, filesOf({})), '--config', 'needs a value');
    rejects(() => parseCommandLine(['--print-config=yes'], {}, filesOf({})), '--print-config', 'takes no value');
  });
});

describe('--print-config', () => {
  test('is its own action, with the configuration from every source', () => {
    const command = parseCommandLine(['--print-config', '--client-max-conn', '4'], {}, filesOf({}));
    assert.equal(command.action, 'print-config');
    assert.equal((command as { config: CliConfig }).config.client.maxConn, 4);
  });

  test('shows every flag, defaults included, in the file format, and never a key', () => {
    const c = configFrom(['--server-auth-key', 'sekrit1,sekrit2', '--client-max-conn', '4', '--metrics-addr', 'off'], {}, {});
    const shown = effectiveConfig(c);
    assert.deepEqual(Object.keys(shown), FLAGS.map((f) => f.name));
    assert.deepEqual(shown['server-auth-key'], [REDACTED, REDACTED]);
    assert.ok(!JSON.stringify(shown).includes('sekrit'));
    assert.equal(shown['client-max-conn'], 4);
    assert.equal(shown['client-max-pending'], 16, 'the gateway default');
    assert.equal(shown['client-ping-interval'], '30s');
    assert.equal(shown['metrics-addr'], 'off');
    assert.equal(shown['pid-file'], null);
    assert.equal(shown['drain-timeout'], '30s');
  });

  test('what it prints reads back as a config file to the same configuration (keys aside)', () => {
    fc.assert(
      fc.property(
        fc.integer(GATEWAY_LIMITS.maxConn),
        fc.integer({ min: 0, max: 24 * 3_600_000 }),
        fc.integer(GATEWAY_LIMITS.maxPacketSize),
        fc.constantFrom('off', '127.0.0.1:0', '[::1]:9464'),
        (conn, drain, size, metrics) => {
          const c = configFrom(['--client-max-conn', String(conn), '--drain-timeout', String(drain), '--max-packet-size', String(size), '--metrics-addr', metrics], {}, {});
          const back = fromFile(effectiveConfig(c));
          const fill = (x: CliConfig) => effectiveConfig(x);
          assert.deepEqual(fill(back), fill(c));
          assert.equal(back.client.maxConn, conn);
          assert.equal(back.drainTimeout, drain);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('server auth keys on the command line', () => {
  const keys = (argv: string[], env: Env = {}) => configFrom(argv, env, {}).authKeys;

  test('comma-separated, repeated, or both', () => {
    assert.deepEqual(keys(['--server-auth-key', 'old,new']), ['old', 'new']);
    assert.deepEqual(keys(['--server-auth-key', 'a', '--server-auth-key=b,c']), ['a', 'b', 'c']);
    assert.deepEqual(keys([], { FASTWAY_SERVER_AUTH_KEY: 'x,y' }), ['x', 'y']);
    assert.deepEqual(fromFile({ 'server-auth-key': 'p,q' }).authKeys, ['p', 'q']);
    assert.deepEqual(fromFile({ 'server-auth-key': ['p', 'q,r'] }).authKeys, ['p', 'q', 'r']);
  });

  test('an empty key between commas, or one with spaces around it, is refused without echoing any key', () => {
    for (const bad of ['a,,b', 'a,', ',a']) {
      rejects(() => parseCommandLine(['--server-auth-key', bad]), '--server-auth-key', 'empty key');
    }
    rejects(() => parseCommandLine(['--server-auth-key', 'topsecret, other']), '--server-auth-key', 'whitespace');
    assert.throws(() => parseCommandLine(['--server-auth-key', 'topsecret,,other']), (err: Error) => !err.message.includes('topsecret'));
  });

  test('toGatewayOptions passes --listen-backlog to the gateway', () => {
    const config = configFrom(['--listen-backlog', '2048'], {}, {});
    assert.equal(toGatewayOptions(config, ['a'], silentLogger).listenBacklog, 2048);
    assert.equal(toGatewayOptions(defaultConfig(), ['a'], silentLogger).listenBacklog, undefined);
  });

  test('toGatewayOptions passes --busy-poll-us to the gateway', () => {
    const config = configFrom(['--busy-poll-us', '75'], {}, {});
    assert.equal(toGatewayOptions(config, ['a'], silentLogger).busyPollMicros, 75);
    assert.equal(toGatewayOptions(defaultConfig(), ['a'], silentLogger).busyPollMicros, undefined);
  });

  test('toGatewayOptions passes keys per server ID when there are some', () => {
    const options = toGatewayOptions(defaultConfig(), { authKey: ['a'], authKeysById: { 7: ['s'] } }, silentLogger);
    const resolved = resolveGatewayOptions(options);
    assert.deepEqual(resolved.server.authKey, ['a']);
    assert.deepEqual(resolved.server.authKeysById.get(7), ['s']);
    assert.equal('authKeysById' in toGatewayOptions(defaultConfig(), { authKey: ['a'], authKeysById: {} }, silentLogger).server, false);
  });
});

describe('the keys file', () => {
  test('keys, ID:key lines, comments, blank lines, surrounding spaces and CRLF', () => {
    const text = '# rotation\r\nnew-key\r\n\r\n   old-key  \n# per server\n17:own-17\n17: second-17 \n0:zero\nnew-key\nab:cd\n';
    assert.deepEqual(parseKeysFile(text, 'keys.txt'), {
      keys: ['new-key', 'old-key', 'ab:cd'],
      byId: { 17: ['own-17', 'second-17'], 0: ['zero'] },
    });
  });

  test('an empty file, or one of comments only, holds nothing', () => {
    assert.deepEqual(parseKeysFile('', 'k'), { keys: [], byId: {} });
    assert.deepEqual(parseKeysFile('# nothing yet\n\n', 'k'), { keys: [], byId: {} });
  });

  test('errors name the file and line, never the key', () => {
    rejects(() => parseKeysFile('good\n12:\n', 'keys.txt'), 'keys.txt:2', 'empty');
    rejects(() => parseKeysFile('a\nb\n4294967296:hidden-key\n', 'keys.txt'), 'keys.txt:3', 'from 0 to 4294967295');
    assert.throws(() => parseKeysFile('4294967296:hidden-key', 'k'), (err: Error) => !err.message.includes('hidden-key'));
  });

  test('any set of keys written one per line reads back as the same keys', () => {
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_+/=.-]{0,40}$/);
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 8 }), fc.dictionary(fc.integer({ min: 0, max: 0xffffffff }).map(String), key), (keys, byId) => {
        const lines = [...keys, ...Object.entries(byId).map(([id, k]) => `${id}:${k}`)];
        const parsed = parseKeysFile(lines.join('\n'), 'k');
        assert.deepEqual(parsed.keys, keys);
        assert.deepEqual(parsed.byId, Object.fromEntries(Object.entries(byId).map(([id, k]) => [id, [k]])));
      }),
      { numRuns: 100 },
    );
  });
});

describe('chooseServerKeys', () => {
  const generate = () => 'GENERATED';

  test('the given keys and the file keys are all accepted', () => {
    const chosen = chooseServerKeys(['a', 'b'], { path: 'k', keys: { keys: ['b', 'c'], byId: { 5: ['own'] } } }, generate);
    assert.deepEqual(chosen, { keys: { authKey: ['a', 'b', 'c'], authKeysById: { 5: ['own'] } }, onlyListedIds: false });
  });

  test('no key anywhere: one is generated and reported', () => {
    assert.deepEqual(chooseServerKeys([], undefined, generate), { keys: { authKey: ['GENERATED'] }, generated: 'GENERATED', onlyListedIds: false });
  });

  test('only per-ID keys: the default key is random and not reported, so other IDs cannot authenticate', () => {
    const chosen = chooseServerKeys([], { path: 'k', keys: { keys: [], byId: { 5: ['own'] } } }, generate);
    assert.equal(chosen.generated, undefined);
    assert.equal(chosen.onlyListedIds, true);
    assert.deepEqual(chosen.keys, { authKey: ['GENERATED'], authKeysById: { 5: ['own'] } });
  });

  test('a keys file with no key is an error, not a reason to generate one', () => {
    rejects(() => chooseServerKeys(['a'], { path: 'keys.txt', keys: { keys: [], byId: {} } }, generate), '--server-auth-keys-file', 'keys.txt holds no key');
  });
});

describe('StopSignals', () => {
  test('the first signal drains; echoes within the window are ignored; a later one forces', () => {
    let now = 1000;
    const signals = new StopSignals(500, () => now);
    assert.equal(signals.receive(), 'drain');
    now += 1;
    assert.equal(signals.receive(), 'repeat');
    now += 498;
    assert.equal(signals.receive(), 'repeat', 'the window counts from the first signal');
    now += 1;
    assert.equal(signals.receive(), 'force');
    assert.equal(signals.receive(), 'force');
  });

  test('exit codes follow the shell convention', () => {
    assert.equal(signalExitCode('SIGINT'), 130);
    assert.equal(signalExitCode('SIGTERM'), 143);
  });
});

describe('the PID file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fastway-pid-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('holds the process ID and a newline, and is removed by its owner', () => {
    const path = join(dir, 'a.pid');
    writePidFile(path, 4242);
    assert.equal(readFileSync(path, 'utf8'), '4242\n');
    removePidFile(path, 4242);
    assert.equal(existsSync(path), false);
    removePidFile(path, 4242); // already gone: no error
  });

  test('is left alone when another process has taken it over', () => {
    const path = join(dir, 'b.pid');
    writeFileSync(path, '777\n');
    removePidFile(path, 4242);
    assert.equal(readFileSync(path, 'utf8'), '777\n');
  });
});

describe('the operating docs and examples', () => {
  const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

  test('docs/operating.md lists every flag with its default', () => {
    const rows = read('docs/operating.md').split('\n').filter((line) => line.startsWith('| `'));
    for (const flag of FLAGS) {
      const row = rows.find((r) => r.startsWith(`| \`${flag.name}\` |`));
      assert.ok(row, `no row for ${flag.name} in docs/operating.md`);
      assert.ok(row.includes(`| ${flag.defaultText} |`), `the row of ${flag.name} shows the default ${flag.defaultText}`);
    }
  });

  test('examples/fastway.json is a valid config file', () => {
    const command = parseCommandLine(['--config', 'examples/fastway.json'], {}, (path) => read(path));
    assert.equal(command.action, 'run');
    const c = (command as { config: CliConfig }).config;
    assert.equal(c.clientAddr, '0.0.0.0:7000');
    assert.equal(c.authKeysFile, '/etc/fastway/keys');
  });
});
