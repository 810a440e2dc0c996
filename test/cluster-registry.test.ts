import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  chooseGateway,
  decodeGatewayRecord,
  encodeGatewayRecord,
  GatewayDirectory,
  GatewayIdTakenError,
  GatewayRegistration,
  type GatewayRecord,
  NoGatewayError,
  pickGateway,
  RegistryError,
} from '../src/index.js';
import { RegisteredGateway, TEST_HEARTBEAT } from './support/cluster-world.js';
import { openResources } from './support/gateway-harness.js';
import { waitUntil } from './support/raw-peer.js';
import { RedisServer } from './support/redis-server.js';

let redis: RedisServer;
let admin: Redis;

before(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.url);
});

after(async () => {
  await admin.quit();
  await redis.dispose();
  assert.deepEqual(openResources(), [], 'no socket, listener or timer left open');
});

const arbRecord: fc.Arbitrary<GatewayRecord> = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/),
  state: fc.constantFrom('ready' as const, 'draining' as const),
  clientAddr: fc.option(fc.string({ minLength: 1 }), { nil: null }),
  clientWsUrl: fc.option(fc.string({ minLength: 1 }), { nil: null }),
  serverAddr: fc.string({ minLength: 1 }),
  clients: fc.nat(),
  liveConnections: fc.nat(),
  version: fc.string(),
  startedAt: fc.nat(),
  updatedAt: fc.nat(),
  instance: fc.string({ minLength: 1 }),
});

test('gateway records: decode(encode(r)) is r, and a damaged record is a RegistryError naming the field', () => {
  fc.assert(fc.property(arbRecord, (r) => assert.deepEqual(decodeGatewayRecord(encodeGatewayRecord(r)), { ...r })));
  fc.assert(
    fc.property(arbRecord, fc.constantFrom('id', 'state', 'serverAddr', 'clients', 'instance'), (r, name) => {
      const o = JSON.parse(encodeGatewayRecord(r)) as Record<string, unknown>;
      o[name] = name === 'clients' ? -1 : 42;
      assert.throws(() => decodeGatewayRecord(JSON.stringify(o)), (err: Error) => err instanceof RegistryError && err.message.includes(name));
    }),
  );
  assert.throws(() => decodeGatewayRecord('not json'), RegistryError);
  assert.throws(() => decodeGatewayRecord('[1]'), RegistryError);
});

test('chooseGateway: the least-loaded ready gateway with an address for the transport, never a draining one', () => {
  fc.assert(
    fc.property(fc.array(arbRecord, { maxLength: 8 }), fc.constantFrom('tcp' as const, 'ws' as const), (records, transport) => {
      const pick = chooseGateway(records, transport);
      const eligible = records.filter((r) => r.state === 'ready' && (transport === 'tcp' ? r.clientAddr : r.clientWsUrl) !== null);
      if (eligible.length === 0) return assert.equal(pick, null);
      assert.notEqual(pick, null);
      const chosen = eligible.find((r) => r.id === pick!.gatewayId && (transport === 'tcp' ? r.clientAddr : r.clientWsUrl) === pick!.address);
      assert.ok(chosen, 'the pick is one of the eligible gateways, with its own address');
      for (const r of eligible) {
        assert.ok(chosen.clients < r.clients || (chosen.clients === r.clients && chosen.liveConnections <= r.liveConnections));
      }
    }),
  );
});

