import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, SqlgateError } from '../src/index.js';
import { closedPort, silentServer } from './faults.js';
import { type Gateway, startGateway } from './gateway.js';

/**
 * Network-failure retries: a refused connection (the request never left, nothing can have run) is retried
 * with backoff for every kind of call; a timeout or a lost connection after the request was sent is not,
 * not even for a SELECT (the client cannot know a statement has no side effects).
 */
const started: Gateway[] = [];
afterAll(async () => {
  for (const g of started) await g.stop();
});

describe('retries on network failures', () => {
  it('retries a refused connection until a late gateway is up, for a non-atomic write batch, once', async () => {
    const port = await closedPort();
    const c = createClient({
      url: `http://127.0.0.1:${port}`,
      backend: 'sqlite',
      retry: { retries: 60, baseDelayMs: 100, maxDelayMs: 400 },
    });
    let settled = false;
    const write = c
      .batch(['CREATE TABLE late_t (id INTEGER PRIMARY KEY)', 'INSERT INTO late_t (id) VALUES (1)'], {
        transaction: false,
      })
      .finally(() => {
        settled = true;
      });
    // The first attempts meet a closed port; the gateway comes up only after they failed.
    const refused = await createClient({ url: `http://127.0.0.1:${port}`, retry: false })
      .execute('SELECT 1')
      .catch((e: SqlgateError) => e);
    expect(refused).toBeInstanceOf(SqlgateError);
    expect((refused as SqlgateError).code).toBe('NETWORK_ERROR');
    expect((refused as SqlgateError).retryable).toBe(true);
    expect(settled).toBe(false);
    const gw = await startGateway('', port);
    started.push(gw);
    const results = await write;
    expect(results.map((r) => (r instanceof SqlgateError ? r.code : r.affectedRows))).toEqual([0, 1]);
    expect((await c.execute('SELECT id FROM late_t')).rows).toEqual([{ id: 1 }]);
  });

  it('retries a refused commit inside a session: the commit never reached the gateway', async () => {
    const gw = await startGateway();
    started.push(gw);
    const closed = `http://127.0.0.1:${await closedPort()}`;
    let refuseNext = 0;
    const f: typeof fetch = (input, init) => {
      // Send this one request to a closed port, as a gateway restarting behind a balancer would refuse it.
      if (refuseNext > 0 && String(input).endsWith('/commit')) {
        refuseNext--;
        return fetch(String(input).replace(gw.url, closed), init);
      }
      return fetch(input, init);
    };
    const c = createClient({ url: gw.url, backend: 'sqlite', fetch: f, retry: { retries: 3, baseDelayMs: 1 } });
    await c.execute('CREATE TABLE refused_commit (id INTEGER PRIMARY KEY)');
    refuseNext = 2;
    await c.transaction((tx) => tx.execute('INSERT INTO refused_commit (id) VALUES (7)'));
    expect(refuseNext).toBe(0);
    expect((await c.execute('SELECT id FROM refused_commit')).rows).toEqual([{ id: 7 }]);
  });

  it('never retries a timeout after the request was sent, not even a SELECT', async () => {
    const silent = await silentServer();
    try {
      const c = createClient({ url: silent.url, timeoutMs: 300, retry: { retries: 5, baseDelayMs: 1 } });
      for (const q of ['INSERT INTO t (id) VALUES (1)', 'SELECT 1']) {
        const e = (await c.execute(q).catch((x: unknown) => x)) as SqlgateError;
        expect(e).toBeInstanceOf(SqlgateError);
        expect(e.code).toBe('TIMEOUT');
        expect(e.retryable).toBe(false);
      }
      // A stream's timeoutMs covers the wait for its columns, and is not retried either.
      const st = (await c.stream('SELECT 1').catch((x: unknown) => x)) as SqlgateError;
      expect([st.code, st.retryable]).toEqual(['TIMEOUT', false]);
      expect(silent.requests).toBe(3);
    } finally {
      await silent.close();
    }
  });

  it('never retries a connection lost after the request was sent', async () => {
    const dropping = await silentServer(true);
    try {
      const c = createClient({ url: dropping.url, retry: { retries: 5, baseDelayMs: 1 } });
      const e = (await c.execute('INSERT INTO t (id) VALUES (1)').catch((x: unknown) => x)) as SqlgateError;
      expect(e).toBeInstanceOf(SqlgateError);
      expect(e.code).toBe('NETWORK_ERROR');
      expect(e.retryable).toBe(false);
      expect(dropping.requests).toBe(1);
    } finally {
      await dropping.close();
    }
  });

  it('a 2xx reply that is not JSON is BAD_RESPONSE and is not retried', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'text/html', 'x-request-id': 'proxy-1' }).end('<html>captive portal</html>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      const c = createClient({ url: `http://127.0.0.1:${port}`, retry: { retries: 5, baseDelayMs: 1 } });
      const e = (await c.execute('SELECT 1').catch((x: unknown) => x)) as SqlgateError;
      expect(e).toBeInstanceOf(SqlgateError);
      expect([e.code, e.status, e.requestId, e.retryable]).toEqual(['BAD_RESPONSE', 200, 'proxy-1', false]);
      expect(hits).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
