/**
 * One resumable session: the state both ends keep so that a virtual connection outlives
 * the links that carry it (docs/sessions.md). It owns the application's
 * {@link ResumableConnection}, numbers what it sends, keeps it in a
 * {@link RetransmitWindow} until acknowledged, delivers what arrives exactly once and in
 * order, and moves from carrier to carrier (each carrier: one plain virtual connection
 * through one gateway). Which carrier comes next is its driver's business: the client
 * dials one ({@link ClientSession}), the server is handed one by a resume hello
 * (SessionHost).
 */
import { AbortError, ConnectionClosedError, ReceiveQueueFullError, TimeoutError, SendQueueFullError, SessionExpiredError, SessionProtocolError, WindowFullError } from '../../errors.js';
import { Deque } from '../deque.js';
import type { Format } from '../format.js';
import { queueWait, type WaitOptions, waitOptionsOf } from '../wait.js';
import type { CarrierSink, OwnedConnection, VirtualConnection } from '../virtual-connection.js';
import {
  DATA_HEADER_SIZE,
  type StreamMessage,
  StreamType,
  decodeStream,
  encodeAck,
  encodeClose,
  encodeData,
  seqDistance,
  setAck,
} from './codec.js';
import type { ResolvedSessionOptions } from './options.js';
import { ResumableConnection, type SessionControl, type SessionState } from './resumable-connection.js';
import { RetransmitWindow } from './retransmit-window.js';

/** Running, over a carrier or waiting for one. */
const OPEN = 0;
/** The application closed; the CLOSE waits in the window for its acknowledgement. */
const CLOSING = 1;
const ENDED = 2;

/** What a session tells whoever drives it. */
export interface SessionDriver {
  /** The carrier was lost (client: find another). */
  suspended(session: Session<unknown>): void;
  /** The session is over; forget it. */
  ended(session: Session<unknown>): void;
}

/** A carrier: a plain virtual connection with raw bytes. */
export type Carrier = VirtualConnection<unknown>;

/** Hex of a session ID. */
export function sessionIdHex(id: Uint8Array): string {
  let s = '';
  for (const byte of id) s += byte.toString(16).padStart(2, '0');
  return s;
}

export class Session<T> {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly options: ResolvedSessionOptions;
  /** The application's connection; created on first attach. */
  readonly conn: ResumableConnection<T>;
  /** The session secret (the client learns it from the Accepted answer). */
  secret: Uint8Array;
  /** Client: resumes sent so far. Server: the highest attempt accepted. */
  attempt = 0;

  private readonly driver: SessionDriver;
  private readonly window: RetransmitWindow;
  private carrier: Carrier | null = null;
  private carrierGateway: string | null = null;
  private phase = OPEN;
  private recvNext = 0;
  private unacked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private suspendedAt = 0;
  private readonly drainWaiters = new Deque<{ resolve(): void; reject(err: Error): void }>();
  private readonly scratch: StreamMessage = { type: StreamType.Ack, seq: 0, ack: 0, payload: null };
  private endReason: Error | undefined = undefined;
  /** Message size limit of the application connection: the carrier's less the DATA header. */
  readonly maxMessageSize: number;

  constructor(
    driver: SessionDriver,
    id: Uint8Array,
    secret: Uint8Array,
    options: ResolvedSessionOptions,
    format: Format<T>,
    recvQueue: number,
    maxCarrierMessage: number,
    connId: number,
    remoteId: number,
  ) {
    this.driver = driver;
    this.id = id;
    this.idHex = sessionIdHex(id);
    this.secret = secret;
    this.options = options;
    this.maxMessageSize = maxCarrierMessage - DATA_HEADER_SIZE;
    this.window = new RetransmitWindow(options.windowMessages, options.windowBytes);
    this.conn = ResumableConnection.forSession<T>(this, this.idHex, connId, remoteId, format, recvQueue);
  }

