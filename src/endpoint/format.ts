/**
 * Message formats: how the messages of a virtual connection become bytes and back (the
 * original's `MsgFormat`). The gateway never looks inside a message; both ends of a
 * virtual connection just have to agree on the format.
 */

/** Encodes messages of type `T` to bytes and decodes them back. */
export interface Format<T> {
  /** A short name, for error messages. */
  readonly name: string;
  /** The bytes of `message`. May throw; the send then throws a `FormatError`. */
  encode(message: T): Uint8Array;
  /**
   * The message in `bytes`. May throw; that one receive then rejects with a `FormatError`
   * carrying the bytes, and the connection stays usable. `bytes` is a view of the
   * received data: copy it if the result keeps it and the data must not be shared.
   */
  decode(bytes: Uint8Array): T;
}

/** Bytes as they are (the default). Received messages are views of the received data (plain `Uint8Array`s, in Node too). */
export const raw: Format<Uint8Array> = Object.freeze({
  name: 'raw',
  encode: (message: Uint8Array): Uint8Array => message,
  decode: (bytes: Uint8Array): Uint8Array => bytes,
});

const textEncoder = new TextEncoder();
/** Strict: invalid UTF-8 is a decode error, not replacement characters. */
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Strings as UTF-8. Invalid UTF-8 fails to decode. */
export const utf8: Format<string> = Object.freeze({
  name: 'utf8',
  encode: (message: string): Uint8Array => {
    if (typeof message !== 'string') throw new TypeError(`utf8 format: expected a string, got ${typeof message}`);
    return textEncoder.encode(message);
  },
  decode: (bytes: Uint8Array): string => textDecoder.decode(bytes),
});

const jsonFormat: Format<unknown> = Object.freeze({
  name: 'json',
  encode: (message: unknown): Uint8Array => {
    const text = JSON.stringify(message);
    if (text === undefined) throw new TypeError(`json format: ${typeof message} has no JSON form`);
    return textEncoder.encode(text);
  },
  decode: (bytes: Uint8Array): unknown => JSON.parse(textDecoder.decode(bytes)),
});

/**
 * JSON as UTF-8. `T` only types the messages: nothing checks that received JSON has the
 * shape of `T` (validate it yourself where that matters, or use {@link defineFormat}).
 */
export function json<T = unknown>(): Format<T> {
  return jsonFormat as Format<T>;
}

/** What {@link defineFormat} takes. */
export interface FormatSpec<T> {
  /** A short name, for error messages. @default 'custom' */
  name?: string;
  encode(message: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/**
 * A format from your own encode and decode functions: protobuf, MessagePack, a hand-made
 * binary layout.
 *
 * @example
 * const point = defineFormat<{ x: number; y: number }>({
 *   encode: (p) => new Uint8Array(new Float64Array([p.x, p.y]).buffer),
 *   decode: (b) => { const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
 *                    return { x: v.getFloat64(0, true), y: v.getFloat64(8, true) }; },
 * });
 */
export function defineFormat<T>(spec: FormatSpec<T>): Format<T> {
  if (spec === null || typeof spec !== 'object' || typeof spec.encode !== 'function' || typeof spec.decode !== 'function') {
    throw new TypeError('defineFormat: expected { encode(message): Uint8Array, decode(bytes): message }');
  }
  const encode = spec.encode;
  const decode = spec.decode;
  return Object.freeze({
    name: spec.name ?? 'custom',
    encode: (message: T) => encode(message),
    decode: (bytes: Uint8Array) => decode(bytes),
  });
}

/** True when `value` has the members of a {@link Format}. */
export function isFormat(value: unknown): value is Format<unknown> {
  const f = value as Format<unknown> | null;
  return f !== null && typeof f === 'object' && typeof f.encode === 'function' && typeof f.decode === 'function';
}
