/**
 * Attacks on the gateway: each one is contained (the attacker alone is refused or dropped),
 * leaves a bystander pair exchanging data undisturbed, and costs the gateway bounded
 * memory — measured in the gateway's own process, after a full GC, before, during and
 * after the attack (the figures are printed at the end).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { dialClient, dialServer } from '../src/index.js';
import {
  CommandType,
  encodeClose,
  encodeDataFrame,
  encodeDial,
  encodeNew,
  HANDSHAKE_REPLY_SIZE,
  writeU32,
} from '../src/protocol/index.js';
import { ATTACK_KEY, assertMemoryNear, attackReport, held, inBatches, runAttack } from './support/attack-run.js';
import { MiB, mib } from './support/child-gateway.js';
import { GatewayModel } from './support/gateway-model.js';
import { TallyPeer } from './support/frame-tally.js';
import { RawPeer } from './support/raw-peer.js';
import { WsRawClient } from './support/ws-raw-client.js';

after(() => {
  for (const line of attackReport) console.log(`# ${line}`);
});

/** Requests the command-flood attack sends at most (raised for the stress run). */
const COMMAND_FLOOD_BYTES = Number(process.env.FASTWAY_COMMAND_FLOOD_MIB ?? 8) * MiB;

/** `n` copies of `frame`, in one buffer. */
function repeat(frame: Uint8Array, n: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, () => frame));
}


describe('pending IDs and dials', () => {
  test('New in a loop without Dial: at most maxPending IDs are held, every other New gets Open(0)', async () => {
    await runAttack('New flood (200,000 News)', { client: { maxPending: 16 } }, async ({ gw, baseline, measure, settled, own }) => {
      const attacker = own(await TallyPeer.connect(gw.clientPort));
      // In bursts below client.sendQueue: a bigger burst of requests gets the attacker dropped
      // as a slow consumer of its own answers (another attack, below).
      const total = 200_000;
      const burst = 500;
      const batch = repeat(encodeNew(), burst);
      for (let sent = burst; sent <= total; sent += burst) {
        attacker.write(batch);
        await attacker.waitFor((t) => t.opens + t.opensRefused === sent, 'an Open for every New', 60_000);
      }
      assert.equal(attacker.tally.opens, 16);
      assert.equal(attacker.tally.opensRefused, total - 16);
      const s = await gw.stats();
      assert.equal(s.pendingConnections, 16);
      assert.equal(s.opensRefused, total - 16);
      assertMemoryNear(baseline, await measure('holding 16 pending'), 1 * MiB, 'while the attacker holds its pending IDs');
      await attacker.end();
      await gw.waitFor((st) => st.pendingConnections === 0 && st.clients === 1, 'the pending IDs to be released');
      await settled('after', 1 * MiB, 'after the attacker left');
    });
  });

  test('dialing as fast as it can: never more than maxConn live or maxPending pending; the rest refused', async () => {
    await runAttack('dial flood (16,000 dials + 16,000 dial/close cycles)', { client: { maxPending: 16, maxConn: 16 } }, async ({ gw, baseline, measure, settled, own }) => {
      const server = own(await TallyPeer.server(gw.serverPort, ATTACK_KEY, 7));
      // Attacker 1 keeps what it gets: after maxConn, every dial is refused (client_limit).
      const hoarder = own(await TallyPeer.connect(gw.clientPort));
      // Attacker 2 churns: dial, close, dial, close...
      const churner = own(await TallyPeer.connect(gw.clientPort));
      const rounds = 1000;
      let hoarded = 0;
      let churned = 0;
      let maxPendingSeen = 0;
      for (let r = 0; r < rounds; r++) {
        hoarder.write(repeat(encodeNew(), 16));
        churner.write(repeat(encodeNew(), 16));
        await hoarder.waitFor((t) => t.opens + t.opensRefused >= (r + 1) * 16, 'the hoarder\'s Opens', 60_000);
        await churner.waitFor((t) => t.opens + t.opensRefused >= (r + 1) * 16, 'the churner\'s Opens', 60_000);
        const h = hoarder.takeOpened();
        const c = churner.takeOpened();
        hoarder.write(Buffer.concat(h.map((id) => encodeDial(id, 7))));
        churner.write(Buffer.concat([...c.map((id) => encodeDial(id, 7)), ...c.map((id) => encodeClose(id))]));
        hoarded += h.length;
        churned += c.length;
        if (r % 100 === 0) maxPendingSeen = Math.max(maxPendingSeen, (await gw.stats()).pendingConnections);
      }
      await hoarder.waitFor((t) => t.accepts + t.refuses === hoarded, 'an answer to every hoarder dial');
      await churner.waitFor((t) => t.accepts + t.refuses === churned && t.closes === t.accepts, 'an answer to every churner dial and close');
      assert.equal(hoarder.tally.accepts, 16, 'the hoarder got more than maxConn live connections');
      assert.equal(hoarder.tally.refuses, hoarded - 16);
      assert.equal(churner.tally.refuses, 0, 'the churner was refused although it closed each connection');
      await server.waitFor((t) => t.accepts === 16 + churned && t.closes === churned, 'the server to see every Accept and Close');
      const s = await gw.stats();
      assert.equal(s.liveConnections, 1 + 16, 'live: the bystander\'s and the hoarder\'s 16');
      assert.equal(s.dialsRefused.client_limit, hoarded - 16);
      assert.ok(maxPendingSeen <= 32, `pending IDs reached ${maxPendingSeen}`);
      assertMemoryNear(baseline, await measure(`with ${s.liveConnections} live after ${s.dialsAccepted} dials`), 2 * MiB, 'during the dial flood');
      await Promise.all([hoarder.end(), churner.end(), server.end()]);
      await gw.waitFor((st) => st.liveConnections === 1 && st.clients === 1 && st.servers === 1, 'the attackers to be gone');
      await settled('after', 1 * MiB, 'after the dial flood');
    });
  });
});

