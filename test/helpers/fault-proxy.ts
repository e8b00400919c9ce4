import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A small TCP proxy for fault injection (test/fault): the gateway connects to it instead of the database,
 * and a test changes what the network does while requests run.
 *
 * - `latency(ms)`: every chunk, both ways, is held `ms` before it is passed on (order kept).
 * - `blackhole()`: nothing moves any more, both ways, and new connections are accepted but never reach the
 *   database, like a partition that drops packets (TCP would retransmit, so nothing is lost: `heal()` lets
 *   the held bytes through, in order, on the connections still open).
 * - `resetAfter(bytes)`: the next connection that carries more than `bytes` from the database to the
 *   gateway after the call is reset (RST) on both sides once it has passed them on: a reset mid-result.
 * - `resetAll()`: every open connection is reset now.
 * - `heal()`: back to a plain pass-through.
 */
export class FaultProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private delayMs = 0;
  private holding = false;
  private resetBudget: number | null = null;
  /** Connections that were reset by `resetAfter` or `resetAll`. */
  resets = 0;
  /** Connections accepted so far. */
  accepted = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenPort = 0,
  ) {}

  /** Listens on loopback; resolves with the port. */
  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no TCP address');
    return addr.port;
  }

  get port(): number {
    const addr = this.server?.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy is not listening');
    return addr.port;
  }

  /** Connections open right now. */
  get open(): number {
    return this.pairs.size;
  }

  latency(ms: number): void {
    this.delayMs = ms;
  }

  blackhole(): void {
    this.holding = true;
  }

  resetAfter(bytes: number): void {
    this.resetBudget = bytes;
    for (const p of this.pairs) p.armed = false;
  }

  resetAll(): void {
    this.resets += this.pairs.size;
    for (const p of [...this.pairs]) this.reset(p);
  }

  heal(): void {
    this.delayMs = 0;
    this.resetBudget = null;
    this.holding = false;
    for (const p of [...this.pairs]) {
      if (!p.upstream) this.dial(p);
      this.flush(p);
    }
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.reset(p);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    const pair: Pair = { client, upstream: null, queue: [], busy: false, downBytes: 0, armed: false };
    this.pairs.add(pair);
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.push(pair, 'up', chunk));
    client.on('error', () => this.reset(pair));
    client.on('close', () => this.reset(pair));
    if (!this.holding) this.dial(pair);
  }

  private dial(pair: Pair): void {
    const upstream = tcpConnect(this.target);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('data', (chunk: Buffer) => this.push(pair, 'down', chunk));
    upstream.on('error', () => this.reset(pair));
    upstream.on('close', () => this.reset(pair));
  }

  private push(pair: Pair, dir: 'up' | 'down', chunk: Buffer): void {
    pair.queue.push({ dir, chunk, due: Date.now() + this.delayMs });
    this.flush(pair);
  }

  /** Passes queued chunks on in order, honouring latency and the black hole. */
  private flush(pair: Pair): void {
    if (pair.busy || !this.pairs.has(pair)) return;
    while (pair.queue.length > 0 && !this.holding && pair.upstream) {
      const next = pair.queue[0] as Chunk;
      const wait = next.due - Date.now();
      if (wait > 0) {
        pair.busy = true;
        setTimeout(() => {
          pair.busy = false;
          this.flush(pair);
        }, wait);
        return;
      }
      pair.queue.shift();
      if (next.dir === 'up') {
        pair.upstream.write(next.chunk);
        continue;
      }
      if (this.resetBudget !== null && !pair.armed) {
        pair.armed = true;
        pair.downBytes = 0;
      }
      pair.client.write(next.chunk);
      pair.downBytes += next.chunk.length;
      if (pair.armed && this.resetBudget !== null && pair.downBytes > this.resetBudget) {
        this.resetBudget = null;
        this.resets++;
        this.reset(pair);
        return;
      }
    }
  }

  private reset(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.queue.length = 0;
    for (const s of [pair.client, pair.upstream]) {
      if (s && !s.destroyed) s.resetAndDestroy();
    }
  }
}

interface Chunk {
  dir: 'up' | 'down';
  chunk: Buffer;
  due: number;
}

interface Pair {
  client: Socket;
  upstream: Socket | null;
  queue: Chunk[];
  busy: boolean;
  /** Bytes passed from the database to the gateway since this connection was armed for `resetAfter`. */
  downBytes: number;
  armed: boolean;
}
