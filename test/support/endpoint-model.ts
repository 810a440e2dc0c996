/**
 * A reference model of how an endpoint must react to what a gateway sends (docs/protocol.md §2,
 * §5, §6 and the endpoint's documented bounds), and random gateway→endpoint frames for
 * fuzzing it: valid answers, answers that make no sense (an Open nobody asked for, a
 * Refuse of an ID never dialed, an Accept of a connection already up), unknown and
 * truncated commands, commands only endpoints send, bad Lengths, garbage.
 */
import fc from 'fast-check';
import { ProtocolError, type ProtocolErrorCode } from '../../src/errors.js';
import {
  type Command,
  CommandType,
  FrameDecoder,
  HEADER_SIZE,
  MAX_U32,
  encodeAccept,
  encodeClose,
  encodeDataFrame,
  encodeDial,
  encodeNew,
  encodeOpen,
  encodePing,
  encodeRefuse,
  parseCommand,
  writeU32,
} from '../../src/protocol/index.js';

/** What became of one dial, as the model sees it. */
export type DialFate =
  | { state: 'opening' }
  | { state: 'dialing'; connId: number }
  | { state: 'up'; connId: number; remoteId: number }
  | { state: 'refused' };

export interface EndpointLimits {
  maxPacketSize: number;
  acceptBacklog: number;
  recvQueue: number;
}

/** The endpoint, as a specification. The test never reads, accepts or sends meanwhile. */
export class EndpointModel {
  readonly dials: DialFate[] = [];
  /** Indices into {@link dials} whose New awaits its Open, oldest first. */
  readonly opening: number[] = [];
  readonly dialing = new Map<number, number>();
  /** Live virtual connections → messages delivered to each (none is read). */
  readonly conns = new Map<number, number>();
  /** Incoming connections put in the accept backlog (the test never accepts). */
  backlog = 0;
  /** The Dial frames the endpoint must send, in order. */
  readonly dialsSent: { connId: number; remoteId: number }[] = [];
  /** Pings the endpoint must have answered. */
  pings = 0;
  /** The protocol error that closed the endpoint, if any. */
  error: ProtocolErrorCode | null = null;
  private readonly decoder: FrameDecoder;
  private readonly command: Command = { type: 0, connId: 0, remoteId: 0 };

  constructor(readonly limits: EndpointLimits) {
    this.decoder = new FrameDecoder(limits.maxPacketSize);
  }

  /** The application dialed `remoteId` (the endpoint sent a New). */
  dial(): number {
    this.dials.push({ state: 'opening' });
    this.opening.push(this.dials.length - 1);
    return this.dials.length - 1;
  }

  /** The remote ID of dial `i` (the test dials `1000 + i`). */
  static remoteOf(i: number): number {
    return 1000 + i;
  }

  /** The gateway sent `bytes`. */
  receive(bytes: Uint8Array): void {
    if (this.error !== null) return;
    try {
      this.decoder.push(bytes, { onFrame: (connId, buf, start, end) => this.frame(connId, buf, start, end) });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.error = err.code;
      this.decoder.stop();
    }
  }

  private frame(connId: number, buf: Uint8Array, start: number, end: number): boolean {
    if (connId !== 0) {
      const delivered = this.conns.get(connId);
      if (delivered !== undefined) {
        if (delivered >= this.limits.recvQueue) this.conns.delete(connId); // closed: ReceiveQueueFullError
        else this.conns.set(connId, delivered + 1);
      }
      return true; // stray data: dropped (and answered with Close)
    }
    const cmd = parseCommand(buf, start, end, 'endpoint', this.command);
    const id = cmd.connId;
    switch (cmd.type) {
      case CommandType.Open: {
        if (this.opening.length === 0 || (id !== 0 && (this.conns.has(id) || this.dialing.has(id)))) {
          throw new ProtocolError('ERR_UNKNOWN_CONN_ID', 'model: a senseless Open');
        }
        const i = this.opening.shift()!;
        if (id === 0) {
          this.dials[i] = { state: 'refused' };
        } else {
          this.dials[i] = { state: 'dialing', connId: id };
          this.dialing.set(id, i);
          this.dialsSent.push({ connId: id, remoteId: EndpointModel.remoteOf(i) });
        }
        break;
      }
      case CommandType.Refuse: {
        const i = this.dialing.get(id);
        if (i === undefined) throw new ProtocolError('ERR_UNKNOWN_CONN_ID', 'model: a Refuse of an ID never dialed');
        this.dialing.delete(id);
        this.dials[i] = { state: 'refused' };
        break;
      }
      case CommandType.Accept: {
        const i = this.dialing.get(id);
        if (i !== undefined) {
          this.dialing.delete(id);
          this.dials[i] = { state: 'up', connId: id, remoteId: cmd.remoteId };
          this.conns.set(id, 0);
        } else if (this.conns.has(id)) {
          throw new ProtocolError('ERR_UNKNOWN_CONN_ID', 'model: an Accept of a connection already up');
        } else if (this.backlog < this.limits.acceptBacklog) {
          this.backlog++;
          this.conns.set(id, 0);
        } // else: closed at once, past the backlog
        break;
      }
      case CommandType.Close: {
        if (this.conns.delete(id)) break;
        const i = this.dialing.get(id);
        if (i !== undefined) {
          this.dialing.delete(id);
          this.dials[i] = { state: 'refused' };
        }
        break;
      }
      default:
        this.pings++; // Ping: answered at once
        break;
    }
    return true;
  }
}

