/**
 * The client side of resumable sessions: opens them (dial, hello, Accepted) and, whenever
 * one loses its carrier, finds it another — over the endpoint's current link, or the next
 * one once it has reconnected — with a resume hello that proves the session secret.
 * Redials wait with backoff and jitter; the session's own `resumeTimeout` bounds the whole.
 */
import { DialRefusedError, SessionLostError, type SessionProtocolError, SessionUnsupportedError } from '../../errors.js';
import type { Endpoint } from '../endpoint.js';
import { type Answer, HandshakeOp, SESSION_ID_SIZE, SESSION_VERSION, decodeAnswer, encodeHelloNew, encodeHelloResume } from './codec.js';
import type { ResolvedSessionOptions } from './options.js';
import { ReconnectPolicy, type ResolvedReconnectOptions } from './reconnect-policy.js';
import type { ResumableConnection } from './resumable-connection.js';
import { type Carrier, Session, type SessionDriver } from './session.js';
import { equalBytes } from './sha256.js';

/** A link to a gateway: the endpoint over it and the gateway's address. */
export interface Link<T> {
  endpoint: Endpoint<T>;
  gateway: string;
}

/** Where client sessions get links from. */
export interface LinkSource<T> {
  /** The current link, or the next one; rejects once the endpoint is closed for good. */
  link(): Promise<Link<T>>;
}

type Exchange<R> = R | 'closed' | 'timeout';

/**
 * Sends `hello` on `carrier` and hands the first message back to `onAnswer`, synchronously
 * (so a carrier it attaches gets the messages that follow in the same read).
 */
function exchange<R>(carrier: Carrier, hello: Uint8Array, timeoutMs: number, onAnswer: (bytes: Uint8Array) => R): Promise<Exchange<R>> {
  return new Promise((resolve) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      carrier.divert(null);
      carrier.close();
      resolve('timeout');
    }, timeoutMs);
    void carrier.closed.then(() => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve('closed');
    });
    carrier.divert({
      onCarrierMessage: (bytes) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(onAnswer(bytes));
      },
    });
    try {
      carrier.sendEncoded(hello);
    } catch {
      carrier.close();
    }
  });
}

function answerOf(bytes: Uint8Array): Answer | null | SessionProtocolError {
  try {
    return decodeAnswer(bytes);
  } catch (err) {
    return err as SessionProtocolError;
  }
}

export class ClientSessions<T> {
  private readonly servers = new Map<Session<T>, number>();
  private readonly resuming = new Set<Session<T>>();
  private closingWaiters: (() => boolean)[] = [];
  private readonly pauses = new Map<Session<T>, { timer: ReturnType<typeof setTimeout>; resolve(): void }>();

  constructor(
    readonly options: ResolvedSessionOptions,
    private readonly links: LinkSource<T>,
    private readonly reconnect: ResolvedReconnectOptions,
  ) {}

  /** Sessions open (live or suspended). */
  get size(): number {
    return this.servers.size;
  }

  /**
   * Opens a session to `serverId` over `link`. Rejects with the dial's errors,
   * `SessionUnsupportedError` (the server does not speak the protocol), or
   * `DialRefusedError` (it refused the session).
   */
  async open(link: Link<T>, serverId: number, dial: { signal?: AbortSignal; timeout?: number }): Promise<ResumableConnection<T>> {
    const { endpoint, gateway } = link;
    const carrier = (await endpoint.dial(serverId, dial)) as Carrier;
    const id = new Uint8Array(SESSION_ID_SIZE);
    globalThis.crypto.getRandomValues(id);
    const what = `server ${serverId}`;
    const result = await exchange<Session<T> | Error>(carrier, encodeHelloNew(id), this.options.helloTimeout, (bytes) => {
      const answer = answerOf(bytes);
      if (answer instanceof Error || answer === null || answer.op !== HandshakeOp.Accepted || !equalBytes(answer.sessionId, id)) {
        carrier.divert(null);
        carrier.close();
        if (answer instanceof Error) {
          return new SessionUnsupportedError(serverId, `${what} answered the session hello with something that is not an answer (${answer.message})`);
        }
        if (answer === null) return new SessionUnsupportedError(serverId, `${what} answered the session hello with other data: it does not accept resumable connections`);
        if (answer.op === HandshakeOp.Version) {
          return new SessionUnsupportedError(serverId, `${what} speaks session protocol version ${answer.version}, not ${SESSION_VERSION}`);
        }
        return new DialRefusedError(serverId, `${what} refused the new session`);
      }
      const session = new Session<T>(
        this,
        id,
        answer.secret,
        this.options,
        endpoint.options.format,
        endpoint.options.recvQueue,
        endpoint.maxMessageSize,
        carrier.connId,
        carrier.remoteId,
      );
      this.servers.set(session, serverId);
      session.attach(carrier, answer.nextSeq, gateway);
      return session;
    });
    if (result === 'timeout') {
      throw new SessionUnsupportedError(serverId, `${what} did not answer the session hello within ${this.options.helloTimeout} ms: does it accept resumable connections?`);
    }
    if (result === 'closed') {
      throw new SessionUnsupportedError(serverId, `${what} closed the connection without answering the session hello`);
    }
    if (result instanceof Error) throw result;
    return result.conn;
  }

