/**
 * A game server that sends every message back on the virtual connection it came from.
 *
 * Against the gateway `npm start` runs (servers on 127.0.0.1:7001; the key is printed at
 * start, or set with --server-auth-key):
 *
 *     node --import tsx examples/echo-server.ts --gateway 127.0.0.1:7001 --key <key> [--id 1]
 *
 * The key may also come from FASTWAY_SERVER_AUTH_KEY. Stop it with Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { ConnectionClosedError, dialServer, type FastwayError, type VirtualConnection } from '../src/index.js';

const USAGE = 'usage: echo-server --gateway host:port --key <server auth key> [--id <server ID>]';

const { values } = parseArgs({
  options: {
    gateway: { type: 'string', default: '127.0.0.1:7001' },
    key: { type: 'string' },
    id: { type: 'string', default: '1' },
  },
});
const key = values.key ?? process.env.FASTWAY_SERVER_AUTH_KEY;
const serverId = Number(values.id);
if (!key || !Number.isInteger(serverId)) {
  console.error(USAGE);
  process.exit(2);
}

let server;
try {
  server = await dialServer(values.gateway, { serverId, authKey: key });
} catch (err) {
  const e = err as FastwayError;
  console.error(`echo server: cannot join the gateway at ${values.gateway}: ${e.name} (${e.code}): ${e.message}`);
  process.exit(1);
}
const endpoint = server;
console.log(`echo server ${serverId} ready on ${values.gateway}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void endpoint.close());
}

/** Echoes one virtual connection until it closes. */
async function echo(conn: VirtualConnection): Promise<void> {
  console.error(`client ${conn.remoteId} connected (connection ${conn.connId})`);
  try {
    for await (const message of conn) {
      // send() returns false when the gateway connection is backed up: wait before sending more.
      if (!conn.send(message)) await conn.drained();
    }
  } catch (err) {
    // The connection (or the endpoint) closed between a receive and its echo: nothing to answer.
    if (!(err instanceof ConnectionClosedError) && !conn.isClosed) throw err;
  }
  const reason = await conn.closed;
  console.error(`client ${conn.remoteId} left (connection ${conn.connId}): ${reason?.message ?? 'closed here'}`);
}

for await (const conn of endpoint) {
  echo(conn).catch((err: unknown) => console.error('echo failed:', err));
}

const reason = await endpoint.closed;
if (reason !== undefined) {
  console.error(`echo server: lost the gateway: ${reason.message}`);
  process.exitCode = 1;
} else {
  console.log('echo server stopped');
}
