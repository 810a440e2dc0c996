/**
 * Certificates for TLS tests, made with the `openssl` command at test time in a temporary
 * directory (removed by {@link TestCerts.remove}): a CA; a certificate it signed for the
 * gateway (127.0.0.1 and localhost); a client certificate it signed (for a game server in
 * mutual TLS); and a self-signed "rogue" certificate no CA vouches for.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import { withTimeout } from './raw-peer.js';

const run = promisify(execFile);

/** A certificate and its private key, PEM. */
export interface CertPair {
  cert: string;
  key: string;
}

export interface TestCerts {
  /** The CA certificate, PEM. */
  ca: string;
  /** The gateway's certificate (signed by the CA; for 127.0.0.1 and localhost). */
  gateway: CertPair;
  /** A game server's client certificate, signed by the CA. */
  client: CertPair;
  /** A self-signed client certificate, not signed by the CA. */
  rogue: CertPair;
  /** A second gateway certificate signed by the CA (a renewal), with another subject. */
  renewed: CertPair;
  /** The directory the files are in. */
  dir: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

/** True when the `openssl` command can be run. */
export async function haveOpenssl(): Promise<boolean> {
  try {
    await run('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes the certificates (a few EC keys: fast). */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'fastway-certs-'));
  const at = (name: string): string => join(dir, name);
  try {
    await run('openssl', [
      'req', '-x509', ...EC, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=fastway test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const signed = async (name: string, subject: string, extensions: string): Promise<CertPair> => {
      await writeFile(at(`${name}.ext`), extensions);
      await run('openssl', ['req', '-new', ...EC, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', subject]);
      await run('openssl', [
        'x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
        '-out', at(`${name}.crt`), '-days', '2', '-extfile', at(`${name}.ext`),
      ]);
      return { cert: await readFile(at(`${name}.crt`), 'utf8'), key: await readFile(at(`${name}.key`), 'utf8') };
    };
    const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
    const gateway = await signed('gateway', '/CN=localhost', serverExt);
    const renewed = await signed('renewed', '/CN=renewed gateway', serverExt);
    const client = await signed('client', '/CN=game server 7', 'extendedKeyUsage=clientAuth\n');
    await run('openssl', ['req', '-x509', ...EC, '-keyout', at('rogue.key'), '-out', at('rogue.crt'), '-days', '2', '-subj', '/CN=rogue']);
    const rogue = { cert: await readFile(at('rogue.crt'), 'utf8'), key: await readFile(at('rogue.key'), 'utf8') };
    const ca = await readFile(at('ca.crt'), 'utf8');
    return { ca, gateway, client, rogue, renewed, dir, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Resolves with the certificate the TLS listener on 127.0.0.1:`port` presents, checked against `ca`. */
export function presentedCertificate(port: number, ca: string): Promise<PeerCertificate> {
  return withTimeout(
    new Promise<PeerCertificate>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
        const cert = socket.getPeerCertificate();
        socket.destroy();
        resolve(cert);
      });
      socket.on('error', reject);
    }),
    'a TLS handshake',
  );
}

/** Test certificates for one test file: made before its tests, removed after them. */
export interface FileCerts {
  /** The reason TLS tests are skipped (no `openssl` command), or false: a test's `skip` option. */
  readonly skip: string | false;
  /** The certificates; only in a test that is not skipped. */
  get(): TestCerts;
}

/** Registers `before`/`after` hooks that make {@link TestCerts} for the calling test file and remove them. */
export async function certsForThisFile(): Promise<FileCerts> {
  const skip = !(await haveOpenssl()) && 'the openssl command is not installed';
  let certs: TestCerts | undefined;
  before(async () => {
    if (!skip) certs = await makeTestCerts();
  });
  after(async () => {
    await certs?.remove();
  });
  return {
    skip,
    get(): TestCerts {
      if (certs === undefined) throw new Error('no test certificates: the openssl command is missing, or this ran outside a test');
      return certs;
    },
  };
}
