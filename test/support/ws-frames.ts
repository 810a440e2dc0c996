/**
 * WebSocket framing by hand (RFC 6455 §5.2), for tests that must send what no WebSocket
 * library would: any opcode, reserved bits, unmasked client frames, control frames that are
 * too long or fragmented, continuations out of place. And a raw upgrade over a socket.
 */
import type { Socket } from 'node:net';
import { withTimeout } from './raw-peer.js';

/** WebSocket opcodes. */
export const WS_OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One frame as it goes on the wire. */
export interface WsFrameSpec {
  fin: boolean;
  /** The three reserved bits (0 unless an extension is negotiated; none is). */
  rsv: number;
  opcode: number;
  /** Client frames must be masked; false sends one unmasked. */
  masked: boolean;
  payload: Uint8Array;
}

/** The bytes of `frame` (mask key 0x37fa213d when masked). */
export function encodeWsFrame(frame: WsFrameSpec): Buffer {
  const n = frame.payload.length;
  const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (frame.masked ? 4 : 0));
  header[0] = (frame.fin ? 0x80 : 0) | ((frame.rsv & 7) << 4) | (frame.opcode & 0x0f);
  header[1] = (frame.masked ? 0x80 : 0) | (n < 126 ? n : n < 65536 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(n, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(n), 2);
  const payload = Buffer.from(frame.payload);
  if (frame.masked) {
    const key = [0x37, 0xfa, 0x21, 0x3d];
    header.set(key, 2 + lengthBytes);
    for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  }
  return Buffer.concat([header, payload]);
}

/** The upgrade request for `path` (a fixed key: the tests do not check the accept hash). */
export function upgradeRequest(path = '/', extraHeaders = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`
  );
}

/**
 * Sends the upgrade request on `socket` and waits for the response head. Resolves with the
 * status code and whatever came after the head (the start of the WebSocket stream).
 */
export function rawUpgrade(socket: Socket, path = '/'): Promise<{ status: number; rest: Buffer }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      let got = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        got = Buffer.concat([got, chunk]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        resolve({ status, rest: got.subarray(end + 4) });
      };
      const onClose = (): void => reject(new Error('the connection closed during the upgrade'));
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.write(upgradeRequest(path));
    }),
    'the upgrade response',
  );
}
