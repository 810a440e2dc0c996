/**
 * Message formats: `json` and a custom format round-trip through the
 * gateway; a message that does not decode rejects that one receive with a `FormatError`
 * carrying its bytes, and the connection goes on. Plus the formats on their own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Endpoint,
  type EndpointOptions,
  FormatError,
  InvalidOptionError,
  type VirtualConnection,
  defineFormat,
  dialClient,
  dialServer,
  json,
  raw,
  utf8,
} from '../src/index.js';
import { checkNoLeaks } from './support/fake-gateway.js';
import { type GatewayHarness, KEY, withGateway } from './support/gateway-harness.js';

checkNoLeaks();

interface Chat {
  from: string;
  text: string;
  at: number;
  tags: string[];
}

/** A fixed binary layout: x and y as f64 LE, then a u8 kind. Anything else fails to decode. */
interface Point {
  x: number;
  y: number;
  kind: number;
}
const pointFormat = defineFormat<Point>({
  name: 'point',
  encode: (p) => {
    const out = new Uint8Array(17);
    const v = new DataView(out.buffer);
    v.setFloat64(0, p.x, true);
    v.setFloat64(8, p.y, true);
    v.setUint8(16, p.kind);
    return out;
  },
  decode: (b) => {
    if (b.length !== 17) throw new RangeError(`a point is 17 bytes, got ${b.length}`);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { x: v.getFloat64(0, true), y: v.getFloat64(8, true), kind: v.getUint8(16) };
  },
});

/** A connected pair: a client endpoint with `clientOptions`, a server endpoint with `serverOptions`. */
async function pair<C, S>(
  h: GatewayHarness,
  serverId: number,
  clientOptions: EndpointOptions<C>,
  serverOptions: EndpointOptions<S>,
): Promise<{ cli: Endpoint<C>; srv: Endpoint<S>; c: VirtualConnection<C>; s: VirtualConnection<S> }> {
  const srv = await dialServer<S>(`127.0.0.1:${h.serverPort}`, { serverId, authKey: KEY, ...serverOptions });
  const cli = await dialClient<C>(`127.0.0.1:${h.clientPort}`, clientOptions);
  const accepting = srv.accept();
  const c = await cli.dial(serverId);
  const s = await accepting;
  return { cli, srv, c, s };
}

test('6: json round-trips; a message that is not JSON fails that one receive only', async () => {
  await withGateway({}, async (h) => {
    const { cli, srv, c, s } = await pair(h, 1, { format: json<Chat>() }, { format: json<Chat>() });
    // A raw client on the same server, to send bytes that are not JSON.
    const rawCli = await dialClient(`127.0.0.1:${h.clientPort}`);
    try {
      const message: Chat = { from: 'ana', text: 'héllo 世界 \u{1F600}', at: 1.5, tags: ['a', ''] };
      c.send(message);
      assert.deepEqual(await s.receive(), message);
      s.send({ ...message, from: 'server' });
      assert.deepEqual(await c.receive(), { ...message, from: 'server' });

      const accepting = srv.accept();
      const r = await rawCli.dial(1);
      const fromRaw = await accepting;
      const bad = new TextEncoder().encode('{"from": "ana", oops');
      r.send(new TextEncoder().encode('{"from":"a","text":"1","at":0,"tags":[]}'));
      r.send(bad);
      r.send(Uint8Array.of(0xff, 0xfe)); // not even UTF-8
      r.send(new TextEncoder().encode('{"from":"b","text":"2","at":0,"tags":[]}'));
      assert.equal((await fromRaw.receive()).from, 'a');
      await assert.rejects(fromRaw.receive(), (err: unknown) => {
        assert.ok(err instanceof FormatError, String(err));
        assert.equal(err.code, 'ERR_FORMAT');
        assert.deepEqual(err.bytes && [...err.bytes], [...bad]);
        assert.ok(err.cause instanceof SyntaxError);
        return true;
      });
      await assert.rejects(fromRaw.receive(), (err: unknown) => err instanceof FormatError && err.bytes?.length === 2);
      assert.equal((await fromRaw.receive()).from, 'b', 'the connection goes on after decode errors');
      assert.equal(fromRaw.isClosed, false);

      // Encoding failures throw from send and send nothing.
      assert.throws(() => c.send(undefined as unknown as Chat), FormatError);
      assert.throws(() => c.send({ big: 1n } as unknown as Chat), FormatError);
      c.send({ from: 'after', text: '', at: 0, tags: [] });
      assert.equal((await s.receive()).from, 'after');
    } finally {
      await Promise.all([cli.close(), srv.close(), rawCli.close()]);
    }
  });
});

