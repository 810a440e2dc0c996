/**
 * No loss and no mix-up under load (short version; `npm run test:stress` runs the
 * long one): clients × virtual connections send numbered, checksummed messages through a
 * gateway process for a few seconds, mixed with dials and closes from both sides; every
 * message arrives exactly once, in order, on its own virtual connection; then every table
 * is empty and the gateway's memory is back near where it started.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { held } from './support/attack-run.js';
import { MiB, mib } from './support/child-gateway.js';
import { runLoad } from './support/load-run.js';

test('8 clients × 4 virtual connections × 3 servers for 4 s: nothing lost, duplicated, reordered or misrouted', async () => {
  const r = await runLoad({ clients: 8, slots: 4, servers: 3, durationMs: 4000, window: 8, maxPayload: 512 });
  const { start, loaded, end } = r.memory;
  console.log(
    `# load: ${r.messages} messages (${mib(r.bytes)}) each way in ${r.durationMs} ms on ${r.dials} virtual connections ` +
      `(${r.clientCloses} closed by clients, ${r.serverCloses} by servers); gateway heap+buffers ${mib(held(start))} at start, ` +
      `${mib(held(loaded))} under load, ${mib(held(end))} at the end (rss ${mib(start.rss)} → ${mib(loaded.rss)} → ${mib(end.rss)})`,
  );
  assert.ok(r.messages > 1000, `only ${r.messages} messages in ${r.durationMs} ms`);
  assert.ok(r.serverCloses > 0 && r.clientCloses > 0, 'closes from both sides');
  assert.ok(held(end) - held(start) <= 4 * MiB, `the gateway holds ${mib(held(end) - held(start))} more than at the start`);
});