/** Which ConnID a gateway frame names. */
interface IdRef {
  k: 'dialing' | 'live' | 'fresh' | 'zero' | 'raw';
  i: number;
  raw: number;
}

export type GatewayFrameSpec =
  | { t: 'open' | 'refuse' | 'close'; id: IdRef }
  | { t: 'accept'; id: IdRef; remoteId: number }
  | { t: 'ping' }
  /** `repeat` data frames on one ID. */
  | { t: 'data'; id: IdRef; size: number; repeat: number }
  | { t: 'short'; length: number }
  | { t: 'large'; over: number }
  | { t: 'unknown'; type: number }
  | { t: 'truncated'; type: number; keep: number }
  | { t: 'endpointOnly'; type: number }
  | { t: 'garbage'; bytes: Uint8Array };

const idRef: fc.Arbitrary<IdRef> = fc.record({
  k: fc.constantFrom<IdRef['k']>('dialing', 'dialing', 'live', 'fresh', 'fresh', 'zero', 'raw'),
  i: fc.nat(32),
  raw: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: MAX_U32 })),
});

/** Random gateway→endpoint frames; `hostile` weighs the protocol violations. */
export function gatewayFrameArb(maxPacketSize: number, hostile: number): fc.Arbitrary<GatewayFrameSpec> {
  const valid = fc.oneof(
    fc.record({ t: fc.constantFrom('open' as const, 'refuse' as const, 'close' as const), id: idRef }),
    fc.record({ t: fc.constant('accept' as const), id: idRef, remoteId: fc.integer({ min: 0, max: MAX_U32 }) }),
    fc.constant<GatewayFrameSpec>({ t: 'ping' }),
    fc.record({
      t: fc.constant('data' as const),
      id: fc.oneof(idRef, fc.record({ k: fc.constant('live' as const), i: fc.nat(32), raw: fc.constant(1) })),
      size: fc.oneof(fc.nat(24), fc.constant(maxPacketSize - 4)),
      repeat: fc.integer({ min: 1, max: 6 }),
    }),
  );
  const bad = fc.oneof(
    fc.record({ t: fc.constant('short' as const), length: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ t: fc.constant('large' as const), over: fc.integer({ min: 1, max: MAX_U32 - maxPacketSize }) }),
    fc.record({ t: fc.constant('unknown' as const), type: fc.integer({ min: 7, max: 255 }) }),
    fc.record({ t: fc.constant('truncated' as const), type: fc.integer({ min: 0, max: 6 }), keep: fc.nat(8) }),
    fc.record({ t: fc.constant('endpointOnly' as const), type: fc.constantFrom(CommandType.New, CommandType.Dial) }),
    fc.record({ t: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  );
  return fc.oneof({ weight: 10, arbitrary: valid }, { weight: hostile, arbitrary: bad });
}

function resolve(ref: IdRef, model: EndpointModel): number {
  const pick = (list: number[]): number | undefined => (list.length === 0 ? undefined : list[ref.i % list.length]);
  let id: number | undefined;
  if (ref.k === 'dialing') id = pick([...model.dialing.keys()]);
  else if (ref.k === 'live') id = pick([...model.conns.keys()]);
  else if (ref.k === 'fresh') id = 50_000 + ref.i * 7 + model.dials.length * 131 + model.conns.size;
  else if (ref.k === 'zero') id = 0;
  return id ?? ref.raw;
}

function withLength(bytes: Uint8Array): Uint8Array {
  writeU32(bytes, 0, bytes.length - 4);
  return bytes;
}

/** The bytes of `spec`, IDs resolved against the model now. */
export function encodeGatewayFrame(spec: GatewayFrameSpec, model: EndpointModel): Uint8Array {
  const max = model.limits.maxPacketSize;
  switch (spec.t) {
    case 'open':
      return encodeOpen(resolve(spec.id, model));
    case 'refuse':
      return encodeRefuse(resolve(spec.id, model));
    case 'close':
      return encodeClose(resolve(spec.id, model));
    case 'accept':
      return encodeAccept(resolve(spec.id, model), spec.remoteId);
    case 'ping':
      return encodePing();
    case 'data': {
      const id = resolve(spec.id, model);
      const frame = encodeDataFrame(id === 0 ? MAX_U32 : id, new Uint8Array(spec.size).fill(0x5a));
      return Buffer.concat(Array.from({ length: spec.repeat }, () => frame));
    }
    case 'short': {
      const out = new Uint8Array(4 + spec.length);
      writeU32(out, 0, spec.length);
      return out;
    }
    case 'large': {
      const out = new Uint8Array(HEADER_SIZE);
      writeU32(out, 0, Math.min(MAX_U32, max + spec.over));
      return out;
    }
    case 'unknown':
      return encodeDataFrame(0, Uint8Array.of(spec.type, 1, 0, 0, 0));
    case 'truncated': {
      const full = [encodeNew(), encodeOpen(1), encodeDial(1, 1), encodeRefuse(1), encodeAccept(1, 1), encodeClose(1), encodePing()][spec.type]!;
      return withLength(full.slice(0, HEADER_SIZE + (spec.keep % (full.length - HEADER_SIZE))));
    }
    case 'endpointOnly':
      return spec.type === CommandType.New ? encodeNew() : encodeDial(1, 1);
    case 'garbage':
      return spec.bytes;
  }
}
