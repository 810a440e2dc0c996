import type { Format } from '../format.js';
import { type ConnectionOwner, sealOwner, VirtualConnection } from '../virtual-connection.js';

/** Where a resumable connection stands. */
export type SessionState = 'live' | 'suspended' | 'closed';

/** A change of a resumable connection's state, for {@link ResumableConnection.onStatus}. */
export type SessionStatusEvent =
  /** The carrying link was lost; sends are kept (within the window) until it resumes. */
  | { status: 'suspended'; gateway: string | null; reason: Error | undefined }
  /** Running again, over `gateway`, after `gapMs` ms suspended. */
  | { status: 'resumed'; gateway: string; gapMs: number }
  /** Closed for good; `reason` as in {@link VirtualConnection.closed}. */
  | { status: 'closed'; reason: Error | undefined };

/** What a resumable connection asks of the session that runs it. @internal */
export interface SessionControl extends ConnectionOwner {
  readonly state: SessionState;
  readonly gateway: string | null;
  /** The application read a message: it may be acknowledged. */
  consumed(): void;
}

/**
 * A virtual connection that survives lost links: when the link (or the gateway) carrying it
 * goes away it is *suspended*, not closed, and when a new link comes up it is *resumed* —
 * the same object, with every message delivered exactly once and in order at both ends.
 * `send()` keeps working while suspended, within the window (`WindowFullError` past it),
 * and `for await` simply continues. Get one from `endpoint.dial(id, { resumable: true })`
 * on an endpoint from `dialClient(addrs, { reconnect })`, or from `accept()` on a server
 * endpoint dialed with `resumable`.
 *
 * `connId` and `remoteId` are those of the current carrier (a client that came back
 * through another gateway has another client ID there).
 */
export class ResumableConnection<T = Uint8Array> extends VirtualConnection<T> {
  /** The session's ID, 32 hex digits (for logs; knowing it does not let anyone resume it). */
  readonly sessionId: string;
  private readonly control: SessionControl;
  private listeners: ((event: SessionStatusEvent) => void)[] = [];

  /** Not for users: made by the session layer (see {@link ResumableConnection.forSession}). */
  private constructor(control: SessionControl, sessionId: string, connId: number, remoteId: number, format: Format<T>, recvQueue: number) {
    super(sealOwner(control), connId, remoteId, format, recvQueue);
    this.control = control;
    this.sessionId = sessionId;
  }

  /** @internal The connection of a session. */
  static forSession<T>(control: SessionControl, sessionId: string, connId: number, remoteId: number, format: Format<T>, recvQueue: number): ResumableConnection<T> {
    return new ResumableConnection<T>(control, sessionId, connId, remoteId, format, recvQueue);
  }

  /** `live`, `suspended` (waiting to resume), or `closed`. */
  get status(): SessionState {
    return this.control.state;
  }

  /** The gateway the connection runs through now (`null` while suspended). */
  get gateway(): string | null {
    return this.control.gateway;
  }

  /**
   * Calls `listener` on every change of {@link status}. Returns a function that removes it.
   * A listener that throws does not disturb the connection.
   */
  onStatus(listener: (event: SessionStatusEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** @internal */
  emitStatus(event: SessionStatusEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /** @internal */
  protected override consumed(): void {
    this.control.consumed();
  }

  /** @internal */
  moveTo(connId: number, remoteId: number): void {
    this.rebind(connId, remoteId);
  }
}