  // ---- SessionControl (what the application's connection sees) ----

  get state(): SessionState {
    return this.phase === ENDED ? 'closed' : this.carrier === null ? 'suspended' : 'live';
  }

  get gateway(): string | null {
    return this.carrier === null ? null : this.carrierGateway;
  }

  /** Why the session ended (`undefined` while open, or after a clean close). */
  get endedWith(): Error | undefined {
    return this.endReason;
  }

  /** True after the application closed it, while its CLOSE waits to be acknowledged. */
  get isClosing(): boolean {
    return this.phase === CLOSING;
  }

  /** True once over. */
  get isEnded(): boolean {
    return this.phase === ENDED;
  }

  /**
   * Everything before this sequence number was read by the application: what this side
   * acknowledges, and where a resume asks the peer to start again (messages received but
   * not yet read stay in the peer's window, so the receive queue never holds more than the
   * peer's window; the ones resent that are still queued here are skipped).
   */
  get nextExpected(): number {
    return (this.recvNext - this.conn.queuedMessages) >>> 0;
  }

  /** True when the sequence number `ack` from the peer is one this side could have sent. */
  acknowledgeable(ack: number): boolean {
    return seqDistance(ack, this.window.startSeq) <= this.window.length;
  }

  /** Messages waiting in the retransmit window. */
  get unacknowledged(): number {
    return this.window.length;
  }

  /** @internal ConnectionOwner: one application message. */
  sendFrame(_connId: number, payload: Uint8Array): boolean {
    if (this.phase !== OPEN) throw new ConnectionClosedError('the virtual connection is closed');
    const size = DATA_HEADER_SIZE + payload.length;
    if (!this.window.fits(size)) {
      const w = this.window;
      throw new WindowFullError(`${w.length} of ${w.maxMessages} messages, ${w.bytes} of ${w.maxBytes} bytes`);
    }
    const message = encodeData(this.window.nextSeq, this.nextExpected, payload);
    this.window.push(message);
    let ok = !this.window.pressing;
    if (this.carrier !== null) ok = this.transmit(message) && ok;
    return ok;
  }

  /** @internal ConnectionOwner: the application closed its connection. */
  closeConnection(conn: OwnedConnection, reason: Error | undefined, discardQueued: boolean): void {
    conn.terminate(reason, discardQueued);
    if (this.phase !== OPEN) return;
    this.phase = CLOSING;
    const message = encodeClose(this.window.nextSeq, this.nextExpected);
    this.window.push(message); // a CLOSE always fits: nothing else follows it
    if (this.carrier !== null) this.transmit(message);
  }

  /**
   * @internal ConnectionOwner: resolves when the window is below half and the link drained
   * (`options` as for any wait: given up on with `AbortError` or `TimeoutError`).
   */
  drained(options?: WaitOptions): Promise<void> {
    const wait = waitOptionsOf('drained', options);
    if (wait instanceof Error) return Promise.reject(wait);
    if (this.phase === ENDED || this.phase === CLOSING) return Promise.reject(this.closedError());
    if (!this.window.pressing) return this.carrier === null ? Promise.resolve() : this.carrier.drained(options).catch(ignoreUnlessGivenUp);
    return queueWait(this.drainWaiters, wait, 'drained()', 'the unacknowledged window did not drain');
  }

  // ---- Carriers ----

