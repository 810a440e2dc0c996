/**
 * The WebSocket transport in Node, against a scripted fake gateway (a `ws` server built on
 * `src/protocol` alone): the wire rule (whole frames in every message, several frames per
 * message accepted), text messages, backpressure, closes and connect failures.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { attachClient, ConnectError, ConnectionClosedError, dialClient, dialServer, type Endpoint, EndpointClosedError, InvalidOptionError, ProtocolError } from '../src/index.js';
import { CommandType, HEADER_SIZE, decodeFrames, encodeAccept, encodeDataFrame, encodeOpen, parseCommand } from '../src/protocol/index.js';
import { connectWebSocket, type WebSocketLike } from '../src/endpoint/websocket-transport.js';
import { openResources, pattern } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

/** A WebSocket "gateway" that hands each client connection to the test. */
class FakeWsGateway {
  readonly wss: WebSocketServer;
  private readonly waiting: Array<(ws: WebSocket) => void> = [];
  private readonly arrived: WebSocket[] = [];
  constructor() {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/fw', perMessageDeflate: false });
    this.wss.on('connection', (ws) => {
      const w = this.waiting.shift();
      if (w) w(ws);
      else this.arrived.push(ws);
    });
  }
  async ready(): Promise<string> {
    await once(this.wss, 'listening');
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/fw`;
  }
  next(): Promise<WebSocket> {
    const ws = this.arrived.shift();
    if (ws) return Promise.resolve(ws);
    return withTimeout(new Promise((resolve) => this.waiting.push(resolve)), 'a WebSocket connection');
  }
  close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

/** Collects a socket's binary messages; checks each holds whole frames only. */
function recordMessages(ws: WebSocket): { messages: Buffer[]; next(): Promise<Buffer> } {
  const messages: Buffer[] = [];
  let read = 0;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    assert.ok(isBinary, 'the endpoint sends binary messages only');
    messages.push(data);
  });
  return {
    messages,
    async next() {
      await waitUntil(() => messages.length > read, 'a message from the endpoint');
      return messages[read++]!;
    },
  };
}

function wholeFrames(message: Buffer): ReturnType<typeof decodeFrames>['frames'] {
  const { frames, rest } = decodeFrames(message);
  assert.equal(rest, 0, 'a message ends on a frame boundary');
  assert.ok(frames.length > 0, 'a message holds at least one frame');
  return frames;
}

const gateways: FakeWsGateway[] = [];
async function fakeGateway(): Promise<{ gw: FakeWsGateway; url: string }> {
  const gw = new FakeWsGateway();
  gateways.push(gw);
  return { gw, url: await gw.ready() };
}

after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await waitUntil(() => openResources().length === 0, 'every socket and timer to be released');
});

/** The command a decoded frame holds (its message is a view just past its header). */
function command(frame: { connId: number; message: Uint8Array }) {
  assert.equal(frame.connId, 0, 'a command frame');
  const m = frame.message;
  return parseCommand(new Uint8Array(m.buffer), m.byteOffset - HEADER_SIZE, m.byteOffset + m.length, 'gateway');
}

/** Dials `remote` from `client` and plays the gateway's side: Open and Accept in one message. */
async function dialThroughFake(client: Endpoint, ws: WebSocket, rec: ReturnType<typeof recordMessages>, connId: number, remote: number) {
  const dialing = client.dial(remote);
  const newFrames = wholeFrames(await rec.next());
  assert.equal(command(newFrames[0]!).type, CommandType.New);
  ws.send(Buffer.concat([encodeOpen(connId), encodeAccept(connId, remote)]));
  const dialFrames = wholeFrames(await rec.next());
  const dial = command(dialFrames[0]!);
  assert.deepEqual([dial.type, dial.connId, dial.remoteId], [CommandType.Dial, connId, remote]);
  return withTimeout(dialing, 'the dial');
}

describe('WebSocket transport (Node, ws)', () => {
  test('every message the endpoint sends holds whole frames; a message with several frames is read in full', async () => {
    const { gw, url } = await fakeGateway();
    const client = await dialClient(url);
    const ws = await gw.next();
    const rec = recordMessages(ws);
    try {
      const conn = await dialThroughFake(client, ws, rec, 7, 5);
      assert.equal(conn.remoteId, 5);

      // Many sends in one turn, some large: each WebSocket message still ends on a frame boundary.
      const sent: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const m = pattern(i % 3 === 0 ? 40_000 : 1 + i, i);
        sent.push(m);
        conn.send(m);
      }
      const got: Buffer[] = [];
      while (got.length < sent.length) {
        for (const f of wholeFrames(await rec.next())) {
          assert.equal(f.connId, 7);
          got.push(Buffer.from(f.message));
        }
      }
      assert.deepEqual(got, sent);

      // Three data frames in one message from the gateway: three messages, byte-exact.
      const incoming = [pattern(10, 1), pattern(70_000, 2), pattern(0, 3)];
      ws.send(Buffer.concat(incoming.map((m) => encodeDataFrame(7, m))));
      for (const m of incoming) assert.deepEqual(Buffer.from(await withTimeout(conn.receive(), 'a message')), m);
    } finally {
      await client.close();
    }
  });

  test('a text message from the gateway closes the endpoint (cause: ProtocolError ERR_TEXT_MESSAGE, close code 1003)', async () => {
    const { gw, url } = await fakeGateway();
    const client = await dialClient(url);
    const ws = await gw.next();
    const closeCode = once(ws, 'close');
    ws.send('hello');
    const reason = await withTimeout(client.closed, 'the endpoint to close');
    assert.ok(reason instanceof EndpointClosedError);
    assert.ok(reason.cause instanceof ProtocolError);
    assert.equal(reason.cause.code, 'ERR_TEXT_MESSAGE');
    const [code] = await withTimeout(closeCode, 'the close at the gateway');
    assert.equal(code, 1003);
  });

  for (const mode of ['send-callback', 'poll'] as const) {
    test(`backpressure (${mode}, ${mode === 'poll' ? 'as in browsers' : 'as in Node'}): send() returns false while the gateway does not read, and drained() resolves once it does`, async () => {
      const { gw, url } = await fakeGateway();
      const client = await attachClient(await connectWebSocket(url, 5000, (href) => new WebSocket(href) as unknown as WebSocketLike, mode));
      const ws = await gw.next();
      const rec = recordMessages(ws);
      try {
        const conn = await dialThroughFake(client, ws, rec, 3, 9);
        ws.pause();
        const chunk = pattern(60_000, 4);
        let sent = 0;
        // Each round waits for the endpoint's flush, so the transport really sees the bytes.
        while (sent < 2000) {
          let full = false;
          for (let i = 0; i < 8 && !full; i++, sent++) full = !conn.send(chunk);
          if (full) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        assert.ok(sent < 2000, 'send() reported a full buffer while the gateway was not reading');
        const drained = conn.drained();
        ws.resume();
        await withTimeout(drained, 'drained()');
        let bytes = 0;
        await waitUntil(() => {
          bytes = 0;
          for (const m of rec.messages.slice(2)) for (const f of wholeFrames(m)) bytes += f.message.length;
          return bytes >= sent * chunk.length;
        }, 'every byte sent to arrive');
        assert.equal(bytes, sent * chunk.length);
      } finally {
        await client.close();
      }
    });

  }
  test('endpoint.close() closes the WebSocket with 1000; the gateway closing it closes the endpoint', async () => {
    const { gw, url } = await fakeGateway();
    const a = await dialClient(url);
    const wsA = await gw.next();
    const closedA = once(wsA, 'close');
    await a.close();
    assert.equal((await withTimeout(closedA, 'the close at the gateway'))[0], 1000);
    assert.equal(await a.closed, undefined);

    const b = await dialClient(url);
    const wsB = await gw.next();
    wsB.close(1001, 'going away');
    const reasonB = await withTimeout(b.closed, 'the endpoint to close');
    assert.ok(reasonB instanceof EndpointClosedError);
    assert.equal(reasonB.cause, undefined, 'an orderly close is no failure');

    const c = await dialClient(url);
    const wsC = await gw.next();
    const rec = recordMessages(wsC);
    const conn = await dialThroughFake(c, wsC, rec, 1, 2);
    wsC.close(1011, 'broken');
    const reasonC = await withTimeout(c.closed, 'the endpoint to close');
    assert.ok(reasonC instanceof EndpointClosedError);
    assert.match(String((reasonC.cause as Error).message), /1011/);
    const connReason = await conn.closed;
    assert.ok(connReason instanceof EndpointClosedError);
    await assert.rejects(conn.receive(), ConnectionClosedError);
  });

  test('connect failures are ConnectError; bad addresses and options are InvalidOptionError', async () => {
    const { url } = await fakeGateway();
    await assert.rejects(dialClient(url.replace('/fw', '/elsewhere')), (err: Error) => err instanceof ConnectError && /Unexpected server response: 40\d/.test(err.message));
    const dead = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(dead, 'listening');
    const port = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    await assert.rejects(dialClient(`ws://127.0.0.1:${port}/`), ConnectError);

    for (const addr of ['ws://', 'ws://:80/x', 'wss://host:99999/', 'ws://host/#frag']) {
      await assert.rejects(dialClient(addr), (err: Error) => err instanceof InvalidOptionError && err.option === 'addr', addr);
    }
    await assert.rejects(dialClient(url, { tls: { rejectUnauthorized: false } }), (err: Error) => err instanceof InvalidOptionError && err.option === 'tls');
    await assert.rejects(
      dialServer(url, { serverId: 1, authKey: 'k' }),
      (err: Error) => err instanceof InvalidOptionError && err.option === 'addr' && /TCP or TLS/.test(err.message),
    );
  });
});
