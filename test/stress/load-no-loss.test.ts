/**
 * No loss and no mix-up under load — the long run. FASTWAY_STRESS_SECONDS sets
 * the duration (default 60); FASTWAY_STRESS_CLIENTS the number of clients (default 200).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { held } from '../support/attack-run.js';
import { MiB, mib } from '../support/child-gateway.js';
import { runLoad } from '../support/load-run.js';

const SECONDS = Number(process.env.FASTWAY_STRESS_SECONDS ?? 60);
const CLIENTS = Number(process.env.FASTWAY_STRESS_CLIENTS ?? 200);

test(`${CLIENTS} clients × 8 virtual connections × 8 servers for ${SECONDS} s: nothing lost, duplicated, reordered or misrouted`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  const r = await runLoad({ clients: CLIENTS, slots: 8, servers: 8, durationMs: SECONDS * 1000, window: 16, maxPayload: 2048 });
  const { start, loaded, end } = r.memory;
  console.log(
    `# long load: ${r.messages} messages (${mib(r.bytes)}) each way in ${r.durationMs} ms (${Math.round((r.messages * 1000) / r.durationMs)}/s) ` +
      `on ${r.dials} virtual connections (${r.clientCloses} closed by clients, ${r.serverCloses} by servers); ` +
      `gateway heap+buffers ${mib(held(start))} at start, ${mib(held(loaded))} under load, ${mib(held(end))} at the end ` +
      `(rss ${mib(start.rss)} → ${mib(loaded.rss)} → ${mib(end.rss)})`,
  );
  assert.ok(r.serverCloses > 0 && r.clientCloses > 0, 'closes from both sides');
  assert.ok(held(end) - held(start) <= 8 * MiB, `the gateway holds ${mib(held(end) - held(start))} more than at the start`);
});
