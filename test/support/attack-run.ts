/**
 * The frame of every attack test: a gateway in a child process, a bystander pair that keeps
 * exchanging data through it the whole time, the gateway's memory measured (after a full
 * GC) before the attack, during it and once the attackers are gone, and the end-of-test
 * checks: the bystander never noticed, the gateway logged no internal error, and its
 * tables are empty once everyone has left.
 */
import assert from 'node:assert/strict';
import { Bystander } from './bystander.js';
import { ChildGateway, type ChildGatewayOptions, type GatewayMemory, mib } from './child-gateway.js';
import { openResources } from './gateway-harness.js';
import { waitUntil } from './raw-peer.js';

export const ATTACK_KEY = 'attack-test-key';
export const BYSTANDER_SERVER_ID = 0xb0057;

/** Lines for the report printed at the end of a test file. */
export const attackReport: string[] = [];

/** What an attack body gets. */
export interface AttackContext {
  gw: ChildGateway;
  bystander: Bystander;
  /** Memory after setup, before the attack. */
  baseline: GatewayMemory;
  /** Measures memory now and records it under `label` for the report. */
  measure(label: string): Promise<GatewayMemory>;
  /**
   * After an attack: measures until the gateway holds at most `slack` more than the baseline,
   * for up to 3 s (its spare output blocks are given back within half a second of the traffic
   * that needed them), then asserts it does. A leak never settles and still fails.
   */
  settled(label: string, slack: number, what: string): Promise<void>;
  /** Registers a connection to be closed when the test ends, however it ends (a paused socket never notices the gateway closing it). */
  own<T extends { end(): Promise<void> }>(peer: T): T;
}

/** Heap plus buffers: what the gateway process holds that a GC cannot free. */
export function held(m: GatewayMemory): number {
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Asserts the gateway holds at most `slack` bytes more than at `baseline` (heap plus
 * buffers, after a full GC).
 */
export function assertMemoryNear(baseline: GatewayMemory, now: GatewayMemory, slack: number, what: string): void {
  const grown = held(now) - held(baseline);
  assert.ok(
    grown <= slack,
    `${what}: the gateway holds ${mib(grown)} more than before (heap ${mib(baseline.heapUsed)} → ${mib(now.heapUsed)}, ` +
      `buffers ${mib(baseline.arrayBuffers)} → ${mib(now.arrayBuffers)}); allowed ${mib(slack)}`,
  );
}

/** Runs one attack against a fresh child gateway with `options` (the auth key is added); `listen.webSocket` opens its WebSocket listener too. */
export async function runAttack(
  name: string,
  options: Omit<ChildGatewayOptions, 'server'> & { server?: Partial<ChildGatewayOptions['server']> },
  body: (ctx: AttackContext) => Promise<void>,
  listen: { webSocket?: boolean } = {},
): Promise<void> {
  const gw = await ChildGateway.start({ ...options, server: { ...options.server, authKey: ATTACK_KEY } }, [], listen);
  const owned: { end(): Promise<void> }[] = [];
  const own = <T extends { end(): Promise<void> }>(peer: T): T => {
    owned.push(peer);
    return peer;
  };
  let passed = false;
  const lines: string[] = [name];
  try {
    const bystander = await Bystander.start({ clientPort: gw.clientPort, serverPort: gw.serverPort, key: ATTACK_KEY, serverId: BYSTANDER_SERVER_ID });
    await bystander.progress(20); // warm up the paths every test uses before measuring
    const baseline = await gw.memory();
    lines.push(`before ${mib(held(baseline))} (rss ${mib(baseline.rss)})`);
    const measure = async (label: string): Promise<GatewayMemory> => {
      const m = await gw.memory();
      lines.push(`${label} ${mib(held(m))} (rss ${mib(m.rss)})`);
      return m;
    };
    const settled = async (label: string, slack: number, what: string): Promise<void> => {
      const deadline = Date.now() + 3000;
      let m = await gw.memory();
      while (held(m) - held(baseline) > slack && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        m = await gw.memory();
      }
      lines.push(`${label} ${mib(held(m))} (rss ${mib(m.rss)})`);
      assertMemoryNear(baseline, m, slack, what);
    };
    await body({ gw, bystander, baseline, measure, settled, own });
    await Promise.all(owned.splice(0).map((p) => p.end()));
    await bystander.progress();
    const exchanged = await bystander.stop();
    assert.deepEqual(await gw.errors(), [], 'the gateway logged internal errors');
    await gw.waitEmpty('the gateway tables to empty after the attack');
    lines.push(`bystander ${exchanged} round trips`);
    passed = true;
  } finally {
    attackReport.push(`${lines.join('; ')}${passed ? '' : ' (FAILED)'}`);
    await Promise.all(owned.map((p) => p.end().catch(() => {})));
    await gw.close();
  }
  if (passed) {
    await waitUntil(() => openResources().length === 0, 'every socket and timer to be released', 2000).catch(() => {});
    assert.deepEqual(openResources(), [], 'resources left open in the test process');
  }
}

/** Runs `fn` over `items`, at most `width` at a time. */
export async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map((item, j) => fn(item, i + j)))));
  }
  return out;
}
