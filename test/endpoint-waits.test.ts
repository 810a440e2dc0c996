/**
 * Waits that can be given up on: `receive`, `accept` and `drained` take
 * `{ signal, timeout }`, and a wait given up takes nothing, so what arrives afterwards goes
 * to the next wait; `dialClient`/`dialServer` take a `signal` for their connect step; and
 * option objects with a key they do not know are rejected with a message naming it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import {
  AbortError,
  type VirtualConnection,
  Gateway,
  InvalidOptionError,
  TimeoutError,
  dialClient,
  dialServer,
  utf8,
} from '../src/index.js';
import { checkNoLeaks, early, withFakeGateway } from './support/fake-gateway.js';
import { KEY, withGateway } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

checkNoLeaks();

/** The two ends of one virtual connection (server ID 1 and a client, utf8), through a fresh gateway. */
interface Linked {
  atServer: VirtualConnection<string>;
  atClient: VirtualConnection<string>;
}

/** Runs `body` with a linked server and client on a fresh gateway; closes everything afterwards. */
async function withLinked(body: (link: Linked) => Promise<void>): Promise<void> {
  await withGateway({}, async (h) => {
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY, format: utf8 });
    const cli = await dialClient(`127.0.0.1:${h.clientPort}`, { format: utf8 });
    try {
      const accepting = srv.accept();
      const atClient = await cli.dial(1);
      await body({ atServer: await accepting, atClient });
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
  });
}

const isTimeout = (err: unknown): boolean => err instanceof TimeoutError && err.code === 'ERR_TIMEOUT';

describe('receive({ signal, timeout })', () => {
  test('a receive that timed out takes nothing: the next receive gets the message', async () => {
    await withLinked(async ({ atServer, atClient }) => {
      // The race a user writes, with a timeout that wins.
      await assert.rejects(withTimeout(atClient.receive({ timeout: 30 }), 'receive to time out'), isTimeout);
      atServer.send('after the timeout');
      assert.equal(await withTimeout(atClient.receive(), 'the message'), 'after the timeout');
      assert.equal(atClient.queuedMessages, 0);
    });
  });

  test('an aborted receive takes nothing, even with another receive queued behind it', async () => {
    await withLinked(async ({ atServer, atClient }) => {
      const controller = new AbortController();
      const first = early(atClient.receive({ signal: controller.signal }));
      const second = atClient.receive();
      controller.abort(new Error('player left the menu'));
      await assert.rejects(withTimeout(first, 'the receive to abort'), (err: unknown) => {
        assert.ok(err instanceof AbortError, String(err));
        assert.equal(err.code, 'ERR_ABORTED');
        assert.equal((err.cause as Error).message, 'player left the menu');
        return true;
    });
    atServer.send('one');
    atServer.send('two');
    assert.equal(await withTimeout(second, 'the queued receive'), 'one', 'the aborted receive did not take "one"');
    assert.equal(await atClient.receive({ timeout: 1000 }), 'two');
    // An already aborted signal rejects at once and leaves a queued message alone.
    atServer.send('three');
    await waitUntil(() => atClient.queuedMessages === 1, 'the message to be queued');
    await assert.rejects(atClient.receive({ signal: AbortSignal.abort() }), AbortError);
    assert.equal(atClient.queuedMessages, 1);
    assert.equal(await atClient.receive({ signal: new AbortController().signal }), 'three');
    });
  });

  test('many timed-out receives leave no waiter behind (the queue stays bounded)', async () => {
    await withLinked(async ({ atServer, atClient }) => {
      const waits = Array.from({ length: 200 }, () => atClient.receive({ timeout: 5 }).then(() => 'got', (err: unknown) => (isTimeout(err) ? 'timeout' : String(err))));
      assert.deepEqual(new Set(await Promise.all(waits)), new Set(['timeout']));
      atServer.send('still delivered');
      assert.equal(await atClient.receive({ timeout: 2000 }), 'still delivered');
    });
  });

  test('a close still settles a receive with a signal, with ConnectionClosedError', async () => {
    await withLinked(async ({ atServer, atClient }) => {
      const waiting = early(atClient.receive({ signal: new AbortController().signal, timeout: 60_000 }));
      atServer.close();
      await assert.rejects(waiting, (err: unknown) => err instanceof Error && (err as { code?: string }).code === 'ERR_CONNECTION_CLOSED');
    });
  });
});

