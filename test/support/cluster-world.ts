/**
 * In-process gateways registered in a real Redis (see redis-server.ts), for the cluster
 * tests that do not need to kill a process: each is a {@link Gateway} on loopback with a
 * {@link GatewayRegistration}, the same pair the `fastway --cluster` command runs.
 */
import { Gateway, GatewayRegistration, type GatewayRegistrationOptions } from '../../src/index.js';
import { KEY } from './gateway-harness.js';
import { withTimeout } from './raw-peer.js';

/** Heartbeat and TTL short enough for tests to watch expiry. */
export const TEST_HEARTBEAT = { heartbeatInterval: 200, ttl: 1000 } as const;

export class RegisteredGateway {
  private constructor(
    readonly gateway: Gateway,
    readonly registration: GatewayRegistration,
    readonly clientAddr: string,
    readonly serverAddr: string,
  ) {}

  get id(): string {
    return this.registration.gatewayId;
  }

  static async start(redis: string, id: string, options: Partial<GatewayRegistrationOptions> = {}): Promise<RegisteredGateway> {
    const gateway = new Gateway({ server: { authKey: KEY } });
    const bound = await withTimeout(gateway.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' }), 'the gateway to listen');
    const clientAddr = `127.0.0.1:${bound.client!.port}`;
    const serverAddr = `127.0.0.1:${bound.server!.port}`;
    try {
      const registration = await GatewayRegistration.register({
        redis,
        gatewayId: id,
        clientAddr,
        clientWsUrl: null,
        serverAddr,
        version: 'test',
        load: () => {
          const s = gateway.stats;
          return { clients: s.clients, liveConnections: s.liveConnections };
        },
        ...TEST_HEARTBEAT,
        ...options,
      });
      return new RegisteredGateway(gateway, registration, clientAddr, serverAddr);
    } catch (err) {
      await gateway.close();
      throw err;
    }
  }

  /** Marks the record draining, then drains the gateway (live virtual connections may finish). */
  async drain(timeoutMs: number): Promise<number> {
    await this.registration.drain();
    const left = await this.gateway.drain(timeoutMs);
    await this.registration.leave();
    return left;
  }

  async close(): Promise<void> {
    await this.registration.leave();
    await this.gateway.close();
  }
}
