/** The bench's scenarios (issues 5 and 7, and the endpoint library's own, ep) and their default shapes. */
import type { Transport } from './client-link.js';

export type ScenarioName = 'a' | 'b' | 'bws' | 'c' | 'd' | 'e' | 'ep' | 'f';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['a', 'b', 'bws', 'c', 'd', 'e', 'ep', 'f'];

/**
 * What produces a traffic scenario's load: the bench's own raw-protocol load generators and
 * echo servers (`raw`), or a game client and a game server written with the endpoint
 * library's public API (`endpoint`: endpoint-client.ts, endpoint-server.ts).
 */
export type LoadKind = 'raw' | 'endpoint';

/**
 * One scenario's shape. `traffic` scenarios keep `inflight` messages of `size` bytes in flight
 * on each of `vconns` virtual connections of each of `clients` clients; `idle` ones only
 * connect `clients` clients and measure the memory they cost; `storm` ones (f) connect
 * `clients` clients all at once, each round-tripping one message of `size` bytes on one
 * virtual connection, several times over in one gateway process.
 */
export interface Scenario {
  name: ScenarioName;
  title: string;
  kind: 'traffic' | 'idle' | 'storm';
  clients: number;
  vconns: number;
  size: number;
  inflight: number;
  /**
   * How the load clients reach the gateway. A `websocket` scenario runs through our gateway
   * only: there is no WebSocket in the direct baseline or the minimal forwarder. It is
   * compared with the TCP scenario of the same shape, `tcpTwin`, instead.
   */
  transport: Transport;
  /** For a WebSocket scenario: the TCP scenario it is the variant of (`b` for `bws`). */
  tcpTwin?: ScenarioName;
  /**
   * Who makes the traffic (default `raw`). An `endpoint` scenario runs through our gateway
   * only, and is compared with the same shape made by the raw load in the same run.
   */
  load?: LoadKind;
}

export const DEFAULT_SCENARIOS: Record<ScenarioName, Scenario> = {
  a: { name: 'a', title: 'latency', kind: 'traffic', clients: 1, vconns: 1, size: 64, inflight: 1, transport: 'tcp' },
  b: { name: 'b', title: 'small messages', kind: 'traffic', clients: 50, vconns: 4, size: 64, inflight: 8, transport: 'tcp' },
  bws: {
    name: 'bws',
    title: 'b over WebSocket',
    kind: 'traffic',
    clients: 50,
    vconns: 4,
    size: 64,
    inflight: 8,
    transport: 'websocket',
    tcpTwin: 'b',
  },
  c: { name: 'c', title: '1 KiB messages', kind: 'traffic', clients: 50, vconns: 4, size: 1024, inflight: 8, transport: 'tcp' },
  d: { name: 'd', title: 'many players', kind: 'traffic', clients: 1000, vconns: 1, size: 256, inflight: 1, transport: 'tcp' },
  e: { name: 'e', title: 'idle connections', kind: 'idle', clients: 10_000, vconns: 0, size: 0, inflight: 0, transport: 'tcp' },
  f: { name: 'f', title: 'reconnect storm', kind: 'storm', clients: 10_000, vconns: 1, size: 256, inflight: 1, transport: 'tcp' },
  ep: { name: 'ep', title: 'endpoint library', kind: 'traffic', clients: 1, vconns: 4, size: 64, inflight: 32, transport: 'tcp', load: 'endpoint' },
};

/** A short description of the shape: `50 × 4 × 64 B × 8`, `10000 idle` or `10000 at once × 256 B`. */
export function shapeOf(s: Scenario): string {
  if (s.kind === 'idle') return `${s.clients} idle`;
  if (s.kind === 'storm') return `${s.clients} at once × ${s.size} B`;
  return `${s.clients} × ${s.vconns} × ${s.size} B × ${s.inflight}`;
}
