/**
 * The `fastway` command in a cluster: `--cluster` registration and its startup errors,
 * `GET /cluster/gateways`, `fastway cluster status`, SIGTERM turning the record draining at
 * once and deleting it on exit.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { decodeGatewayRecord } from '../src/index.js';
import { killCliChildren, startCli } from './support/cli-process.js';
import { clusterGatewayArgs, startClusterGateway } from './support/cluster-gateway-process.js';
import { waitUntil } from './support/raw-peer.js';
import { RedisServer } from './support/redis-server.js';

let redis: RedisServer;
let admin: Redis;

before(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.url);
});

after(async () => {
  await killCliChildren();
  await admin.quit();
  await redis.dispose();
});

const TIMEOUT = { timeout: 60_000 };

test('fastway --cluster: registers, serves /cluster/gateways, shows in cluster status; SIGTERM drains at once and deletes the record', TIMEOUT, async () => {
  const gw = await startClusterGateway(redis.url, 'cli-a', ['--drain-timeout', '5s']);
  const record = decodeGatewayRecord((await admin.get('fastway:gateway:cli-a'))!);
  assert.equal(record.state, 'ready');
  assert.equal(record.clientAddr, gw.clientAddr);
  assert.equal(record.serverAddr, gw.serverAddr);

  const list = (await (await fetch(`${gw.metricsUrl}/cluster/gateways`)).json()) as { gateways: { id: string; clientAddr: string }[] };
  assert.deepEqual(list.gateways.map((g) => [g.id, g.clientAddr]), [['cli-a', gw.clientAddr]]);

  const status = startCli(['cluster', 'status', '--cluster', redis.url]);
  assert.equal((await status.exited).code, 0, status.output());
  assert.match(status.stdout, /^ID\s+STATE\s+CLIENTS\s+VCONNS\s+AGE/m);
  assert.match(status.stdout, new RegExp(`^cli-a\\s+ready\\s+0\\s+0\\s+\\d+s\\s+${gw.clientAddr.replace(/\./g, '\\.')}`, 'm'));
  assert.match(status.stdout, /1 gateway \(1 ready\) in cluster fastway/);

  // A second gateway with the same ID refuses to start, naming it.
  const twin = startCli(clusterGatewayArgs(redis.url, 'cli-a'));
  const twinExit = await twin.exited;
  assert.equal(twinExit.code, 1, twin.output());
  assert.match(twin.stderr, /gateway ID "cli-a" is in use by another live gateway/);

  // Keep a client connected with a live virtual connection so that the drain lasts.
  gw.run.child.kill('SIGTERM');
  await waitUntil(() => /SIGTERM: draining/.test(gw.run.stdout), 'the drain to start', 10_000);
  const exit = await gw.run.exited;
  assert.equal(exit.code, 0, gw.run.output());
  assert.equal(await admin.get('fastway:gateway:cli-a'), null, 'the record is deleted on exit');
});

test('fastway --cluster: a wildcard listener without its --advertise-* flag is a clear startup error; an unreachable registry too', TIMEOUT, async () => {
  const wildcard = startCli(clusterGatewayArgs(redis.url, 'cli-w', ['--client-addr', '0.0.0.0:0']));
  assert.equal((await wildcard.exited).code, 2, wildcard.output());
  assert.match(wildcard.stderr, /--advertise-client-addr: is needed with --cluster: the listener is bound to the wildcard 0\.0\.0\.0/);

  const advertised = await startClusterGateway(redis.url, 'cli-adv', ['--client-addr', '0.0.0.0:0', '--advertise-client-addr', 'game.example.com:7000']);
  assert.equal(decodeGatewayRecord((await admin.get('fastway:gateway:cli-adv'))!).clientAddr, 'game.example.com:7000');
  advertised.run.child.kill('SIGTERM');
  assert.equal((await advertised.run.exited).code, 0);

  const down = startCli(clusterGatewayArgs('redis://127.0.0.1:1', 'cli-down'));
  assert.equal((await down.exited).code, 1, down.output());
  assert.match(down.stderr, /cannot reach the registry at redis:\/\/127\.0\.0\.1:1/);

  const bad = startCli(['cluster', 'status']);
  assert.equal((await bad.exited).code, 2);
  assert.match(bad.stderr, /--cluster: is required/);
});
