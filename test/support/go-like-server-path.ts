/**
 * The original Go gateway's harsher behaviour towards servers, emulated on the path between
 * a game server and our gateway (a frame-aware TCP proxy):
 *
 * - when a client's link drops, the original sends the server no `Close` for that client's
 *   virtual connections: this path withholds every `Close` the gateway sends the server and
 *   remembers the ConnID as dead;
 * - the original disconnects a server that then sends data on such an ID: when the server
 *   sends a data frame on a dead ID, this path cuts the server's link.
 *
 * The handshake (8 challenge bytes one way, the 20-byte reply the other) passes untouched.
 */
import net from 'node:net';
import { type Command, CommandType, FrameDecoder, parseCommand } from '../../src/protocol/index.js';

const CHALLENGE = 8;
const REPLY = 20;

export class GoLikeServerPath {
  /** Server links cut for sending on a dead ID. */
  serverCuts = 0;
  /** Close commands withheld from the server. */
  closesWithheld = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.server = server;
  }

  static async start(gatewayServerPort: number): Promise<GoLikeServerPath> {
    let path!: GoLikeServerPath;
    const server = net.createServer((socket) => path.accept(socket, gatewayServerPort));
    path = new GoLikeServerPath(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return path;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(endpoint: net.Socket, port: number): void {
    const gateway = net.connect(port, '127.0.0.1');
    this.sockets.add(endpoint);
    this.sockets.add(gateway);
    const dead = new Set<number>();
    let cut = false;
    const cutLink = (): void => {
      if (cut) return;
      cut = true;
      endpoint.destroy();
      gateway.destroy();
    };
    const command: Command = { type: CommandType.New, connId: 0, remoteId: 0 };

    // Gateway → server: withhold Close, remember the ID.
    let down = CHALLENGE;
    const downDecoder = new FrameDecoder(0xffffffff);
    gateway.on('data', (chunk: Buffer) => {
      let at = 0;
      if (down > 0) {
        const raw = Math.min(down, chunk.length);
        endpoint.write(chunk.subarray(0, raw));
        down -= raw;
        at = raw;
      }
      if (at >= chunk.length) return;
      const out: Buffer[] = [];
      downDecoder.push(chunk.subarray(at), {
        onFrame: (connId, buf, start, end) => {
          if (connId === 0) {
            const cmd = parseCommand(buf, start, end, 'endpoint', command);
            if (cmd.type === CommandType.Close) {
              dead.add(cmd.connId);
              this.closesWithheld++;
              return;
            }
            if (cmd.type === CommandType.Accept) dead.delete(cmd.connId);
          }
          out.push(Buffer.from(buf.subarray(start, end)));
        },
      });
      if (out.length > 0) endpoint.write(Buffer.concat(out));
    });

    // Server → gateway: data on a dead ID cuts the server off.
    let up = REPLY;
    const upDecoder = new FrameDecoder(0xffffffff);
    endpoint.on('data', (chunk: Buffer) => {
      let at = 0;
      if (up > 0) {
        const raw = Math.min(up, chunk.length);
        gateway.write(chunk.subarray(0, raw));
        up -= raw;
        at = raw;
      }
      if (at >= chunk.length || cut) return;
      const out: Buffer[] = [];
      upDecoder.push(chunk.subarray(at), {
        onFrame: (connId, buf, start, end) => {
          if (cut) return false;
          if (connId !== 0 && dead.has(connId)) {
            this.serverCuts++;
            cutLink();
            return false;
          }
          out.push(Buffer.from(buf.subarray(start, end)));
          return true;
        },
      });
      if (!cut && out.length > 0) gateway.write(Buffer.concat(out));
    });
    const end = (): void => {
      cutLink();
      this.sockets.delete(endpoint);
      this.sockets.delete(gateway);
    };
    for (const s of [endpoint, gateway]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
