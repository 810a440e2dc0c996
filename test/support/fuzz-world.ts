/**
 * Raw clients and servers connected to an in-process gateway, each paired with its
 * {@link ModelPeer}: a test makes a peer send frames, and the world checks, frame by
 * frame, that the gateway answered every peer exactly as the model says and counted what
 * the model counted. A protocol error must close the sender and only the sender.
 *
 * After each action every open peer is synchronised with a New→Open round trip: the frames
 * before its Open are exactly what the gateway sent it because of the action, compared per
 * virtual connection (the only order the protocol promises).
 */
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { GatewayStats } from '../../src/index.js';
import { CommandType, encodeClose, encodeNew, readU32 } from '../../src/protocol/index.js';
import type { Bystander } from './bystander.js';
import { type ExpectedFrame, frameKey, GatewayModel, type ModelLimits, type ModelPeer } from './gateway-model.js';
import type { GatewayHarness } from './gateway-harness.js';
import { describeSpec, encodeSpec, type FrameSpec, type SpecContext, splitAt } from './frame-specs.js';
import { RawPeer, type ReceivedFrame, waitUntil } from './raw-peer.js';

/** A raw peer and its model. */
export interface Member {
  raw: RawPeer;
  model: ModelPeer;
  /**
   * The Close that releases the ID of the member's last sync, sent in front of its next
   * bytes (sending it at once would leave the gateway's pending count in flight).
   */
  release: Uint8Array | null;
}

/** Totals across every world of a test file, for the report. */
export const fuzzTotals = { actions: 0, framesSent: 0, bytesSent: 0, protocolErrors: 0, framesChecked: 0 };

function describeFrame(f: { connId: number; message: Uint8Array }): string {
  if (f.connId !== 0) return `data(${f.connId}, ${f.message.length} B)`;
  const names = ['New', 'Open', 'Dial', 'Refuse', 'Accept', 'Close', 'Ping'];
  const m = f.message;
  const args = [m.length >= 5 ? readU32(m, 1) : null, m.length >= 9 ? readU32(m, 5) : null].filter((a) => a !== null);
  return `${names[m[0]!] ?? `type ${m[0]}`}(${args.join(', ')})`;
}

function groups(frames: readonly { connId: number; message: Uint8Array }[]): Map<number, { connId: number; message: Uint8Array }[]> {
  const out = new Map<number, { connId: number; message: Uint8Array }[]>();
  for (const f of frames) {
    const key = frameKey(f.connId, f.message);
    let list = out.get(key);
    if (list === undefined) out.set(key, (list = []));
    list.push(f);
  }
  return out;
}

/**
 * Asserts `received` matches `expected` per virtual connection: exactly, or (for a peer the
 * gateway closed, whose unsent output it may drop) as a prefix.
 */
export function compareFrames(received: readonly ReceivedFrame[], expected: readonly ExpectedFrame[], mode: 'exact' | 'prefix', who: string): void {
  const got = groups(received);
  const want = groups(expected);
  const show = (list: readonly { connId: number; message: Uint8Array }[] | undefined): string => (list ?? []).map(describeFrame).join(' ') || '(nothing)';
  const detail = (): string => `\n  got:      ${show(received)}\n  expected: ${show(expected)}`;
  for (const [key, list] of got) {
    const exp = want.get(key) ?? [];
    assert.ok(list.length <= exp.length, `${who}: more frames about ConnID ${key} than the protocol allows${detail()}`);
    if (mode === 'exact') assert.equal(list.length, exp.length, `${who}: frames about ConnID ${key} missing${detail()}`);
    for (let i = 0; i < list.length; i++) {
      assert.ok(
        list[i]!.connId === exp[i]!.connId && Buffer.compare(Buffer.from(list[i]!.message), exp[i]!.message) === 0,
        `${who}: frame ${i} about ConnID ${key} is ${describeFrame(list[i]!)}, expected ${describeFrame(exp[i]!)}${detail()}`,
      );
    }
  }
  if (mode === 'exact') {
    for (const key of want.keys()) assert.ok(got.has(key), `${who}: no frame about ConnID ${key}${detail()}`);
  }
  fuzzTotals.framesChecked += received.length;
}

export interface WorldOptions {
  limits: ModelLimits;
  serverIds: number[];
  clients: number;
  key: string;
}

const NEW = encodeNew();
const CHECKED_COUNTERS = ['staleFrames', 'forgedFrames', 'dialsAccepted', 'opensRefused'] as const;

export class FuzzWorld {
  readonly members: Member[] = [];
  private readonly guarded: Set<ModelPeer>;
  private readonly guardedConnId: number;
  private readonly baseline: GatewayStats;
  /** Gauges the guarded (bystander) peers account for. */
  private readonly extra = { clients: 0, servers: 0 };

