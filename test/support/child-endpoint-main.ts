/**
 * Child program: one endpoint, so a test can kill it like a crashed game server or client.
 * FASTWAY_TEST_ENDPOINT (JSON) says what it is:
 *
 * - `{ role: 'echo-server', address, serverId, key }`: a server that echoes every message
 *   on every virtual connection; event `ready` once authenticated.
 * - `{ role: 'streaming-client', address, serverId }`: a client that dials the server and
 *   sends numbered messages without end, checking each echo; event `ready` after the first
 *   echo (with its ConnID); request `progress` answers how many echoes came back.
 */
import { dialClient, dialServer, type VirtualConnection } from '../../src/index.js';
import { serveParent } from './child.js';

interface Config {
  role: 'echo-server' | 'streaming-client';
  address: string;
  serverId: number;
  key?: string;
}

const config = JSON.parse(process.env.FASTWAY_TEST_ENDPOINT ?? '{}') as Config;
let echoes = 0;
const send = serveParent({ progress: () => ({ echoes }) });

async function echo(conn: VirtualConnection): Promise<void> {
  try {
    for await (const msg of conn) conn.send(msg);
  } catch {
    // The connection closed under the loop: nothing to do.
  }
}

if (config.role === 'echo-server') {
  const server = await dialServer(config.address, { serverId: config.serverId, authKey: config.key! });
  send('ready');
  for await (const conn of server) void echo(conn);
} else {
  const client = await dialClient(config.address);
  const conn = await client.dial(config.serverId);
  const window = 8;
  let sent = 0;
  const message = (seq: number): Uint8Array => {
    const msg = new Uint8Array(64);
    new DataView(msg.buffer).setUint32(0, seq, true);
    return msg;
  };
  for (; sent < window; sent++) conn.send(message(sent));
  for await (const msg of conn) {
    const seq = new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getUint32(0, true);
    if (seq !== echoes) throw new Error(`echo ${seq} came back where ${echoes} was expected`);
    if (++echoes === 1) send('ready', { connId: conn.connId });
    conn.send(message(sent++));
  }
}
