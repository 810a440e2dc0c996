/**
 * The no-loss, no-mix-up load run, shared by the short version in
 * `npm test` and the long one in `test:stress`.
 *
 * A gateway runs in a child process. Servers (endpoints in this process) echo every
 * message; clients open virtual connections to random servers, each in its own loop of
 * "generations": dial, send a random number of numbered, checksummed messages of random
 * sizes (a window of them in flight), check every echo, then close — from the client, or by
 * asking the server to close after its last echo. Every message names its client, slot and
 * generation, so a message delivered on the wrong virtual connection cannot pass.
 *
 * Checked: every message reaches the server once, in order, intact, on the connection it
 * was sent on; every echo comes back the same way; the gateway's frame counters equal the
 * messages sent; afterwards its tables are empty; its memory after a full GC is reported
 * at the start, under load and at the end.
 */
import assert from 'node:assert/strict';
import {
  ConnectionClosedError,
  dialClient,
  dialServer,
  type Endpoint,
  type VirtualConnection,
} from '../../src/index.js';
import { ChildGateway, type GatewayMemory } from './child-gateway.js';
import { prng } from './prng.js';

export interface LoadOptions {
  clients: number;
  /** Virtual connections each client keeps busy at once. */
  slots: number;
  servers: number;
  durationMs: number;
  /** Messages in flight per virtual connection. */
  window: number;
  /** Largest random payload, in bytes. */
  maxPayload: number;
}

export interface LoadReport {
  messages: number;
  bytes: number;
  dials: number;
  clientCloses: number;
  serverCloses: number;
  memory: { start: GatewayMemory; loaded: GatewayMemory; end: GatewayMemory };
  framesClientToServer: number;
  framesServerToClient: number;
  durationMs: number;
}

const KEY = 'load-test-key';
/** Header: tag (u32), generation (u32), seq (u32), flags (u8); trailer: checksum (u32). */
const HEADER = 13;
const TRAILER = 4;
const CLOSE_AFTER = 1;
const LAST = 2;

