/**
 * Random frames for fuzzing the gateway, as fast-check arbitraries: every command type
 * (known, unknown, truncated, padded, sent the wrong way), data frames, bad Lengths and
 * raw garbage. A frame names the IDs it uses abstractly ("one of my pending IDs", "a live
 * ID I am not an end of", "a server", a raw u32); {@link encodeSpec} picks the concrete
 * ID from the model's state when the frame is written, so random sequences hit the
 * interesting cases (dialing an ID just opened, forging someone else's) often.
 */
import fc from 'fast-check';
import {
  CommandType,
  encodeAccept,
  encodeClose,
  encodeDataFrame,
  encodeDial,
  encodeNew,
  encodeOpen,
  encodePing,
  encodeRefuse,
  HEADER_SIZE,
  MAX_U32,
  writeU32,
} from '../../src/protocol/index.js';
import type { GatewayModel, ModelPeer } from './gateway-model.js';

/** Which ConnID a frame uses. */
export interface IdRef {
  k: 'ownPending' | 'otherPending' | 'ownLive' | 'otherLive' | 'guarded' | 'raw';
  i: number;
  raw: number;
}

/** Which remote ID a Dial names. */
export interface RemoteRef {
  k: 'server' | 'client' | 'raw';
  i: number;
  raw: number;
}

export type FrameSpec =
  | { t: 'new' }
  | { t: 'ping' }
  | { t: 'dial'; id: IdRef; remote: RemoteRef }
  | { t: 'close'; id: IdRef }
  | { t: 'data'; id: IdRef; size: number; seed: number }
  /** A valid command with bytes after its arguments (ignored by the gateway). */
  | { t: 'padded'; base: FrameSpec; extra: Uint8Array }
  /** Length 0 to 3. */
  | { t: 'short'; length: number }
  /** Length past maxPacketSize by `over` (header only, then a few bytes). */
  | { t: 'large'; over: number; connId: number }
  | { t: 'unknown'; type: number; extra: Uint8Array }
  /** A command of `type` cut to `keep` bytes of its message (less than it needs). */
  | { t: 'truncated'; type: number; keep: number }
  /** A command only the gateway sends (Open, Refuse, Accept), sent to it. */
  | { t: 'unexpected'; type: number; id: IdRef; remote: RemoteRef }
  | { t: 'garbage'; bytes: Uint8Array };

const u32 = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 16 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: MAX_U32 }) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_U32, 0x80000000, 0x7fffffff) },
);

export const idRefArb: fc.Arbitrary<IdRef> = fc.record({
  k: fc.constantFrom<IdRef['k']>('ownPending', 'ownPending', 'otherPending', 'ownLive', 'ownLive', 'otherLive', 'guarded', 'raw'),
  i: fc.nat(64),
  raw: u32,
});

/** IDs for data frames that do not forge: the sender's own, pending ones (stale), or any u32. */
const dataIdRefArb: fc.Arbitrary<IdRef> = fc.record({
  k: fc.constantFrom<IdRef['k']>('ownPending', 'otherPending', 'ownLive', 'ownLive', 'ownLive', 'raw'),
  i: fc.nat(64),
  raw: u32,
});

/** IDs of live virtual connections the sender is not an end of: data on them is a forgery. */
const forgedIdRefArb: fc.Arbitrary<IdRef> = fc.record({
  k: fc.constantFrom<IdRef['k']>('otherLive', 'guarded'),
  i: fc.nat(64),
  raw: u32,
});

export const remoteRefArb: fc.Arbitrary<RemoteRef> = fc.record({
  k: fc.constantFrom<RemoteRef['k']>('server', 'server', 'client', 'client', 'raw'),
  i: fc.nat(64),
  raw: u32,
});

const validCommandArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<FrameSpec>({ t: 'new' }) },
  { weight: 1, arbitrary: fc.constant<FrameSpec>({ t: 'ping' }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('dial' as const), id: idRefArb, remote: remoteRefArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('close' as const), id: idRefArb }) },
);

/**
 * Frames for a gateway whose maxPacketSize is `maxPacketSize`. `hostile` is the relative
 * weight of frames that break the protocol (0: valid frames only).
 */
export function frameSpecArb(maxPacketSize: number, hostile = 1): fc.Arbitrary<FrameSpec> {
  const valid = fc.oneof(
    { weight: 6, arbitrary: validCommandArb },
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('data' as const),
        id: dataIdRefArb,
        size: fc.oneof({ weight: 9, arbitrary: fc.nat(40) }, { weight: 1, arbitrary: fc.constant(maxPacketSize - 4) }),
        seed: fc.nat(255),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constant('padded' as const), base: validCommandArb, extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    },
  );
  if (hostile === 0) return valid;
  const bad: fc.Arbitrary<FrameSpec> = fc.oneof(
    fc.record({ t: fc.constant('short' as const), length: fc.integer({ min: 0, max: 3 }) }),
    fc.record({
      t: fc.constant('large' as const),
      over: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: MAX_U32 - maxPacketSize })),
      connId: u32,
    }),
    fc.record({ t: fc.constant('unknown' as const), type: fc.integer({ min: 7, max: 255 }), extra: fc.uint8Array({ maxLength: 12 }) }),
    fc.record({ t: fc.constant('truncated' as const), type: fc.integer({ min: 0, max: 6 }), keep: fc.nat(8) }),
    fc.record({
      t: fc.constant('unexpected' as const),
      type: fc.constantFrom(CommandType.Open, CommandType.Refuse, CommandType.Accept),
      id: idRefArb,
      remote: remoteRefArb,
    }),
    fc.record({ t: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
    fc.record({ t: fc.constant('data' as const), id: forgedIdRefArb, size: fc.nat(40), seed: fc.nat(255) }),
  );
  return fc.oneof({ weight: 12, arbitrary: valid }, { weight: hostile, arbitrary: bad });
}

