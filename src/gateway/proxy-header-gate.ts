import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parseProxyHeader, type ProxyAddress } from '../protocol/proxy-protocol.js';
import type { TrustedSources } from './trusted-sources.js';

/** Why a client connection was closed before it reached the listener (`client.proxyProtocol`). */
export type ProxyRefusal =
  /** The connection is not from a trusted source: its header, if any, is never believed. */
  | 'proxy_untrusted'
  /** It did not start with a well-formed PROXY v1 or v2 header (or closed in the middle of one). */
  | 'proxy_invalid'
  /** No whole header arrived within `client.proxyHeaderTimeout`. */
  | 'proxy_timeout';

/** Told of a connection the gate closed: why, its `address:port` (the connection's own), and what was wrong. */
export type ProxyRefusalHandler = (reason: ProxyRefusal, remote: string, detail: string) => void;

/** The player's address a trusted header gave a raw socket (for the TLS socket that wraps it). */
const proxiedSource = new WeakMap<Socket, ProxyAddress>();

/** Makes `socket` report `source` as its remote end (own properties over `net.Socket`'s getters). */
function adoptSource(socket: Socket, source: ProxyAddress): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: source.family, configurable: true },
  });
}

/** A TLS socket takes the address its raw socket was given (a server TLSSocket keeps the raw one as `_parent`). */
function adoptParentSource(socket: TLSSocket): void {
  const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
  const source = raw !== undefined ? proxiedSource.get(raw) : undefined;
  if (source !== undefined) adoptSource(socket, source);
}

/**
 * The PROXY protocol in front of one client listener. Every accepted TCP connection goes
 * through it before anything else of the listener sees it (admission, TLS, the HTTP
 * upgrade): one from a source that is not trusted is closed at once; one from a trusted
 * source must begin with a v1 or v2 header within `timeout` ms, read from its first
 * chunk(s) (at most the largest header, 1,040 bytes, is held), and from then on reports the
 * header's source as its remote address. The bytes after the header are put back in the
 * socket's stream, and the socket is handed to the listener: the normal read path takes it
 * from there, with no cost per message.
 */
export class ProxyHeaderGate {
  /** Connections waiting for their header (closed by {@link closeAll}). */
  readonly #waiting = new Set<Socket>();
  /** Set by {@link closeAll}: the connections it cuts are not rejections. */
  #closed = false;

  /**
   * Puts the gate in front of `server`: its 'connection' listeners (all of them, so call
   * this once the listener is built) run only once a header has been read.
   */
  constructor(
    server: Server,
    private readonly trusted: TrustedSources,
    private readonly timeout: number,
    private readonly onRefused: ProxyRefusalHandler,
  ) {
    const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    const handOn = (raw: Socket): void => {
      for (const listener of listeners) listener.call(server, raw);
    };
    server.on('connection', (raw: Socket) => this.#read(raw, handOn));
    // A TLS listener: the TLS socket reports what its raw socket was given, before anyone sees it.
    if ('setSecureContext' in server) server.prependListener('secureConnection', adoptParentSource);
  }

  /** Closes every connection still waiting for its header (the gateway is closing). */
  closeAll(): void {
    this.#closed = true;
    for (const raw of this.#waiting) raw.destroy();
    this.#waiting.clear();
  }

  #read(raw: Socket, handOn: (raw: Socket) => void): void {
    const remote = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
    if (!this.trusted.trusts(raw.remoteAddress)) {
      raw.destroy();
      this.onRefused('proxy_untrusted', remote, 'the connection is not from a trusted source of PROXY protocol headers');
      return;
    }
    let received: Buffer | null = null;
    const stop = (): void => {
      clearTimeout(timer);
      raw.removeListener('data', onData);
      raw.removeListener('error', onError);
      raw.removeListener('close', onClose);
      this.#waiting.delete(raw);
    };
    const refuse = (reason: ProxyRefusal, detail: string): void => {
      stop();
      raw.destroy();
      this.onRefused(reason, remote, detail);
    };
    const onData = (chunk: Buffer): void => {
      const bytes = received === null ? chunk : Buffer.concat([received, chunk]);
      const parsed = parseProxyHeader(bytes);
      if (parsed.status === 'incomplete') {
        received = bytes; // shorter than the largest header, or the parser would have said invalid
        return;
      }
      if (parsed.status === 'invalid') {
        refuse('proxy_invalid', parsed.reason);
        return;
      }
      stop();
      raw.pause();
      if (parsed.source !== null) {
        proxiedSource.set(raw, parsed.source);
        adoptSource(raw, parsed.source);
      }
      if (parsed.length < bytes.length) raw.unshift(bytes.subarray(parsed.length));
      handOn(raw);
      // A listener that reads through 'data' (HTTP) and did not resume: the bytes after the header are waiting.
      if (!raw.destroyed && raw.isPaused() && raw.listenerCount('data') > 0) raw.resume();
    };
    const onError = (): void => {}; // 'close' follows
    const onClose = (): void => {
      stop();
      // A connection that closes before sending anything (a balancer's health check) is not a rejection.
      if (received !== null && !this.#closed) this.onRefused('proxy_invalid', remote, `closed after ${received.length} bytes of a PROXY header`);
    };
    const timer = setTimeout(() => refuse('proxy_timeout', `no whole PROXY header within ${this.timeout} ms`), this.timeout);
    this.#waiting.add(raw);
    raw.on('data', onData);
    raw.on('error', onError);
    raw.on('close', onClose);
    raw.resume();
  }
}
