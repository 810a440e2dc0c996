import type { Socket } from 'node:net';

/** Why a client connection was closed at accept. */
export type AdmissionRefusal =
  /** The gateway already holds `client.maxClients` client connections. */
  | 'max_clients'
  /** The connection's address already holds `client.maxClientsPerIp`. */
  | 'max_clients_per_ip';

/** The address a limit counts by: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address. */
export function admissionKey(address: string | undefined): string {
  if (address === undefined) return '?';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * Counts the client connections the gateway holds, in all and by remote address, from the
 * moment the TCP connection is accepted (before any TLS handshake or WebSocket upgrade, so
 * connections stalled there count too) until its socket closes. Pure bookkeeping; 0 for a
 * bound means no bound.
 */
export class ClientAdmission {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxClients: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Connections held now. */
  get size(): number {
    return this.total;
  }

  /** How many connections `key` holds now. */
  heldBy(key: string): number {
    return this.byAddress.get(key) ?? 0;
  }

  /** Takes a place for a connection from `key`, or says which bound refuses it (taking nothing). */
  admit(key: string): AdmissionRefusal | null {
    if (this.maxClients > 0 && this.total >= this.maxClients) return 'max_clients';
    const held = this.byAddress.get(key) ?? 0;
    if (this.maxPerAddress > 0 && held >= this.maxPerAddress) return 'max_clients_per_ip';
    this.total++;
    this.byAddress.set(key, held + 1);
    return null;
  }

  /** Gives back a place {@link admit} took for `key`. */
  release(key: string): void {
    const held = this.byAddress.get(key);
    if (held === undefined) return;
    this.total--;
    if (held <= 1) this.byAddress.delete(key);
    else this.byAddress.set(key, held - 1);
  }
}

/** Raw sockets closed at accept by {@link admitAtAccept}: what they do next is not reported. */
const refusedAtAccept = new WeakSet<Socket>();

/** True when `socket` was closed at accept for a bound (its TLS layer then fails: not worth a report). */
export function wasRefusedAtAccept(socket: Socket | undefined): boolean {
  return socket !== undefined && refusedAtAccept.has(socket);
}

/** Where an admitted raw socket keeps what its close gives back (two fields, not a closure and a once-wrapper per connection). */
const kAdmission = Symbol('fastway.admission');
const kAdmissionKey = Symbol('fastway.admissionKey');
type AdmittedSocket = Socket & { [kAdmission]: ClientAdmission; [kAdmissionKey]: string };

/** The 'close' listener of every admitted socket (one function for all; 'close' is emitted once). */
function releaseAtClose(this: AdmittedSocket): void {
  this[kAdmission].release(this[kAdmissionKey]);
}

/**
 * Applies `admission` to a raw accepted TCP socket: admitted, its place is given back when
 * it closes; refused, it is destroyed at once and `onRefused` told. Returns whether it was
 * admitted. Behind the PROXY protocol the socket's remote address is already the player's
 * (see proxy-header-gate.ts), so that is what is counted.
 */
export function admitAtAccept(
  admission: ClientAdmission,
  raw: Socket,
  onRefused: (reason: AdmissionRefusal, remote: string) => void,
): boolean {
  const key = admissionKey(raw.remoteAddress);
  const refusal = admission.admit(key);
  if (refusal === null) {
    const admitted = raw as AdmittedSocket;
    admitted[kAdmission] = admission;
    admitted[kAdmissionKey] = key;
    raw.on('close', releaseAtClose);
    return true;
  }
  refusedAtAccept.add(raw);
  const remote = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
  raw.destroy();
  onRefused(refusal, remote);
  return false;
}
