/**
 * TLS on the gateway's listeners, with certificates made by `openssl` at test time: the
 * client TCP listener over TLS, the WebSocket listener as WSS, the server listener with
 * mutual TLS (a CA-signed server certificate is required; the MD5 challenge still runs
 * inside), certificate reloads, and option checks. Clients and servers are the endpoint
 * library's, over `tls://` and `wss://`, plus raw sockets where the bytes matter.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import {
  type BoundAddresses,
  dialClient,
  dialServer,
  type Endpoint,
  FastwayError,
  Gateway,
  type GatewayOptions,
  InvalidOptionError,
  utf8,
} from '../src/index.js';
import { encodeNew } from '../src/protocol/index.js';
import { CapturingLogger, KEY, openResources } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { haveOpenssl, makeTestCerts, presentedCertificate, type TestCerts } from './support/test-certs.js';
import { WsRawClient } from './support/ws-raw-client.js';

const SERVER_ID = 7;
let certs: TestCerts;
const skip = !(await haveOpenssl()) && 'the openssl command is not installed';

before(async () => {
  if (!skip) certs = await makeTestCerts();
});
after(async () => {
  await certs?.remove();
});

interface Run {
  gw: Gateway;
  bound: BoundAddresses;
  logger: CapturingLogger;
  /** Tracks an endpoint so that it is closed at the end. */
  track<T>(endpoint: Endpoint<T>): Endpoint<T>;
}

/** A gateway with `options` listening on all three listeners; closes everything and checks for leaks. */
async function withTlsGateway(options: (c: TestCerts) => Omit<GatewayOptions, 'server'> & { server?: Partial<GatewayOptions['server']> }, body: (run: Run) => Promise<void>): Promise<void> {
  const logger = new CapturingLogger();
  const o = options(certs);
  const gw = new Gateway({ ...o, server: { authKey: KEY, ...o.server }, logger });
  const endpoints: Endpoint<unknown>[] = [];
  let passed = false;
  try {
    const bound = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
    await body({ gw, bound, logger, track: (e) => (endpoints.push(e as Endpoint<unknown>), e) });
    passed = true;
  } finally {
    await Promise.all(endpoints.map((e) => e.close()));
    await withTimeout(gw.close(), 'gateway.close()');
  }
  if (passed) {
    await waitUntil(() => openResources().length === 0, 'every handle to be released', 2000).catch(() => {});
    assert.deepEqual(openResources(), [], 'resources left open');
  }
}

/** A game server endpoint that answers every message with `echo: <message>`. */
function serveEcho(server: Endpoint<string>): void {
  void (async () => {
    for await (const conn of server) {
      void (async () => {
        for await (const text of conn) conn.send(`echo: ${text}`);
      })();
    }
  })();
}

/** A client dials the server and gets an answer: the whole path works. */
async function roundTrip(client: Endpoint<string>, text: string): Promise<void> {
  const conn = await client.dial(SERVER_ID);
  conn.send(text);
  assert.equal(await conn.receive(), `echo: ${text}`);
  await conn.close();
}

