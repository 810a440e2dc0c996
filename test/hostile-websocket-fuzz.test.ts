/**
 * Fuzzing the WebSocket and TLS listeners (fast-check): random bytes where an upgrade
 * request should be; random WebSocket framing after a real upgrade — fragments, pings and
 * pongs in between, and one defect of each kind RFC 6455 forbids — checked against a small
 * model of what the gateway must do; random bytes outside TLS (instead of a handshake) and
 * inside it (after one). Every connection must end as the model says, be counted, and leave
 * a bystander pair and the gateway's tables untouched; the gateway must log no internal error.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { type BoundAddresses, dialClient, dialServer, Gateway } from '../src/index.js';
import { encodeDataFrame, encodeNew, FrameDecoder, HEADER_SIZE } from '../src/protocol/index.js';
import { Bystander } from './support/bystander.js';
import { CapturingLogger, KEY, openResources } from './support/gateway-harness.js';
import { waitUntil, withTimeout } from './support/raw-peer.js';
import { haveOpenssl, makeTestCerts, type TestCerts } from './support/test-certs.js';
import { encodeWsFrame, rawUpgrade, upgradeRequest, WS_OP, type WsFrameSpec } from './support/ws-frames.js';

const RUNS = Number(process.env.FASTWAY_FUZZ_RUNS ?? 150);
const FC = { numRuns: RUNS, includeErrorInReport: true };
const skipTls = !(await haveOpenssl()) && 'the openssl command is not installed';

let gw: Gateway;
let logger: CapturingLogger;
let bound: BoundAddresses;
let bystander: Bystander;
let certs: TestCerts | undefined;
let tlsGw: Gateway | undefined;
let tlsBound: BoundAddresses | undefined;
const totals = { upgrades: 0, frames: 0, closedForErrors: 0, stayedOpen: 0, tlsStreams: 0 };

before(async () => {
  logger = new CapturingLogger();
  gw = new Gateway({ server: { authKey: KEY }, client: { maxPending: 1_000_000 }, logger });
  bound = await gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
  bystander = await Bystander.start({ clientPort: bound.client!.port, serverPort: bound.server!.port, key: KEY, serverId: 0xb0057 });
  if (!skipTls) {
    certs = await makeTestCerts();
    tlsGw = new Gateway({ server: { authKey: KEY }, client: { tls: certs.gateway }, logger });
    tlsBound = await tlsGw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0', clientWs: '127.0.0.1:0' });
  }
});

after(async () => {
  let passed = false;
  try {
    await bystander.progress();
    const exchanged = await bystander.stop();
    assert.deepEqual(logger.entries.filter((e) => e.level === 'error').map((e) => e.text), [], 'the gateway logged errors');
    await waitUntil(() => gw.stats.clients === 0 && gw.stats.servers === 0, 'the fuzzed gateway to be empty');
    console.log(
      `# WebSocket/TLS fuzz: ${totals.upgrades} upgraded connections, ${totals.frames} WebSocket frames, ${totals.closedForErrors} closed for a defect, ` +
        `${totals.stayedOpen} kept open; ${totals.tlsStreams} TLS streams; bystander made ${exchanged} round trips`,
    );
    passed = true;
  } finally {
    await gw.close();
    await tlsGw?.close();
    await certs?.remove();
  }
  if (passed) {
    await waitUntil(() => openResources().length === 0, 'every handle to be released', 2000).catch(() => {});
    assert.deepEqual(openResources(), [], 'resources left open');
  }
});

/** A socket and what happened to it. */
interface Watched {
  socket: Socket;
  received: Buffer[];
  closed: Promise<void>;
}

function watch(socket: Socket): Watched {
  const w: Watched = { socket, received: [], closed: Promise.resolve() };
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => w.received.push(chunk));
  w.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  return w;
}

function connectTcp(port: number): Promise<Watched> {
  const socket = netConnect({ host: '127.0.0.1', port });
  const w = watch(socket);
  return withTimeout(new Promise<Watched>((resolve) => socket.once('connect', () => resolve(w))), 'a TCP connection');
}

const protocolErrorTotal = (g: Gateway): number => Object.values(g.stats.protocolErrors).reduce((a, b) => a + (b ?? 0), 0);

