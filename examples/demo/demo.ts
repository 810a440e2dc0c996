/**
 * The browser demo, as a function: a gateway with a WebSocket listener, the chat room
 * (server 1) connected to it over TCP, and a small HTTP server for the page and the
 * browser bundle. `run.ts` starts it from the command line; tests start it on port 0.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dialServer, Gateway, json } from '../../src/index.js';
import { type ChatMessage, runChatRoom } from './chat-room.js';

/** The server ID the chat room registers under. */
export const CHAT_SERVER_ID = 1;

export interface DemoOptions {
  /** Where the HTTP server listens. @default 127.0.0.1 */
  host?: string;
  /** HTTP port; 0 picks a free one. @default 8080 */
  port?: number;
  /** The browser bundle to serve. @default dist/browser/fastway.js */
  bundle?: string;
}

export interface RunningDemo {
  /** The page to open. */
  url: string;
  /** The gateway's WebSocket listener, as the page dials it. */
  gatewayUrl: string;
  gateway: Gateway;
  /** Stops everything: the room, the gateway and the HTTP server. */
  close(): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const defaultBundle = fileURLToPath(new URL('../../dist/browser/fastway.js', import.meta.url));

const FILES: Record<string, { file: string; type: string } | undefined> = {
  '/': { file: `${here}index.html`, type: 'text/html; charset=utf-8' },
  '/app.js': { file: `${here}app.js`, type: 'text/javascript; charset=utf-8' },
};

/** Starts the demo; resolves once every part is listening. */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const host = options.host ?? '127.0.0.1';
  const bundle = options.bundle ?? defaultBundle;
  const authKey = randomBytes(16).toString('hex');

  const gateway = new Gateway({ server: { authKey } });
  let http: Server | null = null;
  try {
    const bound = await gateway.listen({ server: '127.0.0.1:0', clientWs: `${host}:0` });
    const room = await dialServer(`127.0.0.1:${bound.server!.port}`, { serverId: CHAT_SERVER_ID, authKey, format: json<ChatMessage>() });
    const roomDone = runChatRoom(room);

    const config = JSON.stringify({ wsPort: bound.clientWs!.port, wsPath: '/', serverId: CHAT_SERVER_ID });
    const files: Record<string, { file: string; type: string } | undefined> = {
      ...FILES,
      '/fastway.js': { file: bundle, type: 'text/javascript; charset=utf-8' },
      '/fastway.js.map': { file: `${bundle}.map`, type: 'application/json' },
    };
    http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/config.json') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config);
        return;
      }
      const entry = files[path];
      if (req.method !== 'GET' || entry === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      readFile(entry.file).then(
        (body) => res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' }).end(body),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot read the file (run npm run build:browser)'),
      );
    });
    const server = http;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8080, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return {
      url: `http://${urlHost}:${port}/`,
      gatewayUrl: `ws://${urlHost}:${bound.clientWs!.port}/`,
      gateway,
      async close() {
        await room.close();
        await roomDone;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await gateway.close();
      },
    };
  } catch (err) {
    if (http !== null) http.close();
    await gateway.close();
    throw err;
  }
}
