/**
 * Runs one gateway on loopback (port 0) for a test, hands out raw peers connected to it,
 * and on the way out checks what every gateway test must leave behind: once all peers have
 * left, the gateway's tables are empty; once it is closed, no socket, listener or timer is
 * left open in the process.
 */
import assert from 'node:assert/strict';
import { Gateway, type GatewayOptions, type GatewayStats } from '../../src/index.js';
import type { GatewayLogger } from '../../src/gateway/logger.js';
import { CommandType } from '../../src/protocol/index.js';
import { RawPeer, waitUntil, withTimeout } from './raw-peer.js';

/** The auth key harness gateways use unless a test sets its own. */
export const KEY = 'test-key';

/** One log call the gateway made. `text` is everything in it, for searching. */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
  text: string;
}

function serialize(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Error) return { ...v, name: v.name, message: v.message };
    if (typeof v === 'bigint') return String(v);
    return v;
  });
}

/** A {@link GatewayLogger} that keeps every entry for assertions. */
export class CapturingLogger implements GatewayLogger {
  readonly entries: LogEntry[] = [];
  debug(obj: object, msg: string): void {
    this.add('debug', obj, msg);
  }
  info(obj: object, msg: string): void {
    this.add('info', obj, msg);
  }
  warn(obj: object, msg: string): void {
    this.add('warn', obj, msg);
  }
  error(obj: object, msg: string): void {
    this.add('error', obj, msg);
  }
  private add(level: LogEntry['level'], obj: object, msg: string): void {
    this.entries.push({ level, obj, msg, text: `${msg} ${serialize(obj)}` });
  }
}

/** Gateway options for tests: like {@link GatewayOptions}, but the server key may be left out. */
export interface TestGatewayOptions extends Omit<GatewayOptions, 'server'> {
  server?: Partial<GatewayOptions['server']>;
}

/** Handle kinds that must not outlive a test. */
const LEAK_KINDS = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TCPWrap', 'Timeout', 'Immediate']);

/** The sockets, listeners and timers open in the process right now. */
export function openResources(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => LEAK_KINDS.has(kind));
}

/** A running gateway and the peers a test connected to it. */
export class GatewayHarness {
  readonly gw: Gateway;
  readonly logger: CapturingLogger;
  readonly clientPort: number;
  readonly serverPort: number;
  private readonly peers: RawPeer[] = [];

  private constructor(gw: Gateway, logger: CapturingLogger, clientPort: number, serverPort: number) {
    this.gw = gw;
    this.logger = logger;
    this.clientPort = clientPort;
    this.serverPort = serverPort;
  }

  static async start(options: TestGatewayOptions = {}): Promise<GatewayHarness> {
    const logger = new CapturingLogger();
    const gw = new Gateway({
      ...options,
      server: { authKey: KEY, ...options.server },
      logger: options.logger ?? logger,
    });
    const bound = await withTimeout(gw.listen({ client: '127.0.0.1:0', server: '127.0.0.1:0' }), 'the gateway to listen');
    return new GatewayHarness(gw, logger, bound.client!.port, bound.server!.port);
  }

  /** A snapshot of the gateway's statistics. */
  get stats(): GatewayStats {
    return this.gw.stats;
  }

  /** A new client connection (clients frame from their first byte). */
  async client(): Promise<RawPeer> {
    return this.track(await RawPeer.connect(this.clientPort));
  }

  /** A connection to the server listener that has done nothing yet (raw mode, for handshake tests). */
  async rawServer(): Promise<RawPeer> {
    return this.track(await RawPeer.connect(this.serverPort, { framing: false }));
  }

  /**
   * A server connection that has authenticated as `serverId`. The protocol has no "auth OK"
   * reply, so this waits for the gateway's count of authenticated servers to go up.
   */
  async server(serverId: number, key = KEY): Promise<RawPeer> {
    const before = this.stats.serversAuthenticated;
    const peer = await this.rawServer();
    await peer.handshake(key, serverId);
    await waitUntil(
      () => this.stats.serversAuthenticated > before || peer.isClosed,
      `server ${serverId} to authenticate`,
    );
    assert.equal(peer.isClosed, false, `server ${serverId} was disconnected during its handshake`);
    return peer;
  }

  /**
   * Makes a virtual connection from `dialer` to `remote` (known to the gateway as
   * `remoteId`) and checks both Accepts. Returns the ConnID and the ID the remote was told
   * the dialer has.
   */
  async link(dialer: RawPeer, remote: RawPeer, remoteId: number): Promise<{ connId: number; dialerId: number }> {
    const connId = await dialer.open();
    assert.notEqual(connId, 0, 'New was answered with Open(0)');
    dialer.sendDial(connId, remoteId);
    const atDialer = await dialer.expectCommand(CommandType.Accept, connId);
    assert.equal(atDialer.remoteId, remoteId, 'the dialer was told the wrong RemoteID');
    const atRemote = await remote.expectCommand(CommandType.Accept, connId);
    return { connId, dialerId: atRemote.remoteId };
  }

  /**
   * Ends the test: closes every peer; when `check`, asserts the gateway's tables are empty;
   * closes the gateway and, when `check`, asserts nothing is left open.
   */
  async finish(check: boolean): Promise<void> {
    try {
      await Promise.all(this.peers.map((p) => p.end()));
      if (check) {
        const gauges = (): object => {
          const s = this.stats;
          return {
            clients: s.clients,
            servers: s.servers,
            liveConnections: s.liveConnections,
            pendingConnections: s.pendingConnections,
          };
        };
        const empty = { clients: 0, servers: 0, liveConnections: 0, pendingConnections: 0 };
        await waitUntil(() => serialize(gauges()) === serialize(empty), 'the gateway tables to empty').catch(() => {});
        assert.deepEqual(gauges(), empty, 'the gateway tables are not empty after every peer left');
      }
    } finally {
      await withTimeout(this.gw.close(), 'gateway.close()');
    }
    if (check) {
      // Node releases a closed handle on the loop turn after its 'close' event: allow for that.
      await waitUntil(() => openResources().length === 0, 'every handle to be released', 2000).catch(() => {});
      assert.deepEqual(openResources(), [], 'resources left open after gateway.close()');
    }
  }

  private track(peer: RawPeer): RawPeer {
    this.peers.push(peer);
    return peer;
  }
}

/**
 * Runs `body` against a fresh gateway, then closes everything. The end-of-test checks
 * (empty tables, nothing left open) run only when the body passed, so they never hide the
 * body's own failure.
 */
export async function withGateway(options: TestGatewayOptions, body: (h: GatewayHarness) => Promise<void>): Promise<void> {
  const h = await GatewayHarness.start(options);
  let passed = false;
  try {
    await body(h);
    passed = true;
  } finally {
    await h.finish(passed);
  }
}

/** A message of `size` bytes whose content depends on `seed`, so mix-ups show. */
export function pattern(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = (seed * 31 + i * 7) & 0xff;
  return buf;
}
