/**
 * The safety timeouts of the scripted test peers: every wait fails after a generous time
 * with a message saying what was awaited. They guard against hangs; they are never a
 * timing assertion.
 */

/** Default safety timeout of every wait, in ms. Generous: the test machine is slow and noisy. */
export const SAFETY_TIMEOUT_MS = 10_000;

/** Runs `promise` with a safety timeout that rejects with `what` in the message; never leaves a timer behind. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = SAFETY_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `condition` until it holds (for state the gateway changes without telling the
 * peer, such as its statistics after a peer left). Fails after the safety timeout.
 */
export async function waitUntil(condition: () => boolean, what: string, ms = SAFETY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