describe('accept({ signal, timeout }) and drained({ signal, timeout })', () => {
  test('an accept that timed out takes nothing: the next accept gets the connection', async () => {
    await withGateway({}, async (h) => {
      const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY });
      const cli = await dialClient(`127.0.0.1:${h.clientPort}`);
      try {
        await assert.rejects(withTimeout(srv.accept({ timeout: 30 }), 'accept to time out'), isTimeout);
        const controller = new AbortController();
        const aborted = early(srv.accept({ signal: controller.signal }));
        controller.abort();
        await assert.rejects(aborted, AbortError);
        const conn = await cli.dial(1);
        await waitUntil(() => srv.acceptBacklog === 1, 'the connection to wait in the backlog');
        const accepted = await srv.accept({ timeout: 1000 });
        assert.equal(accepted.connId, conn.connId);
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('drained() with a timeout rejects while the gateway does not read, and resolves at once when not backed up', async () => {
    await withFakeGateway({}, async (fake) => {
      const [endpoint, peer] = await Promise.all([dialClient(fake.address), fake.accept()]);
      try {
        await endpoint.drained({ timeout: 10 }); // nothing queued: at once
        peer.sendAccept(5, 1);
        const conn = await endpoint.accept();
        peer.pauseReading();
        const chunk = new Uint8Array(64 * 1024);
        while (conn.send(chunk));
        await assert.rejects(withTimeout(conn.drained({ timeout: 30 }), 'drained to time out'), (err: unknown) => isTimeout(err) && /did not drain/.test(String(err)));
        const controller = new AbortController();
        const aborted = early(endpoint.drained({ signal: controller.signal }));
        const waiting = endpoint.drained();
        controller.abort();
        await assert.rejects(aborted, AbortError);
        peer.resumeReading();
        await withTimeout(waiting, 'the endpoint to drain');
      } finally {
        await endpoint.close();
      }
    });
  });
});

describe('the connect step takes a signal', () => {
  test('dialServer aborted while the gateway sends no challenge: AbortError, connection released', async () => {
    const silent = net.createServer();
    const sockets: net.Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const controller = new AbortController();
      const dialing = early(dialServer(`127.0.0.1:${port}`, { serverId: 1, authKey: KEY, signal: controller.signal }));
      await waitUntil(() => sockets.length === 1, 'the connection');
      controller.abort(new Error('shutting down'));
      await assert.rejects(dialing, (err: unknown) => err instanceof AbortError && (err.cause as Error).message === 'shutting down');
      await waitUntil(() => sockets[0]!.destroyed || sockets[0]!.readableEnded, 'the endpoint to drop the connection');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('dialClient aborted during a WebSocket upgrade that never comes, and with a signal already aborted', async () => {
    const silent = net.createServer();
    const sockets: net.Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const controller = new AbortController();
      const dialing = early(dialClient(`ws://127.0.0.1:${port}/`, { signal: controller.signal }));
      await waitUntil(() => sockets.length === 1, 'the connection');
      controller.abort();
      await assert.rejects(dialing, AbortError);
      await assert.rejects(dialClient(`127.0.0.1:${port}`, { signal: AbortSignal.abort() }), AbortError);
      await assert.rejects(dialClient(`ws://127.0.0.1:${port}/`, { signal: AbortSignal.abort() }), AbortError);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(sockets.length, 1, 'an already aborted dial opens no connection');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('unknown option keys are rejected, named', () => {
  const named = (option: string, hint?: RegExp) => (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, String(err));
    assert.equal(err.option, option);
    if (hint !== undefined) assert.match(err.message, hint);
    return true;
  };

  test('dialClient, dialServer, dial, receive, accept, drained', async () => {
    await withGateway({}, async (h) => {
      const client = `127.0.0.1:${h.clientPort}`;
      await assert.rejects(dialClient(client, { recvQueu: 5 } as never), named('recvQueu', /did you mean recvQueue\?/));
      await assert.rejects(dialClient(client, { Format: utf8 } as never), named('Format', /did you mean format\?/));
      await assert.rejects(dialClient(client, { zzz: 1, recvqueue: 2 } as never), named('zzz, recvqueue', /are not options \(did you mean recvQueue\?\)/));
      await assert.rejects(
        dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authkey: KEY } as never),
        named('authkey', /did you mean authKey\?/),
      );
      await assert.rejects(dialClient(client, { signal: 'stop' } as never), named('signal', /AbortSignal, got "stop" \(a string\)/));
      const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY });
      const cli = await dialClient(client);
      try {
        await assert.rejects(cli.dial(1, { timout: 5 } as never), named('timout', /did you mean timeout\?/));
        const accepting = srv.accept();
        const conn = await cli.dial(1);
        await accepting;
        await assert.rejects(conn.receive({ timeOut: 5 } as never), named('timeOut', /did you mean timeout\?/));
        await assert.rejects(srv.accept({ sginal: undefined } as never), named('sginal', /did you mean signal\?/));
        await assert.rejects(cli.drained({ wait: 1 } as never), named('wait'));
        await assert.rejects(conn.receive({ timeout: -1 }), named('timeout'));
        // Nothing was taken or broken by the rejected calls.
        assert.equal(cli.liveConnections, 1);
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('new Gateway() and gateway.listen()', async () => {
    assert.throws(() => new Gateway({ server: { authKey: KEY, authTimout: 5 } } as never), named('server.authTimout', /did you mean server\.authTimeout\?/));
    assert.throws(() => new Gateway({ server: { authKey: KEY }, clients: {} } as never), named('clients', /did you mean client\?/));
    assert.throws(() => new Gateway({ server: { authKey: KEY }, client: { webSocket: { paths: '/' } } } as never), named('client.webSocket.paths'));
    const gw = new Gateway({ server: { authKey: KEY } });
    try {
      await assert.rejects(gw.listen({ clientWS: '127.0.0.1:0' } as never), named('clientWS', /did you mean clientWs\?/));
      assert.equal(gw.ready, false, 'nothing was opened');
    } finally {
      await gw.close();
    }
  });
});
