/**
 * Refusals, the server handshake, and closing, end to end through the real Gateway: every
 * refusal is a `DialRefusedError`; a wrong key is an `AuthError` from `dialServer`; a remote close, the gateway stopping and `endpoint.close()`
 * each settle every pending receive, dial and accept, with no unhandled rejection.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthError,
  ConnectError,
  ConnectionClosedError,
  DialRefusedError,
  type Endpoint,
  EndpointClosedError,
  type EndpointOptions,
  InvalidOptionError,
  type ServerEndpointOptions,
  dialClient,
  dialServer,
  utf8,
} from '../src/index.js';
import { checkNoLeaks, early } from './support/fake-gateway.js';
import { type GatewayHarness, KEY, withGateway } from './support/gateway-harness.js';
import { waitUntil } from './support/raw-peer.js';

checkNoLeaks();

function server<T = Uint8Array>(h: GatewayHarness, options: Partial<ServerEndpointOptions<T>> = {}): Promise<Endpoint<T>> {
  return dialServer<T>(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY, ...options });
}

function client<T = Uint8Array>(h: GatewayHarness, options?: EndpointOptions<T>): Promise<Endpoint<T>> {
  return dialClient<T>(`127.0.0.1:${h.clientPort}`, options);
}

describe('4: refusals and authentication', () => {
  test('dialing an unknown server ID: DialRefusedError', async () => {
    await withGateway({}, async (h) => {
      const srv = await server(h);
      const cli = await client(h);
      try {
        await assert.rejects(cli.dial(999), (err: unknown) => {
          assert.ok(err instanceof DialRefusedError, String(err));
          assert.equal(err.code, 'ERR_DIAL_REFUSED');
          assert.equal(err.remoteId, 999);
          return true;
        });
        assert.equal(h.stats.dialsRefused.unknown_remote, 1);
        // The endpoint is unharmed: a dial to a real server still works.
        const accepting = srv.accept();
        const conn = await cli.dial(1);
        assert.equal((await accepting).connId, conn.connId);
        // A server dialing a client ID nobody has is refused the same way.
        await assert.rejects(srv.dial(424242), (err: unknown) => err instanceof DialRefusedError && err.remoteId === 424242);
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('a client over its limit of live connections: DialRefusedError, from either side', async () => {
    await withGateway({ client: { maxConn: 2 } }, async (h) => {
      const srv = await server(h);
      const cli = await client(h);
      try {
        const first = await cli.dial(1);
        await cli.dial(1);
        await assert.rejects(cli.dial(1), DialRefusedError);
        assert.equal(h.stats.dialsRefused.client_limit, 1);
        const clientId = (await srv.accept()).remoteId;
        await assert.rejects(srv.dial(clientId), DialRefusedError, 'the server cannot go past the client limit either');
        // Room again once one closes.
        first.close();
        await waitUntil(() => h.stats.liveConnections === 1, 'the gateway to drop the closed connection');
        await cli.dial(1);
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('over the pending bound the gateway answers Open(0): DialRefusedError', async () => {
    await withGateway({ client: { maxPending: 1 } }, async (h) => {
      const srv = await server(h);
      const cli = await client(h);
      try {
        // Both News leave in one write, so the gateway sees the second while the first is pending.
        const results = await Promise.allSettled([cli.dial(1), cli.dial(1)]);
        assert.equal(results[0].status, 'fulfilled');
        assert.equal(results[1].status, 'rejected');
        assert.ok((results[1] as PromiseRejectedResult).reason instanceof DialRefusedError);
        assert.equal(h.stats.opensRefused, 1);
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('the right key: dialServer resolves once the gateway has registered the server', async () => {
    await withGateway({}, async (h) => {
      const srv = await server(h, { serverId: 77 });
      try {
        assert.equal(h.stats.servers, 1, 'registered before dialServer resolved');
        assert.equal(srv.kind, 'server');
        assert.equal(srv.serverId, 77);
      } finally {
        await srv.close();
      }
    });
  });

  test('a wrong key: dialServer rejects with AuthError (the gateway closes the connection right after the reply)', async () => {
    await withGateway({}, async (h) => {
      await assert.rejects(server(h, { authKey: 'not the key' }), (err: unknown) => {
        assert.ok(err instanceof AuthError, String(err));
        assert.equal(err.code, 'ERR_AUTH_FAILED');
        assert.match(err.message, /rejected the key/);
        return true;
      });
      assert.equal(h.stats.authFailures, 1);
      assert.equal(h.stats.servers, 0);
    });
  });

  test('a gateway that is not there: ConnectError; bad options: InvalidOptionError', async () => {
    await withGateway({}, async (h) => {
      await h.gw.close(); // nothing listens on its ports now
      await assert.rejects(dialClient(`127.0.0.1:${h.clientPort}`), (err: unknown) => err instanceof ConnectError && err.code === 'ERR_CONNECT');
      await assert.rejects(dialClient('no port here'), (err: unknown) => err instanceof InvalidOptionError && err.option === 'addr');
      await assert.rejects(dialClient('127.0.0.1:7000', { recvQueue: 0 }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'recvQueue');
      await assert.rejects(
        dialServer('127.0.0.1:7001', { serverId: 1, authKey: '' }),
        (err: unknown) => err instanceof InvalidOptionError && err.option === 'authKey',
      );
    });
  });
});

describe('5: everything pending settles', () => {
  test('a remote close: messages already sent arrive, then receive rejects and iteration ends', async () => {
    await withGateway({}, async (h) => {
      const srv = await server(h, { format: utf8 });
      const cli = await client(h, { format: utf8 });
      try {
        const accepting = srv.accept();
        const conn = await cli.dial(1);
        const atServer = await accepting;
        const waiting = early(conn.receive());
        atServer.send('first');
        atServer.send('second');
        atServer.close();
        assert.equal(await waiting, 'first');
        const rest: string[] = [];
        for await (const m of conn) rest.push(m);
        assert.deepEqual(rest, ['second']);
        const reason = await conn.closed;
        assert.ok(reason instanceof ConnectionClosedError);
        await assert.rejects(conn.receive(), ConnectionClosedError);
        assert.throws(() => conn.send('too late'), ConnectionClosedError);
        assert.equal(cli.liveConnections, 0);
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('the remote endpoint closing: its connections close at the other end, receives settle', async () => {
    await withGateway({}, async (h) => {
      const srv = await server(h);
      const cli = await client(h);
      try {
        const conns = await Promise.all([cli.dial(1), cli.dial(1)]);
        const waiting = conns.map((c) => early(c.receive()));
        await srv.close();
        for (const p of waiting) await assert.rejects(p, ConnectionClosedError);
        for (const c of conns) assert.ok((await c.closed) instanceof ConnectionClosedError);
        assert.equal(cli.isClosed, false, 'the client endpoint itself stays up');
        await assert.rejects(cli.dial(1), DialRefusedError, 'the server is gone');
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('the gateway stopping: every pending receive, dial and accept on both sides settles', async () => {
    await withGateway({}, async (h) => {
      const srv = await server(h);
      const cli = await client(h);
      const accepting = srv.accept();
      const conn = await cli.dial(1);
      const atServer = await accepting;
      const pending = {
        clientReceive: early(conn.receive()),
        serverReceive: early(atServer.receive()),
        clientAccept: early(cli.accept()),
        serverAccept: early(srv.accept()),
        // Its New is still in this turn's batch when the gateway drops the connection.
        clientDial: early(cli.dial(1)),
      };
      await h.gw.close();
      await assert.rejects(pending.clientReceive, ConnectionClosedError);
      await assert.rejects(pending.serverReceive, ConnectionClosedError);
      for (const p of [pending.clientAccept, pending.serverAccept, pending.clientDial]) {
        await assert.rejects(p, (err: unknown) => {
          assert.ok(err instanceof EndpointClosedError, String(err));
          assert.ok(err.cause instanceof EndpointClosedError);
          assert.match((err.cause as Error).message, /gateway closed the connection/);
          return true;
        });
      }
      for (const ep of [cli, srv]) {
        const reason = await ep.closed;
        assert.ok(reason instanceof EndpointClosedError);
        assert.equal(ep.isClosed, true);
        assert.equal(ep.liveConnections, 0);
        assert.equal(ep.pendingDials, 0);
      }
      const connReason = await conn.closed;
      assert.ok(connReason instanceof EndpointClosedError);
      await assert.rejects(cli.dial(1), EndpointClosedError);
      await cli.close(); // idempotent after the fact
    });
  });

  test('endpoint.close(): every pending receive, dial and accept settles; the other side sees its connections close', async () => {
    await withGateway({}, async (h) => {
      const srv = await server(h);
      const cli = await client(h);
      try {
        const accepting = srv.accept();
        const conn = await cli.dial(1);
        const atServer = await accepting;
        const receive = early(conn.receive());
        const accept = early(cli.accept());
        const dial = early(cli.dial(1));
        const closing = cli.close();
        await assert.rejects(receive, ConnectionClosedError);
        await assert.rejects(accept, EndpointClosedError);
        await assert.rejects(dial, EndpointClosedError);
        await closing;
        assert.equal(await cli.closed, undefined, 'closed by the application: no error');
        const connReason = await conn.closed;
        assert.ok(connReason instanceof EndpointClosedError);
        assert.ok((await atServer.closed) instanceof ConnectionClosedError, 'the server saw Close');
        await assert.rejects(atServer.receive(), ConnectionClosedError);
        assert.equal(srv.liveConnections, 0);
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });

  test('await using closes an endpoint at the end of its scope', async () => {
    await withGateway({}, async (h) => {
      let escaped: Endpoint | undefined;
      {
        await using cli = await client(h);
        escaped = cli;
        assert.equal(cli.isClosed, false);
      }
      assert.equal(escaped.isClosed, true);
      assert.equal(await escaped.closed, undefined);
    });
  });
});
