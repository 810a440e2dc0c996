import { md5 } from './md5.js';
import { readU32, writeU32 } from './frame.js';

/**
 * The server handshake (docs/protocol.md §3), raw bytes before framing starts:
 *
 *     gateway → server: challenge (8 random bytes)
 *     server → gateway: MD5(challenge ‖ UTF-8 key) (16 bytes) ‖ server ID (u32 LE)
 */

/** Bytes of the challenge the gateway sends. */
export const CHALLENGE_SIZE = 8;
/** Bytes of the MD5 digest. */
export const DIGEST_SIZE = 16;
/** Bytes of the server's reply: digest + server ID. */
export const HANDSHAKE_REPLY_SIZE = DIGEST_SIZE + 4;
/** Default time the whole handshake may take, in milliseconds. */
export const DEFAULT_AUTH_TIMEOUT_MS = 3000;

const utf8 = new TextEncoder();

/** A fresh challenge from the platform's cryptographic random source. */
export function createChallenge(): Uint8Array {
  const challenge = new Uint8Array(CHALLENGE_SIZE);
  globalThis.crypto.getRandomValues(challenge);
  return challenge;
}

/** `MD5(challenge ‖ key)`, the key as UTF-8. */
export function handshakeDigest(challenge: Uint8Array, key: string | Uint8Array): Uint8Array {
  const keyBytes = typeof key === 'string' ? utf8.encode(key) : key;
  const input = new Uint8Array(challenge.length + keyBytes.length);
  input.set(challenge, 0);
  input.set(keyBytes, challenge.length);
  return md5(input);
}

/** The server's 20-byte reply to `challenge`. */
export function encodeHandshakeReply(challenge: Uint8Array, key: string | Uint8Array, serverId: number): Uint8Array {
  const reply = new Uint8Array(HANDSHAKE_REPLY_SIZE);
  reply.set(handshakeDigest(challenge, key), 0);
  writeU32(reply, DIGEST_SIZE, serverId);
  return reply;
}

/** A server's reply split into its parts (views of the input). */
export interface HandshakeReply {
  digest: Uint8Array;
  serverId: number;
}

/** Splits a 20-byte reply. The caller guarantees `reply.length >= 20`. */
export function decodeHandshakeReply(reply: Uint8Array): HandshakeReply {
  return { digest: reply.subarray(0, DIGEST_SIZE), serverId: readU32(reply, DIGEST_SIZE) };
}

/** Compares two byte strings in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Checks a server's reply against `challenge` for any of `keys` (several keys may be valid
 * at once during a key rotation). Every key is tried, so the time taken does not reveal
 * which one matched. Returns the server ID on a match, otherwise `null`.
 */
export function verifyHandshakeReply(
  challenge: Uint8Array,
  reply: Uint8Array,
  keys: readonly (string | Uint8Array)[],
): number | null {
  const { digest, serverId } = decodeHandshakeReply(reply);
  let ok = false;
  for (const key of keys) {
    if (timingSafeEqual(handshakeDigest(challenge, key), digest)) ok = true;
  }
  return ok ? serverId : null;
}
