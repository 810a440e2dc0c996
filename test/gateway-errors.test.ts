/**
 * Protocol errors (docs/protocol.md §1, §2, §9): each closes only the connection it arrived on,
 * with §6's cleanup, is counted by code and logged with the remote address; every other
 * connection keeps working.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProtocolErrorCode } from '../src/errors.js';
import {
  CommandType,
  encodeAccept,
  encodeClose,
  encodeDial,
  encodeNew,
  encodeOpen,
  encodeRefuse,
} from '../src/protocol/index.js';
import { type GatewayHarness, withGateway } from './support/gateway-harness.js';
import { type RawPeer, waitUntil } from './support/raw-peer.js';

const MAX_PACKET_SIZE = 1024;

/** A frame header followed by `body`, with any Length, legal or not. */
function rawFrame(length: number, connId: number, body: number[] = []): Buffer {
  const buf = Buffer.alloc(8 + body.length);
  buf.writeUInt32LE(length, 0);
  buf.writeUInt32LE(connId, 4);
  Buffer.from(body).copy(buf, 8);
  return buf;
}

/** `frame` with its Length cut to `length` and its bytes cut to match. */
function truncated(frame: Uint8Array, length: number): Buffer {
  const buf = Buffer.from(frame.subarray(0, 4 + length));
  buf.writeUInt32LE(length, 0);
  return buf;
}

interface BadInput {
  name: string;
  bytes: Buffer;
  code: ProtocolErrorCode;
}

const BAD_INPUTS: BadInput[] = [
  { name: 'Length 0', bytes: rawFrame(0, 0).subarray(0, 4), code: 'ERR_FRAME_TOO_SHORT' },
  { name: 'Length 3', bytes: rawFrame(3, 1).subarray(0, 7), code: 'ERR_FRAME_TOO_SHORT' },
  // Only the header is sent: the gateway must reject the Length without waiting for a body.
  { name: 'Length maxPacketSize + 1 (header only)', bytes: rawFrame(MAX_PACKET_SIZE + 1, 1), code: 'ERR_FRAME_TOO_LARGE' },
  { name: 'Length 0xffffffff (header only)', bytes: rawFrame(0xffffffff, 0), code: 'ERR_FRAME_TOO_LARGE' },
  { name: 'unknown command type 7', bytes: rawFrame(5, 0, [7]), code: 'ERR_UNKNOWN_COMMAND' },
  { name: 'unknown command type 255', bytes: rawFrame(9, 0, [255, 1, 0, 0, 0]), code: 'ERR_UNKNOWN_COMMAND' },
  { name: 'command without a type byte', bytes: rawFrame(4, 0), code: 'ERR_COMMAND_TRUNCATED' },
  { name: 'Dial without RemoteID', bytes: truncated(encodeDial(1, 1), 9), code: 'ERR_COMMAND_TRUNCATED' },
  { name: 'Dial cut inside RemoteID', bytes: truncated(encodeDial(1, 1), 12), code: 'ERR_COMMAND_TRUNCATED' },
  { name: 'Close without ConnID', bytes: truncated(encodeClose(1), 5), code: 'ERR_COMMAND_TRUNCATED' },
  { name: 'Open sent by an endpoint', bytes: Buffer.from(encodeOpen(1)), code: 'ERR_UNEXPECTED_COMMAND' },
  { name: 'Refuse sent by an endpoint', bytes: Buffer.from(encodeRefuse(1)), code: 'ERR_UNEXPECTED_COMMAND' },
  { name: 'Accept sent by an endpoint', bytes: Buffer.from(encodeAccept(1, 1)), code: 'ERR_UNEXPECTED_COMMAND' },
];

function otherCodesAreZero(h: GatewayHarness, code: ProtocolErrorCode): void {
  for (const [other, n] of Object.entries(h.stats.protocolErrors)) {
    if (other !== code) assert.equal(n, 0, `protocolErrors.${other} counted for a ${code}`);
  }
}

/** Asserts a log entry names the offender's remote address and the error code. */
function assertLogged(h: GatewayHarness, offender: RawPeer, code: ProtocolErrorCode): void {
  const port = String(offender.localPort);
  const entry = h.logger.entries.find((e) => e.text.includes(code) && e.text.includes('127.0.0.1') && e.text.includes(port));
  assert.ok(
    entry !== undefined,
    `no log entry with ${code} and the remote address 127.0.0.1:${port}; got:\n${h.logger.entries.map((e) => e.text).join('\n')}`,
  );
}