  /**
   * Runs the session over `carrier` from now on, after its handshake: the peer expects
   * `peerNext` next, so everything from there is sent again, then new messages follow.
   * Returns false (and ends the session) when `peerNext` acknowledges what was never sent.
   */
  attach(carrier: Carrier, peerNext: number, gateway: string): boolean {
    if (this.phase === ENDED) {
      carrier.close();
      return false;
    }
    const old = this.carrier;
    if (old !== null && old !== carrier) {
      this.carrier = null;
      old.divert(null);
      old.close();
    }
    if (!this.acknowledge(peerNext)) {
      carrier.close();
      this.end(new SessionProtocolError(`the peer resumed at sequence number ${peerNext}, outside what was sent`));
      return false;
    }
    if (this.phase === ENDED) {
      carrier.close(); // the CLOSE was acknowledged by the resume itself
      return true;
    }
    const wasSuspended = old === null;
    this.unacked = 0;
    this.carrier = carrier;
    this.carrierGateway = gateway;
    this.conn.moveTo(carrier.connId, carrier.remoteId);
    carrier.divert(this);
    void carrier.closed.then(() => this.carrierClosed(carrier));
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const ack = this.nextExpected;
    let ok = true;
    this.window.forEach((message) => {
      if (!ok) return;
      setAck(message, ack);
      ok = this.transmit(message, true);
    });
    if (this.carrier === carrier && wasSuspended && this.suspendedAt !== 0) {
      this.conn.emitStatus({ status: 'resumed', gateway, gapMs: Date.now() - this.suspendedAt });
    }
    if (this.carrier === carrier) this.resolveDrainWaiters();
    return true;
  }

  /** The current carrier closed (for any reason): suspend, unless the session is over. */
  private carrierClosed(carrier: Carrier): void {
    if (this.carrier !== carrier) return;
    this.carrier = null;
    if (this.phase === ENDED) return;
    this.suspend(undefined);
  }

  /** Drops the current carrier (it stopped carrying) and suspends. */
  dropCarrier(reason: Error | undefined): void {
    const carrier = this.carrier;
    if (carrier === null) return;
    this.carrier = null;
    carrier.divert(null);
    carrier.close();
    if (this.phase !== ENDED) this.suspend(reason);
  }