describe('random bytes instead of an upgrade request', () => {
  const garbage = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    // An upgrade request broken at a random place by random bytes.
    fc.tuple(fc.nat({ max: 200 }), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([at, noise]) => {
      const request = Buffer.from(upgradeRequest());
      const cut = at % request.length;
      return Uint8Array.from([...request.subarray(0, cut), ...noise, ...request.subarray(cut)]);
    }),
  );

  test('each connection is answered or closed and no client is made of it, unless the bytes were a valid upgrade', async () => {
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        const before = gw.stats.clientsAccepted;
        const w = await connectTcp(bound.clientWs!.port);
        w.socket.end(bytes); // our end closes: the gateway must close its side too, whatever it made of the bytes
        await withTimeout(w.closed, 'the gateway to close a garbage connection');
        const answer = Buffer.concat(w.received).toString('latin1');
        if (gw.stats.clientsAccepted > before) assert.match(answer, /^HTTP\/1\.1 101 /, 'a client was accepted without a 101');
        else if (answer.length > 0) assert.match(answer, /^HTTP\/1\.1 (400|404|426|431) /, `an unexpected answer ${JSON.stringify(answer.slice(0, 40))}`);
        await waitUntil(() => gw.stats.clients === 1, 'the garbage connection to leave the table'); // the bystander's client
      }),
      FC,
    );
  });
});

// ---- Random WebSocket framing after a real upgrade ----

/** A piece of the stream the client sends, and what the model says it is. */
type Piece =
  | { kind: 'message'; fragments: number; news: number; pingBetween: boolean }
  | { kind: 'control'; opcode: 9 | 10; size: number }
  | { kind: 'defect'; defect: Defect };

type Defect =
  | 'unmasked'
  | 'rsv'
  | 'reserved opcode'
  | 'control too long'
  | 'fragmented control'
  | 'lone continuation'
  | 'data inside a fragmented message'
  | 'text message'
  | 'partial fastway frame'
  | 'empty message'
  | 'close';

const DEFECTS: Defect[] = [
  'unmasked',
  'rsv',
  'reserved opcode',
  'control too long',
  'fragmented control',
  'lone continuation',
  'data inside a fragmented message',
  'text message',
  'partial fastway frame',
  'empty message',
  'close',
];

const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('message' as const), fragments: fc.integer({ min: 1, max: 5 }), news: fc.integer({ min: 1, max: 6 }), pingBetween: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('control' as const), opcode: fc.constantFrom(9 as const, 10 as const), size: fc.integer({ min: 0, max: 125 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('defect' as const), defect: fc.constantFrom(...DEFECTS) }) },
);

const frame = (opcode: number, payload: Uint8Array, over: Partial<WsFrameSpec> = {}): Buffer =>
  encodeWsFrame({ fin: true, rsv: 0, opcode, masked: true, payload, ...over });

/** Splits `payload` into `n` fragments (binary, then continuations), with a ping after the first if asked. */
function fragments(payload: Uint8Array, n: number, pingBetween: boolean): Buffer[] {
  const out: Buffer[] = [];
  const step = Math.ceil(payload.length / n);
  for (let i = 0; i < n; i++) {
    const part = payload.subarray(Math.min(payload.length, i * step), Math.min(payload.length, (i + 1) * step));
    out.push(frame(i === 0 ? WS_OP.binary : WS_OP.continuation, part, { fin: i === n - 1 }));
    if (i === 0 && n > 1 && pingBetween) out.push(frame(WS_OP.ping, Buffer.from('between')));
  }
  return out;
}

