/**
 * Bench of resumable sessions (docs/sessions.md): `node --import tsx bench/sessions.ts`
 * (`npm run bench:sessions`), options `--duration 3s --rounds 3 --clients 50 --vconns 4
 * --size 64 --inflight 8 --cuts 20`.
 *
 * 1. Scenario (b)'s shape (50 clients × 4 virtual connections × 64 B × 8 in flight, echo),
 *    made with the endpoint library at both ends, with plain virtual connections and with
 *    resumable ones in alternating rounds, through the same gateway process, in one run:
 *    the median msg/s of each and the ratio. Clients and the echo server share this process (the gateway has
 *    its own), so the figure is what the session layer costs the endpoints; the gateway's
 *    work is the same bytes plus 9 per message.
 * 2. The cost of a resume: a client's link is cut (a TCP proxy resets both sides) while it
 *    round-trips messages; the time from the cut to the first echo received on the resumed
 *    connection, over `--cuts` cuts, with the default reconnect policy and with
 *    `initialDelay: 0`.
 */
import net from 'node:net';
import { dialClient, dialServer, type ReconnectingEndpoint, type ResumableConnection, type VirtualConnection } from '../src/index.js';
import { BenchChild } from './child.js';

interface Options {
  durationMs: number;
  clients: number;
  vconns: number;
  size: number;
  inflight: number;
  cuts: number;
  rounds: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { durationMs: 3000, clients: 50, vconns: 4, size: 64, inflight: 8, cuts: 20, rounds: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    const n = Number(value.replace(/s$/, ''));
    if (flag === '--duration') o.durationMs = value.endsWith('ms') ? Number(value.slice(0, -2)) : n * 1000;
    else if (flag === '--clients') o.clients = n;
    else if (flag === '--vconns') o.vconns = n;
    else if (flag === '--size') o.size = n;
    else if (flag === '--inflight') o.inflight = n;
    else if (flag === '--cuts') o.cuts = n;
    else if (flag === '--rounds') o.rounds = n;
    else throw new Error(`unknown option ${flag} (known: --duration, --clients, --vconns, --size, --inflight, --cuts, --rounds)`);
  }
  return o;
}

const KEY = 'bench-sessions-key';
const SERVER_ID = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function echo(conn: VirtualConnection): Promise<void> {
  try {
    for await (const m of conn) if (!conn.send(m)) await conn.drained();
  } catch {
    // closed at the end of the run
  }
}

/** msg/s of round trips over `clients × vconns` connections, plain or resumable. */
async function throughput(o: Options, clientAddr: string, resumable: boolean): Promise<number> {
  const clients: ReconnectingEndpoint[] = [];
  const conns: VirtualConnection[] = [];
  for (let c = 0; c < o.clients; c++) {
    const cli = await dialClient(clientAddr, { reconnect: {} });
    clients.push(cli);
    for (let v = 0; v < o.vconns; v++) conns.push(resumable ? await cli.dial(SERVER_ID, { resumable: true }) : await cli.dial(SERVER_ID));
  }
  let counting = false;
  let running = true;
  let count = 0;
  const message = new Uint8Array(o.size);
  const loops = conns.map(async (conn) => {
    for (let i = 0; i < o.inflight; i++) conn.send(message);
    try {
      for await (const _ of conn) {
        if (counting) count++;
        if (!running) continue;
        if (!conn.send(message)) await conn.drained();
      }
    } catch {
      // closed at the end
    }
  });
  await sleep(1000); // warm-up
  counting = true;
  const start = performance.now();
  await sleep(o.durationMs);
  counting = false;
  const elapsed = performance.now() - start;
  running = false;
  for (const conn of conns) conn.close();
  for (const cli of clients) await cli.close();
  await Promise.all(loops);
  return (count / elapsed) * 1000;
}

/** A TCP proxy whose links can be reset, both sides at once. */
async function cutProxy(targetPort: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((a) => {
    const b = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [a, b];
    pairs.add(pair);
    a.pipe(b);
    b.pipe(a);
    const end = () => {
      pairs.delete(pair);
      a.destroy();
      b.destroy();
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      for (const [a, b] of [...pairs]) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Times from a cut to the first echo on the resumed connection. */
async function resumeCost(o: Options, clientPort: number, initialDelay: number | undefined): Promise<number[]> {
  const proxy = await cutProxy(clientPort);
  const cli = await dialClient(`127.0.0.1:${proxy.port}`, { reconnect: initialDelay === undefined ? {} : { initialDelay } });
  const conn = (await cli.dial(SERVER_ID, { resumable: true })) as ResumableConnection;
  const times: number[] = [];
  const ping = new Uint8Array(o.size);
  for (let i = 0; i < o.cuts; i++) {
    conn.send(ping);
    await conn.receive();
    const cutAt = performance.now();
    proxy.cut();
    conn.send(ping); // waits in the window until the resume
    await conn.receive();
    times.push(performance.now() - cutAt);
  }
  conn.close();
  await cli.close();
  proxy.cut();
  await proxy.close();
  return times;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const gw = await BenchChild.fork('gateway', 'gateway-process.ts', [JSON.stringify({ host: '127.0.0.1', authKey: KEY })]).ready();
  const { client, server } = gw.info as { client: { port: number }; server: { port: number } };
  const srv = await dialServer(`127.0.0.1:${server.port}`, { serverId: SERVER_ID, authKey: KEY, resumable: {} });
  void (async () => {
    for await (const conn of srv) void echo(conn);
  })();
  try {
    const shape = `${o.clients} × ${o.vconns} × ${o.size} B × ${o.inflight}`;
    console.error(`(b) ${shape}, ${o.durationMs} ms each, node ${process.version}`);
    // Alternating rounds (plain, resumable, resumable, plain, …), so that neither mode
    // always runs first or on a warmer gateway; the median of each is reported.
    const runs: { plain: number[]; resumable: number[] } = { plain: [], resumable: [] };
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? [false, true] : [true, false];
      for (const resumable of order) {
        const rate = await throughput(o, `127.0.0.1:${client.port}`, resumable);
        runs[resumable ? 'resumable' : 'plain'].push(rate);
        console.error(`round ${round + 1}: ${resumable ? 'resumable' : 'plain'} ${Math.round(rate)} msg/s`);
      }
    }
    const plain = median(runs.plain);
    const resumable = median(runs.resumable);
    console.log(`| (b) ${shape}, median of ${o.rounds} | msg/s | runs |`);
    console.log('|---|---|---|');
    console.log(`| plain virtual connections | ${Math.round(plain)} | ${runs.plain.map(Math.round).join(', ')} |`);
    console.log(`| resumable virtual connections | ${Math.round(resumable)} | ${runs.resumable.map(Math.round).join(', ')} |`);
    console.log(`| resumable ÷ plain | ${(resumable / plain).toFixed(2)} | |`);
    console.log('');
    console.log(`| resume: cut → first echo on the resumed connection (${o.cuts} cuts) | median | p90 | max |`);
    console.log('|---|---|---|---|');
    for (const [label, delay] of [['default reconnect policy (initialDelay 100, full jitter)', undefined], ['initialDelay 0', 0]] as const) {
      const t = (await resumeCost(o, client.port, delay)).sort((a, b) => a - b);
      console.log(`| ${label} | ${quantile(t, 0.5).toFixed(1)} ms | ${quantile(t, 0.9).toFixed(1)} ms | ${t[t.length - 1]!.toFixed(1)} ms |`);
    }
  } finally {
    await srv.close();
    await gw.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
