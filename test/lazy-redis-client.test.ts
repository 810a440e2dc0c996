/**
 * The Redis client (ioredis, about 20 MB of RSS) is loaded only by a process that joins a
 * cluster: importing the library, running a gateway and connecting a client and a server
 * to it leave it unloaded.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { dialClient, dialServer, joinCluster, pickGateway } from '../src/index.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { KEY, withGateway } from './support/gateway-harness.js';

checkNoLeaks();

const loadedModules = createRequire(import.meta.url).cache;
const redisClientLoaded = (): boolean => Object.keys(loadedModules).some((path) => /[\\/]node_modules[\\/]ioredis[\\/]/.test(path));

test('a gateway, a client and a server outside a cluster never load the Redis client', async () => {
  assert.equal(typeof joinCluster, 'function', 'the cluster API is exported all the same');
  assert.equal(typeof pickGateway, 'function');
  await withGateway({}, async (h) => {
    const server = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY });
    const client = await dialClient(`127.0.0.1:${h.clientPort}`);
    try {
      const accepted = server.accept();
      const up = await client.dial(1);
      const down = await accepted;
      up.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual([...(await down.receive())], [1, 2, 3]);
    } finally {
      await client.close();
      await server.close();
    }
  });
  assert.equal(redisClientLoaded(), false, 'ioredis is not in the module cache');
});

test('this check sees the Redis client once something loads it', async () => {
  await import('ioredis');
  assert.equal(redisClientLoaded(), true);
});