function defectBytes(defect: Defect): Buffer[] {
  const news = encodeNew();
  switch (defect) {
    case 'unmasked':
      return [frame(WS_OP.binary, news, { masked: false })];
    case 'rsv':
      return [frame(WS_OP.binary, news, { rsv: 4 })];
    case 'reserved opcode':
      return [frame(3, news)];
    case 'control too long':
      return [frame(WS_OP.ping, new Uint8Array(126))];
    case 'fragmented control':
      return [frame(WS_OP.ping, Buffer.from('x'), { fin: false })];
    case 'lone continuation':
      return [frame(WS_OP.continuation, news)];
    case 'data inside a fragmented message':
      return [frame(WS_OP.binary, news.subarray(0, 4), { fin: false }), frame(WS_OP.binary, news)];
    case 'text message':
      return [frame(WS_OP.text, Buffer.from('hello'))];
    case 'partial fastway frame':
      return [frame(WS_OP.binary, encodeDataFrame(1, Buffer.from('abc')).subarray(0, HEADER_SIZE + 1))];
    case 'empty message':
      return [frame(WS_OP.binary, new Uint8Array(0))];
    case 'close':
      return [frame(WS_OP.close, Buffer.from([0x03, 0xe8]))];
  }
}

/** What the model expects: the News in messages before the first defect, and how the connection ends. */
function model(pieces: readonly Piece[]): { news: number; end: 'open' | 'protocol error' | 'closed by client' } {
  let news = 0;
  for (const p of pieces) {
    if (p.kind === 'message') news += p.news;
    else if (p.kind === 'defect') return { news, end: p.defect === 'close' ? 'closed by client' : 'protocol error' };
  }
  return { news, end: 'open' };
}

/** Counts the Open frames in what the gateway sent after the 101 (WebSocket frames from the server are unmasked). */
function opensIn(stream: Buffer): number {
  let opens = 0;
  const decoder = new FrameDecoder(0xffffffff);
  const sink = { onFrame: (connId: number) => void (connId === 0 && opens++) };
  let off = 0;
  while (stream.length - off >= 2) {
    const opcode = stream[off]! & 0x0f;
    let len = stream[off + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      if (stream.length - off < 4) break;
      len = stream.readUInt16BE(off + 2);
      head = 4;
    } else if (len === 127) {
      if (stream.length - off < 10) break;
      len = Number(stream.readBigUInt64BE(off + 2));
      head = 10;
    }
    if (stream.length - off < head + len) break;
    if (opcode === WS_OP.binary) decoder.push(stream.subarray(off + head, off + head + len), sink);
    off += head + len;
  }
  return opens;
}

describe('random WebSocket framing after an upgrade', () => {
  test('fragments, pings, pongs and one defect of each kind: the gateway does what the model says and counts it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pieceArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 64 }), async (pieces, chunk) => {
        const expected = model(pieces);
        const errorsBefore = protocolErrorTotal(gw);
        const w = await connectTcp(bound.clientWs!.port);
        const { status, rest } = await rawUpgrade(w.socket);
        assert.equal(status, 101);
        totals.upgrades++;
        const got: Buffer[] = [rest];
        w.socket.on('data', (c: Buffer) => got.push(c));
        const bytes: Buffer[] = [];
        for (const p of pieces) {
          if (p.kind === 'message') bytes.push(...fragments(Buffer.concat(Array.from({ length: p.news }, () => encodeNew())), p.fragments, p.pingBetween));
          else if (p.kind === 'control') bytes.push(frame(p.opcode, new Uint8Array(p.size).fill(0x5a)));
          else bytes.push(...defectBytes(p.defect));
        }
        totals.frames += bytes.length;
        // Written in pieces of `chunk` bytes, so frames and headers are cut anywhere.
        const all = Buffer.concat(bytes);
        for (let off = 0; off < all.length && !w.socket.destroyed; off += chunk) w.socket.write(all.subarray(off, off + chunk));

        if (expected.end === 'open') {
          await waitUntil(() => opensIn(Buffer.concat(got)) === expected.news, `${expected.news} Opens`);
          totals.stayedOpen++;
          assert.equal(protocolErrorTotal(gw), errorsBefore, 'a valid stream was counted as a protocol error');
          w.socket.destroy();
        } else if (expected.end === 'protocol error') {
          // Dropped from the table at once; the socket follows after the close handshake (up to 1 s), not waited for here.
          await waitUntil(() => protocolErrorTotal(gw) > errorsBefore && gw.stats.clients === 1, 'the defect to be counted and the client dropped');
          totals.closedForErrors++;
          assert.equal(protocolErrorTotal(gw), errorsBefore + 1, 'the defect was not counted once');
          w.socket.destroy();
        } else {
          await withTimeout(w.closed, 'the gateway to answer the client\'s close and close the connection');
          assert.equal(protocolErrorTotal(gw), errorsBefore, 'a client close was counted as a protocol error');
        }
        await w.closed;
        await waitUntil(() => gw.stats.clients === 1, 'the fuzzed client to leave the table');
        bystander.assertHealthy();
      }),
      FC,
    );
    assert.ok(totals.closedForErrors > 0 && totals.stayedOpen > 0, 'the generator never made one of the outcomes');
  });

  test('a ping flood from a client that never reads is cut off (ws allows 60 pending pongs), and costs nothing after', async () => {
    const w = await connectTcp(bound.clientWs!.port);
    await rawUpgrade(w.socket);
    w.socket.pause();
    const pings = Buffer.concat(Array.from({ length: 1000 }, () => frame(WS_OP.ping, new Uint8Array(125))));
    let sent = 0;
    while (!w.socket.destroyed && sent < 256 * 1024 * 1024) {
      if (!w.socket.write(pings)) await Promise.race([new Promise((resolve) => w.socket.once('drain', resolve)), w.closed]);
      sent += pings.length;
    }
    await withTimeout(w.closed, 'the ping flood to be cut');
    assert.ok(sent < 64 * 1024 * 1024, `the flood went on for ${sent} bytes`);
    await waitUntil(() => gw.stats.clients === 1, 'the flooder to leave the table');
    bystander.assertHealthy();
  });
});