describe('ConnID forgery', () => {
  test('data on other clients\' virtual connections: each forger is dropped at the first one; victims see nothing', async () => {
    await runAttack('ConnID forgery', {}, async ({ gw, bystander, baseline, measure, settled, own }) => {
      const server = own(await RawPeer.connect(gw.serverPort, { framing: false }));
      await server.handshake(ATTACK_KEY, 7);
      await server.sync();
      // Victims: 3 clients with 2 live connections each, and one pending ID each.
      const victims: { peer: RawPeer; live: number[]; pending: number }[] = [];
      for (let v = 0; v < 3; v++) {
        const peer = own(await RawPeer.connect(gw.clientPort));
        const live: number[] = [];
        for (let k = 0; k < 2; k++) {
          const id = await peer.open();
          peer.sendDial(id, 7);
          await peer.expectCommand(CommandType.Accept, id);
          await server.expectCommand(CommandType.Accept, id);
          live.push(id);
        }
        victims.push({ peer, live, pending: await peer.open() });
      }
      const liveIds = [bystander.connId, ...victims.flatMap((v) => v.live)];
      const highest = Math.max(...liveIds, ...victims.map((v) => v.pending)) + 10;
      const before = await gw.stats();

      // Forged Close and Dial of every ID: no effect on anyone; the attacker stays connected.
      const prober = own(await RawPeer.connect(gw.clientPort));
      const ids = Array.from({ length: highest }, (_, i) => i + 1);
      prober.write(Buffer.concat(ids.map((id) => encodeClose(id))));
      prober.write(Buffer.concat(ids.map((id) => encodeDial(id, 7))));
      for (const id of ids) await prober.expectCommand(CommandType.Refuse, id); // not pending for it
      await prober.sync(); // nothing else came, and it is still connected
      let s = await gw.stats();
      assert.equal(s.liveConnections, before.liveConnections, 'a forged Close or Dial changed a live connection');
      assert.equal(s.pendingConnections, before.pendingConnections, 'a forged Close or Dial released a pending ID');
      assert.equal(s.dialsRefused.not_pending - before.dialsRefused.not_pending, ids.length);

      // Forged data: a fresh forger per try, each sweeping every ID; each is dropped at the first live one.
      let forgers = 0;
      for (let start = 1; ; ) {
        const sweep = ids.slice(start - 1);
        const firstLive = sweep.find((id) => liveIds.includes(id));
        if (firstLive === undefined) break;
        const forger = own(await RawPeer.connect(gw.clientPort));
        forgers++;
        forger.write(Buffer.concat(sweep.map((id) => encodeDataFrame(id, Buffer.from('forged')))));
        await forger.expectClosed('the forger to be dropped');
        start = firstLive + 1;
      }
      s = await gw.stats();
      assert.equal(s.forgedFrames - before.forgedFrames, liveIds.length, 'each live ID cost one forger');
      assert.equal(s.protocolErrors.ERR_FORGED_CONN_ID - before.protocolErrors.ERR_FORGED_CONN_ID, liveIds.length);
      assert.equal(s.liveConnections, before.liveConnections, 'a forgery closed a live connection');
      assert.ok(forgers >= liveIds.length);

      // A server forging on another server's connection is dropped too.
      const rogue = own(await RawPeer.connect(gw.serverPort, { framing: false }));
      await rogue.handshake(ATTACK_KEY, 8);
      await rogue.sync();
      rogue.sendData(victims[0]!.live[0]!, Buffer.from('forged by a server'));
      await rogue.expectClosed('the forging server to be dropped');

      // Victims: nothing arrived; every connection still works both ways; pending IDs still theirs.
      for (const v of victims) {
        for (const id of v.live) {
          v.peer.sendData(id, Buffer.from(`up ${id}`));
          assert.equal((await server.expectData(id)).toString(), `up ${id}`);
          server.sendData(id, Buffer.from(`down ${id}`));
          assert.equal((await v.peer.expectData(id)).toString(), `down ${id}`, 'a victim got something before its own data');
        }
        v.peer.sendDial(v.pending, 7);
        await v.peer.expectCommand(CommandType.Accept, v.pending);
        await server.expectCommand(CommandType.Accept, v.pending);
      }
      await server.sync(); // the server got nothing from any forger
      await settled(`after ${forgers} forgers`, 1 * MiB, 'after the forgeries');
    });
  });
});

