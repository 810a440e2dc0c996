import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { LENGTH_SIZE, readU32 } from '../src/protocol/index.js';
import { sharedReadBuffer } from './write-batch.js';

/** How a load client reaches the gateway: its TCP client port, or its WebSocket listener. */
export type Transport = 'tcp' | 'websocket';

/**
 * Largest WebSocket message a load client sends. The gateway accepts up to its
 * `maxPacketSize` plus 64 KiB per message; a batch larger than this is sent as several
 * messages, each of whole frames.
 */
const WS_MESSAGE_LIMIT = 64 * 1024;

/** What a link reports to its load client. */
export interface LinkEvents {
  /** Connected: the link can send. */
  onConnect(): void;
  /** Received bytes (whole frames over WebSocket, any cut over TCP); valid only during the call. */
  onData(bytes: Uint8Array): void;
  /** The link failed or closed. */
  onLost(why: string): void;
}

/** One load client's connection to the gateway, whatever the transport. */
export interface ClientLink {
  /** Sends whole frames; `bytes` must not be reused afterwards (it may be sent later). */
  send(bytes: Uint8Array): void;
  destroy(): void;
}

/** A TCP connection reading into the process's shared read buffer (no allocation per read). */
function tcpLink(host: string, port: number, events: LinkEvents): ClientLink {
  const socket = connect({
    host,
    port,
    noDelay: true,
    onread: {
      buffer: sharedReadBuffer,
      callback: (nread: number, buf: Uint8Array) => {
        events.onData(buf.subarray(0, nread));
        return true;
      },
    },
  });
  socket.once('connect', () => events.onConnect());
  socket.on('error', (err) => events.onLost(err.message));
  socket.on('close', () => events.onLost('connection closed'));
  return {
    send: (bytes) => void socket.write(bytes),
    destroy: () => void socket.destroy(),
  };
}

/**
 * A WebSocket connection (`ws`, no compression): each `send` goes out as one binary message
 * (or several, past {@link WS_MESSAGE_LIMIT}), each holding whole frames. `ws` masks every
 * client message with a random key, as browsers do, which costs it one copy per message sent
 * and the gateway one unmasking pass per message received; a zero key would skip both, and
 * so would measure less than real clients cost.
 */
function webSocketLink(host: string, port: number, path: string, events: LinkEvents): ClientLink {
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const ws = new WebSocket(`ws://${authority}${path}`, { perMessageDeflate: false, maxPayload: 0 });
  ws.once('open', () => events.onConnect());
  ws.on('message', (data: Buffer) => events.onData(data));
  ws.on('error', (err) => events.onLost(err.message));
  ws.on('close', () => events.onLost('connection closed'));
  return {
    send: (bytes) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (bytes.length <= WS_MESSAGE_LIMIT) {
        ws.send(bytes);
        return;
      }
      sendInPieces(ws, bytes);
    },
    destroy: () => ws.terminate(),
  };
}

/** Sends a batch larger than {@link WS_MESSAGE_LIMIT} as messages cut on frame boundaries. */
function sendInPieces(ws: WebSocket, bytes: Uint8Array): void {
  let start = 0;
  let pos = 0;
  while (pos < bytes.length) {
    const next = pos + LENGTH_SIZE + readU32(bytes, pos);
    if (next - start > WS_MESSAGE_LIMIT && pos > start) {
      ws.send(bytes.subarray(start, pos));
      start = pos;
    }
    pos = next;
  }
  ws.send(bytes.subarray(start, pos));
}

/** Opens a link of `transport` to `host:port` (`path` is the WebSocket request path). */
export function openLink(transport: Transport, host: string, port: number, path: string, events: LinkEvents): ClientLink {
  return transport === 'websocket' ? webSocketLink(host, port, path, events) : tcpLink(host, port, events);
}