describe('random bytes outside and inside TLS', { skip: skipTls }, () => {
  test('outside: random bytes instead of a ClientHello on the TLS and WSS ports are failed handshakes, counted, closed', async () => {
    const g = tlsGw!;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (bytes, ws) => {
        const before = g.stats.tlsHandshakeFailures;
        const w = await connectTcp(ws ? tlsBound!.clientWs!.port : tlsBound!.client!.port);
        w.socket.end(bytes);
        await withTimeout(w.closed, 'the gateway to close the connection');
        totals.tlsStreams++;
        await waitUntil(() => g.stats.tlsHandshakeFailures === before + 1, 'the failed handshake to be counted');
        assert.equal(g.stats.clientsAccepted, 0);
      }),
      { ...FC, numRuns: Math.max(1, Math.floor(RUNS / 3)) },
    );
  });

  test('inside: random bytes after a TLS handshake are protocol errors on the TLS port and bad requests on the WSS port', async () => {
    const g = tlsGw!;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        // The client port: a fastway stream, so random bytes are a protocol error or an unfinished frame.
        const socket = tlsConnect({ host: '127.0.0.1', port: tlsBound!.client!.port, ca: certs!.ca });
        const w = watch(socket);
        await withTimeout(new Promise((resolve) => socket.once('secureConnect', resolve)), 'a TLS connection');
        const errorsBefore = protocolErrorTotal(g);
        socket.end(bytes);
        await withTimeout(w.closed, 'the gateway to close the connection');
        totals.tlsStreams++;
        assert.ok(protocolErrorTotal(g) - errorsBefore <= 1);
        await waitUntil(() => g.stats.clients === 0, 'the client to leave');
      }),
      { ...FC, numRuns: Math.max(1, Math.floor(RUNS / 3)) },
    );
    // And through it all, real clients and a server still work on both TLS listeners.
    const server = await dialServer(`127.0.0.1:${tlsBound!.server!.port}`, { serverId: 3, authKey: KEY });
    try {
      for (const url of [`tls://127.0.0.1:${tlsBound!.client!.port}`, `wss://127.0.0.1:${tlsBound!.clientWs!.port}/`]) {
        const client = await dialClient(url, { tls: { ca: certs!.ca } });
        const [conn, accepted] = await Promise.all([client.dial(3), server.accept()]);
        conn.send(Buffer.from('after the fuzz'));
        assert.equal(Buffer.from(await accepted.receive()).toString(), 'after the fuzz');
        await client.close();
      }
    } finally {
      await server.close();
    }
    assert.deepEqual(logger.entries.filter((e) => e.level === 'error').map((e) => e.text), [], 'the TLS gateway logged errors');
  });
});