describe('TLS on the client listeners', { skip }, () => {
  test('a client over TLS and one over WSS reach a server over TCP', async () => {
    await withTlsGateway((c) => ({ client: { tls: c.gateway } }), async ({ gw, bound, track }) => {
      const server = track(await dialServer(`127.0.0.1:${bound.server!.port}`, { serverId: SERVER_ID, authKey: KEY, format: utf8 }));
      serveEcho(server);
      const overTls = track(await dialClient(`tls://127.0.0.1:${bound.client!.port}`, { tls: { ca: certs.ca }, format: utf8 }));
      const overWss = track(await dialClient(`wss://127.0.0.1:${bound.clientWs!.port}/`, { tls: { ca: certs.ca }, format: utf8 }));
      await roundTrip(overTls, 'over tls');
      await roundTrip(overWss, 'over wss');
      assert.equal(gw.stats.clients, 2);
      assert.equal(gw.stats.tlsHandshakeFailures, 0);
    });
  });

  test('a raw WSS client exchanges frames; a client that does not trust the CA is refused', async () => {
    await withTlsGateway((c) => ({ client: { tls: c.gateway } }), async ({ gw, bound }) => {
      const url = `wss://127.0.0.1:${bound.clientWs!.port}/`;
      await assert.rejects(WsRawClient.connect(url), /self-signed|unable to verify|certificate/i);
      const client = await WsRawClient.connect(url, { ca: certs.ca });
      try {
        assert.notEqual(await client.open(), 0);
      } finally {
        await client.end();
      }
      await waitUntil(() => gw.stats.tlsHandshakeFailures === 1, 'the failed handshake to be counted');
    });
  });

  test('a plain TCP client on the TLS listener gets no frame and is counted as a failed handshake', async () => {
    await withTlsGateway((c) => ({ client: { tls: c.gateway } }), async ({ gw, bound, logger }) => {
      const socket = netConnect({ host: '127.0.0.1', port: bound.client!.port });
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => {});
      socket.write(encodeNew());
      await withTimeout(new Promise((resolve) => socket.once('close', resolve)), 'the gateway to drop the plain client');
      // What came back, if anything, is a TLS alert, never an Open frame.
      for (const chunk of received) assert.equal(chunk[0], 0x15, 'only a TLS alert record may come back');
      await waitUntil(() => gw.stats.tlsHandshakeFailures === 1, 'the failed handshake to be counted');
      assert.equal(gw.stats.clientsAccepted, 0);
      assert.ok(logger.entries.some((e) => (e.obj as { event?: string }).event === 'tls_handshake_failed'));
    });
  });

  test('updateTls: new connections get the renewed certificate', async () => {
    await withTlsGateway((c) => ({ client: { tls: c.gateway } }), async ({ gw, bound, track }) => {
      for (const port of [bound.client!.port, bound.clientWs!.port]) {
        assert.equal((await presentedCertificate(port, certs.ca)).subject.CN, 'localhost');
      }
      const before = track(await dialClient(`tls://127.0.0.1:${bound.client!.port}`, { tls: { ca: certs.ca } }));
      gw.updateTls({ client: certs.renewed });
      for (const port of [bound.client!.port, bound.clientWs!.port]) {
        assert.equal((await presentedCertificate(port, certs.ca)).subject.CN, 'renewed gateway');
      }
      assert.equal(before.isClosed, false, 'a connection made before the reload stays up');
      assert.equal(gw.stats.clients, 1);
    });
  });
});

describe('mutual TLS on the server listener', { skip }, () => {
  const mutual = (c: TestCerts) => ({ server: { tls: { ...c.gateway, ca: c.ca } } });
  const tlsServer = (port: number, tls: object, authKey = KEY) =>
    dialServer(`tls://127.0.0.1:${port}`, { serverId: SERVER_ID, authKey, format: utf8, tls: { ca: certs.ca, ...tls } });

  test('a server with a CA-signed certificate authenticates and serves clients', async () => {
    await withTlsGateway(mutual, async ({ gw, bound, track }) => {
      const server = track(await tlsServer(bound.server!.port, certs.client));
      serveEcho(server);
      assert.equal(gw.stats.serversAuthenticated, 1);
      const client = track(await dialClient(`127.0.0.1:${bound.client!.port}`, { format: utf8 }));
      await roundTrip(client, 'through mutual TLS');
      const ws = track(await dialClient(`ws://127.0.0.1:${bound.clientWs!.port}/`, { format: utf8 }));
      await roundTrip(ws, 'from WebSocket through mutual TLS');
    });
  });

  test('a server without a certificate, or with one the CA did not sign, is refused before the challenge', async () => {
    await withTlsGateway(mutual, async ({ gw, bound }) => {
      await assert.rejects(tlsServer(bound.server!.port, {}), FastwayError);
      await assert.rejects(tlsServer(bound.server!.port, certs.rogue), FastwayError);
      await waitUntil(() => gw.stats.tlsHandshakeFailures === 2, 'both failed handshakes to be counted');
      assert.equal(gw.stats.serversAuthenticated, 0);
      assert.equal(gw.stats.servers, 0);
      assert.equal(gw.stats.authFailures, 0, 'neither got as far as the challenge');
    });
  });

  test('a raw TLS connection without a client certificate never receives the challenge', async () => {
    await withTlsGateway(mutual, async ({ bound }) => {
      const received: Buffer[] = [];
      const socket = tlsConnect({ host: '127.0.0.1', port: bound.server!.port, ca: certs.ca });
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => {});
      await withTimeout(new Promise((resolve) => socket.once('close', resolve)), 'the gateway to drop the connection');
      assert.equal(Buffer.concat(received).length, 0, 'the gateway sent bytes (a challenge) to an unauthenticated TLS peer');
    });
  });

  test('the MD5 challenge still runs inside: a CA-signed server with a wrong key is refused', async () => {
    await withTlsGateway(mutual, async ({ gw, bound }) => {
      await assert.rejects(tlsServer(bound.server!.port, certs.client, 'wrong-key'), FastwayError);
      await waitUntil(() => gw.stats.authFailures === 1, 'the wrong key to be counted');
      assert.equal(gw.stats.serversAuthenticated, 0);
    });
  });

  test('server TLS without a CA accepts servers without a certificate', async () => {
    await withTlsGateway((c) => ({ server: { tls: c.gateway } }), async ({ gw, bound, track }) => {
      track(await tlsServer(bound.server!.port, {}));
      assert.equal(gw.stats.serversAuthenticated, 1);
    });
  });

  test('updateTls replaces the server certificate; the CA requirement stays', async () => {
    await withTlsGateway(mutual, async ({ gw, bound, track }) => {
      gw.updateTls({ server: { ...certs.renewed, ca: certs.ca } });
      await assert.rejects(tlsServer(bound.server!.port, {}), FastwayError);
      track(await tlsServer(bound.server!.port, certs.client));
      assert.equal(gw.stats.serversAuthenticated, 1);
    });
  });
});

