/**
 * The endpoint over TLS against the real gateway: `dialClient('tls://…')` and
 * `dialServer('tls://…', { tls: { ca, cert, key } })` with mutual TLS on the server
 * listener; certificates that do not check out are refused, on either side.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AuthError, ConnectError, ConnectionClosedError, dialClient, dialServer, type Endpoint, Gateway, InvalidOptionError } from '../src/index.js';
import { makeTestCerts, type TestCerts } from './endpoint-tls-certs.js';
import { openResources, pattern } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';

const KEY = 'tls-test-key';
let certs: TestCerts;
let gateway: Gateway;
let clientAddr: string;
let serverAddr: string;

before(async () => {
  certs = makeTestCerts();
  gateway = new Gateway({
    server: { authKey: KEY, tls: { cert: certs.gatewayCert, key: certs.gatewayKey, ca: certs.ca } },
    client: { tls: { cert: certs.gatewayCert, key: certs.gatewayKey } },
  });
  const bound = await gateway.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });
  clientAddr = `tls://127.0.0.1:${bound.client!.port}`;
  serverAddr = `tls://127.0.0.1:${bound.server!.port}`;
});

after(async () => {
  await gateway.close();
  await waitUntil(() => openResources().length === 0, 'every socket and timer to be released');
});

describe('endpoint over TLS through the gateway', () => {
  test('a TLS client and a TLS server with a CA-signed certificate: byte-exact both ways, dial-back, Close', async () => {
    let server: Endpoint | undefined;
    let client: Endpoint | undefined;
    try {
      server = await dialServer(serverAddr, { serverId: 7, authKey: KEY, tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey } });
      client = await dialClient(clientAddr, { tls: { ca: certs.ca } });
      assert.equal(client.remoteAddress, clientAddr);
      const accepting = server.accept();
      const conn = await client.dial(7);
      const atServer = await withTimeout(accepting, 'the server to accept');

      const sizes = [0, 1, 100, 65_536, 524_284, 3];
      for (const [i, size] of sizes.entries()) conn.send(pattern(size, i));
      for (const [i, size] of sizes.entries()) assert.ok(Buffer.from(await atServer.receive()).equals(pattern(size, i)), `to the server: ${size} bytes`);
      for (const [i, size] of sizes.entries()) atServer.send(pattern(size, 10 + i));
      for (const [i, size] of sizes.entries()) assert.ok(Buffer.from(await conn.receive()).equals(pattern(size, 10 + i)), `to the client: ${size} bytes`);

      const incoming = client.accept();
      const back = await server.dial(atServer.remoteId);
      assert.equal((await withTimeout(incoming, 'the dial-back')).remoteId, 7);
      back.close();
      atServer.close();
      assert.ok((await withTimeout(conn.closed, 'the Close')) instanceof ConnectionClosedError);
    } finally {
      await client?.close();
      await server?.close();
    }
  });

  test('a server without a CA-signed certificate is refused (none, or self-signed)', async () => {
    const refused = (err: Error): boolean => err instanceof AuthError || err instanceof ConnectError;
    await assert.rejects(dialServer(serverAddr, { serverId: 8, authKey: KEY, tls: { ca: certs.ca } }), refused);
    await assert.rejects(dialServer(serverAddr, { serverId: 8, authKey: KEY, tls: { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey } }), refused);
    assert.equal(gateway.stats.servers, 0, 'no server registered');
    // The right certificate with a wrong key is still a wrong key: mutual TLS adds to the challenge.
    await assert.rejects(dialServer(serverAddr, { serverId: 8, authKey: 'wrong', tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey } }), AuthError);
  });

  test('a gateway certificate that does not check out is a ConnectError; plain TCP to a TLS listener gets nowhere', async () => {
    await assert.rejects(dialClient(clientAddr), (err: Error) => err instanceof ConnectError && err.cause instanceof Error && /certificate|issuer/i.test(err.message));
    await assert.rejects(dialClient(clientAddr, { tls: { ca: certs.ca, servername: 'elsewhere.example' } }), (err: Error) => err instanceof ConnectError && (err.cause as { code?: string }).code === 'ERR_TLS_CERT_ALTNAME_INVALID');
    await assert.rejects(dialServer(serverAddr, { serverId: 9, authKey: KEY, tls: { ca: certs.rogueCert, cert: certs.serverCert, key: certs.serverKey } }), ConnectError);
    await assert.rejects(
      dialServer(serverAddr.replace('tls://', ''), { serverId: 9, authKey: KEY, authTimeout: 500 }),
      (err: Error) => err instanceof AuthError || err.name === 'HandshakeTimeoutError',
    );
  });

  test('bad TLS options and addresses are InvalidOptionError', async () => {
    const option = (name: string) => (err: Error) => err instanceof InvalidOptionError && err.option === name;
    await assert.rejects(dialClient(clientAddr, { tls: { cafile: 'x' } as never }), option('tls.cafile'));
    await assert.rejects(dialClient(clientAddr, { tls: { cert: certs.serverCert } }), option('tls'));
    await assert.rejects(dialClient(clientAddr, { tls: { rejectUnauthorized: 'no' } as never }), option('tls.rejectUnauthorized'));
    await assert.rejects(dialClient(clientAddr, { tls: 'yes' as never }), option('tls'));
    await assert.rejects(dialClient(clientAddr.replace('tls://', ''), { tls: { ca: certs.ca } }), option('tls'));
    for (const addr of ['tls://', 'tls://nohost', 'tls://host:0', 'tls://tcp://host:1']) await assert.rejects(dialClient(addr), option('addr'), addr);
  });
});
