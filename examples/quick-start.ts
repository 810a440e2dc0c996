/**
 * The README's quick start, runnable: a gateway, a game server and a game client in one
 * process (in production each is its own process, usually on its own machine).
 *
 *     node --import tsx examples/quick-start.ts
 */
import { dialClient, dialServer, Gateway, utf8 } from '../src/index.js';

// The gateway (normally `npm start`): clients on one port, servers on another.
const gateway = new Gateway({ server: { authKey: 'change-me' } });
const { client: clientAddr, server: serverAddr } = await gateway.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' });

// A game server joins with its ID and the gateway's key, and answers every message.
const server = await dialServer(`127.0.0.1:${serverAddr!.port}`, { serverId: 1, authKey: 'change-me', format: utf8 });
void (async () => {
  for await (const conn of server) {
    void (async () => {
      for await (const text of conn) conn.send(`server 1 got "${text}" from client ${conn.remoteId}`);
    })();
  }
})();

// A game client dials server 1 through the gateway and talks to it.
const client = await dialClient(`127.0.0.1:${clientAddr!.port}`, { format: utf8 });
const conn = await client.dial(1);
conn.send('hello');
console.log(await conn.receive()); // server 1 got "hello" from client 1

await client.close();
await server.close();
await gateway.close();