/** Where a write is cut into pieces: a few random points, or every byte. */
export const splitsArb: fc.Arbitrary<number[] | 'bytewise'> = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.nat(), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant('bytewise' as const) },
);

/** Cuts `bytes` at `splits` (positions taken modulo the length). */
export function splitAt(bytes: Uint8Array, splits: number[] | 'bytewise'): Uint8Array[] {
  if (bytes.length === 0) return [];
  if (splits === 'bytewise') return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  const points = [...new Set(splits.map((s) => s % bytes.length))].filter((p) => p > 0).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

/** What the encoder needs to turn abstract IDs into concrete ones. */
export interface SpecContext {
  model: GatewayModel;
  actor: ModelPeer;
  /** Peers the fuzz must never dial (a bystander): their IDs are never picked as remotes. */
  guardedPeers: ReadonlySet<ModelPeer>;
  /** A live ConnID of the guarded peers, for forgery attempts. */
  guardedConnId: number;
}

function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}

/** The concrete ConnID for `ref` in the model's current state (falls back to the raw value). */
export function resolveId(ref: IdRef, ctx: SpecContext): number {
  const { model, actor } = ctx;
  let id: number | undefined;
  switch (ref.k) {
    case 'ownPending':
      id = pick([...actor.pending], ref.i);
      break;
    case 'otherPending':
      id = pick([...model.pendingOwners].filter(([, owner]) => owner !== actor).map(([c]) => c), ref.i);
      break;
    case 'ownLive':
      id = pick([...actor.routes], ref.i);
      break;
    case 'otherLive':
      id = pick([...model.routes].filter(([, r]) => r.client !== actor && r.server !== actor).map(([c]) => c), ref.i);
      break;
    case 'guarded':
      id = ctx.guardedConnId;
      break;
    case 'raw':
      break;
  }
  return id ?? ref.raw;
}

/** The concrete remote ID for `ref`; never the ID of a guarded peer. */
export function resolveRemote(ref: RemoteRef, ctx: SpecContext): number {
  const fuzzPeers = (kind: 'client' | 'server'): number[] =>
    ctx.model.open(kind).filter((p) => !ctx.guardedPeers.has(p)).map((p) => p.id);
  const guardedIds = new Set([...ctx.guardedPeers].map((p) => p.id));
  let id = ref.k === 'raw' ? undefined : pick(fuzzPeers(ref.k), ref.i);
  id ??= ref.raw;
  while (guardedIds.has(id)) id = (id + 0x9e3779b9) >>> 0;
  return id;
}

function withLength(bytes: Uint8Array): Uint8Array {
  writeU32(bytes, 0, bytes.length - 4);
  return bytes;
}

function frameOf(connId: number, message: Uint8Array): Uint8Array {
  return encodeDataFrame(connId, message);
}

/** The bytes of `spec`, IDs resolved against `ctx` now. */
export function encodeSpec(spec: FrameSpec, ctx: SpecContext, maxPacketSize: number): Uint8Array {
  switch (spec.t) {
    case 'new':
      return encodeNew();
    case 'ping':
      return encodePing();
    case 'dial':
      return encodeDial(resolveId(spec.id, ctx), resolveRemote(spec.remote, ctx));
    case 'close':
      return encodeClose(resolveId(spec.id, ctx));
    case 'data': {
      const message = new Uint8Array(spec.size);
      for (let i = 0; i < message.length; i++) message[i] = (spec.seed + i * 7) & 0xff;
      const connId = resolveId(spec.id, ctx);
      return frameOf(connId === 0 ? MAX_U32 : connId, message); // ConnID 0 would make it a command
    }
    case 'padded': {
      const base = encodeSpec(spec.base, ctx, maxPacketSize);
      const out = new Uint8Array(base.length + spec.extra.length);
      out.set(base, 0);
      out.set(spec.extra, base.length);
      return withLength(out);
    }
    case 'short': {
      const out = new Uint8Array(4 + spec.length);
      writeU32(out, 0, spec.length);
      out.fill(0xee, 4);
      return out;
    }
    case 'large': {
      const out = new Uint8Array(HEADER_SIZE + 4);
      writeU32(out, 0, Math.min(MAX_U32, maxPacketSize + spec.over));
      writeU32(out, 4, spec.connId);
      return out;
    }
    case 'unknown':
      return frameOf(0, Uint8Array.of(spec.type, ...spec.extra));
    case 'truncated': {
      const full = [encodeNew(), encodeOpen(1), encodeDial(1, 1), encodeRefuse(1), encodeAccept(1, 1), encodeClose(1), encodePing()][spec.type]!;
      const need = full.length - HEADER_SIZE;
      const keep = spec.keep % need;
      return withLength(full.slice(0, HEADER_SIZE + keep));
    }
    case 'unexpected': {
      const id = resolveId(spec.id, ctx);
      if (spec.type === CommandType.Open) return encodeOpen(id);
      if (spec.type === CommandType.Refuse) return encodeRefuse(id);
      return encodeAccept(id, resolveRemote(spec.remote, ctx));
    }
    case 'garbage':
      return spec.bytes;
  }
}

/** A short description of a spec, for failure messages. */
export function describeSpec(spec: FrameSpec): string {
  return JSON.stringify(spec, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}