describe('slowloris on the server port', () => {
  const AUTH_TIMEOUT = 1000;
  const COUNT = 1000;

  test(`${COUNT} connections that send part of the handshake and stall are all dropped at authTimeout; a real server gets in meanwhile`, async () => {
    await runAttack(`slowloris (${COUNT} stalled handshakes)`, { server: { authTimeout: AUTH_TIMEOUT } }, async ({ gw, baseline, measure, settled, own }) => {
      const stalled = await inBatches(Array.from({ length: COUNT }), 200, async (_, i) => {
        const peer = own(await TallyPeer.connect(gw.serverPort, { skipRaw: 8 }));
        peer.write(new Uint8Array(i % HANDSHAKE_REPLY_SIZE).fill(0x42)); // 0 to 19 bytes of a reply
        return peer;
      });
      // Meanwhile a real server authenticates, and a client talks to it.
      const server = await dialServer(`127.0.0.1:${gw.serverPort}`, { serverId: 77, authKey: ATTACK_KEY });
      own({ end: () => server.close() });
      const stillStalled = stalled.filter((p) => !p.isClosed).length;
      const client = await dialClient(`127.0.0.1:${gw.clientPort}`);
      own({ end: () => client.close() });
      const [conn, accepted] = await Promise.all([client.dial(77), server.accept()]);
      conn.send(Buffer.from('through the siege'));
      assert.equal(Buffer.from(await accepted.receive()).toString(), 'through the siege');
      const during = await measure(`with ${stillStalled} stalled`);
      assert.ok(stillStalled > 0, 'every stalled connection was gone before the real server got in: the test proves nothing');

      await Promise.all(stalled.map((p) => p.expectClosed('a stalled handshake to be dropped', 30_000)));
      const s = await gw.stats();
      assert.equal(s.authTimeouts, COUNT);
      assert.equal(s.servers, 2, 'the bystander\'s server and the real one');
      // Measured from before the connection was opened, so never shorter than the gateway's
      // timer; a timer may still fire early by the length of the event-loop turn it was set in.
      const lifetimes = stalled.map((p) => p.closedAt - p.startedAt);
      const shortest = Math.min(...lifetimes);
      assert.ok(shortest >= AUTH_TIMEOUT * 0.9, `a stalled handshake was dropped after ${shortest} ms, before authTimeout`);
      attackReport.push(
        `slowloris: ${stillStalled} of ${COUNT} still stalled when the real server authenticated; dropped after ${shortest}–${Math.max(...lifetimes)} ms ` +
          `(authTimeout ${AUTH_TIMEOUT}); gateway held ${mib(held(during) - held(baseline))} more with them`,
      );
      conn.close();
      await Promise.all([client.close(), server.close()]);
      await gw.waitFor((st) => st.servers === 1 && st.clients === 1, 'the real server and client to leave');
      await settled('after', 1 * MiB, 'after the slowloris connections were dropped');
    });
  });
});

