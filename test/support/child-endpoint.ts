/**
 * An endpoint in a child process (see child-endpoint-main.ts) that a test can kill with
 * SIGKILL mid-stream: the operating system closes its connection as it would for a
 * crashed game server or client.
 */
import { Child } from './child.js';

export class ChildEndpoint {
  private constructor(readonly child: Child) {}

  /** A game server that echoes everything, authenticated as `serverId` once this resolves. */
  static async echoServer(address: string, serverId: number, key: string): Promise<ChildEndpoint> {
    return ChildEndpoint.start({ role: 'echo-server', address, serverId, key });
  }

  /** A game client streaming numbered messages to `serverId`, its first echo back once this resolves. */
  static async streamingClient(address: string, serverId: number): Promise<ChildEndpoint> {
    return ChildEndpoint.start({ role: 'streaming-client', address, serverId });
  }

  private static async start(config: object): Promise<ChildEndpoint> {
    const child = new Child('./child-endpoint-main.ts', { FASTWAY_TEST_ENDPOINT: JSON.stringify(config) });
    try {
      await child.nextEvent('ready');
    } catch (err) {
      await child.kill();
      throw err;
    }
    return new ChildEndpoint(child);
  }

  /** Echoes the streaming client has received so far. */
  async echoes(): Promise<number> {
    return (await this.child.request('progress')).echoes as number;
  }

  /** SIGKILL: no goodbye, no Close; the kernel closes the socket. */
  kill(): Promise<void> {
    return this.child.kill('SIGKILL');
  }
}
