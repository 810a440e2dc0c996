/**
 * Resumable sessions end to end through real gateways on loopback: a gateway process
 * restarted in place, expiry at both ends, a server that lost its sessions, forged and
 * replayed resumes, a full window, a server without support, plain connections beside
 * resumable ones, and the address list.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import {
  ConnectionClosedError,
  GatewaysUnreachableError,
  type ReconnectingEndpoint,
  type ResumableConnection,
  SessionExpiredError,
  SessionLostError,
  SessionUnsupportedError,
  TimeoutError,
  type VirtualConnection,
  WindowFullError,
  dialClient,
  dialServer,
} from '../src/index.js';
import { HandshakeOp, decodeAnswer, encodeHelloNew, encodeHelloResume } from '../src/endpoint/session/codec.js';
import { ChaosProxy } from './support/chaos-proxy.js';
import { ChildGateway } from './support/child-gateway.js';
import { GoLikeServerPath } from './support/go-like-server-path.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { type GatewayHarness, KEY, withGateway } from './support/gateway-harness.js';
import { check, receiveNumbered, sendNumbered, streamOf } from './support/numbered-traffic.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

checkNoLeaks();

const SERVER_ID = 3;
const fast = { initialDelay: 5, maxDelay: 50 };

/** A resumable server that echoes every connection it accepts. */
async function echoServer(addr: string, resumable: object = {}): Promise<ReconnectingEndpoint> {
  const srv = await dialServer(addr, { serverId: SERVER_ID, authKey: KEY, resumable, reconnect: fast });
  void (async () => {
    for await (const conn of srv) void echo(conn);
  })();
  return srv;
}

async function echo(conn: VirtualConnection): Promise<void> {
  try {
    for await (const m of conn) if (!conn.send(m)) await conn.drained();
  } catch {
    // closed under us: the test looks at why
  }
}

function bytesOf(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function textOf(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function statusLog(conn: ResumableConnection): string[] {
  const log: string[] = [];
  conn.onStatus((e) => log.push(e.status));
  return log;
}

test('a gateway process killed and restarted in place: client and server both reconnect, the same connections resume, every message exactly once and in order', async (t) => {
  const listen = { client: `127.0.0.1:${await freePort()}`, server: `127.0.0.1:${await freePort()}` };
  let gw = await ChildGateway.start({ server: { authKey: KEY } }, [], listen);
  try {
    const srv = await dialServer(listen.server, { serverId: SERVER_ID, authKey: KEY, resumable: {}, reconnect: fast });
    const served: Promise<void>[] = [];
    void (async () => {
      for await (const conn of srv) served.push(Promise.all([receiveNumbered(conn, 0, 0, 0, 4000), sendNumbered(conn, 1, 0, 0, 4000)]).then(() => {}));
    })();
    const cli = await dialClient(listen.client, { reconnect: fast });
    const conn = await cli.dial(SERVER_ID, { resumable: true });
    const gaps: number[] = [];
    conn.onStatus((e) => {
      if (e.status === 'resumed') gaps.push(e.gapMs);
    });
    const traffic = Promise.all([sendNumbered(conn, 0, 0, 0, 4000), receiveNumbered(conn, 1, 0, 0, 4000)]);
    await waitUntil(() => served.length === 1, 'the server to accept and traffic to start');
    await new Promise((r) => setTimeout(r, 30));
    await gw.child.kill('SIGKILL');
    gw = await ChildGateway.start({ server: { authKey: KEY } }, [], listen);
    await withTimeout(traffic, 'the client stream to complete across the restart', 30_000);
    await withTimeout(
      (async () => {
        while (served.length === 0) await new Promise((r) => setTimeout(r, 10));
        await Promise.all(served);
      })(),
      'the server stream to complete',
    );
    assert.ok(gaps.length >= 1, 'the connection was resumed after the restart');
    assert.ok(cli.linkCount >= 2 && srv.linkCount >= 2, 'both ends opened a new link');
    t.diagnostic(`resumed ${gaps.length} time(s); gap ${gaps.join(', ')} ms`);
    conn.close();
    await cli.close();
    await srv.close();
  } finally {
    await gw.close();
  }
});

test('resume timeout: with no way back, both ends close with SessionExpiredError', async () => {
  await withGateway({}, async (h) => {
    const proxy = await ChaosProxy.start(h.clientPort);
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: SERVER_ID, authKey: KEY, resumable: { resumeTimeout: 300 }, reconnect: fast });
    const accepted = srv.accept();
    const cli = await dialClient(proxy.address, { reconnect: fast, resumable: { resumeTimeout: 300 } });
    const conn = await cli.dial(SERVER_ID, { resumable: true });
    const atServer = await withTimeout(accepted, 'the server to accept');
    const log = statusLog(conn);
    proxy.refuse(true);
    proxy.cutAll();
    assert.ok((await withTimeout(conn.closed, 'the client end to expire')) instanceof SessionExpiredError);
    assert.ok((await withTimeout(atServer.closed, 'the server end to expire')) instanceof SessionExpiredError);
    assert.deepEqual(log, ['suspended', 'closed']);
    await assert.rejects(conn.receive(), ConnectionClosedError);
    assert.throws(() => conn.send(bytesOf('late')), ConnectionClosedError);
    await waitUntil(() => srv.sessions === 0 && cli.sessions === 0, 'both ends to forget the session');
    assert.equal(srv.sessionStats.expired, 1);
    await cli.close();
    await srv.close();
    await proxy.close();
  });
});

