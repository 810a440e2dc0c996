/**
 * A TCP proxy for resumable-session tests: sits between endpoints and a gateway on
 * loopback and cuts links — on demand, or at random points of the byte stream (so often
 * in the middle of a frame), both directions destroyed at once, as a lost network would.
 * Every cut is counted.
 */
import net from 'node:net';

export interface ChaosOptions {
  /**
   * Cut each link after a random number of bytes (both directions together) in
   * [min, max]; `null`: only on demand ({@link ChaosProxy.cutAll}).
   */
  cutAfterBytes?: { min: number; max: number } | null;
  /** Random numbers in [0, 1) (seeded by the test, so a failure can be replayed). */
  random?: () => number;
  /** Keep a copy of every byte the endpoints sent (what a sniffer on the path would see). */
  record?: boolean;
}

interface Pipe {
  client: net.Socket;
  upstream: net.Socket;
  budget: number;
  cut: boolean;
}

export class ChaosProxy {
  /** Links cut (by chance or on demand). */
  cuts = 0;
  /** Links accepted. */
  links = 0;
  private readonly server: net.Server;
  private readonly pipes = new Set<Pipe>();
  private options: ChaosOptions;
  private refusing = false;
  /** What the endpoints sent, chunk by chunk, when `record` is on. */
  readonly sent: Buffer[] = [];

  private constructor(server: net.Server, options: ChaosOptions) {
    this.server = server;
    this.options = options;
  }

  /** A proxy on a free loopback port forwarding to `targetPort`. */
  static async start(targetPort: number, options: ChaosOptions = {}): Promise<ChaosProxy> {
    let proxy!: ChaosProxy;
    const server = net.createServer((socket) => proxy.accept(socket, targetPort));
    proxy = new ChaosProxy(server, options);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Open links now. */
  get openLinks(): number {
    return this.pipes.size;
  }

  /** Changes when links get cut from now on (new links; open ones keep their budget). */
  setChaos(cutAfterBytes: ChaosOptions['cutAfterBytes']): void {
    this.options = { ...this.options, cutAfterBytes };
    if (cutAfterBytes === null || cutAfterBytes === undefined) for (const p of this.pipes) p.budget = Infinity;
  }

  /** While true, new links are closed at once (a gateway that is down). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Cuts every open link. */
  cutAll(): void {
    for (const pipe of [...this.pipes]) this.cut(pipe);
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private budget(): number {
    const c = this.options.cutAfterBytes;
    if (c === null || c === undefined) return Infinity;
    const r = (this.options.random ?? Math.random)();
    return Math.floor(c.min + r * (c.max - c.min + 1));
  }

  private accept(client: net.Socket, targetPort: number): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.links++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pipe: Pipe = { client, upstream, budget: this.budget(), cut: false };
    this.pipes.add(pipe);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const forward = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (pipe.cut) return;
        if (chunk.length >= pipe.budget) {
          const part = Math.max(0, Math.floor(pipe.budget));
          if (part > 0) to.write(chunk.subarray(0, part));
          // Let the partial write leave, then cut: the other end sees half a frame.
          setImmediate(() => this.cut(pipe));
          pipe.budget = 0;
          pipe.cut = true;
          return;
        }
        pipe.budget -= chunk.length;
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
    };
    if (this.options.record) client.on('data', (chunk: Buffer) => this.sent.push(Buffer.from(chunk)));
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      if (!this.pipes.has(pipe)) return;
      this.pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  }

  private cut(pipe: Pipe): void {
    if (!this.pipes.has(pipe)) return;
    pipe.cut = true;
    this.cuts++;
    this.pipes.delete(pipe);
    pipe.client.resetAndDestroy();
    pipe.upstream.resetAndDestroy();
  }
}