  private constructor(
    readonly h: GatewayHarness,
    readonly model: GatewayModel,
    bystander: Bystander | null,
    private readonly limits: ModelLimits,
  ) {
    this.baseline = h.stats;
    this.guarded = new Set();
    this.guardedConnId = bystander?.connId ?? 0;
    if (bystander !== null) {
      const c = model.addPeer('client', bystander.clientId);
      const s = model.addPeer('server', bystander.serverId);
      model.addRoute(bystander.connId, c, s);
      this.guarded.add(c).add(s);
      this.extra.clients = 1;
      this.extra.servers = 1;
    }
  }

  /**
   * Connects `serverIds.length` servers and `clients` clients to `h`'s gateway, learns each
   * client's ID (a server learns it from an Accept) and where the ConnID counter stands.
   * `bystander`, if any, is known to the model but never dialed by the fuzz.
   */
  static async create(h: GatewayHarness, bystander: Bystander | null, opts: WorldOptions): Promise<FuzzWorld> {
    const servers: { raw: RawPeer; id: number }[] = [];
    for (const id of opts.serverIds) {
      const raw = await RawPeer.connect(h.serverPort, { framing: false, maxPacketSize: opts.limits.maxPacketSize });
      await raw.handshake(opts.key, id);
      await raw.sync(); // an Open arrives only on an authenticated connection
      servers.push({ raw, id });
    }
    const clients: { raw: RawPeer; id: number }[] = [];
    let lastConnId = 0;
    const first = servers[0]!;
    for (let i = 0; i < opts.clients; i++) {
      const raw = await RawPeer.connect(h.clientPort, { maxPacketSize: opts.limits.maxPacketSize });
      const connId = await raw.open();
      raw.sendDial(connId, first.id);
      await raw.expectCommand(CommandType.Accept, connId);
      const { remoteId } = await first.raw.expectCommand(CommandType.Accept, connId);
      raw.sendClose(connId);
      await raw.expectCommand(CommandType.Close, connId);
      await first.raw.expectCommand(CommandType.Close, connId);
      clients.push({ raw, id: remoteId });
      lastConnId = connId;
    }
    if (lastConnId === 0) {
      lastConnId = await first.raw.open();
      first.raw.sendClose(lastConnId);
    }
    const world = new FuzzWorld(h, new GatewayModel(opts.limits, lastConnId + 1), bystander, opts.limits);
    for (const s of servers) world.members.push({ raw: s.raw, model: world.model.addPeer('server', s.id), release: null });
    for (const c of clients) world.members.push({ raw: c.raw, model: world.model.addPeer('client', c.id), release: null });
    await world.syncAll(); // a Close may still be on its way: from here on the model is exact
    return world;
  }

  /** Members whose connection is open. */
  get open(): Member[] {
    return this.members.filter((m) => m.model.open);
  }

  /**
   * The `which`-th open member sends `specs`, cut at `splits`; then every peer is checked.
   * Returns false when no member is open.
   */
  async send(which: number, specs: readonly FrameSpec[], splits: number[] | 'bytewise'): Promise<boolean> {
    const open = this.open;
    if (open.length === 0) return false;
    const actor = open[which % open.length]!;
    const ctx: SpecContext = { model: this.model, actor: actor.model, guardedPeers: this.guarded, guardedConnId: this.guardedConnId };
    const parts: Uint8Array[] = [];
    if (actor.release !== null) {
      parts.push(actor.release);
      this.model.receive(actor.model, actor.release);
      actor.release = null;
    }
    for (const spec of specs) {
      const bytes = encodeSpec(spec, ctx, this.limits.maxPacketSize);
      parts.push(bytes);
      this.model.receive(actor.model, bytes);
    }
    const all = Buffer.concat(parts);
    fuzzTotals.actions++;
    fuzzTotals.framesSent += specs.length;
    fuzzTotals.bytesSent += all.length;
    for (const piece of splitAt(all, splits)) {
      if (actor.raw.isClosed) break;
      actor.raw.write(piece);
      await nextTurn();
    }
    await this.settle(actor, `after ${actor.model.kind} ${actor.model.id} sent ${specs.map(describeSpec).join(' ')}`);
    return true;
  }

  /** The `which`-th open member closes its connection. */
  async leave(which: number): Promise<void> {
    const open = this.open;
    if (open.length === 0) return;
    const m = open[which % open.length]!;
    await m.raw.end();
    this.model.disconnect(m.model);
    await this.waitForGauges();
    await this.syncAll();
    await this.checkStats();
  }

  /** Checks the actor, then every other open peer, then the statistics. */
  private async settle(actor: Member, what: string): Promise<void> {
    if (actor.model.open) {
      await this.sync(actor, what);
    } else {
      fuzzTotals.protocolErrors++;
      await actor.raw.expectClosed(`the gateway to close ${actor.model.kind} ${actor.model.id} for ${actor.model.error} ${what}`);
      const received: ReceivedFrame[] = [];
      while (actor.raw.queuedFrames > 0) received.push(await actor.raw.nextFrame());
      compareFrames(received, actor.model.expected, 'prefix', `${actor.model.kind} ${actor.model.id} (closed) ${what}`);
      actor.model.expected = [];
      await this.waitForGauges();
    }
    for (const m of this.open) if (m !== actor) await this.sync(m, what);
    await this.checkStats(what);
  }