  /** @internal SessionDriver: find the session another carrier. */
  suspended(session: Session<unknown>): void {
    const s = session as Session<T>;
    if (!this.resuming.has(s) && this.servers.has(s)) void this.resume(s);
  }

  /**
   * Resolves once no session is left closing (each closed one's last messages and CLOSE
   * acknowledged), or after `ms`.
   */
  closingDone(ms: number): Promise<void> {
    if (![...this.servers.keys()].some((s) => s.isClosing)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiter = (): boolean => {
        if ([...this.servers.keys()].some((s) => s.isClosing)) return false;
        done();
        return true;
      };
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.closingWaiters.push(waiter);
    });
  }

  /** @internal SessionDriver */
  ended(session: Session<unknown>): void {
    const s = session as Session<T>;
    this.servers.delete(s);
    if (this.closingWaiters.length > 0) this.closingWaiters = this.closingWaiters.filter((w) => !w());
    const pause = this.pauses.get(s);
    if (pause !== undefined) {
      clearTimeout(pause.timer);
      this.pauses.delete(s);
      pause.resolve();
    }
  }

  /** Ends every session with `reason`, telling each live peer. */
  close(reason: Error): void {
    for (const session of [...this.servers.keys()]) session.end(reason, true);
  }

  private async resume(session: Session<T>): Promise<void> {
    this.resuming.add(session);
    const policy = new ReconnectPolicy(this.reconnect);
    try {
      while (!session.isEnded) {
        let link: Link<T>;
        try {
          link = await this.links.link();
        } catch {
          return; // the endpoint closed; it ends its sessions
        }
        if (session.isEnded) return;
        const serverId = this.servers.get(session)!;
        let carrier: Carrier | null = null;
        try {
          carrier = (await link.endpoint.dial(serverId, { timeout: this.options.helloTimeout })) as Carrier;
        } catch {
          // No such server right now (it is reconnecting), or the link went: try again.
        }
        if (carrier !== null) {
          if (session.isEnded) {
            carrier.close();
            return;
          }
          if ((await this.tryResume(session, carrier, link.gateway)) !== 'retry') {
            policy.reset();
            return;
          }
        }
        await this.pause(session, policy.nextDelay());
      }
    } finally {
      this.resuming.delete(session);
    }
  }

  private async tryResume(session: Session<T>, carrier: Carrier, gateway: string): Promise<'resumed' | 'lost' | 'retry'> {
    session.attempt = (session.attempt + 1) >>> 0;
    const hello = encodeHelloResume(session.id, session.nextExpected, session.attempt, session.secret);
    const result = await exchange<'resumed' | 'lost' | 'retry'>(carrier, hello, this.options.helloTimeout, (bytes) => {
      const answer = answerOf(bytes);
      if (answer !== null && !(answer instanceof Error) && answer.op === HandshakeOp.Resumed && equalBytes(answer.sessionId, session.id)) {
        return session.attach(carrier, answer.nextSeq, gateway) ? 'resumed' : 'lost';
      }
      carrier.divert(null);
      carrier.close();
      if (answer !== null && !(answer instanceof Error) && (answer.op === HandshakeOp.Unknown || answer.op === HandshakeOp.Refused)) {
        session.end(
          new SessionLostError(
            answer.op === HandshakeOp.Unknown
              ? `server ${carrier.remoteId} no longer has the session (it restarted, or expired it)`
              : `server ${carrier.remoteId} refused to resume the session`,
          ),
        );
        return 'lost';
      }
      if (answer === null || answer instanceof Error) {
        session.end(answer ?? new SessionLostError(`server ${carrier.remoteId} answered the resume with other data`));
        return 'lost';
      }
      return 'retry';
    });
    return result === 'closed' || result === 'timeout' ? 'retry' : result;
  }

  private pause(session: Session<T>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (session.isEnded) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.pauses.delete(session);
        resolve();
      }, ms);
      this.pauses.set(session, { timer, resolve });
    });
  }
}

