/**
 * A healthy client↔server pair that keeps exchanging numbered messages through a gateway
 * while a test attacks it: proof that whatever the attacker does, other connections are
 * unaffected. Built on raw peers, so it sees every frame the gateway sends it: anything
 * but its own echo (an Accept it did not ask for, a Close, a stray data frame) fails it.
 */
import assert from 'node:assert/strict';
import { CommandType } from '../../src/protocol/index.js';
import { RawPeer, waitUntil } from './raw-peer.js';

/** Where the bystander connects. */
export interface BystanderTarget {
  clientPort: number;
  serverPort: number;
  key: string;
  /** The server ID the bystander's server registers under; attackers should not dial it. */
  serverId: number;
}

/** The message of round trip `seq`: its number and a few bytes that depend on it. */
function message(seq: number): Buffer {
  const msg = Buffer.alloc(4 + (seq % 29));
  msg.writeUInt32LE(seq, 0);
  for (let i = 4; i < msg.length; i++) msg[i] = (seq + i * 13) & 0xff;
  return msg;
}

export class Bystander {
  /** Round trips completed so far. */
  exchanged = 0;
  /** The client ID the gateway gave the bystander's client. */
  readonly clientId: number;
  readonly serverId: number;
  /** The bystander's virtual connection. */
  readonly connId: number;
  private stopping = false;
  private failure: Error | null = null;
  private readonly loop: Promise<void>;

  private constructor(
    readonly client: RawPeer,
    readonly server: RawPeer,
    ids: { clientId: number; serverId: number; connId: number },
  ) {
    this.clientId = ids.clientId;
    this.serverId = ids.serverId;
    this.connId = ids.connId;
    this.loop = this.run().catch((err: Error) => {
      this.failure = err;
    });
  }

  /** Connects a server and a client, links them, and starts exchanging. */
  static async start(target: BystanderTarget): Promise<Bystander> {
    const server = await RawPeer.connect(target.serverPort, { framing: false });
    await server.handshake(target.key, target.serverId);
    await server.sync(); // an Open arrives only on an authenticated connection
    const client = await RawPeer.connect(target.clientPort);
    const connId = await client.open();
    assert.notEqual(connId, 0);
    client.sendDial(connId, target.serverId);
    await client.expectCommand(CommandType.Accept, connId);
    const atServer = await server.expectCommand(CommandType.Accept, connId);
    return new Bystander(client, server, { clientId: atServer.remoteId, serverId: target.serverId, connId });
  }

  private async run(): Promise<void> {
    for (let seq = 0; !this.stopping; seq++) {
      const up = message(seq);
      this.client.sendData(this.connId, up);
      const atServer = await this.server.expectData(this.connId);
      assert.deepEqual(atServer, up, `bystander: round trip ${seq} reached the server changed`);
      this.server.sendData(this.connId, atServer);
      const back = await this.client.expectData(this.connId);
      assert.deepEqual(back, up, `bystander: round trip ${seq} came back changed`);
      this.exchanged++;
    }
  }

  /** Throws if the exchange has failed so far. */
  assertHealthy(): void {
    if (this.failure !== null) throw new Error(`the bystander pair was affected: ${this.failure.message}`, { cause: this.failure });
  }

  /** Waits until `n` more round trips have completed (proof the pair still works now). */
  async progress(n = 3): Promise<void> {
    const target = this.exchanged + n;
    await waitUntil(() => this.exchanged >= target || this.failure !== null, `the bystander to make ${n} more round trips`);
    this.assertHealthy();
  }

  /** Stops exchanging, checks nothing went wrong, and closes both connections. Returns the round trips made. */
  async stop(): Promise<number> {
    this.stopping = true;
    await this.loop;
    await Promise.all([this.client.end(), this.server.end()]);
    this.assertHealthy();
    return this.exchanged;
  }
}