  /** Starts the clock, if not already running: the session is waiting for a carrier. */
  suspend(reason: Error | undefined): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.expiryTimer === undefined) {
      this.suspendedAt = Date.now();
      this.expiryTimer = setTimeout(sessionExpired, this.options.resumeTimeout, this);
      this.conn.emitStatus({ status: 'suspended', gateway: this.carrierGateway, reason });
    }
    this.driver.suspended(this as Session<unknown>);
  }

  /** @internal Timer: nobody resumed the session in time. */
  expire(): void {
    this.expiryTimer = undefined;
    this.end(new SessionExpiredError(this.options.resumeTimeout));
  }

  /** Sends `message` on the current carrier; on a carrier that cannot take it, drops the carrier. */
  private transmit(message: Uint8Array, retransmit = false): boolean {
    const carrier = this.carrier!;
    // The message carries the acknowledgement. A pending ACK timer stays: when it fires with
    // nothing new to acknowledge it sends nothing (cheaper than a clearTimeout per message).
    if (!retransmit) this.unacked = 0;
    try {
      return carrier.sendEncoded(message);
    } catch (err) {
      // The carrier closed under us, or its link's send queue is full: this link is not
      // carrying any more. The message stays in the window for the next carrier.
      this.dropCarrier(err instanceof SendQueueFullError || err instanceof ConnectionClosedError ? err : undefined);
      return false;
    }
  }

  // ---- What arrives on the carrier ----

  /** @internal CarrierSink: one stream message from the peer. */
  onCarrierMessage(bytes: Uint8Array): void {
    if (this.phase === ENDED) return;
    let m: StreamMessage;
    try {
      m = decodeStream(bytes, this.scratch);
    } catch (err) {
      this.end(err as Error);
      return;
    }
    // A message before the next expected one is a resend of one still queued here
    // (resumes restart from what the application read): skipped, but its ack counts.
    const duplicate = m.type !== StreamType.Ack && m.seq !== this.recvNext;
    if (duplicate && seqDistance(this.recvNext, m.seq) >= 0x80000000) {
      this.end(new SessionProtocolError(`sequence number ${m.seq} arrived when ${this.recvNext} was expected`));
      return;
    }
    if (!this.acknowledge(m.ack)) {
      this.end(new SessionProtocolError(`the peer acknowledged sequence number ${m.ack}, which was never sent`));
      return;
    }
    if (m.type === StreamType.Ack || duplicate || this.phase === ENDED) return;
    this.recvNext = (this.recvNext + 1) >>> 0;
    if (m.type === StreamType.Close) {
      if (this.carrier !== null) this.transmit(encodeAck(this.recvNext));
      this.end(new ConnectionClosedError('closed by the remote end'), false);
      return;
    }
    if (this.phase !== OPEN) {
      this.consumed(); // closing here: nobody reads, but the peer's window must move
      return;
    }
    if (!this.conn.deliver(m.payload!)) this.end(new ReceiveQueueFullError(this.conn.queuedMessages), true);
  }

  /** @internal SessionControl: the application read a message; acknowledge soon (or now, every ackEvery). */
  consumed(): void {
    if (this.carrier === null || this.phase === ENDED) return; // a resume's hello says it
    if (++this.unacked >= this.options.ackEvery) this.sendAck();
    else if (this.ackTimer === undefined) this.ackTimer = setTimeout(ackDue, this.options.ackDelay, this);
  }

  /** Releases what the peer acknowledged; false for an acknowledgement of what was never sent. */
  private acknowledge(ack: number): boolean {
    const released = this.window.acknowledge(ack);
    if (released < 0) return false;
    if (released > 0) {
      if (this.phase === CLOSING && this.window.length === 0) this.end(undefined);
      else if (!this.window.pressing) this.resolveDrainWaiters();
    }
    return true;
  }

  /** @internal Sends an acknowledgement of everything received, unless traffic already carried it. */
  sendAck(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.carrier === null || this.unacked === 0) return;
    this.transmit(encodeAck(this.nextExpected));
  }

  private resolveDrainWaiters(): void {
    if (this.drainWaiters.length === 0 || this.window.pressing) return;
    for (const w of this.drainWaiters.drain()) w.resolve();
  }

  private closedError(): ConnectionClosedError {
    const reason = this.endReason;
    return new ConnectionClosedError(reason === undefined ? 'the virtual connection was closed' : `the virtual connection is closed: ${reason.message}`, {
      cause: reason,
    });
  }

  // ---- The end ----

  /**
   * Ends the session for good: the application's connection closes with `reason` (messages
   * that arrived are still readable), the carrier closes after what is queued on it. With
   * `tellPeer`, a CLOSE goes first, so the peer ends too rather than trying to resume.
   */
  end(reason: Error | undefined, tellPeer = false): void {
    if (this.phase === ENDED) return;
    const wasClosing = this.phase === CLOSING;
    if (tellPeer && this.phase === OPEN && this.carrier !== null) this.transmit(encodeClose(this.window.nextSeq, this.nextExpected));
    this.phase = ENDED;
    this.endReason = reason;
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.ackTimer = undefined;
    this.expiryTimer = undefined;
    this.window.clear();
    const carrier = this.carrier;
    this.carrier = null;
    if (carrier !== null) {
      carrier.divert(null);
      carrier.close();
    }
    this.conn.terminate(reason, false);
    if (this.drainWaiters.length > 0) {
      const err = this.closedError();
      for (const w of this.drainWaiters.drain()) w.reject(err);
    }
    this.driver.ended(this as Session<unknown>);
    this.conn.emitStatus({ status: 'closed', reason: wasClosing ? undefined : reason });
  }
}

function ackDue(session: Session<unknown>): void {
  session.sendAck();
}

function sessionExpired(session: Session<unknown>): void {
  session.expire();
}

/** A carrier that closed while waited on is the session's business (it resumes); a wait given up is the caller's. */
function ignoreUnlessGivenUp(err: unknown): void {
  if (err instanceof AbortError || err instanceof TimeoutError) throw err;
}
