/**
 * Every error fastway raises is a {@link FastwayError} with a stable `code`, so callers
 * can branch on `err.code` (or `instanceof`) without parsing messages. The codes are part
 * of the public API and are listed in docs/api.md.
 */

import type { ClusterErrorCode } from './cluster/error-codes.js';

/** Codes of {@link ListenError}. */
export type ListenErrorCode = 'ERR_ADDRESS_IN_USE' | 'ERR_LISTEN';

/**
 * Every code a {@link FastwayError} can have. Each class narrows `code` to its own
 * literal(s), so `switch (err.code)` on a `FastwayError` (or on one class) narrows, and a
 * misspelt `case` is a compile error.
 */
export type FastwayErrorCode =
  | ProtocolErrorCode
  | ListenErrorCode
  | ClusterErrorCode
  | 'ERR_INVALID_OPTION'
  | 'ERR_AUTH_FAILED'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_CONNECT'
  | 'ERR_DIAL_REFUSED'
  | 'ERR_DIAL_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_TIMEOUT'
  | 'ERR_ENDPOINT_CLOSED'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_PING_TIMEOUT'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_RECV_QUEUE_FULL'
  | 'ERR_SEND_QUEUE_FULL'
  | 'ERR_FORMAT'
  | SessionErrorCode;

/** Codes of the resumable-session errors (docs/sessions.md). */
export type SessionErrorCode =
  | 'ERR_SESSION_PROTOCOL'
  | 'ERR_SESSION_EXPIRED'
  | 'ERR_SESSION_LOST'
  | 'ERR_SESSION_UNSUPPORTED'
  | 'ERR_WINDOW_FULL'
  | 'ERR_GATEWAYS_UNREACHABLE';

/** Base class of every fastway error. `code` never changes between releases. */
export class FastwayError extends Error {
  readonly code: FastwayErrorCode;
  constructor(code: FastwayErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Codes of {@link ProtocolError}: what rule of the wire protocol a peer broke. */
export type ProtocolErrorCode =
  /** A frame's Length is below 4 (it must at least hold the ConnID). */
  | 'ERR_FRAME_TOO_SHORT'
  /** A frame's Length is over maxPacketSize. */
  | 'ERR_FRAME_TOO_LARGE'
  /** A command is shorter than its type requires. */
  | 'ERR_COMMAND_TRUNCATED'
  /** A command type that does not exist. */
  | 'ERR_UNKNOWN_COMMAND'
  /** A command that this side of the connection never receives (e.g. Open from an endpoint). */
  | 'ERR_UNEXPECTED_COMMAND'
  /** Data on a virtual connection the sender is not an end of. */
  | 'ERR_FORGED_CONN_ID'
  /** A gateway told an endpoint about a virtual connection it never dialed or was never offered. */
  | 'ERR_UNKNOWN_CONN_ID'
  /** A text WebSocket message: frames travel in binary messages only. */
  | 'ERR_TEXT_MESSAGE'
  /** A WebSocket message that does not end on a frame boundary (or holds no frame). */
  | 'ERR_PARTIAL_FRAME'
  /** A WebSocket message broke the WebSocket protocol itself (bad opcode, unmasked, bad close code...). */
  | 'ERR_WEBSOCKET_PROTOCOL';

/** A peer broke the wire protocol. The physical connection it arrived on is closed. */
export class ProtocolError extends FastwayError {
  declare readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string) {
    super(code, message);
  }
}

/** An option is missing, of the wrong type, or out of its accepted range. */
export class InvalidOptionError extends FastwayError {
  declare readonly code: 'ERR_INVALID_OPTION';
  /** The option's name, e.g. `client.maxConn`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', `${option}: ${message}`);
    this.option = option;
  }
}

/** The server handshake failed: the gateway closed or stayed silent, or rejected the key. */
export class AuthError extends FastwayError {
  declare readonly code: 'ERR_AUTH_FAILED';
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_AUTH_FAILED', message, options);
  }
}

/** The server handshake did not finish within `authTimeout`. */
export class HandshakeTimeoutError extends FastwayError {
  declare readonly code: 'ERR_HANDSHAKE_TIMEOUT';
  constructor(message: string) {
    super('ERR_HANDSHAKE_TIMEOUT', message);
  }
}

/** The physical connection to the gateway could not be opened. */
export class ConnectError extends FastwayError {
  declare readonly code: 'ERR_CONNECT';
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_CONNECT', message, options);
  }
}

/** The gateway refused a dial (unknown remote, a limit reached, or `Open(0)`). */
export class DialRefusedError extends FastwayError {
  declare readonly code: 'ERR_DIAL_REFUSED';
  /** The ID that was dialed. */
  readonly remoteId: number;
  constructor(remoteId: number, message: string) {
    super('ERR_DIAL_REFUSED', message);
    this.remoteId = remoteId;
  }
}

/** A dial got no answer within its `timeout`. */
export class DialTimeoutError extends FastwayError {
  declare readonly code: 'ERR_DIAL_TIMEOUT';
  readonly remoteId: number;
  constructor(remoteId: number, timeoutMs: number) {
    super('ERR_DIAL_TIMEOUT', `dial of ${remoteId} got no answer within ${timeoutMs} ms`);
    this.remoteId = remoteId;
  }
}

/** An operation was cancelled through its `AbortSignal`. */
export class AbortError extends FastwayError {
  declare readonly code: 'ERR_ABORTED';
  constructor(message = 'the operation was aborted', options?: ErrorOptions) {
    super('ERR_ABORTED', message, options);
  }
}

