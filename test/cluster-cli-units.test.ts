/** The pure parts of the cluster CLI: advertised addresses, worker ports, the status table, --workers values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advertisedAddresses, withPort } from '../src/cli/cluster-member.js';
import { formatAge, parseClusterStatusArgs, statusTable } from '../src/cli/cluster-status.js';
import { parseWorkers, workerServerAddress } from '../src/cli/workers.js';
import { InvalidOptionError, type GatewayRecord } from '../src/index.js';

const bound = (host: string) => ({
  client: { host, port: 7000 },
  server: { host, port: 7001 },
  clientWs: { host, port: 8080 },
  clientTls: false,
  serverTls: false,
  clientWsPath: '/play',
});
const settings = { url: 'redis://r:6379', name: 'fastway', gatewayId: 'g' };

test('advertised addresses: the bound ones unless a wildcard, which needs its --advertise-* flag', () => {
  assert.deepEqual(advertisedAddresses(settings, bound('10.0.0.5')), { clientAddr: '10.0.0.5:7000', serverAddr: '10.0.0.5:7001', clientWsUrl: 'ws://10.0.0.5:8080/play' });
  assert.deepEqual(advertisedAddresses(settings, { ...bound('::1'), clientTls: true, serverTls: true }), {
    clientAddr: 'tls://[::1]:7000',
    serverAddr: 'tls://[::1]:7001',
    clientWsUrl: 'wss://[::1]:8080/play',
  });
  for (const [host, flag] of [['0.0.0.0', '--advertise-client-addr'], ['::', '--advertise-client-addr']] as const) {
    assert.throws(() => advertisedAddresses(settings, bound(host)), (err: Error) => err instanceof InvalidOptionError && err.option === flag);
  }
  const given = { ...settings, advertiseClientAddr: 'play.example.com:7000', advertiseServerAddr: '10.0.0.5:7001', advertiseClientWsUrl: 'wss://play.example.com/play' };
  assert.deepEqual(advertisedAddresses(given, bound('0.0.0.0')), { clientAddr: 'play.example.com:7000', serverAddr: '10.0.0.5:7001', clientWsUrl: 'wss://play.example.com/play' });
  assert.throws(
    () => advertisedAddresses({ ...given, advertiseClientWsUrl: undefined } as never, bound('0.0.0.0')),
    (err: Error) => err instanceof InvalidOptionError && err.option === '--advertise-client-ws-url',
  );
  assert.equal(withPort('tls://10.0.0.5:7001', 7003), 'tls://10.0.0.5:7003');
});

test('worker server addresses: P + k, a port of its own for port 0, past 65535 refused', async () => {
  assert.equal(await workerServerAddress('10.0.0.5:7001', 0), '10.0.0.5:7001');
  assert.equal(await workerServerAddress('10.0.0.5:7001', 3), '10.0.0.5:7004');
  const free = await workerServerAddress('127.0.0.1:0', 1);
  assert.match(free, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(free, '127.0.0.1:0');
  await assert.rejects(workerServerAddress('10.0.0.5:65535', 1), InvalidOptionError);
  assert.equal(parseWorkers('4'), 4);
  assert.ok(parseWorkers('auto')! >= 1);
  for (const bad of ['0', '257', '-1', 'x', '1.5', '']) assert.equal(parseWorkers(bad), null, bad);
});

test('cluster status: its flags, and a table with a column per field', () => {
  assert.deepEqual(parseClusterStatusArgs(['--cluster', 'redis://r:1', '--cluster-name=eu'], {}), { url: 'redis://r:1', name: 'eu' });
  assert.deepEqual(parseClusterStatusArgs([], { FASTWAY_CLUSTER: 'rediss://r:2/3' }), { url: 'rediss://r:2/3', name: 'fastway' });
  assert.throws(() => parseClusterStatusArgs([], {}), /--cluster: is required/);
  assert.throws(() => parseClusterStatusArgs(['--cluster', 'http://x'], {}), InvalidOptionError);
  assert.throws(() => parseClusterStatusArgs(['--nope'], {}), /--nope/);
  const r: GatewayRecord = {
    id: 'gw-1', state: 'draining', clientAddr: '10.0.0.5:7000', clientWsUrl: null, serverAddr: '10.0.0.5:7001',
    clients: 12, liveConnections: 30, version: '0.1.0', startedAt: 0, updatedAt: 0, instance: 'i',
  };
  const lines = statusTable([r], 3_725_000).trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[1]!.split(/\s+/), ['gw-1', 'draining', '12', '30', '1h2m', '10.0.0.5:7000', '10.0.0.5:7001', '0.1.0']);
  assert.equal(lines[0]!.indexOf('STATE'), lines[1]!.indexOf('draining'), 'columns line up');
  assert.deepEqual([formatAge(5_000), formatAge(95_000), formatAge(90_000_000)], ['5s', '1m35s', '1d1h']);
});
