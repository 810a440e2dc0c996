/**
 * Bench child: a game server written with the endpoint library, as a game developer would
 * (public API only). `node --import tsx bench/endpoint-server.ts '<json config>'` with
 * `{ "host", "port", "authKey", "serverId" }`: the gateway's server listener.
 *
 * Joins the gateway with `dialServer` (raw format: `Uint8Array` messages), accepts every
 * virtual connection and sends every message back on the connection it came from.
 *
 * Requests: `probe` (CPU and memory of this process, live virtual connections), `exit`.
 */
import { ConnectionClosedError, type Endpoint, type VirtualConnection, dialServer } from '../src/index.js';
import { failChild, serveServerChild } from './ipc.js';

interface Config {
  host: string;
  port: number;
  authKey: string;
  serverId: number;
}

/** Set when the parent asks this process to exit: closes are then expected. */
let closing = false;

/** Echoes one virtual connection until it closes. */
async function echo(conn: VirtualConnection): Promise<void> {
  try {
    for await (const message of conn) {
      // send() returns false when the gateway connection is backed up: wait before sending more.
      if (!conn.send(message)) await conn.drained();
    }
  } catch (err) {
    if (!(err instanceof ConnectionClosedError) && !closing) throw err;
  }
}

async function acceptAll(server: Endpoint): Promise<void> {
  for await (const conn of server) echo(conn).catch(failChild);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as Config;
  const where = config.host.includes(':') ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
  const server = await dialServer(where, { serverId: config.serverId, authKey: config.authKey });
  void server.closed.then((reason) => {
    if (!closing) failChild(new Error(`server ${config.serverId}: the endpoint closed: ${reason?.message ?? 'closed here'}`));
  });
  acceptAll(server).catch(failChild);
  serveServerChild({}, () => server.liveConnections, async () => {
    closing = true;
    await server.close();
  });
}

main().catch(failChild);
