/**
 * Relations between options, checked where the options are validated: a bound that
 * another option sets is refused with an `InvalidOptionError` whose message names both
 * options, and a default that would break the relation is moved to fit instead.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dialClient, InvalidOptionError, joinCluster } from '../src/index.js';
import { resolveEndpointOptions } from '../src/endpoint/options.js';
import { resolveSessionOptions } from '../src/endpoint/session/options.js';
import { resolveReconnectOptions } from '../src/endpoint/session/reconnect-policy.js';
import { GATEWAY_DEFAULTS, resolveGatewayOptions } from '../src/gateway/options.js';

/** An `InvalidOptionError` for `option` whose message also names `other`. */
const relation = (option: string, other: string) => (err: unknown) =>
  err instanceof InvalidOptionError && err.option === option && err.message.startsWith(`${option}: `) && err.message.includes(other);

const server = { authKey: 'k' };

describe('gateway options', () => {
  test('client.sendBuffer and server.sendBuffer hold one frame of the largest Length (maxPacketSize + 4)', () => {
    const maxPacketSize = 8 * 1024 * 1024;
    for (const side of ['client', 'server'] as const) {
      const below = { maxPacketSize, server, [side]: { ...(side === 'server' ? server : {}), sendBuffer: maxPacketSize + 3 } };
      assert.throws(() => resolveGatewayOptions(below), relation(`${side}.sendBuffer`, 'maxPacketSize'));
      const at = { maxPacketSize, server, [side]: { ...(side === 'server' ? server : {}), sendBuffer: maxPacketSize + 4 } };
      assert.equal(resolveGatewayOptions(at)[side].sendBuffer, maxPacketSize + 4);
    }
  });

  test('an unset sendBuffer is raised with maxPacketSize, and keeps its default otherwise', () => {
    const big = resolveGatewayOptions({ maxPacketSize: 64 * 1024 * 1024, server });
    assert.equal(big.client.sendBuffer, 64 * 1024 * 1024 + 4);
    assert.equal(big.server.sendBuffer, 64 * 1024 * 1024 + 4);
    const plain = resolveGatewayOptions({ server });
    assert.equal(plain.client.sendBuffer, GATEWAY_DEFAULTS.client.sendBuffer);
    assert.equal(plain.server.sendBuffer, GATEWAY_DEFAULTS.server.sendBuffer);
  });

  test('client.maxClientsPerIp is at most client.maxClients when both bound', () => {
    assert.throws(() => resolveGatewayOptions({ server, client: { maxClients: 10, maxClientsPerIp: 11 } }), relation('client.maxClientsPerIp', 'client.maxClients'));
    assert.equal(resolveGatewayOptions({ server, client: { maxClients: 10, maxClientsPerIp: 10 } }).client.maxClientsPerIp, 10);
    // 0 is "no bound" on either side: no relation to check.
    assert.equal(resolveGatewayOptions({ server, client: { maxClients: 0, maxClientsPerIp: 50 } }).client.maxClientsPerIp, 50);
    assert.equal(resolveGatewayOptions({ server, client: { maxClients: 10, maxClientsPerIp: 0 } }).client.maxClientsPerIp, 0);
  });
});

describe('endpoint options', () => {
  test('sendQueue holds one message of the largest size (maxPacketSize + 4), named in the error', () => {
    assert.throws(() => resolveEndpointOptions({ maxPacketSize: 1 << 20, sendQueue: (1 << 20) + 3 }), relation('sendQueue', 'maxPacketSize'));
    assert.equal(resolveEndpointOptions({ maxPacketSize: 1 << 20, sendQueue: (1 << 20) + 4 }).sendQueue, (1 << 20) + 4);
  });
});

describe('reconnect and session options', () => {
  test('reconnect.maxDelay is at least reconnect.initialDelay', () => {
    assert.throws(() => resolveReconnectOptions({ initialDelay: 500, maxDelay: 499 }), relation('reconnect.maxDelay', 'reconnect.initialDelay'));
    assert.equal(resolveReconnectOptions({ initialDelay: 500, maxDelay: 500 }).maxDelay, 500);
    // Unset, the longest delay follows a large first one.
    assert.equal(resolveReconnectOptions({ initialDelay: 9000 }).maxDelay, 9000);
  });

  test('resumable.ackEvery is at most resumable.windowMessages; unset, it shrinks with a small window', () => {
    assert.throws(() => resolveSessionOptions({ windowMessages: 16, ackEvery: 17 }), relation('resumable.ackEvery', 'resumable.windowMessages'));
    assert.equal(resolveSessionOptions({ windowMessages: 16, ackEvery: 16 }).ackEvery, 16);
    assert.equal(resolveSessionOptions({ windowMessages: 16 }).ackEvery, 16);
    assert.equal(resolveSessionOptions({}).ackEvery, 32);
  });

  test('with resumable sessions, reconnect delays are shorter than resumable.resumeTimeout', async () => {
    // Refused before any connection is tried (nothing listens on the address).
    const addr = '127.0.0.1:1';
    await assert.rejects(dialClient(addr, { reconnect: { maxDelay: 2000 }, resumable: { resumeTimeout: 2000 } }), relation('reconnect.maxDelay', 'resumable.resumeTimeout'));
    await assert.rejects(dialClient(addr, { reconnect: { initialDelay: 3000 }, resumable: { resumeTimeout: 2000 } }), relation('reconnect.initialDelay', 'resumable.resumeTimeout'));
  });

  test('joinCluster: reconnect.maxDelay is at least reconnect.initialDelay', async () => {
    await assert.rejects(
      joinCluster({ gateways: ['127.0.0.1:1'], serverId: 1, authKey: 'k', reconnect: { initialDelay: 200, maxDelay: 100 } }),
      relation('reconnect.maxDelay', 'reconnect.initialDelay'),
    );
  });
});
