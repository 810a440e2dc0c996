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
  /** The handle's read callback (an accessor over an internal field that accepts functions only). */
  onread?: (this: UserBufferHandle, arrayBuffer: unknown) => unknown;
}

interface StreamBaseBinding {
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
}

/**
 * Where a handle reports how many bytes a read brought (or its error); null where this Node
 * does not expose it. With it, a socket's handle calls {@link onHandleRead} directly.
 */
const readState: { state: Int32Array; index: number } | null = (() => {
  try {
    const get = (process as unknown as { binding?: (name: string) => unknown }).binding;
    if (typeof get !== 'function') return null;
    const b = get.call(process, 'stream_wrap') as Partial<StreamBaseBinding>;
    if (!(b.streamBaseState instanceof Int32Array) || typeof b.kReadBytesOrError !== 'number') return null;
    return { state: b.streamBaseState, index: b.kReadBytesOrError };
  } catch {
    return null;
  }
})();

const readStateArray: Int32Array = readState?.state ?? new Int32Array(1);
const readIndex: number = readState?.index ?? 0;

/** True when this Node lets {@link startReading} read plain TCP sockets into the shared buffer. */
export const sharedReadSupported = onreadSymbols !== null;

/** Where a socket reading into the shared buffer keeps its chunk handler. */
const kOnChunk = Symbol('fastway.onChunk');
/**
 * Node's own read callback of stream handles (`onStreamRead`, the same function for every
 * handle), and the symbol under which a handle refers to its socket; found on the first
 * socket read.
 */
let nodeOnRead: ((this: UserBufferHandle, arrayBuffer: unknown) => unknown) | null = null;
let ownerSymbol: symbol | null = null;

/** A handler of shared-buffer reads: `this` is the socket; `chunk` is valid only during the call. */
export type SharedReadHandler = (this: Socket, chunk: Uint8Array) => void;

/**
 * Views of the shared buffer by length, kept so that a read of a length seen before makes no
 * view of its own (one slot per length modulo the size; a slot holding another length is
 * replaced). At most {@link VIEW_SLOTS} small objects, whatever the reads.
 */
const VIEW_SLOTS = 1024;
const views: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(VIEW_SLOTS).fill(undefined);

function sharedView(nread: number): Uint8Array {
  const slot = nread & (VIEW_SLOTS - 1);
  let view = views[slot];
  if (view === undefined || view.length !== nread) views[slot] = view = SHARED_READ_BUFFER.subarray(0, nread);
  return view;
}

/** The `onread` callback of every such socket (one function for all: no closure per connection). */
function onSharedRead(this: Socket & { [kOnChunk]: SharedReadHandler }, nread: number): void {
  this[kOnChunk](sharedView(nread));
}

type ReadingHandle = UserBufferHandle & Record<symbol, Socket & { [kOnChunk]: SharedReadHandler }>;

/**
 * The handle's own read callback, in place of Node's (`onStreamRead`): a read that brought
 * bytes goes straight to the socket's handler, without the stream's per-read bookkeeping
 * (its idle timer, which these sockets do not use, and the user-buffer lookups). End of
 * stream, errors, and any socket with a timeout set are left to Node's callback, so 'end',
 * 'error' and 'close' come as always.
 */
function onHandleRead(this: ReadingHandle, arrayBuffer: unknown): unknown {
  const nread = readStateArray[readIndex]!;
  const socket = this[ownerSymbol!]!;
  // A destroyed socket is never called back: Node closes its handle and replaces this callback at once.
  if (nread > 0 && socket.timeout === undefined) {
    socket[kOnChunk](sharedView(nread));
    return undefined;
  }
  return nodeOnRead!.call(this, arrayBuffer);
}

/**
 * Whether `handle` can be read by {@link onHandleRead}: its callback is Node's one, and it
 * refers to `socket` under the owner symbol (both learned from the first handle).
 */
function takesHandleRead(handle: UserBufferHandle, socket: Socket): boolean {
  const current = handle.onread;
  if (typeof current !== 'function') return false;
  if (nodeOnRead === null) {
    const owner = Object.getOwnPropertySymbols(handle).find((sym) => (handle as Record<symbol, unknown>)[sym] === socket);
    if (owner === undefined) return false;
    nodeOnRead = current;
    ownerSymbol = owner;
  }
  return current === nodeOnRead && (handle as Record<symbol, unknown>)[ownerSymbol!] === socket;
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
  if (readState !== null && takesHandleRead(handle, socket)) handle.onread = onHandleRead as NonNullable<UserBufferHandle['onread']>;
  socket.resume();
  return true;
}
