import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/** SQLite is synchronous; the gateway runs it in worker threads so slow statements never stall HTTP. */
describe('SQLite never blocks the event loop', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: { driver: 'sqlite', database: tempSqliteFile() } } });
  });
  afterAll(() => t.close());

  it('answers /healthz while a ~2 s query runs, each check far quicker than the query', async () => {
    const slowSql =
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 10000000) SELECT count(*) AS n FROM c';
    const started = performance.now();
    let slowDoneAt = 0;
    const slow = t.post('/v1/execute', { sql: slowSql }).then((r) => {
      slowDoneAt = performance.now();
      return r;
    });
    await new Promise((r) => setTimeout(r, 150));
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const res = await t.get('/healthz');
      latencies.push(performance.now() - t0);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    const checkedAt = performance.now();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.body.rows[0].n).toBe('10000000');
    // The health checks happened while the slow statement was still running.
    expect(slowDoneAt).toBeGreaterThan(checkedAt);
    expect(slowDoneAt - started).toBeGreaterThan(500);
    // A blocked event loop would hold every check until the query ends (seconds). The bound is loose on
    // purpose: this machine is shared, and the property is "not blocked", not a latency target.
    expect(Math.max(...latencies)).toBeLessThan(Math.min(250, (slowDoneAt - started) / 4));
  });

  it('stops a statement past its timeout with STATEMENT_TIMEOUT and keeps serving', async () => {
    const res = await t.post('/v1/execute', {
      sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100000000) SELECT count(*) FROM c',
      options: { timeoutMs: 200 },
    });
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('STATEMENT_TIMEOUT');
    const after = await t.post('/v1/execute', { sql: 'SELECT 1 AS ok' });
    expect(after.status).toBe(200);
    expect(after.body.rows[0].ok).toBe('1');
  });
});
