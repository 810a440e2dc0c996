import { type Server, type Socket, createServer } from 'node:net';
import { EchoConnection } from './echo-connection.js';

/**
 * The no-gateway baseline: a TCP listener that load clients connect to straight, speaking
 * the same framing. It answers connection set-up itself (New → Open, Dial → Accept) and
 * echoes every data frame, so the load clients run the same code as through a gateway and
 * the difference between the two runs is the gateway alone.
 */
export class DirectEchoServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    // Accepted sockets read through 'data' events: net servers take no `onread` option.
    this.server = createServer({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      const conn = new EchoConnection(socket, 'direct');
      socket.on('data', (chunk: Buffer) => conn.receive(chunk));
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Connections open now. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Listens on `host`, port 0, and resolves with the port. */
  listen(host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port: 0, backlog: 4096 }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  /** Stops listening and destroys every connection. */
  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
