/**
 * The server side of resumable sessions: every incoming virtual connection, from any link
 * to any gateway, is adopted here. Its first message decides what it is — a hello makes it
 * the carrier of a new session or of a resumed one; anything else makes it a plain virtual
 * connection, handed over with that message still to be read. The sessions live here, not
 * in any one link, so a client may come back through whichever gateway it reaches.
 */
import { SessionExpiredError } from '../../errors.js';
import type { Format } from '../format.js';
import type { VirtualConnection } from '../virtual-connection.js';
import {
  HandshakeOp,
  type Hello,
  SECRET_SIZE,
  decodeHello,
  encodeAnswer,
  encodeVersionAnswer,
  resumeProof,
  seqDistance,
} from './codec.js';
import type { ResolvedSessionOptions } from './options.js';
import { Session, type SessionDriver, sessionIdHex } from './session.js';
import { equalBytes } from './sha256.js';

/** Counts of what the host refused, for logs and tests. */
export interface SessionHostStats {
  /** Sessions opened. */
  opened: number;
  /** Resumes accepted. */
  resumed: number;
  /** Resumes of sessions this server does not have (answered Unknown). */
  unknown: number;
  /** Hellos refused: a wrong proof, a replayed attempt, a taken ID, a bad sequence number. */
  refused: number;
  /** First messages with the magic that were not well-formed hellos (the carrier was closed). */
  malformed: number;
  /** Sessions expired (not resumed within resumeTimeout). */
  expired: number;
}

export class SessionHost<T> {
  readonly options: ResolvedSessionOptions;
  readonly stats: SessionHostStats = { opened: 0, resumed: 0, unknown: 0, refused: 0, malformed: 0, expired: 0 };
  private readonly sessions = new Map<string, Session<T>>();
  private readonly pending = new Set<VirtualConnection<T>>();
  private closedFlag = false;

  /**
   * @param incoming where accepted connections go: plain ones, and new sessions' connections
   *   (a resumed session's connection is the one handed over when it was new).
   */
  constructor(
    options: ResolvedSessionOptions,
    private readonly format: Format<T>,
    private readonly recvQueue: number,
    private readonly incoming: (conn: VirtualConnection<T>, gateway: string) => void,
  ) {
    this.options = options;
  }

  /** Sessions held, live or suspended. */
  get size(): number {
    return this.sessions.size;
  }

  /** Takes an incoming virtual connection that arrived through `gateway`. */
  adopt(carrier: VirtualConnection<T>, gateway: string, maxMessageSize: number): void {
    if (this.closedFlag) {
      carrier.close();
      return;
    }
    let decided = false;
    this.pending.add(carrier);
    const timer = setTimeout(() => {
      if (decided) return;
      decided = true;
      this.pending.delete(carrier);
      carrier.divert(null);
      this.incoming(carrier, gateway); // silent: a plain connection whose client waits for the server
    }, this.options.helloTimeout);
    void carrier.closed.then(() => {
      if (decided) return;
      decided = true;
      this.pending.delete(carrier);
      clearTimeout(timer);
    });
    carrier.divert({
      onCarrierMessage: (bytes) => {
        if (decided) return;
        decided = true;
        this.pending.delete(carrier);
        clearTimeout(timer);
        let hello: Hello | null;
        try {
          hello = decodeHello(bytes);
        } catch {
          this.stats.malformed++;
          carrier.divert(null);
          carrier.close();
          return;
        }
        if (hello === null) {
          carrier.divert(null);
          carrier.deliver(bytes);
          this.incoming(carrier, gateway);
          return;
        }
        this.onHello(carrier, hello, bytes, gateway, maxMessageSize);
      },
    });
  }

  private onHello(carrier: VirtualConnection<T>, hello: Hello, bytes: Uint8Array, gateway: string, maxMessageSize: number): void {
    const raw = carrier as VirtualConnection<unknown>;
    if (hello.op === 'version') {
      this.stats.refused++;
      this.answerAndClose(raw, encodeVersionAnswer());
      return;
    }
    const hex = sessionIdHex(hello.sessionId);
    const existing = this.sessions.get(hex);
    if (hello.op === HandshakeOp.HelloNew) {
      if (existing !== undefined) {
        this.stats.refused++;
        this.answerAndClose(raw, encodeAnswer(HandshakeOp.Refused, hello.sessionId, 0));
        return;
      }
      const secret = new Uint8Array(SECRET_SIZE);
      globalThis.crypto.getRandomValues(secret);
      const session = new Session<T>(this, hello.sessionId, secret, this.options, this.format, this.recvQueue, maxMessageSize, carrier.connId, carrier.remoteId);
      this.sessions.set(hex, session);
      this.stats.opened++;
      raw.sendEncoded(encodeAnswer(HandshakeOp.Accepted, hello.sessionId, 0, secret));
      session.attach(raw, 0, gateway);
      this.incoming(session.conn, gateway);
      return;
    }
    // A resume: it must prove the secret, be newer than the last one, and ask for no data
    // that was never sent. Anything else is refused and changes nothing.
    if (existing === undefined) {
      this.stats.unknown++;
      this.answerAndClose(raw, encodeAnswer(HandshakeOp.Unknown, hello.sessionId, 0));
      return;
    }
    const fresh = seqDistance(hello.attempt, existing.attempt);
    if (
      !equalBytes(resumeProof(existing.secret, bytes), hello.proof) ||
      fresh === 0 ||
      fresh >= 0x80000000 ||
      !existing.acknowledgeable(hello.nextSeq)
    ) {
      this.stats.refused++;
      this.answerAndClose(raw, encodeAnswer(HandshakeOp.Refused, hello.sessionId, 0));
      return;
    }
    existing.attempt = hello.attempt;
    this.stats.resumed++;
    raw.sendEncoded(encodeAnswer(HandshakeOp.Resumed, hello.sessionId, existing.nextExpected));
    existing.attach(raw, hello.nextSeq, gateway);
  }

  private answerAndClose(carrier: VirtualConnection<unknown>, answer: Uint8Array): void {
    carrier.divert(null);
    try {
      carrier.sendEncoded(answer);
    } catch {
      // The carrier is already gone: nothing to answer.
    }
    carrier.close();
  }

  /** @internal SessionDriver: a session's carrier was lost; the client will come back (or not). */
  suspended(): void {}

  /** @internal SessionDriver */
  ended(session: Session<unknown>): void {
    if (this.sessions.get(session.idHex) === (session as Session<T>)) {
      this.sessions.delete(session.idHex);
      if (session.endedWith instanceof SessionExpiredError) this.stats.expired++;
    }
  }

  /** Ends every session with `reason` and refuses what arrives from now on. */
  close(reason: Error): void {
    this.closedFlag = true;
    for (const carrier of this.pending) carrier.close();
    this.pending.clear();
    for (const session of [...this.sessions.values()]) session.end(reason, true);
    this.sessions.clear();
  }
}