  private async syncAll(): Promise<void> {
    for (const m of this.open) await this.sync(m, 'at sync');
  }

  /**
   * New→Open round trip on `m`: every frame before the Open must be what the model
   * expected. If the gateway holds part of a frame from `m`, the New's bytes complete it
   * (in the model too), so News are sent until one is answered.
   */
  private async sync(m: Member, what: string): Promise<void> {
    const countOpens = (list: readonly { connId: number; message: Uint8Array }[]): number =>
      list.filter((f) => f.connId === 0 && f.message[0] === CommandType.Open).length;
    for (let tries = 0; ; tries++) {
      assert.ok(tries < 100, 'sync: no New was ever answered');
      const before = countOpens(m.model.expected);
      const bytes = m.release === null ? NEW : Buffer.concat([m.release, NEW]);
      m.release = null;
      m.raw.write(bytes);
      this.model.receive(m.model, bytes);
      if (!m.model.open) {
        // The New completed a frame that broke the protocol.
        await this.settleClosed(m, what);
        return;
      }
      if (countOpens(m.model.expected) > before) break;
    }
    const want = countOpens(m.model.expected);
    const received: ReceivedFrame[] = [];
    while (countOpens(received) < want) {
      received.push(await m.raw.nextFrame(`the frames ${what}, up to the Open of a sync`));
    }
    compareFrames(received, m.model.expected, 'exact', `${m.model.kind} ${m.model.id} ${what}`);
    m.model.expected = [];
    const open = received[received.length - 1]!;
    const connId = readU32(open.message, 1);
    if (connId !== 0) m.release = encodeClose(connId);
  }

  private async settleClosed(m: Member, what: string): Promise<void> {
    fuzzTotals.protocolErrors++;
    await m.raw.expectClosed(`the gateway to close ${m.model.kind} ${m.model.id} ${what}`);
    const received: ReceivedFrame[] = [];
    while (m.raw.queuedFrames > 0) received.push(await m.raw.nextFrame());
    compareFrames(received, m.model.expected, 'prefix', `${m.model.kind} ${m.model.id} (closed) ${what}`);
    m.model.expected = [];
    await this.waitForGauges();
  }

  private gauges(): { clients: number; servers: number } {
    return {
      clients: this.model.open('client').length,
      servers: this.model.open('server').length,
    };
  }

  /** Waits until the gateway has noticed every connection the model has closed. */
  private async waitForGauges(): Promise<void> {
    const want = this.gauges();
    await waitUntil(
      () => this.h.stats.clients === want.clients && this.h.stats.servers === want.servers,
      `the gateway to count ${want.clients} clients and ${want.servers} servers`,
    );
  }

  /**
   * Asserts the gateway's counters moved exactly as the model's since the world was created,
   * and its gauges agree (after the Closes that end the syncs have arrived).
   */
  async checkStats(what = ''): Promise<void> {
    const routes = this.model.routes.size;
    const pending = this.model.pendingOwners.size;
    await waitUntil(
      () => this.h.stats.liveConnections === routes && this.h.stats.pendingConnections === pending,
      `the gateway to hold ${routes} live and ${pending} pending IDs`,
    ).catch(() => {}); // the assertions below say what differs
    const s = this.h.stats;
    const b = this.baseline;
    const c = this.model.counts;
    const where = what === '' ? '' : ` ${what}`;
    for (const [code, n] of Object.entries(c.protocolErrors)) {
      const k = code as keyof typeof c.protocolErrors;
      assert.equal(s.protocolErrors[k] - b.protocolErrors[k], n, `protocolErrors.${code}${where}`);
    }
    for (const [reason, n] of Object.entries(c.dialsRefused)) {
      const k = reason as keyof typeof c.dialsRefused;
      assert.equal(s.dialsRefused[k] - b.dialsRefused[k], n, `dialsRefused.${reason}${where}`);
    }
    for (const name of CHECKED_COUNTERS) assert.equal(s[name] - b[name], c[name], `${name}${where}`);
    assert.equal(s.liveConnections, this.model.routes.size, `liveConnections${where}`);
    assert.equal(s.pendingConnections, this.model.pendingOwners.size, `pendingConnections${where}`);
    const g = this.gauges();
    assert.equal(s.clients, g.clients, `clients${where}`);
    assert.equal(s.servers, g.servers, `servers${where}`);
  }

  /** Closes every member and waits until the gateway holds nothing of this world. */
  async finish(): Promise<void> {
    await Promise.all(this.members.map((m) => m.raw.end()));
    for (const m of this.members) this.model.disconnect(m.model);
    const want = this.extra;
    const live = this.guardedConnId === 0 ? 0 : 1;
    await waitUntil(() => {
      const s = this.h.stats;
      return s.clients === want.clients && s.servers === want.servers && s.liveConnections === live && s.pendingConnections === 0;
    }, 'the gateway to release every fuzz peer');
  }
}