for (const bad of BAD_INPUTS) {
  test(`client sends ${bad.name}: ${bad.code}, only that client is closed`, async () => {
    await withGateway({ maxPacketSize: MAX_PACKET_SIZE }, async (h) => {
      const server = await h.server(1);
      const bystander = await h.client();
      const kept = await h.link(bystander, server, 1);
      const offender = await h.client();
      const lost = await h.link(offender, server, 1);
      await offender.open(); // a pending ID, released with the connection

      const logsBefore = h.logger.entries.length;
      offender.write(bad.bytes);
      await offender.expectClosed(`the gateway to close the client after ${bad.name}`);
      await server.expectCommand(CommandType.Close, lost.connId);
      await waitUntil(() => h.stats.clients === 1, 'the offending client to be removed');
      assert.equal(h.stats.protocolErrors[bad.code], 1);
      otherCodesAreZero(h, bad.code);
      assert.equal(h.stats.liveConnections, 1);
      assert.equal(h.stats.pendingConnections, 0);
      assert.ok(h.logger.entries.length > logsBefore);
      assertLogged(h, offender, bad.code);

      // Everyone else is unaffected.
      bystander.sendData(kept.connId, Buffer.from('still fine'));
      assert.equal((await server.expectData(kept.connId)).toString(), 'still fine');
      server.sendData(kept.connId, Buffer.from('yes'));
      assert.equal((await bystander.expectData(kept.connId)).toString(), 'yes');
      const newcomer = await h.client();
      await h.link(newcomer, server, 1);
    });
  });

  test(`server sends ${bad.name}: ${bad.code}, only that server is closed`, async () => {
    await withGateway({ maxPacketSize: MAX_PACKET_SIZE }, async (h) => {
      const good = await h.server(1);
      const offender = await h.server(2);
      const client = await h.client();
      const kept = await h.link(client, good, 1);
      const lost = await h.link(client, offender, 2);

      offender.write(bad.bytes);
      await offender.expectClosed(`the gateway to close the server after ${bad.name}`);
      await client.expectCommand(CommandType.Close, lost.connId);
      await waitUntil(() => h.stats.servers === 1, 'the offending server to be removed');
      assert.equal(h.stats.protocolErrors[bad.code], 1);
      otherCodesAreZero(h, bad.code);
      assertLogged(h, offender, bad.code);

      client.sendData(kept.connId, Buffer.from('still fine'));
      assert.equal((await good.expectData(kept.connId)).toString(), 'still fine');
      await good.sync();
    });
  });
}

test('a bad frame behind good ones in the same write: the good ones are still handled', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const good = Buffer.from([1, 2, 3]);
    const data = Buffer.alloc(8 + good.length);
    data.writeUInt32LE(4 + good.length, 0);
    data.writeUInt32LE(connId, 4);
    good.copy(data, 8);
    client.write(Buffer.concat([data, rawFrame(5, 0, [9])]));
    assert.deepEqual(await server.expectData(connId), good);
    await client.expectClosed();
    await server.expectCommand(CommandType.Close, connId);
    await waitUntil(() => h.stats.protocolErrors.ERR_UNKNOWN_COMMAND === 1, 'the error to be counted');
  });
});

test('bytes after a command\'s arguments are ignored (room for extensions), not an error', async () => {
  await withGateway({}, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const extend = (frame: Uint8Array): Buffer => {
      const buf = Buffer.concat([frame, Buffer.from([0xaa, 0xbb, 0xcc])]);
      buf.writeUInt32LE(buf.length - 4, 0);
      return buf;
    };
    client.write(extend(encodeNew()));
    const { connId } = await client.expectCommand(CommandType.Open);
    assert.notEqual(connId, 0);
    client.write(extend(encodeDial(connId, 1)));
    await client.expectCommand(CommandType.Accept, connId);
    await server.expectCommand(CommandType.Accept, connId);
    client.write(extend(encodeClose(connId)));
    await client.expectCommand(CommandType.Close, connId);
    await server.expectCommand(CommandType.Close, connId);
    const ping = Buffer.from([5, 0, 0, 0, 0, 0, 0, 0, CommandType.Ping]);
    client.write(extend(ping));
    await client.sync();
    for (const [code, n] of Object.entries(h.stats.protocolErrors)) assert.equal(n, 0, `protocolErrors.${code}`);
  });
});

test('a frame of exactly maxPacketSize is accepted and forwarded', async () => {
  await withGateway({ maxPacketSize: MAX_PACKET_SIZE }, async (h) => {
    const server = await h.server(1);
    const client = await h.client();
    const { connId } = await h.link(client, server, 1);
    const message = Buffer.alloc(MAX_PACKET_SIZE - 4, 0x5a);
    client.sendData(connId, message);
    assert.deepEqual(await server.expectData(connId), message);
    assert.equal(h.stats.protocolErrors.ERR_FRAME_TOO_LARGE, 0);
  });
});
