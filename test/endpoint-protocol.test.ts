/**
 * The endpoint's side of the protocol, checked frame by frame against a scripted fake
 * gateway: Ping answers, stray Close and data, FIFO matching of Opens, refusals, dial
 * timeouts and aborts (and the IDs they leave behind), the accept backlog, the receive
 * queue bound, the liveness probe, backpressure and write batching.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AbortError,
  ConnectionClosedError,
  DialRefusedError,
  DialTimeoutError,
  type Endpoint,
  EndpointClosedError,
  type EndpointOptions,
  InvalidOptionError,
  MessageTooLargeError,
  PingTimeoutError,
  ReceiveQueueFullError,
  SendQueueFullError,
  type Transport,
  type TransportHandler,
  attachClient,
  dialClient,
  utf8,
} from '../src/index.js';
import { CommandType, decodeFrames, encodeAccept } from '../src/protocol/index.js';
import { checkNoLeaks, early, type FakeGateway, type FakePeer, withFakeGateway } from './support/fake-gateway.js';
import { withTimeout } from './support/raw-peer.js';

checkNoLeaks();

async function client<T = Uint8Array>(fake: FakeGateway, options?: EndpointOptions<T>): Promise<{ endpoint: Endpoint<T>; peer: FakePeer }> {
  const [endpoint, peer] = await Promise.all([dialClient<T>(fake.address, options), fake.accept()]);
  return { endpoint, peer };
}

/** Runs `body` with a client endpoint on a fresh fake gateway; closes both afterwards. */
function withClient<T = Uint8Array>(
  options: EndpointOptions<T> | undefined,
  body: (endpoint: Endpoint<T>, peer: FakePeer) => Promise<void>,
): Promise<void> {
  return withFakeGateway({}, async (fake) => {
    const { endpoint, peer } = await client(fake, options);
    try {
      await body(endpoint, peer);
    } finally {
      await endpoint.close();
    }
  });
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString();

describe('commands from the gateway', () => {
  test('a Ping is answered with a Ping', async () => {
    await withClient(undefined, async (_endpoint, peer) => {
      peer.sendPing();
      await peer.expectCommand(CommandType.Ping);
      assert.equal(peer.queuedFrames, 0);
    });
  });

  test('a Close for an ID the endpoint does not have is ignored', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      peer.sendClose(12345);
      await peer.sync(); // the very next frame is the Ping answer: nothing was sent for the Close
      assert.equal(endpoint.isClosed, false);
    });
  });

  test('data for an unknown ID is dropped and answered with one Close per burst', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      peer.sendAccept(3, 1);
      const conn = await endpoint.accept();
      for (let i = 0; i < 5; i++) peer.sendData(99, Buffer.from('stray'));
      peer.sendData(3, Buffer.from('mine'));
      assert.equal(text(await conn.receive()), 'mine');
      await peer.expectCommand(CommandType.Close, 99);
      await peer.sync();
      assert.equal(conn.queuedMessages, 0);
    });
  });
});

