/**
 * What a gateway publishes about itself in the registry, and the announcements on the
 * cluster's channel: pure encoding and decoding (JSON), checked field by field so that a
 * malformed value from Redis is a clear {@link RegistryError}, never a crash further on.
 */
import { RegistryError } from './errors.js';

/** `ready`: takes new clients and virtual connections. `draining`: finishing its live ones, takes no new. */
export type GatewayState = 'ready' | 'draining';

/** One gateway's record in the registry. */
export interface GatewayRecord {
  /** The gateway ID (unique among live gateways of a cluster). */
  readonly id: string;
  readonly state: GatewayState;
  /** Where game clients connect over TCP (`host:port`, or `tls://host:port`); null when not advertised. */
  readonly clientAddr: string | null;
  /** Where game clients connect over WebSocket (`ws://…` or `wss://…`); null when there is no WebSocket listener. */
  readonly clientWsUrl: string | null;
  /** Where game servers connect (`host:port`, or `tls://host:port`). */
  readonly serverAddr: string;
  /** Connected game clients, at the last heartbeat. */
  readonly clients: number;
  /** Live virtual connections, at the last heartbeat. */
  readonly liveConnections: number;
  /** The gateway's fastway version. */
  readonly version: string;
  /** When the gateway started, in ms since the epoch. */
  readonly startedAt: number;
  /** When the record was last written, in ms since the epoch. */
  readonly updatedAt: number;
  /** A random token of the process that holds the ID: another process with the same ID is refused. */
  readonly instance: string;
}

/** What an announcement on the cluster channel says happened. */
export type AnnouncementEvent = 'join' | 'drain' | 'leave';

/** One message on the cluster channel. */
export interface Announcement {
  readonly event: AnnouncementEvent;
  readonly id: string;
}

const STATES: readonly string[] = ['ready', 'draining'];
const EVENTS: readonly string[] = ['join', 'drain', 'leave'];

/** The record as stored in Redis. */
export function encodeGatewayRecord(r: GatewayRecord): string {
  return JSON.stringify({
    id: r.id,
    state: r.state,
    clientAddr: r.clientAddr,
    clientWsUrl: r.clientWsUrl,
    serverAddr: r.serverAddr,
    clients: r.clients,
    liveConnections: r.liveConnections,
    version: r.version,
    startedAt: r.startedAt,
    updatedAt: r.updatedAt,
    instance: r.instance,
  });
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RegistryError(`${what} is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RegistryError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function field<T>(o: Record<string, unknown>, name: string, what: string, ok: (v: unknown) => boolean, expected: string): T {
  const v = o[name];
  if (!ok(v)) throw new RegistryError(`${what}: field ${name} must be ${expected}, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v as T;
}

const isText = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const isTextOrNull = (v: unknown): boolean => v === null || isText(v);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Reads a record written by {@link encodeGatewayRecord}. Unknown fields are ignored (a newer
 * gateway may add some).
 * @throws RegistryError naming the first field that is missing or malformed.
 */
export function decodeGatewayRecord(text: string): GatewayRecord {
  const what = 'gateway record';
  const o = parseObject(text, what);
  return {
    id: field(o, 'id', what, isText, 'a non-empty string'),
    state: field(o, 'state', what, (v) => STATES.includes(v as string), 'ready or draining'),
    clientAddr: field(o, 'clientAddr', what, isTextOrNull, 'an address or null'),
    clientWsUrl: field(o, 'clientWsUrl', what, isTextOrNull, 'a URL or null'),
    serverAddr: field(o, 'serverAddr', what, isText, 'an address'),
    clients: field(o, 'clients', what, isCount, 'a count'),
    liveConnections: field(o, 'liveConnections', what, isCount, 'a count'),
    version: field(o, 'version', what, (v) => typeof v === 'string', 'a string'),
    startedAt: field(o, 'startedAt', what, isCount, 'a time in ms'),
    updatedAt: field(o, 'updatedAt', what, isCount, 'a time in ms'),
    instance: field(o, 'instance', what, isText, 'a non-empty string'),
  };
}

/** An announcement as published. */
export function encodeAnnouncement(a: Announcement): string {
  return JSON.stringify({ event: a.event, id: a.id });
}

/** @throws RegistryError when `text` is not an announcement. */
export function decodeAnnouncement(text: string): Announcement {
  const what = 'announcement';
  const o = parseObject(text, what);
  return {
    event: field(o, 'event', what, (v) => EVENTS.includes(v as string), 'join, drain or leave'),
    id: field(o, 'id', what, isText, 'a non-empty string'),
  };
}
