import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { PG_URL, tempSqliteFile, testBackends } from '../helpers/backends.js';

/**
 * /healthz and /readyz. The PostgreSQL case never stops the shared server (other suites use it): the
 * backend talks to PostgreSQL through a TCP proxy this test closes ("PostgreSQL stopped": connections
 * cut, port refusing) and reopens on the same port ("restarted").
 */

const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

async function app(backends: Record<string, unknown>): Promise<TestApp> {
  const t = await makeTestApp({ backends });
  apps.push(t);
  return t;
}

/** A database file that cannot be opened: its folder does not exist. */
const UNREACHABLE_SQLITE = { driver: 'sqlite', database: '/nonexistent-sqlgate-dir/db.sqlite' };

describe('/healthz and /readyz', () => {
  it('healthz answers while every backend is down; readyz names the failed backend', async () => {
    const t = await app({
      good: { driver: 'sqlite', database: tempSqliteFile() },
      bad: UNREACHABLE_SQLITE,
    });
    const health = await t.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });

    const ready = await t.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'unavailable',
      backends: { good: { ok: true }, bad: { ok: false, error: 'BACKEND_UNAVAILABLE' } },
    });
  });

  it('readyz is 200 when every backend pings', async () => {
    const t = await app({
      a: { driver: 'sqlite', database: tempSqliteFile() },
      b: { driver: 'sqlite', database: ':memory:' },
    });
    const ready = await t.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', backends: { a: { ok: true }, b: { ok: true } } });
  });

  it('readyz is 503 "draining" once shutdown begins, healthz still 200', async () => {
    const t = await app({ a: { driver: 'sqlite', database: tempSqliteFile() } });
    expect((await t.get('/readyz')).status).toBe(200);
    t.app.draining = true; // what the CLI sets on SIGTERM before app.close()
    const ready = await t.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('draining');
    expect((await t.get('/healthz')).status).toBe(200);
  });
});

/** A TCP proxy to `target` on a fixed local port that can be stopped and started again. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Like a database going away: open connections are cut and the port refuses new ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function waitForStatus(t: TestApp, status: number, withinMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const res = await t.get('/readyz');
    const elapsed = Date.now() - start;
    if (res.status === status) return elapsed;
    if (elapsed > withinMs) throw new Error(`/readyz still ${res.status} after ${elapsed} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pg = (await testBackends()).find((b) => b.driver === 'postgres')!;

describe('/readyz follows PostgreSQL going away and coming back', () => {
  if (pg.skipReason) {
    it.skip(`skipped: ${pg.skipReason}`, () => {});
    return;
  }
  const proxy = new TcpProxy({ host: new URL(PG_URL).hostname, port: Number(new URL(PG_URL).port || 5432) });
  afterAll(() => proxy.stop());

  it('turns 503 within 2 s of the database stopping and 200 again after it restarts', async () => {
    await proxy.start();
    const url = new URL(PG_URL);
    url.port = String(proxy.port);
    const t = await app({
      pg: { driver: 'postgres', url: url.toString(), connectTimeoutMs: 1000, pool: { max: 4 } },
      local: { driver: 'sqlite', database: tempSqliteFile() },
    });
    // Warm the pool so idle connections exist when the database goes away.
    expect((await t.post('/v1/execute', { backend: 'pg', sql: 'SELECT 1 AS x' })).status).toBe(200);
    const ready = await t.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.backends).toEqual({ pg: { ok: true }, local: { ok: true } });

    await proxy.stop();
    const downAfter = await waitForStatus(t, 503, 2000);
    expect(downAfter).toBeLessThanOrEqual(2000);
    const down = await t.get('/readyz');
    expect(down.body).toEqual({
      status: 'unavailable',
      backends: { pg: { ok: false, error: 'BACKEND_UNAVAILABLE' }, local: { ok: true } },
    });
    // Statements fail with the documented code meanwhile.
    const failed = await t.post('/v1/execute', { backend: 'pg', sql: 'SELECT 1 AS x' });
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('BACKEND_UNAVAILABLE');

    await proxy.start(); // same port
    await waitForStatus(t, 200, 5000);
    expect((await t.post('/v1/execute', { backend: 'pg', sql: 'SELECT 1 AS x' })).status).toBe(200);
  });
});