test('registration: the record is in Redis with its TTL; a second live gateway with the same ID is refused; drain and leave are announced', async () => {
  const sub = new Redis(redis.url);
  const heard: string[] = [];
  sub.on('message', (_c, m: string) => heard.push(m));
  await sub.subscribe('fastway:events');
  const gw = await RegisteredGateway.start(redis.url, 'gw-a');
  try {
    const record = decodeGatewayRecord((await admin.get('fastway:gateway:gw-a'))!);
    assert.equal(record.state, 'ready');
    assert.equal(record.serverAddr, gw.serverAddr);
    assert.equal(record.clientAddr, gw.clientAddr);
    const ttl = await admin.pttl('fastway:gateway:gw-a');
    assert.ok(ttl > 0 && ttl <= TEST_HEARTBEAT.ttl, `PTTL ${ttl}`);

    await assert.rejects(
      GatewayRegistration.register({ redis: redis.url, gatewayId: 'gw-a', clientAddr: null, clientWsUrl: null, serverAddr: 'x:1', version: 't', load: () => ({ clients: 0, liveConnections: 0 }) }),
      (err: Error) => err instanceof GatewayIdTakenError && err.gatewayId === 'gw-a' && err.message.includes('gw-a'),
    );

    // The heartbeat keeps it alive past the TTL.
    await new Promise((r) => setTimeout(r, TEST_HEARTBEAT.ttl * 1.5));
    assert.notEqual(await admin.get('fastway:gateway:gw-a'), null);
    assert.ok(gw.registration.counts.heartbeats >= 3);

    await gw.registration.drain();
    assert.equal(decodeGatewayRecord((await admin.get('fastway:gateway:gw-a'))!).state, 'draining');
    await gw.close();
    assert.equal(await admin.get('fastway:gateway:gw-a'), null, 'the record is deleted on leave');
    await waitUntil(() => heard.length >= 3, 'three announcements');
    assert.deepEqual(heard.map((m) => JSON.parse(m) as unknown), [
      { event: 'join', id: 'gw-a' },
      { event: 'drain', id: 'gw-a' },
      { event: 'leave', id: 'gw-a' },
    ]);
  } finally {
    await gw.close();
    await sub.quit();
  }
});

test('registration: a record whose heartbeat stopped is gone from the registry within the TTL', async () => {
  await admin.set('fastway:gateway:gw-dead', encodeGatewayRecord({
    id: 'gw-dead', state: 'ready', clientAddr: 'h:1', clientWsUrl: null, serverAddr: 'h:2', clients: 0, liveConnections: 0,
    version: 't', startedAt: 0, updatedAt: 0, instance: 'i',
  }), 'PX', TEST_HEARTBEAT.ttl);
  const directory = await GatewayDirectory.open({ redis: redis.url });
  try {
    assert.deepEqual((await directory.list()).map((r) => r.id), ['gw-dead']);
    await new Promise((r) => setTimeout(r, TEST_HEARTBEAT.ttl + 50));
    assert.deepEqual(await directory.list(), []);
  } finally {
    await directory.close();
  }
});

test('pickGateway: the least-loaded ready gateway; NoGatewayError when none; a malformed record is skipped', async () => {
  await assert.rejects(pickGateway({ redis: redis.url }), NoGatewayError);
  const a = await RegisteredGateway.start(redis.url, 'pick-a');
  const b = await RegisteredGateway.start(redis.url, 'pick-b');
  await admin.set('fastway:gateway:junk', '{"id":', 'PX', 5000);
  try {
    const picks = new Set<string>();
    for (let i = 0; i < 20; i++) picks.add((await pickGateway({ redis: redis.url, transport: 'tcp' })).gatewayId);
    assert.deepEqual([...picks].sort(), ['pick-a', 'pick-b'], 'equal loads: both are picked');
    await a.registration.drain();
    for (let i = 0; i < 10; i++) assert.deepEqual(await pickGateway({ redis: redis.url }), { gatewayId: 'pick-b', address: b.clientAddr });
    await assert.rejects(pickGateway({ redis: redis.url, transport: 'ws' }), NoGatewayError);
  } finally {
    await admin.del('fastway:gateway:junk');
    await a.close();
    await b.close();
  }
});

test('registration: while Redis is down the heartbeat fails without crashing; when it returns the record comes back by itself', async () => {
  const gw = await RegisteredGateway.start(redis.url, 'gw-outage');
  try {
    await admin.quit();
    await redis.stop();
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(gw.registration.counts.heartbeatFailures >= 1);
    await redis.resume();
    admin = new Redis(redis.url);
    await waitUntil(() => gw.registration.counts.heartbeatFailures > 0, 'failures');
    const deadline = Date.now() + 5000;
    let value: string | null = null;
    while (value === null && Date.now() < deadline) {
      value = await admin.get('fastway:gateway:gw-outage');
      if (value === null) await new Promise((r) => setTimeout(r, 50));
    }
    assert.notEqual(value, null, 'the record is written again after the outage');
  } finally {
    await gw.close();
  }
});