describe('TLS options', { skip }, () => {
  const refused = (fn: () => unknown, option: string) =>
    assert.throws(fn, (err: unknown) => err instanceof InvalidOptionError && err.option === option, `expected an InvalidOptionError for ${option}`);

  test('cert and key are both required, non-empty', () => {
    refused(() => new Gateway({ server: { authKey: KEY }, client: { tls: { cert: certs.gateway.cert } as never } }), 'client.tls.key');
    refused(() => new Gateway({ server: { authKey: KEY }, client: { tls: { cert: '', key: certs.gateway.key } } }), 'client.tls.cert');
    refused(() => new Gateway({ server: { authKey: KEY, tls: 'x' as never } }), 'server.tls');
  });

  for (const [what, option, make] of [
    ['a key that does not match the certificate', 'client.tls', (c: TestCerts) => ({ client: { tls: { cert: c.gateway.cert, key: c.rogue.key } } })],
    ['a PEM that is not one', 'server.tls', (c: TestCerts) => ({ client: {}, server: { tls: { cert: 'not a certificate', key: c.gateway.key } } })],
    ['a CA on the client listener', 'client.tls.ca', (c: TestCerts) => ({ client: { tls: { ...c.gateway, ca: c.ca } as never } })],
  ] as const) {
    test(`${what} is refused at construction (${option})`, () => {
      const o = make(certs) as { client?: object; server?: object };
      refused(() => new Gateway({ ...o, server: { authKey: KEY, ...o.server } } as GatewayOptions), option);
    });
  }

  test('Buffers are accepted as PEM', () => {
    const gw = new Gateway({ server: { authKey: KEY, tls: { cert: Buffer.from(certs.gateway.cert), key: Buffer.from(certs.gateway.key), ca: Buffer.from(certs.ca) } } });
    assert.ok(gw.options.server.tls?.ca);
  });

  test('updateTls refuses a listener started without TLS, a CA change and a bad certificate, changing nothing', async () => {
    const gw = new Gateway({ server: { authKey: KEY, tls: { ...certs.gateway, ca: certs.ca } } });
    try {
      refused(() => gw.updateTls({ client: certs.renewed }), 'client.tls');
      refused(() => gw.updateTls({ server: certs.renewed }), 'server.tls.ca');
      refused(() => gw.updateTls({ server: { cert: certs.renewed.cert, key: certs.rogue.key, ca: certs.ca } }), 'server.tls');
    } finally {
      await gw.close();
    }
  });
});
