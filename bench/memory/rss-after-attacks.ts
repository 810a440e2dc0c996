/**
 * Where a gateway's RSS goes after attacks, and whether it levels off: a gateway in a child
 * process (TLS on its server port, 1 s handshake timeout) takes ROUNDS rounds (default 6) of
 * 2,000 stalled TLS handshakes each; after every round, once all are closed, it prints the
 * V8 heap (used and reserved), buffers, and the process's RSS split into anonymous and file
 * pages. Run with the allocator settings to compare, e.g.
 *
 *   node --import tsx bench/memory/rss-after-attacks.ts
 *   MALLOC_ARENA_MAX=1 MALLOC_TRIM_THRESHOLD_=0 node --import tsx bench/memory/rss-after-attacks.ts
 *
 * (the child inherits the environment). Linux only: it reads /proc.
 */
import { readFileSync } from 'node:fs';
import { ChildGateway } from '../../test/support/child-gateway.js';
import { allClosed, openStalled, stall, type StalledConnection } from '../../test/support/stalled-connection.js';
import { makeTestCerts } from '../../test/support/test-certs.js';

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const PER_ROUND = 2000;
const MiB = 1024 * 1024;

const certs = await makeTestCerts();
const gw = await ChildGateway.start({ server: { authKey: 'rss-bench', authTimeout: 1000, tls: certs.gateway } });
try {
  const kib = (status: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const show = async (label: string): Promise<void> => {
    const m = await gw.memory();
    const status = readFileSync(`/proc/${gw.child.pid}/status`, 'utf8');
    const f = (n: number): string => (n / MiB).toFixed(1);
    console.log(
      `${label.padEnd(10)} heap used ${f(m.heapUsed)} MiB, reserved ${f(m.heapTotal)}; buffers ${f(m.arrayBuffers)}; external ${f(m.external)} | ` +
        `RSS ${(kib(status, 'VmRSS') / 1024).toFixed(1)} MiB (anonymous ${(kib(status, 'RssAnon') / 1024).toFixed(1)}, files ${(kib(status, 'RssFile') / 1024).toFixed(1)})`,
    );
  };
  console.log(`MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'} MALLOC_TRIM_THRESHOLD_=${process.env.MALLOC_TRIM_THRESHOLD_ ?? '(unset)'}`);
  await show('start');
  // 0 to 11 bytes of a ClientHello record: the handshake never completes.
  const hello = Buffer.from([0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3]);
  for (let round = 1; round <= ROUNDS; round++) {
    const fds = await gw.fds();
    const all: StalledConnection[] = [];
    const stalled = await openStalled(gw, fds, all, PER_ROUND, (i) => stall({ port: gw.serverPort }, hello.subarray(0, i % 12)), 200);
    await allClosed(new Map([['stalled', stalled]]), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await show(`round ${round}`);
  }
} finally {
  await gw.close();
  await certs.remove();
}