/** FNV-1a over `bytes[0..end)`. */
function fnv1a(bytes: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function makeMessage(tag: number, generation: number, seq: number, flags: number, payload: number, rand: () => number): Uint8Array {
  const msg = new Uint8Array(HEADER + payload + TRAILER);
  const view = new DataView(msg.buffer);
  view.setUint32(0, tag, true);
  view.setUint32(4, generation, true);
  view.setUint32(8, seq, true);
  msg[12] = flags;
  for (let i = HEADER; i < HEADER + payload; i++) msg[i] = (rand() * 256) | 0;
  view.setUint32(msg.length - TRAILER, fnv1a(msg, msg.length - TRAILER), true);
  return msg;
}

interface Decoded {
  tag: number;
  generation: number;
  seq: number;
  flags: number;
}

function decode(msg: Uint8Array): Decoded {
  assert.ok(msg.length >= HEADER + TRAILER, `a ${msg.length}-byte message is too short to be one of ours`);
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  assert.equal(view.getUint32(msg.length - TRAILER, true), fnv1a(msg, msg.length - TRAILER), 'checksum mismatch: a message was corrupted');
  return { tag: view.getUint32(0, true), generation: view.getUint32(4, true), seq: view.getUint32(8, true), flags: msg[12]! };
}

/**
 * The server side: checks that each connection carries one client slot and generation, in
 * order from message 0, and echoes; closes the connection after the last echo when asked.
 */
function serve(server: Endpoint, counts: { received: number; serverCloses: number }, failures: Error[]): Promise<void> {
  return (async () => {
    for await (const conn of server) {
      void (async () => {
        let first: Decoded | null = null;
        let next = 0;
        try {
          for await (const msg of conn) {
            const d = decode(msg);
            if (first === null) first = d;
            assert.equal(d.tag, first.tag, `ConnID ${conn.connId}: a message of another connection arrived`);
            assert.equal(d.generation, first.generation, `ConnID ${conn.connId}: a message of another generation arrived`);
            assert.equal(d.seq, next++, `ConnID ${conn.connId}: a message was lost, repeated or reordered`);
            counts.received++;
            conn.send(msg);
            if ((d.flags & (LAST | CLOSE_AFTER)) === (LAST | CLOSE_AFTER)) {
              counts.serverCloses++;
              conn.close();
            }
          }
        } catch (err) {
          failures.push(err as Error);
        }
      })();
    }
  })();
}

/** Runs the load described by `opts` against a fresh gateway process; throws at the first fault. */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const gw = await ChildGateway.start({ server: { authKey: KEY }, client: { maxConn: Math.max(16, opts.slots) } });
  const endpoints: Endpoint[] = [];
  const failures: Error[] = [];
  try {
    const start = await gw.memory();
    const counts = { received: 0, serverCloses: 0 };
    const servers: Endpoint[] = [];
    const serving: Promise<void>[] = [];
    for (let s = 1; s <= opts.servers; s++) {
      // A backlog for every connection that can arrive in one read: past it, the endpoint would close them at once.
      const server = await dialServer(`127.0.0.1:${gw.serverPort}`, { serverId: s, authKey: KEY, acceptBacklog: 1 << 20 });
      servers.push(server);
      endpoints.push(server);
      serving.push(serve(server, counts, failures));
    }
    const clients: Endpoint[] = [];
    for (let c = 0; c < opts.clients; c++) {
      const client = await dialClient(`127.0.0.1:${gw.clientPort}`);
      clients.push(client);
      endpoints.push(client);
    }
    const totals = { messages: 0, bytes: 0, dials: 0, clientCloses: 0 };
    const began = Date.now();
    const deadline = began + opts.durationMs;
    let loaded: GatewayMemory | null = null;
    const sampler = (async () => {
      while (Date.now() < began + opts.durationMs / 2) await new Promise((r) => setTimeout(r, 50));
      loaded = await gw.memory();
    })();
    sampler.catch(() => {}); // awaited below; a failure of the run must not leave it unhandled

    const slot = async (client: Endpoint, c: number, k: number): Promise<void> => {
      const rand = prng(c * 1000 + k + 1);
      const tag = (c << 8) | k;
      for (let generation = 0; Date.now() < deadline; generation++) {
        const serverId = 1 + Math.floor(rand() * opts.servers);
        const conn: VirtualConnection = await client.dial(serverId);
        totals.dials++;
        const count = 1 + Math.floor(rand() * 40);
        const serverCloses = rand() < 0.25;
        const sent: Uint8Array[] = [];
        let echoed = 0;
        while (echoed < count) {
          while (sent.length < count && sent.length - echoed < opts.window) {
            const last = sent.length === count - 1;
            const flags = (last ? LAST : 0) | (last && serverCloses ? CLOSE_AFTER : 0);
            const msg = makeMessage(tag, generation, sent.length, flags, Math.floor(rand() * (opts.maxPayload + 1)), rand);
            sent.push(msg);
            conn.send(msg);
            totals.messages++;
            totals.bytes += msg.length;
          }
          const echo = await conn.receive();
          const d = decode(echo);
          assert.deepEqual([d.tag, d.generation, d.seq], [tag, generation, echoed], `client ${c} slot ${k}: echo out of order or from another connection`);
          assert.equal(Buffer.compare(Buffer.from(echo), Buffer.from(sent[echoed]!)), 0, 'an echo differs from what was sent');
          echoed++;
        }
        if (serverCloses) {
          await assert.rejects(conn.receive(), ConnectionClosedError, 'the server closed: nothing more may arrive');
          assert.ok((await conn.closed) instanceof ConnectionClosedError);
        } else {
          conn.close();
          totals.clientCloses++;
        }
      }
    };
    await Promise.all(clients.flatMap((client, c) => Array.from({ length: opts.slots }, (_, k) => slot(client, c, k))));
    const durationMs = Date.now() - began;
    await sampler;
    assert.deepEqual(failures, [], 'the servers saw messages out of place');
    assert.equal(counts.received, totals.messages, 'the servers received a different number of messages than were sent');
    const s = await gw.waitFor(
      (st) => st.framesServerToClient === totals.messages && st.liveConnections === 0,
      'the gateway to count every echo and to hold no live connection',
    );
    assert.equal(s.framesClientToServer, totals.messages);
    assert.equal(s.framesServerToClient, totals.messages);
    assert.equal(s.dialsAccepted, totals.dials);
    assert.equal(s.staleFrames, 0, 'a frame crossed a Close: the test closes only once all echoes are in');
    await Promise.all(endpoints.map((e) => e.close()));
    await Promise.all(serving);
    const emptied = await gw.waitEmpty('every table to empty after the load');
    assert.equal(emptied.pendingConnections, 0);
    const end = await gw.memory();
    assert.deepEqual(await gw.errors(), [], 'the gateway logged internal errors');
    return {
      ...totals,
      serverCloses: counts.serverCloses,
      memory: { start, loaded: loaded ?? end, end },
      framesClientToServer: s.framesClientToServer,
      framesServerToClient: s.framesServerToClient,
      durationMs,
    };
  } finally {
    await Promise.all(endpoints.map((e) => e.close()));
    await gw.close();
  }
}