/**
 * A wait given a `timeout` (`receive`, `accept`, `drained`) ran out of time. Nothing was
 * taken: a message or connection that arrives later goes to the next wait.
 */
export class TimeoutError extends FastwayError {
  declare readonly code: 'ERR_TIMEOUT';
  constructor(message: string) {
    super('ERR_TIMEOUT', message);
  }
}

/** The endpoint is closed (by the application, the gateway, or an error); see `cause`. */
export class EndpointClosedError extends FastwayError {
  declare readonly code: 'ERR_ENDPOINT_CLOSED';
  constructor(message = 'the endpoint is closed', options?: ErrorOptions) {
    super('ERR_ENDPOINT_CLOSED', message, options);
  }
}

/** The virtual connection is closed; see `cause` for why, when known. */
export class ConnectionClosedError extends FastwayError {
  declare readonly code: 'ERR_CONNECTION_CLOSED';
  constructor(message = 'the virtual connection is closed', options?: ErrorOptions) {
    super('ERR_CONNECTION_CLOSED', message, options);
  }
}

/** The gateway sent nothing for `pingTimeout`: it is dead or the TCP path is half-open. */
export class PingTimeoutError extends FastwayError {
  declare readonly code: 'ERR_PING_TIMEOUT';
  constructor(timeoutMs: number) {
    super('ERR_PING_TIMEOUT', `the gateway sent nothing for ${timeoutMs} ms`);
  }
}

/** A message is larger than `maxPacketSize - 4` bytes once encoded; nothing was sent. */
export class MessageTooLargeError extends FastwayError {
  declare readonly code: 'ERR_MESSAGE_TOO_LARGE';
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super('ERR_MESSAGE_TOO_LARGE', `message of ${size} bytes is over the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** The application did not read a virtual connection fast enough; it was closed. */
export class ReceiveQueueFullError extends FastwayError {
  declare readonly code: 'ERR_RECV_QUEUE_FULL';
  constructor(limit: number) {
    super('ERR_RECV_QUEUE_FULL', `more than ${limit} messages waited unread; the virtual connection was closed`);
  }
}

/** The outbound queue to the gateway is over its bound. */
export class SendQueueFullError extends FastwayError {
  declare readonly code: 'ERR_SEND_QUEUE_FULL';
  constructor(limit: number) {
    super('ERR_SEND_QUEUE_FULL', `more than ${limit} bytes wait to be sent to the gateway`);
  }
}

/** A message could not be encoded or decoded by the connection's format. */
export class FormatError extends FastwayError {
  declare readonly code: 'ERR_FORMAT';
  /** The bytes that failed to decode (for a decode failure). */
  readonly bytes: Uint8Array | undefined;
  constructor(message: string, bytes?: Uint8Array, options?: ErrorOptions) {
    super('ERR_FORMAT', message, options);
    this.bytes = bytes;
  }
}

/** The gateway could not bind one of its listeners. */
export class ListenError extends FastwayError {
  declare readonly code: ListenErrorCode;
  constructor(code: ListenErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

// ---- Resumable sessions (docs/sessions.md) ----

/** A peer broke the in-band session protocol of a resumable virtual connection; the session ended. */
export class SessionProtocolError extends FastwayError {
  declare readonly code: 'ERR_SESSION_PROTOCOL';
  constructor(message: string) {
    super('ERR_SESSION_PROTOCOL', message);
  }
}

/** A suspended resumable virtual connection was not resumed within `resumeTimeout`. */
export class SessionExpiredError extends FastwayError {
  declare readonly code: 'ERR_SESSION_EXPIRED';
  constructor(timeoutMs: number) {
    super('ERR_SESSION_EXPIRED', `the session was not resumed within ${timeoutMs} ms`);
  }
}

/** The server no longer has the session (it restarted, or expired it): it cannot be resumed. */
export class SessionLostError extends FastwayError {
  declare readonly code: 'ERR_SESSION_LOST';
  constructor(message: string) {
    super('ERR_SESSION_LOST', message);
  }
}

/** A resumable dial reached a server that does not speak the session protocol (or another version of it). */
export class SessionUnsupportedError extends FastwayError {
  declare readonly code: 'ERR_SESSION_UNSUPPORTED';
  /** The server ID that was dialed. */
  readonly remoteId: number;
  constructor(remoteId: number, message: string) {
    super('ERR_SESSION_UNSUPPORTED', message);
    this.remoteId = remoteId;
  }
}

/** A send would take a resumable connection's unacknowledged window past its bound; nothing was sent. */
export class WindowFullError extends FastwayError {
  declare readonly code: 'ERR_WINDOW_FULL';
  constructor(what: string) {
    super('ERR_WINDOW_FULL', `the unacknowledged window is full (${what}); wait for drained()`);
  }
}

/** One gateway address that could not be reached, and why. */
export interface GatewayFailure {
  addr: string;
  error: Error;
}

/** No gateway of the address list (or the address function) could be reached. */
export class GatewaysUnreachableError extends FastwayError {
  declare readonly code: 'ERR_GATEWAYS_UNREACHABLE';
  /** Each address tried, in order, with its error. */
  readonly failures: readonly GatewayFailure[];
  constructor(failures: readonly GatewayFailure[]) {
    super(
      'ERR_GATEWAYS_UNREACHABLE',
      failures.length === 0
        ? 'no gateway address to try'
        : `no gateway could be reached: ${failures.map((f) => `${f.addr}: ${f.error.message}`).join('; ')}`,
    );
    this.failures = failures;
  }
}
