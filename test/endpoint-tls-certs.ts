/**
 * Test certificates, made with `openssl` in a fresh temporary directory at test time: a
 * CA, a gateway certificate it signed for 127.0.0.1 and localhost, a game-server
 * (client) certificate it signed, and a self-signed "rogue" certificate no one trusts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  ca: string;
  /** The gateway's certificate (SAN: IP 127.0.0.1, DNS localhost) and key, signed by `ca`. */
  gatewayCert: string;
  gatewayKey: string;
  /** A game server's certificate and key, signed by `ca` (for mutual TLS). */
  serverCert: string;
  serverKey: string;
  /** A self-signed certificate and key that `ca` did not sign. */
  rogueCert: string;
  rogueKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a fresh set of certificates (about a second of `openssl`); leaves no file behind. */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'fastway-certs-'));
  try {
    const days = ['-days', '2'];
    openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', ...days, '-subj', '/CN=fastway test CA']);
    const leaf = (name: string, cn: string, ext: string): void => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, ...days, '-extfile', `${name}.ext`]);
    };
    leaf('gateway', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    leaf('server', 'game server 1', 'extendedKeyUsage=clientAuth\n');
    openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.pem', ...days, '-subj', '/CN=rogue', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    return {
      ca: read('ca.pem'),
      gatewayCert: read('gateway.pem'),
      gatewayKey: read('gateway.key'),
      serverCert: read('server.pem'),
      serverKey: read('server.key'),
      rogueCert: read('rogue.pem'),
      rogueKey: read('rogue.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