describe('dialing', () => {
  test('several dials in flight: Opens are matched to News first-in first-out', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      const a = endpoint.dial(100);
      const b = endpoint.dial(200);
      const c = endpoint.dial(300);
      for (let i = 0; i < 3; i++) await peer.expectCommand(CommandType.New);
      peer.sendOpen(10);
      peer.sendOpen(11);
      peer.sendOpen(12);
      const dials = [await peer.expectCommand(CommandType.Dial), await peer.expectCommand(CommandType.Dial), await peer.expectCommand(CommandType.Dial)];
      assert.deepEqual(
        dials.map((d) => [d.connId, d.remoteId]),
        [
          [10, 100],
          [11, 200],
          [12, 300],
        ],
      );
      // Accepts in another order still reach the right dial.
      peer.sendAccept(12, 300);
      peer.sendAccept(10, 100);
      peer.sendAccept(11, 200);
      const conns = await Promise.all([a, b, c]);
      assert.deepEqual(
        conns.map((conn) => [conn.connId, conn.remoteId]),
        [
          [10, 100],
          [11, 200],
          [12, 300],
        ],
      );
      assert.equal(endpoint.liveConnections, 3);
      assert.equal(endpoint.pendingDials, 0);
    });
  });

  test('Open(0) and Refuse reject with DialRefusedError naming the remote', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      const first = early(endpoint.dial(7));
      await peer.expectCommand(CommandType.New);
      peer.sendOpen(0);
      await assert.rejects(first, (err: unknown) => err instanceof DialRefusedError && err.code === 'ERR_DIAL_REFUSED' && err.remoteId === 7);

      const second = early(endpoint.dial(8));
      await peer.answerNew(20);
      await peer.expectCommand(CommandType.Dial, 20);
      peer.sendRefuse(20);
      await assert.rejects(second, (err: unknown) => err instanceof DialRefusedError && err.remoteId === 8);
      assert.equal(endpoint.pendingDials, 0);
      assert.equal(endpoint.isClosed, false);
    });
  });

  test('a dial that times out before its Open: DialTimeoutError, and the late Open is released with Close', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      const dial = early(endpoint.dial(5, { timeout: 30 }));
      await peer.expectCommand(CommandType.New);
      await assert.rejects(dial, (err: unknown) => err instanceof DialTimeoutError && err.code === 'ERR_DIAL_TIMEOUT' && err.remoteId === 5);
      assert.equal(endpoint.pendingDials, 1, 'the New is still outstanding');
      peer.sendOpen(31);
      await peer.expectCommand(CommandType.Close, 31);
      assert.equal(endpoint.pendingDials, 0);
    });
  });

  test('a dial given up after its Dial: a late Accept is closed, a late Refuse ignored', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      const first = new AbortController();
      const dial1 = early(endpoint.dial(5, { signal: first.signal }));
      await peer.answerNew(40);
      await peer.expectCommand(CommandType.Dial, 40);
      first.abort();
      await assert.rejects(dial1, AbortError);
      peer.sendAccept(40, 5);
      await peer.expectCommand(CommandType.Close, 40);
      assert.equal(endpoint.liveConnections, 0);

      const second = new AbortController();
      const dial2 = early(endpoint.dial(6, { signal: second.signal }));
      await peer.answerNew(41);
      await peer.expectCommand(CommandType.Dial, 41);
      second.abort();
      await assert.rejects(dial2, AbortError);
      peer.sendRefuse(41);
      await peer.sync();
      assert.equal(endpoint.isClosed, false);
      assert.equal(endpoint.pendingDials, 0);
    });
  });

  test('abort: before the dial sends nothing; during it rejects with AbortError carrying the reason', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      const aborted = AbortSignal.abort('not now');
      await assert.rejects(endpoint.dial(5, { signal: aborted }), (err: unknown) => {
        assert.ok(err instanceof AbortError);
        assert.equal(err.code, 'ERR_ABORTED');
        assert.equal(err.cause, 'not now');
        return true;
      });
      await peer.sync(); // no New went out

      const controller = new AbortController();
      const dial = early(endpoint.dial(5, { signal: controller.signal }));
      await peer.answerNew(50);
      await peer.expectCommand(CommandType.Dial, 50);
      const reason = new Error('user left');
      controller.abort(reason);
      await assert.rejects(dial, (err: unknown) => err instanceof AbortError && err.cause === reason);
      peer.sendAccept(50, 5);
      await peer.expectCommand(CommandType.Close, 50);
    });
  });

  test('bad arguments reject with InvalidOptionError and send nothing', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      for (const id of [-1, 1.5, 2 ** 32, Number.NaN]) {
        await assert.rejects(endpoint.dial(id), (err: unknown) => err instanceof InvalidOptionError && err.option === 'remoteId');
      }
      await assert.rejects(endpoint.dial(1, { timeout: -5 }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'timeout');
      await peer.sync();
    });
  });
});

describe('incoming connections', () => {
  test('past acceptBacklog, incoming connections are closed at once', async () => {
    await withClient({ acceptBacklog: 2 }, async (endpoint, peer) => {
      peer.sendAccept(1, 9);
      peer.sendAccept(2, 9);
      peer.sendAccept(3, 9);
      await peer.expectCommand(CommandType.Close, 3);
      assert.equal(endpoint.acceptBacklog, 2);
      assert.deepEqual([(await endpoint.accept()).connId, (await endpoint.accept()).connId], [1, 2]);
      // Room again: a waiting accept takes the next one directly.
      const next = endpoint.accept();
      peer.sendAccept(4, 9);
      assert.equal((await next).connId, 4);
    });
  });

  test('acceptBacklog 0 refuses every incoming connection that no accept() is waiting for', async () => {
    await withClient({ acceptBacklog: 0 }, async (endpoint, peer) => {
      peer.sendAccept(1, 9);
      await peer.expectCommand(CommandType.Close, 1);
      assert.equal(endpoint.liveConnections, 0);
    });
  });

  test('for await over the endpoint yields connections and ends when it closes', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      peer.sendAccept(1, 9);
      peer.sendAccept(2, 8);
      const seen: number[][] = [];
      for await (const conn of endpoint) {
        seen.push([conn.connId, conn.remoteId]);
        if (seen.length === 2) void endpoint.close();
      }
      assert.deepEqual(seen, [
        [1, 9],
        [2, 8],
      ]);
    });
  });
});