test('a server that lost its sessions (a new process under the same ID): the client gets SessionLostError at once, not after the timeout', async () => {
  await withGateway({}, async (h) => {
    const serverPath = await ChaosProxy.start(h.serverPort);
    const old = await echoServer(serverPath.address, { resumeTimeout: 60_000 });
    const cli = await dialClient(`127.0.0.1:${h.clientPort}`, { reconnect: fast, resumable: { resumeTimeout: 60_000 } });
    const conn = await cli.dial(SERVER_ID, { resumable: true });
    conn.send(bytesOf('before'));
    assert.equal(textOf(await conn.receive()), 'before');
    // The old server "crashes": its link is cut and it never comes back; a fresh one, with
    // no sessions, takes the ID.
    serverPath.refuse(true);
    const fresh = await echoServer(`127.0.0.1:${h.serverPort}`);
    serverPath.cutAll();
    const started = Date.now();
    const reason = await withTimeout(conn.closed, 'the client to learn the session is lost', 10_000);
    assert.ok(reason instanceof SessionLostError, String(reason));
    assert.ok(Date.now() - started < 10_000);
    assert.equal(fresh.sessionStats.unknown, 1);
    await cli.close();
    await old.close();
    await fresh.close();
    await serverPath.close();
  });
});

test('a forged resume (wrong secret), a taken session ID and a replayed resume are refused, and change nothing for the real client', async () => {
  await withGateway({}, async (h) => {
    const proxy = await ChaosProxy.start(h.clientPort, { record: true });
    const srv = await echoServer(`127.0.0.1:${h.serverPort}`);
    const cli = await dialClient(proxy.address, { reconnect: fast });
    const conn = await cli.dial(SERVER_ID, { resumable: true });
    // One real resume, so the sniffer has a genuine resume hello to replay.
    proxy.cutAll();
    await waitUntil(() => srv.sessionStats.resumed === 1 && conn.status === 'live', 'the first resume');
    const log = statusLog(conn);
    const gatewayBefore = conn.gateway;
    const sid = Uint8Array.from(Buffer.from(conn.sessionId, 'hex'));
    const sniffed = Buffer.concat(proxy.sent);
    const helloAt = sniffed.indexOf(Buffer.from(encodeHelloResume(sid, 0, 0, new Uint8Array(32)).subarray(0, 10)));
    assert.ok(helloAt >= 0, 'the sniffer saw the resume hello');
    const replayed = new Uint8Array(sniffed.subarray(helloAt, helloAt + 66));

    const attacker = await dialClient(`127.0.0.1:${h.clientPort}`);
    const attempts: [string, Uint8Array][] = [
      ['wrong secret', encodeHelloResume(sid, 0, 99, new Uint8Array(32).fill(7))],
      ['taken ID', encodeHelloNew(sid)],
      ['replay', replayed],
    ];
    for (const [what, hello] of attempts) {
      const carrier = await attacker.dial(SERVER_ID);
      carrier.send(hello);
      const answer = decodeAnswer(await carrier.receive());
      assert.ok(answer !== null && answer.op === HandshakeOp.Refused, `${what}: refused`);
      assert.ok((await withTimeout(carrier.closed, `${what}: the server to close the carrier`)) instanceof ConnectionClosedError);
    }
    assert.equal(srv.sessionStats.refused, 3);
    // Nothing changed for the real client.
    for (let i = 0; i < 50; i++) conn.send(bytesOf(`m${i}`));
    for (let i = 0; i < 50; i++) assert.equal(textOf(await conn.receive()), `m${i}`);
    assert.deepEqual(log, [], 'the real connection was never suspended');
    assert.equal(conn.gateway, gatewayBefore);
    assert.equal(srv.sessionStats.resumed, 1);
    await attacker.close();
    conn.close();
    await cli.close();
    await srv.close();
    await proxy.close();
  });
});

