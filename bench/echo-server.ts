/**
 * Bench child: echo servers. `node --import tsx bench/echo-server.ts '<json config>'`
 *
 * - `{ "mode": "gateway", "host", "port", "authKey", "serverId" }`: connects to a gateway's
 *   server port, authenticates as `serverId`, and echoes every data frame back.
 * - `{ "mode": "direct", "host" }`: listens (port 0) for load clients connecting with no
 *   gateway in between (see direct.ts).
 *
 * Requests: `probe` (CPU and memory of this process, open connections), `exit`.
 */
import { type Socket, connect } from 'node:net';
import { CHALLENGE_SIZE, encodeHandshakeReply } from '../src/protocol/index.js';
import { DirectEchoServer } from './direct.js';
import { EchoConnection } from './echo-connection.js';
import { failChild, serveServerChild } from './ipc.js';
import { sharedReadBuffer } from './write-batch.js';

interface GatewayConfig {
  mode: 'gateway';
  host: string;
  port: number;
  authKey: string;
  serverId: number;
}
interface DirectConfig {
  mode: 'direct';
  host: string;
}

/** Set when the parent asks this process to exit: the gateway closing on us is then expected. */
let closing = false;

/** Connects to the gateway and resolves once the handshake reply is sent. */
function attachToGateway(config: GatewayConfig): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let conn: EchoConnection | null = null;
    const challenge = new Uint8Array(CHALLENGE_SIZE);
    let challengeLen = 0;
    const onRead = (nread: number, buf: Uint8Array): boolean => {
      if (conn !== null) {
        conn.receive(buf.subarray(0, nread));
        return true;
      }
      const take = Math.min(nread, CHALLENGE_SIZE - challengeLen);
      challenge.set(buf.subarray(0, take), challengeLen);
      challengeLen += take;
      if (challengeLen < CHALLENGE_SIZE) return true;
      socket.write(encodeHandshakeReply(challenge, config.authKey, config.serverId));
      conn = new EchoConnection(socket, 'server');
      if (nread > take) conn.receive(buf.subarray(take, nread));
      socket.off('error', reject);
      socket.on('error', (err) => failChild(err));
      socket.on('close', () => {
        if (!closing) failChild(new Error(`server ${config.serverId}: the gateway closed the connection (wrong auth key?)`));
      });
      resolve(socket);
      return true;
    };
    const socket = connect({
      host: config.host,
      port: config.port,
      noDelay: true,
      onread: { buffer: sharedReadBuffer, callback: onRead },
    });
    socket.once('error', reject);
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as GatewayConfig | DirectConfig;
  if (config.mode === 'gateway') {
    const socket = await attachToGateway(config);
    serveServerChild({}, () => 1, () => {
      closing = true;
      socket.destroy();
    });
  } else {
    const server = new DirectEchoServer();
    const port = await server.listen(config.host);
    serveServerChild({ port }, () => server.connections, async () => {
      closing = true;
      await server.close();
    });
  }
}

main().catch(failChild);
