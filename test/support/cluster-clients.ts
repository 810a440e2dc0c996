/**
 * Game clients of a cluster for the failover tests: each is placed by pickGateway (as a
 * login service would), and placed again when its gateway goes away.
 */
import { dialClient, type Endpoint, pickGateway, utf8 } from '../../src/index.js';
import { withTimeout } from './raw-peer.js';

/** A client connected to the gateway placement gave it. */
export interface PlacedClient {
  endpoint: Endpoint<string>;
  gatewayId: string;
}

/**
 * Picks a gateway and connects to it; while the pick fails to answer (a gateway killed
 * whose record has not expired yet), waits a little and picks again, until `deadlineMs`.
 */
export async function placeClient(redis: string, deadlineMs = 15_000, avoid?: string): Promise<PlacedClient> {
  const deadline = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const pick = await pickGateway({ redis });
      if (pick.gatewayId !== avoid) {
        const endpoint = await dialClient(pick.address, { format: utf8, connectTimeout: 1000 });
        return { endpoint, gatewayId: pick.gatewayId };
      }
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no gateway could be reached within ${deadlineMs} ms: ${String(lastError)}`);
}

/** Sends `text` to server `serverId` through the client's gateway and returns the answer. */
export async function askServer(client: PlacedClient, serverId: number, text: string): Promise<string> {
  const conn = await client.endpoint.dial(serverId);
  try {
    conn.send(text);
    return await withTimeout(conn.receive(), `an answer from server ${serverId}`);
  } finally {
    conn.close();
  }
}
