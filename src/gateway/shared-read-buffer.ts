import { Socket } from 'node:net';
import type { GatewaySocket } from './gateway-socket.js';

/**
 * The one buffer every plain TCP connection of the process is read into. A read's bytes are
 * used up (decoded, and what must outlive the read copied out) before the next read, so one
 * buffer serves every socket: no allocation per read, however many connections are busy.
 */
const SHARED_READ_BUFFER = new Uint8Array(64 * 1024);

type OnreadSymbols = { buffer: symbol; callback: symbol };

/**
 * `new net.Socket({ onread })` reads into a caller's buffer and calls the caller back instead
 * of allocating a Buffer per read and pushing it through the stream; `net.createServer` has
 * no such option for accepted sockets. The socket keeps the option under two private symbols,
 * found here by their values on a throwaway socket. Null on a Node that does not have them
 * (then sockets are read through 'data' events as usual).
 */
const onreadSymbols: OnreadSymbols | null = (() => {
  try {
    const buffer = new Uint8Array(1);
    const callback = (): void => {};
    const probe = new Socket({ onread: { buffer, callback } } as ConstructorParameters<typeof Socket>[0]);
    let bufferSymbol: symbol | undefined;
    let callbackSymbol: symbol | undefined;
    for (const symbol of Object.getOwnPropertySymbols(probe)) {
      const value = (probe as unknown as Record<symbol, unknown>)[symbol];
      if (value === buffer) bufferSymbol = symbol;
      else if (value === callback) callbackSymbol = symbol;
    }
    probe.destroy();
    return bufferSymbol !== undefined && callbackSymbol !== undefined ? { buffer: bufferSymbol, callback: callbackSymbol } : null;
  } catch {
    return null;
  }
})();

interface UserBufferHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/** True when this Node lets {@link startReading} read plain TCP sockets into the shared buffer. */
export const sharedReadSupported = onreadSymbols !== null;

/** Where a socket reading into the shared buffer keeps its chunk handler. */
const kOnChunk = Symbol('fastway.onChunk');

/** A handler of shared-buffer reads: `this` is the socket; `chunk` is valid only during the call. */
export type SharedReadHandler = (this: Socket, chunk: Uint8Array) => void;

/** The `onread` callback of every such socket (one function for all: no closure per connection). */
function onSharedRead(this: Socket & { [kOnChunk]: SharedReadHandler }, nread: number): void {
  this[kOnChunk](SHARED_READ_BUFFER.subarray(0, nread));
}

/**
 * Starts reading a socket the gateway accepted. A plain TCP socket (accepted paused, with
 * `pauseOnConnect`) reads into the shared buffer when this Node allows it: `onChunk` is then
 * called with the socket as `this` and a view that is valid only during the call, and
 * 'data' is never emitted. Otherwise the socket is read through 'data' events as usual (and
 * resumed if it is a paused TCP socket). `pause()`/`resume()`, 'error' and 'close' work the
 * same either way.
 *
 * Returns true when the socket reads into the shared buffer.
 */
export function startReading(socket: GatewaySocket, onChunk: SharedReadHandler): boolean {
  if (!(socket instanceof Socket)) return false; // a WebSocket connection: 'data' per message
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return false; // TLS reads through its own layer
  const handle = (socket as unknown as { _handle: UserBufferHandle | null })._handle;
  if (onreadSymbols === null || handle === null || typeof handle.useUserBuffer !== 'function') {
    socket.resume();
    return false;
  }
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[kOnChunk] = onChunk;
  fields[onreadSymbols.buffer] = SHARED_READ_BUFFER;
  fields[onreadSymbols.callback] = onSharedRead;
  handle.useUserBuffer(SHARED_READ_BUFFER);
  socket.resume();
  return true;
}