test('window full: send() says wait from half the window, refuses past it with WindowFullError; nothing is lost and drained() resolves after the resume', async () => {
  await withGateway({}, async (h) => {
    const proxy = await ChaosProxy.start(h.clientPort);
    const srv = await echoServer(`127.0.0.1:${h.serverPort}`);
    const cli = await dialClient(proxy.address, { reconnect: fast, resumable: { windowMessages: 8 } });
    const conn = await cli.dial(SERVER_ID, { resumable: true });
    proxy.refuse(true);
    proxy.cutAll();
    await waitUntil(() => conn.status === 'suspended', 'the connection to be suspended');
    const results: boolean[] = [];
    for (let i = 0; i < 8; i++) results.push(conn.send(bytesOf(`w${i}`)));
    assert.deepEqual(results, [true, true, true, false, false, false, false, false]);
    assert.throws(() => conn.send(bytesOf('one too many')), WindowFullError);
    await assert.rejects(conn.drained({ timeout: 20 }), TimeoutError, 'a drained() wait may be given up on');
    let drained = false;
    const draining = conn.drained().then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(drained, false, 'drained() waits while the window is full');
    proxy.refuse(false);
    await withTimeout(draining, 'drained() after the resume');
    for (let i = 0; i < 8; i++) assert.equal(textOf(await conn.receive()), `w${i}`);
    conn.close();
    await cli.close();
    await srv.close();
    await proxy.close();
  });
});

test('a resumable dial to a server without support fails with SessionUnsupportedError (an echoing one, a silent one)', async () => {
  await withGateway({}, async (h) => {
    const plainEcho = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 1, authKey: KEY });
    const plainSilent = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: 2, authKey: KEY });
    void (async () => {
      for await (const conn of plainEcho) void echo(conn);
    })();
    const silentConns: VirtualConnection[] = [];
    void (async () => {
      for await (const conn of plainSilent) silentConns.push(conn);
    })();
    const cli = await dialClient(`127.0.0.1:${h.clientPort}`, { reconnect: fast, resumable: { helloTimeout: 200 } });
    await assert.rejects(cli.dial(1, { resumable: true }), (e: unknown) => e instanceof SessionUnsupportedError && e.remoteId === 1);
    await assert.rejects(cli.dial(2, { resumable: true }), (e: unknown) => e instanceof SessionUnsupportedError && /200 ms/.test((e as Error).message));
    assert.equal(cli.sessions, 0);
    await cli.close();
    await plainEcho.close();
    await plainSilent.close();
  });
});

test('plain connections beside resumable ones: no extra byte on the wire, and they close on link loss as before', async () => {
  await withGateway({}, async (h: GatewayHarness) => {
    const proxy = await ChaosProxy.start(h.clientPort);
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: SERVER_ID, authKey: KEY, resumable: {}, reconnect: fast });
    const cli = await dialClient(proxy.address, { reconnect: fast });
    const accepting = srv.accept();
    const plain = await cli.dial(SERVER_ID);
    plain.send(Uint8Array.of(1, 2, 3));
    const atServer = await accepting;
    assert.equal(Object.getPrototypeOf(atServer).constructor.name, 'VirtualConnection');
    assert.deepEqual([...(await atServer.receive())], [1, 2, 3], 'the server reads exactly the bytes sent');
    atServer.send(Uint8Array.of(9));
    assert.deepEqual([...(await plain.receive())], [9], 'and the client exactly the bytes sent back');
    proxy.cutAll();
    assert.ok((await withTimeout(plain.closed, 'the plain connection to close')) !== undefined);
    await withTimeout(atServer.closed, 'its server end to close');
    await waitUntil(() => cli.isConnected, 'the client to reconnect');
    await cli.close();
    await srv.close();
    await proxy.close();
  });
});

test('the address list: tried in order (a dead first address falls through to the next); none reachable is a GatewaysUnreachableError naming each', async () => {
  await withGateway({}, async (h) => {
    const dead = `127.0.0.1:${await freePort()}`;
    const live = `127.0.0.1:${h.clientPort}`;
    const cli = await dialClient([dead, live], { reconnect: fast, connectTimeout: 2000 });
    assert.equal(cli.gateway, live);
    await cli.close();
    const dead2 = `127.0.0.1:${await freePort()}`;
    const err = await dialClient([dead, dead2], { reconnect: fast, connectTimeout: 2000 }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof GatewaysUnreachableError);
    assert.deepEqual(
      err.failures.map((f) => f.addr),
      [dead, dead2],
    );
    assert.ok(err.message.includes(dead) && err.message.includes(dead2));
    const viaFunction = await dialClient(() => Promise.resolve(live), { reconnect: fast });
    assert.equal(viaFunction.gateway, live);
    await viaFunction.close();
  });
});