describe('receiving', () => {
  test('past recvQueue unread messages, the connection closes with ReceiveQueueFullError; what arrived is still readable', async () => {
    await withClient({ recvQueue: 3, format: utf8 }, async (endpoint, peer) => {
      peer.sendAccept(5, 1);
      const conn = await endpoint.accept();
      for (const m of ['a', 'b', 'c', 'd', 'e']) peer.sendData(5, Buffer.from(m));
      await peer.expectCommand(CommandType.Close, 5);
      const reason = await conn.closed;
      assert.ok(reason instanceof ReceiveQueueFullError);
      assert.equal(reason.code, 'ERR_RECV_QUEUE_FULL');
      assert.equal(endpoint.liveConnections, 0);
      assert.deepEqual([await conn.receive(), await conn.receive(), await conn.receive()], ['a', 'b', 'c']);
      await assert.rejects(conn.receive(), (err: unknown) => err instanceof ConnectionClosedError && err.cause === reason);
      assert.throws(() => conn.send('x'), ConnectionClosedError);
      await peer.sync(); // 'e', arriving after the Close, is not answered with another
    });
  });

  test('a remote Close: queued messages are delivered, then receive rejects and iteration ends', async () => {
    await withClient({ format: utf8 }, async (endpoint, peer) => {
      peer.sendAccept(5, 1);
      const conn = await endpoint.accept();
      peer.sendData(5, Buffer.from('one'));
      peer.sendData(5, Buffer.from('two'));
      peer.sendClose(5);
      const reason = await conn.closed;
      assert.ok(reason instanceof ConnectionClosedError);
      const got: string[] = [];
      for await (const m of conn) got.push(m);
      assert.deepEqual(got, ['one', 'two']);
      await assert.rejects(conn.receive(), ConnectionClosedError);
      await peer.sync(); // no Close is sent back for a remote close
    });
  });

  test('receives waiting when the remote closes are rejected', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      peer.sendAccept(5, 1);
      const conn = await endpoint.accept();
      const waiting = [early(conn.receive()), early(conn.receive())];
      peer.sendClose(5);
      for (const p of waiting) await assert.rejects(p, ConnectionClosedError);
    });
  });
});

describe('closing a virtual connection', () => {
  test('close() sends Close after what was sent before, drops unread messages, and ignores the echo', async () => {
    await withClient({ format: utf8 }, async (endpoint, peer) => {
      peer.sendAccept(6, 1);
      const conn = await endpoint.accept();
      peer.sendData(6, Buffer.from('unread'));
      await peer.sync();
      const waiting = early(conn.receive());
      assert.equal(await waiting, 'unread');
      peer.sendData(6, Buffer.from('unread too'));
      await peer.sync();
      conn.send('last words');
      conn.close();
      conn.close(); // idempotent
      assert.equal(text(await peer.expectData(6)), 'last words');
      await peer.expectCommand(CommandType.Close, 6);
      assert.equal(await conn.closed, undefined);
      await assert.rejects(conn.receive(), ConnectionClosedError);
      assert.throws(() => conn.send('more'), (err: unknown) => err instanceof ConnectionClosedError && err.code === 'ERR_CONNECTION_CLOSED');
      peer.sendClose(6); // the gateway's echo
      peer.sendData(6, Buffer.from('crossed in flight'));
      await peer.sync(); // dropped, and not answered: this endpoint already sent Close for it
      assert.equal(endpoint.liveConnections, 0);
    });
  });

  test('await using closes the connection at the end of the scope', async () => {
    await withClient(undefined, async (endpoint, peer) => {
      peer.sendAccept(8, 1);
      {
        await using conn = await endpoint.accept();
        assert.equal(conn.isClosed, false);
      }
      await peer.expectCommand(CommandType.Close, 8);
    });
  });
});

