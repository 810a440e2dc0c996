/**
 * Traffic through the endpoint library for fault and load tests: a server that echoes
 * every message, and a pump that streams numbered messages on one virtual connection and
 * checks every echo comes back once, in order, unchanged.
 */
import { ConnectionClosedError, type Endpoint, type VirtualConnection } from '../../src/index.js';
import { waitUntil } from './raw-peer.js';

/** Serves `server`: echoes every message of every connection it accepts. Resolves when it closes. */
export async function serveEcho(server: Endpoint, accepted: VirtualConnection[] = []): Promise<void> {
  for await (const conn of server) {
    accepted.push(conn);
    void (async () => {
      try {
        for await (const msg of conn) conn.send(msg);
      } catch {
        // Closed under the loop (the endpoint or the gateway went away).
      }
    })();
  }
}

/** Message `seq` of a pump: its number, then bytes that depend on it. */
function message(seq: number, size: number): Uint8Array {
  const msg = new Uint8Array(Math.max(4, size));
  const view = new DataView(msg.buffer);
  view.setUint32(0, seq, true);
  for (let i = 4; i < msg.length; i++) msg[i] = (seq * 7 + i) & 0xff;
  return msg;
}

/**
 * Streams numbered messages on `conn` (at most `window` unanswered) and checks each echo.
 * `ended` resolves with the reason the connection closed, and rejects at the first echo that
 * is missing, repeated, out of order or changed.
 */
export class EchoPump {
  echoes = 0;
  private sent = 0;
  private stopping = false;
  readonly ended: Promise<Error | undefined>;

  constructor(
    readonly conn: VirtualConnection,
    private readonly window = 8,
    private readonly size = 48,
  ) {
    this.ended = this.run();
    this.ended.catch(() => {});
  }

  private async run(): Promise<Error | undefined> {
    const { conn } = this;
    try {
      for (; this.sent < this.window; this.sent++) conn.send(message(this.sent, this.size));
      for (;;) {
        let msg: Uint8Array;
        try {
          msg = await conn.receive();
        } catch (err) {
          if (err instanceof ConnectionClosedError) return conn.closed;
          throw err;
        }
        const want = message(this.echoes, this.size);
        if (Buffer.compare(Buffer.from(msg), Buffer.from(want)) !== 0) {
          throw new Error(`echo ${this.echoes} on ConnID ${conn.connId}: got message ${new DataView(msg.buffer, msg.byteOffset).getUint32(0, true)}`);
        }
        this.echoes++;
        if (!this.stopping && !conn.isClosed) conn.send(message(this.sent++, this.size));
      }
    } catch (err) {
      if (err instanceof ConnectionClosedError) return conn.closed;
      throw err;
    }
  }

  /** Waits for `n` more echoes. */
  async progress(n: number, what = `${n} more echoes on ConnID ${this.conn.connId}`): Promise<void> {
    const target = this.echoes + n;
    let failed: unknown = null;
    this.ended.catch((err: unknown) => (failed = err));
    await waitUntil(() => this.echoes >= target || failed !== null || this.conn.isClosed, what);
    if (failed !== null) throw failed;
    if (this.echoes < target) throw new Error(`ConnID ${this.conn.connId} closed before ${what}`);
  }

  /**
   * Stops sending, waits until every message sent has come back (or the connection
   * closed), then closes the connection. Rejects if an echo was wrong.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    let failed: unknown = null;
    this.ended.catch((err: unknown) => (failed = err));
    await waitUntil(() => this.echoes === this.sent || this.conn.isClosed || failed !== null, `the last echoes on ConnID ${this.conn.connId}`);
    this.conn.close();
    await this.ended;
  }
}