test('closing a resumable connection closes it at the other end, after every message sent before', async () => {
  await withGateway({}, async (h) => {
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: SERVER_ID, authKey: KEY, resumable: {}, reconnect: fast });
    const accepted = srv.accept();
    const cli = await dialClient(`127.0.0.1:${h.clientPort}`, { reconnect: fast });
    const conn = await cli.dial(SERVER_ID, { resumable: true });
    for (let i = 0; i < 100; i++) conn.send(bytesOf(`last${i}`));
    conn.close();
    const atServer = await accepted;
    for (let i = 0; i < 100; i++) assert.equal(textOf(await atServer.receive()), `last${i}`);
    assert.ok((await withTimeout(atServer.closed, 'the server end to close')) instanceof ConnectionClosedError);
    assert.equal(await conn.closed, undefined);
    await waitUntil(() => srv.sessions === 0 && cli.sessions === 0, 'both ends to forget the session');
    await cli.close();
    await srv.close();
  });
});

test("the original Go gateway's harshness (no Close to the server when a client's link drops; the server cut off when it sends on that ID): sessions wait suspended while the server's link comes back, then resume exactly once, in order", async (t) => {
  await withGateway({}, async (h) => {
    const goPath = await GoLikeServerPath.start(h.serverPort);
    const clientPath = await ChaosProxy.start(h.clientPort);
    const STREAMS = 6;
    const N = 3000;
    const srv = await dialServer(goPath.address, { serverId: SERVER_ID, authKey: KEY, resumable: {}, reconnect: fast });
    const served: Promise<void>[] = [];
    void (async () => {
      for await (const conn of srv) {
        served.push(
          (async () => {
            const first = await conn.receive();
            const stream = streamOf(first);
            check(first, 0, stream, 0);
            await Promise.all([receiveNumbered(conn, 0, stream, 1, N), sendNumbered(conn, 1, stream, 0, N)]);
          })(),
        );
      }
    })();
    const cli = await dialClient(clientPath.address, { reconnect: fast });
    const conns: ResumableConnection[] = [];
    for (let s = 0; s < STREAMS; s++) conns.push(await cli.dial(SERVER_ID, { resumable: true }));
    const traffic = Promise.all(conns.map((c, s) => Promise.all([sendNumbered(c, 0, s, 0, N), receiveNumbered(c, 1, s, 0, N)])));
    for (let cut = 0; cut < 3; cut++) {
      await waitUntil(() => conns.every((c) => c.status === 'live'), 'every connection to be live again');
      await new Promise((r) => setTimeout(r, 40));
      clientPath.cutAll();
    }
    await withTimeout(traffic, 'every client stream to complete', 60_000);
    await withTimeout(
      (async () => {
        while (served.length < STREAMS) await new Promise((r) => setTimeout(r, 10));
        await Promise.all(served);
      })(),
      'every server stream to complete',
    );
    t.diagnostic(`client links cut: ${clientPath.cuts}; Closes withheld from the server: ${goPath.closesWithheld}; server links cut for sending on a dead ID: ${goPath.serverCuts}; server links opened: ${srv.linkCount}`);
    assert.ok(goPath.closesWithheld >= 1, 'the server was told nothing of the lost client links');
    assert.ok(goPath.serverCuts >= 1 && srv.linkCount >= 2, 'the server was cut off and its link came back');
    for (const c of conns) c.close();
    await cli.close();
    await srv.close();
    await clientPath.close();
    await goPath.close();
  });
});

test('a server that does not read: the client meets backpressure (send() false, then WindowFullError), never the server\'s ReceiveQueueFullError; once read, everything arrives in order', async () => {
  await withGateway({}, async (h) => {
    const srv = await dialServer(`127.0.0.1:${h.serverPort}`, { serverId: SERVER_ID, authKey: KEY, resumable: {}, reconnect: fast });
    const accepted = srv.accept();
    const cli = await dialClient(`127.0.0.1:${h.clientPort}`, { reconnect: fast });
    const conn = await cli.dial(SERVER_ID, { resumable: true });
    const atServer = await withTimeout(accepted, 'the server to accept');
    let sent = 0;
    let firstFalse = -1;
    for (;;) {
      let ok: boolean;
      try {
        ok = conn.send(bytesOf(`s${sent}`));
      } catch (err) {
        assert.ok(err instanceof WindowFullError, String(err));
        break;
      }
      if (!ok && firstFalse < 0) firstFalse = sent;
      sent++;
    }
    assert.equal(sent, 1024, 'the default window holds 1,024 unread messages');
    assert.equal(firstFalse, 511, 'send() asks to wait from half the window');
    await waitUntil(() => atServer.queuedMessages === sent, 'every message to reach the server');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(atServer.isClosed, false, 'the server end is not closed for a full receive queue');
    const drained = conn.drained();
    for (let i = 0; i < sent; i++) assert.equal(textOf(await atServer.receive()), `s${i}`);
    await withTimeout(drained, 'the client to drain once the server read');
    assert.equal(conn.send(bytesOf('after')), true);
    assert.equal(textOf(await atServer.receive()), 'after');
    conn.close();
    await cli.close();
    await srv.close();
  });
});
