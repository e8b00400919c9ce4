import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';

/**
 * PostgreSQL's protocol counts parameters in 16 bits and pg-protocol reads them signed, so up to 32,767
 * positional params work (MAX_PG_PARAMS); more are refused with PARAM_INVALID before anything reaches the server, and the connection they would
 * have used serves the next request (the pool has one connection, so "the next request" is on it).
 */
const pg = (await testBackends()).find((b) => b.driver === 'postgres');

/** `INSERT INTO t (a) VALUES ($1), ($2), ...` with n params 1..n. */
function bulkInsert(table: string, n: number): { sql: string; params: number[] } {
  const rows: string[] = [];
  const params: number[] = [];
  for (let i = 1; i <= n; i++) {
    rows.push(`($${i})`);
    params.push(i);
  }
  return { sql: `INSERT INTO ${table} (a) VALUES ${rows.join(',')}`, params };
}

describe('postgres: more positional params than the protocol carries', () => {
  if (!pg || pg.skipReason) {
    it.skip(`skipped: ${pg?.skipReason ?? 'no postgres backend'}`, () => {});
    return;
  }
  let t: TestApp;
  const table = uniqueName('pmax');
  const count = async () => Number((await t.exec(`SELECT count(*) AS n FROM ${table}`)).body.rows[0].n);

  beforeAll(async () => {
    t = await makeTestApp({
      server: { bodyLimit: 16 * 1024 * 1024 },
      backends: { db: pg.backendDoc({ pool: { max: 1 } }) },
    });
    expect((await t.exec(`CREATE TABLE ${table} (a integer)`)).status).toBe(200);
  });
  afterAll(async () => {
    await t?.exec(`DROP TABLE IF EXISTS ${table}`);
    await t?.close();
  });

  it('32,767 params (the most) are sent and inserted', async () => {
    const res = await t.post('/v1/execute', bulkInsert(table, 32_767));
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.affectedRows).toBe(32_767);
    expect(await count()).toBe(32_767);
    await t.exec(`DELETE FROM ${table}`);
  });

  it('32,768 params: 400 PARAM_INVALID, nothing written, and the same connection works next', async () => {
    const res = await t.post('/v1/execute', bulkInsert(table, 32_768));
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(400);
    expect(res.body.error.code).toBe('PARAM_INVALID');
    expect(res.body.error.message).toContain('32767');
    const next = await t.exec('SELECT 41 + 1 AS n');
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(next.body.rows).toEqual([{ n: 42 }]);
    expect(await count()).toBe(0);
  });

  it('in a transactional batch: the whole batch is refused with statementIndex, nothing committed', async () => {
    const big = bulkInsert(table, 40_000);
    const res = await t.post('/v1/batch', {
      statements: [{ sql: `INSERT INTO ${table} (a) VALUES (-1)` }, big],
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(400);
    expect(res.body.error.code).toBe('PARAM_INVALID');
    expect(res.body.error.statementIndex).toBe(1);
    expect(await count()).toBe(0);
  });

  it('in a session: refused, and the session and its transaction carry on', async () => {
    const open = await t.post('/v1/sessions', { begin: true });
    expect(open.status).toBe(201);
    const id = open.body.id;
    expect(
      (await t.post(`/v1/sessions/${id}/execute`, { sql: `INSERT INTO ${table} (a) VALUES (7)` })).status,
    ).toBe(200);
    const res = await t.post(`/v1/sessions/${id}/execute`, bulkInsert(table, 32_768));
    expect(res.body.error.code).toBe('PARAM_INVALID');
    const info = await t.get(`/v1/sessions/${id}`);
    expect(info.body.transactionStatus).toBe('active');
    expect((await t.post(`/v1/sessions/${id}/commit`, {})).status).toBe(200);
    expect((await t.exec(`SELECT a FROM ${table}`)).body.rows).toEqual([{ a: 7 }]);
  });
});