test('6: a custom format round-trips; a decode error is a FormatError on that receive only', async () => {
  await withGateway({}, async (h) => {
    const { cli, srv, c, s } = await pair(h, 2, { format: pointFormat }, { format: pointFormat });
    const rawCli = await dialClient(`127.0.0.1:${h.clientPort}`);
    try {
      const points: Point[] = [
        { x: 0, y: -0, kind: 0 },
        { x: 1.25, y: -1e300, kind: 255 },
        { x: Number.MAX_VALUE, y: Number.MIN_VALUE, kind: 7 },
      ];
      for (const p of points) c.send(p);
      for (const p of points) assert.deepEqual(await s.receive(), p);
      s.send(points[1]!);
      assert.deepEqual(await c.receive(), points[1]);

      const accepting = srv.accept();
      const r = await rawCli.dial(2);
      const fromRaw = await accepting;
      r.send(Uint8Array.of(1, 2, 3));
      r.send(pointFormat.encode(points[2]!));
      await assert.rejects(fromRaw.receive(), (err: unknown) => {
        assert.ok(err instanceof FormatError);
        assert.deepEqual(err.bytes && [...err.bytes], [1, 2, 3]);
        assert.ok(err.cause instanceof RangeError);
        assert.match(err.message, /point/);
        return true;
      });
      assert.deepEqual(await fromRaw.receive(), points[2]);
    } finally {
      await Promise.all([cli.close(), srv.close(), rawCli.close()]);
    }
  });
});

test('6: a decode error ends a for-await loop with the FormatError; a new loop goes on', async () => {
  await withGateway({}, async (h) => {
    const { cli, srv, c, s } = await pair(h, 3, {}, { format: utf8 });
    try {
      c.send(new TextEncoder().encode('ok 1'));
      c.send(Uint8Array.of(0xc3)); // a truncated UTF-8 sequence
      c.send(new TextEncoder().encode('ok 2'));
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const m of s) seen.push(m);
      }, FormatError);
      assert.deepEqual(seen, ['ok 1']);
      for await (const m of s) {
        seen.push(m);
        break;
      }
      assert.deepEqual(seen, ['ok 1', 'ok 2']);
    } finally {
      await Promise.all([cli.close(), srv.close()]);
    }
  });
});

describe('formats on their own', () => {
  test('raw passes bytes through as they are', () => {
    const b = Uint8Array.of(1, 2, 3);
    assert.equal(raw.encode(b), b);
    assert.equal(raw.decode(b), b);
  });

  test('utf8 round-trips any string; rejects invalid UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        assert.equal(utf8.decode(utf8.encode(s)), s);
      }),
    );
    assert.throws(() => utf8.decode(Uint8Array.of(0xff)));
    assert.throws(() => utf8.encode(42 as unknown as string), TypeError);
  });

  test('json round-trips JSON values', () => {
    const format = json<unknown>();
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        assert.deepEqual(format.decode(format.encode(v)), JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  test('defineFormat checks its argument; a format option that is not a format is refused', async () => {
    assert.throws(() => defineFormat({} as never), TypeError);
    assert.throws(() => defineFormat({ encode: () => new Uint8Array(0) } as never), TypeError);
    assert.equal(defineFormat({ encode: () => new Uint8Array(0), decode: () => 0 }).name, 'custom');
    await assert.rejects(
      dialClient('127.0.0.1:1', { format: { name: 'x' } as never }),
      (err: unknown) => err instanceof InvalidOptionError && err.option === 'format',
    );
  });

  test('an encode that returns something other than bytes is a FormatError', async () => {
    await withGateway({}, async (h) => {
      const liar = defineFormat<string>({ encode: (s) => s as unknown as Uint8Array, decode: () => '' });
      const { cli, srv, c } = await pair(h, 4, { format: liar }, {});
      try {
        assert.throws(() => c.send('text'), (err: unknown) => err instanceof FormatError && /not a Uint8Array/.test(err.message));
      } finally {
        await Promise.all([cli.close(), srv.close()]);
      }
    });
  });
});
