import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { type TestBackend, testBackends } from '../helpers/backends.js';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, CONCURRENCY_POOL, sessionsSuite, sleep } from './sessions-setup.js';

/**
 * Sessions under concurrent clients: SERIALIZABLE increments with retries; SQLite's single writer.
 * Part of the sessions contract suite, split by topic; shared setup in sessions-setup.ts.
 */
const backends = await testBackends();

describe.each(backends)('sessions concurrency: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  const s = sessionsSuite(tb);
  const { table, client } = s;

  it('32 clients x 50 SERIALIZABLE read-modify-write increments with retries end at exactly 1600', async () => {
    const app = await makeTestApp({
      backends: { db: tb.backendDoc({ pool: { max: CONCURRENCY_POOL[tb.driver] } }) },
    });
    const o = client(() => app);
    const clients = 32;
    const increments = 50;
    let retries = 0;
    try {
      const name = await table(app, 1);
      const once = async (): Promise<boolean> => {
        const opened = await o.open({ isolationLevel: 'SERIALIZABLE' });
        if (opened.status !== 201) {
          if (opened.body.error?.retryable) return false;
          throw new Error(`open: ${JSON.stringify(opened.body)}`);
        }
        const id = opened.body.id;
        let committed = false;
        try {
          const read = await o.sx(id, `SELECT v FROM ${name} WHERE id = 1`);
          if (read.status !== 200) return giveUp(read);
          const v = Number(read.body.rows[0].v);
          const write = await o.sx(id, `UPDATE ${name} SET v = :v WHERE id = 1`, { v: v + 1 });
          if (write.status !== 200) return giveUp(write);
          const done = await o.commit(id);
          committed = true; // close: true ends the session whatever the outcome
          if (done.status !== 200) return giveUp(done);
          return true;
        } finally {
          // After a failure the session is still open (a commit closed it already).
          if (!committed) await o.close(id);
        }
      };
      const giveUp = (res: { body: { error?: { retryable?: boolean; code?: string } } }): false => {
        if (res.body.error?.retryable) return false;
        throw new Error(`not retryable: ${JSON.stringify(res.body)}`);
      };
      const worker = async () => {
        for (let i = 0; i < increments; i++) {
          for (let attempt = 0; ; attempt++) {
            if (await once()) break;
            retries++;
            // Exponential backoff with full jitter keeps the conflict rate (and the run time) down.
            await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
          }
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: clients }, worker));
      const final = await app.post('/v1/execute', { sql: `SELECT v FROM ${name} WHERE id = 1` });
      expect(Number(final.body.rows[0].v)).toBe(clients * increments);
      console.info(
        `[${tb.driver}] 1600 serializable increments in ${Date.now() - started} ms, ${retries} retries`,
      );
      expect(app.app.sessions.size).toBe(0);
      expect(app.app.backends.get('db').poolStats().inUse).toBe(0);
    } finally {
      await app.close();
    }
  }, 120_000);
});

describe('SQLite: one writer', () => {
  let t: TestApp;
  beforeAll(async () => {
    const sqlite = backends.find((b) => b.driver === 'sqlite') as TestBackend;
    t = await makeTestApp({ backends: { db: sqlite.backendDoc({ busyTimeoutMs: 400, pool: { max: 4 } }) } });
    // Start all four worker threads now, so no request below waits for one to boot.
    const warm = await Promise.all([1, 2, 3, 4].map(() => t.post('/v1/sessions', { begin: false })));
    for (const w of warm) await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${w.body.id}` });
    await t.post('/v1/execute', { sql: 'CREATE TABLE w (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)' });
    await t.post('/v1/execute', { sql: 'INSERT INTO w (id, v) VALUES (1, 0)' });
  });
  afterAll(() => t?.close());

  it('a write session holds the writer: other writers get LOCK_TIMEOUT, readers keep reading, HTTP stays responsive', async () => {
    const writer = await t.post('/v1/sessions', { isolationLevel: 'SERIALIZABLE' });
    expect(writer.status).toBe(201);
    const id = writer.body.id;
    await t.post(`/v1/sessions/${id}/execute`, { sql: 'UPDATE w SET v = 1 WHERE id = 1' });

    const started = performance.now();
    const blocked = t.post('/v1/execute', { sql: 'UPDATE w SET v = 2 WHERE id = 1' });
    const other = t.post('/v1/sessions', { isolationLevel: 'SERIALIZABLE' });
    // While both wait for the lock (in worker threads), reads and health checks answer at once.
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const read = await t.post('/v1/execute', { sql: 'SELECT v FROM w WHERE id = 1' });
      expect(read.body.rows[0].v).toBe('0');
      expect((await t.get('/healthz')).status).toBe(200);
      latencies.push(performance.now() - t0);
    }
    expect(Math.max(...latencies)).toBeLessThan(100);
    const res = await blocked;
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true, class: 'LockError' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    const second = await other;
    expect(second.body.error.code).toBe('LOCK_TIMEOUT');

    await t.post(`/v1/sessions/${id}/commit`, {});
    const after = await t.post('/v1/execute', { sql: 'UPDATE w SET v = 2 WHERE id = 1' });
    expect(after.status).toBe(200);
    expect(t.app.backends.get('db').poolStats().inUse).toBe(0);
  });
});