describe('sending', () => {
  test('a message over maxPacketSize - 4 throws MessageTooLargeError and sends nothing', async () => {
    await withClient({ maxPacketSize: 1024 }, async (endpoint, peer) => {
      peer.sendAccept(5, 1);
      const conn = await endpoint.accept();
      assert.throws(
        () => conn.send(new Uint8Array(1021)),
        (err: unknown) => err instanceof MessageTooLargeError && err.size === 1021 && err.limit === 1020 && err.code === 'ERR_MESSAGE_TOO_LARGE',
      );
      conn.send(new Uint8Array(1020).fill(7));
      const got = await peer.expectData(5);
      assert.equal(got.length, 1020);
      assert.ok(got.every((b) => b === 7));
    });
  });

  test('send returns false over the high-water mark, drained() resolves once written; past sendQueue it throws', async () => {
    const sendQueue = 1 << 20;
    await withClient({ sendQueue }, async (endpoint, peer) => {
      peer.sendAccept(5, 1);
      const conn = await endpoint.accept();
      peer.pauseReading();
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0;
      while (conn.send(chunk)) sent++;
      sent++;
      const drained = endpoint.drained();
      let full: unknown = null;
      try {
        for (;;) {
          conn.send(chunk);
          sent++;
        }
      } catch (err) {
        full = err;
      }
      assert.ok(full instanceof SendQueueFullError, String(full));
      assert.equal(full.code, 'ERR_SEND_QUEUE_FULL');
      assert.ok(endpoint.bufferedAmount <= sendQueue);
      peer.resumeReading();
      await withTimeout(drained, 'the endpoint to drain');
      await conn.drained(); // at once now
      for (let i = 0; i < sent; i++) assert.equal((await peer.expectData(5)).length, chunk.length);
      await peer.sync(); // the message that did not fit was not sent
    });
  });

  test('the frames of one turn leave in one transport write', async () => {
    const transport = new MemoryTransport();
    const endpoint = await attachClient(transport);
    transport.receive(encodeAccept(4, 1));
    const conn = await endpoint.accept();
    await new Promise((resolve) => setImmediate(resolve));
    transport.writes.length = 0;
    for (let i = 0; i < 100; i++) conn.send(Uint8Array.of(i));
    assert.equal(transport.writes.length, 0, 'nothing is written before the end of the turn');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(transport.writes.length, 1);
    const { frames, rest } = decodeFrames(transport.writes[0]!);
    assert.equal(rest, 0);
    assert.deepEqual(
      frames.map((f) => [f.connId, ...f.message]),
      Array.from({ length: 100 }, (_, i) => [4, i]),
    );
    await endpoint.close();
    assert.equal(transport.closedGracefully, true);
  });
});

describe('liveness (pingTimeout)', () => {
  test('a silent gateway is probed with New, then the endpoint closes with PingTimeoutError', async () => {
    await withClient({ pingTimeout: 60 }, async (endpoint, peer) => {
      const dial = early(endpoint.dial(1));
      await peer.expectCommand(CommandType.New); // the dial's
      await peer.expectCommand(CommandType.New); // the probe
      assert.equal(endpoint.pendingDials, 1, 'the probe is not a dial');
      const reason = await withTimeout(endpoint.closed, 'the ping timeout');
      assert.ok(reason instanceof PingTimeoutError);
      assert.equal(reason.code, 'ERR_PING_TIMEOUT');
      await assert.rejects(dial, (err: unknown) => err instanceof EndpointClosedError && err.cause === reason);
      await peer.expectClosed();
    });
  });

  test('an answered probe keeps the endpoint open and its ID is released', async () => {
    // Long enough that the fake's answer always arrives in time, even on a loaded machine.
    await withClient({ pingTimeout: 1000 }, async (endpoint, peer) => {
      await peer.answerNew(70);
      await peer.expectCommand(CommandType.Close, 70);
      await peer.answerNew(71); // silence again: probed again, not closed
      await peer.expectCommand(CommandType.Close, 71);
      assert.equal(endpoint.isClosed, false);
    });
  });
});

describe('closing the endpoint', () => {
  test('close() writes what was sent, then closes the connection', async () => {
    await withFakeGateway({}, async (fake) => {
      const { endpoint, peer } = await client(fake, { format: utf8 });
      peer.sendAccept(5, 1);
      const conn = await endpoint.accept();
      conn.send('bye');
      const closing = endpoint.close();
      assert.equal(text(await peer.expectData(5)), 'bye');
      await peer.end();
      await closing;
      assert.equal(await endpoint.closed, undefined);
      assert.ok((await conn.closed) instanceof EndpointClosedError);
      await assert.rejects(endpoint.accept(), EndpointClosedError);
      await assert.rejects(endpoint.drained(), EndpointClosedError);
    });
  });

  test('the gateway closing the connection closes the endpoint with EndpointClosedError', async () => {
    await withFakeGateway({}, async (fake) => {
      const { endpoint, peer } = await client(fake);
      await peer.end();
      const reason = await endpoint.closed;
      assert.ok(reason instanceof EndpointClosedError);
      assert.match(reason.message, /gateway closed the connection/);
    });
  });
});

/** An in-memory transport that records every write: for checking what the endpoint writes, and when. */
class MemoryTransport implements Transport {
  readonly remoteAddress = 'memory';
  readonly writes: Uint8Array[] = [];
  closedGracefully = false;
  private handler: TransportHandler | null = null;
  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }
  write(bytes: Uint8Array): boolean {
    this.writes.push(bytes.slice());
    return true;
  }
  get bufferedAmount(): number {
    return 0;
  }
  close(): void {
    this.closedGracefully = true;
    queueMicrotask(() => this.handler?.onClose(undefined));
  }
  destroy(): void {
    queueMicrotask(() => this.handler?.onClose(undefined));
  }
  receive(bytes: Uint8Array): void {
    this.handler!.onData(bytes);
  }
}