describe('clients that do not read', () => {
  test('a client that never reads while its server sends: dropped at its queue bound, gateway memory bounded', async () => {
    const SEND_QUEUE = 256;
    const MESSAGE = 4096;
    await runAttack('never-reading client', { client: { sendQueue: SEND_QUEUE } }, async ({ gw, baseline, measure, settled, own }) => {
      const server = own(await RawPeer.connect(gw.serverPort, { framing: false }));
      await server.handshake(ATTACK_KEY, 7);
      await server.sync();
      const sink = own(await RawPeer.connect(gw.clientPort));
      const connId = await sink.open();
      sink.sendDial(connId, 7);
      await sink.expectCommand(CommandType.Accept, connId);
      await server.expectCommand(CommandType.Accept, connId);
      sink.pauseReading();

      let dropped = false;
      const closeAtServer = server.expectCommand(CommandType.Close, connId).then(() => (dropped = true));
      closeAtServer.catch(() => {});
      const frame = encodeDataFrame(connId, new Uint8Array(MESSAGE));
      let sent = 0;
      let peak = 0;
      while (!dropped) {
        assert.ok(sent < 200_000, 'sent 800 MiB to a client that does not read, and it was not dropped');
        server.write(frame);
        if (++sent % 256 === 0) {
          await server.drained();
          if (sent % 512 === 0) peak = Math.max(peak, held(await gw.memory()) - held(baseline));
        }
        if (sent % 16 === 0) await nextTurn();
      }
      await closeAtServer;
      const s = await gw.stats();
      assert.equal(s.slowConsumerDisconnects, 1);
      attackReport.push(`never-reading client: dropped after ${sent} messages of ${MESSAGE} B; peak gateway growth seen ${mib(peak)} (queue bound ${SEND_QUEUE} × ${MESSAGE} B = ${mib(SEND_QUEUE * MESSAGE)})`);
      assert.ok(peak <= 16 * MiB, `the gateway grew by ${mib(peak)} for one slow client`);
      await sink.end();
      await server.drained();
      await server.end();
      await gw.waitFor((st) => st.clients === 1 && st.servers === 1, 'the attacker and its server to leave');
      await settled('after', 1 * MiB, 'after the slow client was dropped');
    });
  });

  test('a client that floods commands and never reads the answers: the gateway does not buffer the answers without bound', async () => {
    // A short ping interval: a client paused for not reading its answers must still be dropped for silence.
    await runAttack('command flood, never reading', { client: { pingInterval: 1000 } }, async ({ gw, baseline, measure, settled, own }) => {
      const attacker = own(await TallyPeer.connect(gw.clientPort));
      attacker.socket.pause();
      // Each New past the pending bound is answered with a 13-byte Open(0), each stale data
      // frame with a 13-byte Close: the answers outgrow the requests. The bound on what the
      // gateway buffers for a client (client.sendQueue messages, docs/protocol.md §8) must hold
      // for its own answers as for forwarded data: the attacker is paused (the gateway
      // stops reading it) or dropped. Small bursts, well below client.sendQueue, so it is
      // unread answers piling up over many turns that must trip the bound.
      const batch = Buffer.concat([repeat(encodeNew(), 128), repeat(encodeDataFrame(999_999, new Uint8Array(0)), 128)]);
      let sentBytes = 0;
      // Flood until the budget is sent, the attacker is dropped, or the gateway has stopped
      // reading it for good (our socket stays full for a second: it only ends the flood early).
      for (let stuck = 0; sentBytes < COMMAND_FLOOD_BYTES && !attacker.isClosed && stuck < 100; ) {
        if (attacker.socket.writableLength < MiB) {
          attacker.write(batch);
          sentBytes += batch.length;
          stuck = 0;
          await nextTurn();
        } else {
          stuck++;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      const pauses = (await gw.stats()).backpressurePauses;
      const outcome = attacker.isClosed ? 'dropped' : pauses > 0 ? `paused ${pauses} times` : 'neither dropped nor paused';
      const grown = held(await gw.memory()) - held(baseline);
      attackReport.push(`command flood without reading: sent ${mib(sentBytes)}, attacker ${outcome}, gateway grew ${mib(grown)}`);
      // client.sendQueue answers are 13 KiB; allow for one turn's reading on top.
      assert.ok(grown <= 4 * MiB, `the gateway holds ${mib(grown)} more for one client that floods commands and does not read`);
      // Paused, it sends nothing more the gateway reads: two ping intervals later it is gone.
      await attacker.expectClosed('the paused flooder to be dropped as silent', 30_000);
      const s = await gw.stats();
      assert.equal(s.silentPeersDropped + s.slowConsumerDisconnects, 1, 'the flooder was dropped, for silence or as a slow consumer');
      await attacker.end();
      await gw.waitFor((st) => st.clients === 1, 'the attacker to be gone');
      await settled('after', 1 * MiB, 'after the command flood');
    });
  });
});

describe('oversize Length and garbage', () => {
  test('an oversize Length closes the connection at the header, whatever follows', async () => {
    await runAttack('oversize Length', {}, async ({ gw, baseline, measure, settled, own }) => {
      // Header only: rejected without waiting for a body.
      const headerOnly = own(await TallyPeer.connect(gw.clientPort));
      const header = new Uint8Array(8);
      writeU32(header, 0, 0xffffffff);
      headerOnly.write(header);
      await headerOnly.expectClosed('the gateway to close at an oversize header');
      // Header followed by a stream of body bytes: closed all the same, nothing buffered.
      const streamer = own(await TallyPeer.connect(gw.clientPort));
      streamer.write(header);
      const chunk = new Uint8Array(1 << 20);
      let written = 0;
      while (!streamer.isClosed && written < 64 * MiB) {
        streamer.write(chunk);
        written += chunk.length;
        await streamer.drained();
      }
      await streamer.expectClosed();
      const s = await gw.stats();
      assert.equal(s.protocolErrors.ERR_FRAME_TOO_LARGE, 2);
      attackReport.push(`oversize Length: closed after the attacker wrote ${mib(written)} of body`);
      await settled('after', 1 * MiB, 'after the oversize frames');
    });
  });

  test('largest legal Length, then stall: what the gateway holds per stalled connection', async () => {
    const COUNT = 200;
    await runAttack(`${COUNT} stalled maximal frames`, { maxPacketSize: 512 * 1024 }, async ({ gw, baseline, measure, settled, own }) => {
      const header = new Uint8Array(9);
      writeU32(header, 0, 512 * 1024);
      writeU32(header, 4, 1);
      const peers = await inBatches(Array.from({ length: COUNT }), 100, async () => {
        const p = own(await TallyPeer.connect(gw.clientPort));
        p.write(header); // 9 bytes announce 512 KiB
        return p;
      });
      await gw.waitFor((st) => st.clients === COUNT + 1, 'every attacker to be accepted');
      // Each sent 9 bytes; a round trip on the bystander proves they were all read by now.
      await Promise.all(peers.map((p) => p.drained()));
      const during = await measure(`with ${COUNT} stalled`);
      const perConnection = (held(during) - held(baseline)) / COUNT;
      attackReport.push(`${COUNT} stalled maximal frames: gateway holds ${(perConnection / 1024).toFixed(1)} KiB per connection (heap+buffers), rss ${mib(during.rss - baseline.rss)} more in all`);
      await Promise.all(peers.map((p) => p.end()));
      await gw.waitFor((st) => st.clients === 1, 'the attackers to be gone');
      await settled('after', 2 * MiB, 'after the stalled frames');
      assert.ok(
        perConnection <= 64 * 1024,
        `a client that sent 9 bytes (a 512 KiB Length and one byte) made the gateway hold ${(perConnection / 1024).toFixed(0)} KiB`,
      );
    });
  });

  test('garbage on both ports at once: every garbage connection is dropped and counted; nothing else is touched', async () => {
    const PER_PORT = 200;
    await runAttack(`garbage (${PER_PORT} connections per port)`, {}, async ({ gw, baseline, measure, settled, own }) => {
      const before = await gw.stats();
      const garbage = (i: number): Uint8Array => {
        const bytes = new Uint8Array(20 + (i % 200));
        crypto.getRandomValues(bytes);
        return bytes;
      };
      // What the model says each client's garbage must do (a fresh client holds nothing).
      let clientErrors = 0;
      const clients = await inBatches(Array.from({ length: PER_PORT }), 100, async (_, i) => {
        const bytes = garbage(i);
        const model = new GatewayModel({ maxPacketSize: 512 * 1024, clientMaxPending: 16, clientMaxConn: 16, serverMaxPending: 1024 }, 1);
        const fails = model.receive(model.addPeer('client', 0), bytes) !== null;
        if (fails) clientErrors++;
        const p = own(await TallyPeer.connect(gw.clientPort));
        p.write(bytes);
        return { p, fails };
      });
      const servers = await inBatches(Array.from({ length: PER_PORT }), 100, async (_, i) => {
        const p = own(await TallyPeer.connect(gw.serverPort, { skipRaw: 8 }));
        p.write(garbage(i));
        return p;
      });
      await Promise.all([...servers, ...clients.filter((c) => c.fails).map((c) => c.p)].map((p) => p.expectClosed()));
      const s = await gw.stats();
      const errors = (st: typeof s): number => Object.values(st.protocolErrors).reduce((a, b) => a + b, 0);
      assert.equal(errors(s) - errors(before), clientErrors, 'protocol errors counted');
      assert.equal(s.authFailures - before.authFailures, PER_PORT, 'auth failures counted');
      assert.equal(s.servers, 1);
      await Promise.all(clients.map((c) => c.p.end()));
      await gw.waitFor((st) => st.clients === 1, 'the garbage clients to be gone');
      attackReport.push(`garbage: ${clientErrors} of ${PER_PORT} client streams were protocol errors (the rest ended by the test), ${PER_PORT} server handshakes failed`);
      await settled('after', 1 * MiB, 'after the garbage');
    });
  });
});

describe('many clients that do not read, in bytes', () => {
  const CLIENTS = Number(process.env.FASTWAY_FLOODED_CLIENTS ?? 100);
  const SEND_BUFFER = 512 * 1024;
  const MESSAGE = 64 * 1024;
  /** Above one message and below the byte bound (which must hold one frame of the largest Length). */
  const MAX_PACKET_SIZE = 128 * 1024;

  test(`${CLIENTS} never-reading WebSocket clients flooded at once: each dropped at its byte bound, well before its message bound; gateway memory bounded`, async () => {
    await runAttack(`${CLIENTS} never-reading WebSocket clients`, { maxPacketSize: MAX_PACKET_SIZE, client: { sendBuffer: SEND_BUFFER } }, async ({ gw, baseline, measure, settled, own }) => {
      const server = own(await TallyPeer.server(gw.serverPort, ATTACK_KEY, 7));
      const sinks: WsRawClient[] = [];
      const connIds: number[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const sink = own(await WsRawClient.connect(`ws://127.0.0.1:${gw.wsPort!}/`));
        const connId = await sink.open();
        sink.sendDial(connId, 7);
        await sink.expectCommand(CommandType.Accept, connId);
        sink.ws.pause(); // reads nothing from here on
        sinks.push(sink);
        connIds.push(connId);
      }
      await server.waitFor((t) => t.accepts === CLIENTS, 'an Accept for every client');
      const sent = new Map(connIds.map((id) => [id, 0]));
      const frames = new Map(connIds.map((id) => [id, encodeDataFrame(id, new Uint8Array(MESSAGE).fill(id & 0xff))]));
      let peak = 0;
      for (let round = 0; server.closedIds.size < CLIENTS; round++) {
        assert.ok(round < 1024, `after ${round} rounds of ${MESSAGE} B to each client, ${CLIENTS - server.closedIds.size} were not dropped`);
        for (const id of connIds) {
          if (server.closedIds.has(id)) continue;
          server.write(frames.get(id)!);
          sent.set(id, sent.get(id)! + 1);
        }
        await server.drained();
        if (round % 16 === 15) peak = Math.max(peak, held(await gw.memory()) - held(baseline));
      }
      const s = await gw.stats();
      assert.equal(s.slowConsumerDisconnects, CLIENTS);
      const most = Math.max(...sent.values());
      attackReport.push(
        `${CLIENTS} never-reading WebSocket clients: each dropped after at most ${most} messages of ${MESSAGE} B (client.sendBuffer ${mib(SEND_BUFFER)}, sendQueue 1024); ` +
          `peak gateway growth seen ${mib(peak)}`,
      );
      // The message bound alone would have let each take 1024 × 64 KiB = 64 MiB.
      assert.ok(most < 512, `a client took ${most} messages before it was dropped: the byte bound did not act`);
      assert.ok(peak <= CLIENTS * 2 * SEND_BUFFER + 32 * MiB, `the gateway grew by ${mib(peak)} for ${CLIENTS} slow clients`);
      await measure('with the clients dropped');
      await Promise.all(sinks.map((c) => c.end()));
      await server.end();
      await gw.waitFor((st) => st.clients === 1 && st.servers === 1, 'the attackers and their server to leave');
      await settled('after', 2 * MiB, 'after the slow clients were dropped');
    }, { webSocket: true });
  });
});
