/**
 * A game client: dials a game server through the gateway, sends each line typed on stdin
 * as a UTF-8 message, and prints every message that comes back as `< text`.
 *
 * Against the gateway `npm start` runs (clients on 127.0.0.1:7000) and
 * examples/echo-server.ts:
 *
 *     node --import tsx examples/chat-client.ts --gateway 127.0.0.1:7000 [--server 1]
 *
 * End the input (Ctrl-D) or press Ctrl-C to leave.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { dialClient, type FastwayError, utf8 } from '../src/index.js';

const { values } = parseArgs({
  options: {
    gateway: { type: 'string', default: '127.0.0.1:7000' },
    server: { type: 'string', default: '1' },
  },
});
const serverId = Number(values.server);
if (!Number.isInteger(serverId)) {
  console.error('usage: chat-client --gateway host:port [--server <server ID>]');
  process.exit(2);
}

let conn;
const client = await dialClient(values.gateway, { format: utf8 }).catch((err: FastwayError) => {
  console.error(`chat client: cannot reach the gateway at ${values.gateway}: ${err.name} (${err.code}): ${err.message}`);
  process.exit(1);
});
try {
  conn = await client.dial(serverId);
} catch (err) {
  const e = err as FastwayError;
  console.error(`chat client: cannot reach server ${serverId}: ${e.name} (${e.code}): ${e.message}`);
  await client.close();
  process.exit(1);
}
const chat = conn;
console.log(`connected to server ${chat.remoteId} (connection ${chat.connId}); type lines, Ctrl-D to leave`);

const lines = createInterface({ input: process.stdin, terminal: false });
process.once('SIGINT', () => lines.close());

const printing = (async () => {
  for await (const text of chat) console.log(`< ${text}`);
  const reason = await chat.closed;
  if (reason !== undefined) {
    console.error(`chat client: the connection closed: ${reason.message}`);
    process.exitCode = 1;
    lines.close();
  }
})();

for await (const line of lines) {
  if (chat.isClosed) break;
  if (!chat.send(line)) await chat.drained();
}

chat.close();
await client.close();
await printing;
