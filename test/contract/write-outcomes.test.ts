import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * Issue #15, defect 10: a write the client is told failed is not committed, and a session reports how it
 * really ended.
 * - `INSERT … RETURNING` past `maxRows` in autocommit: RESULT_TOO_LARGE and no row in the table (PostgreSQL
 *   ran the whole statement and committed it at the Sync; SQLite must not keep it either).
 * - A COMMIT the database refuses (a deferred foreign key) answers the coded error, says it rolled back, and
 *   the session then reports "commit failed, rolled back and closed", not "committed and closed".
 * MySQL/MariaDB: no RETURNING capability in the gateway and no deferred constraints, so neither applies.
 */
const backends = (await testBackends()).filter((b) => b.driver !== 'mysql');

describe.each(backends)('write outcomes: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  const created: string[] = [];
  const ok = async (sql: string) => {
    const res = await t.exec(sql);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const count = async (table: string) => Number((await ok(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n);
  const table = async (columns: string) => {
    const name = uniqueName();
    await ok(`CREATE TABLE ${name} (${columns})${TABLE_SUFFIX[tb.driver]}`);
    created.unshift(name);
    return name;
  };
  const insertFive = (name: string) => `INSERT INTO ${name} (id) VALUES (1), (2), (3), (4), (5) RETURNING id`;

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created) await t.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  it('INSERT … RETURNING beyond maxRows in autocommit: RESULT_TOO_LARGE, nothing committed', async () => {
    const name = await table('id INTEGER PRIMARY KEY');
    const res = await t.exec(insertFive(name), undefined, { maxRows: 2 });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.code).toBe('RESULT_TOO_LARGE');
    expect(await count(name)).toBe(0);
    // Within the limit it commits, and the connection is in autocommit again afterwards.
    const fits = await t.exec(insertFive(name), undefined, { maxRows: 5 });
    expect(fits.status, JSON.stringify(fits.body)).toBe(200);
    expect(fits.body.rows.map((r: { id: unknown }) => Number(r.id))).toEqual([1, 2, 3, 4, 5]);
    expect(await count(name)).toBe(5);
  });

  it('the same in a non-transactional batch and with params', async () => {
    const name = await table('id INTEGER PRIMARY KEY');
    const batch = await t.post('/v1/batch', {
      transaction: false,
      statements: [{ sql: insertFive(name), options: { maxRows: 3 } }],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body.results[0].error.code).toBe('RESULT_TOO_LARGE');
    expect(await count(name)).toBe(0);
    const other = await table('id INTEGER PRIMARY KEY');
    const sql = `INSERT INTO ${other} (id) SELECT v FROM (SELECT 10 AS v UNION ALL SELECT 20 UNION ALL SELECT 30) s WHERE v >= ? RETURNING id`;
    const bulk = await t.exec(tb.driver === 'postgres' ? sql.replace('?', '$1') : sql, [10], { maxRows: 1 });
    expect(bulk.status, JSON.stringify(bulk.body)).toBe(422);
    expect(await count(other)).toBe(0);
  });

  /** A parent and a child whose foreign key is checked only at COMMIT. */
  const deferred = async () => {
    const parent = await table('id INTEGER PRIMARY KEY');
    const child = await table(
      `id INTEGER PRIMARY KEY, pid INTEGER REFERENCES ${parent} (id) DEFERRABLE INITIALLY DEFERRED`,
    );
    return child;
  };

  it('a failed COMMIT (close: true): coded error, rolled back, and the session says so', async () => {
    const child = await deferred();
    const open = await t.post('/v1/sessions', {});
    expect(open.status).toBe(201);
    const id = open.body.id as string;
    const ins = await t.post(`/v1/sessions/${id}/execute`, {
      sql: `INSERT INTO ${child} (id, pid) VALUES (1, 99)`,
    });
    expect(ins.status, JSON.stringify(ins.body)).toBe(200);
    const commit = await t.post(`/v1/sessions/${id}/commit`, {});
    expect(commit.status, JSON.stringify(commit.body)).toBe(409);
    expect(commit.body.error.code).toBe('FOREIGN_KEY_VIOLATION');
    expect(commit.body.error.message).toContain('rolled back');
    const after = await t.get(`/v1/sessions/${id}`);
    expect(after.status).toBe(410);
    expect(after.body.error.code).toBe('SESSION_EXPIRED');
    expect(after.body.error.message).toContain('commit failed, rolled back and closed');
    expect(after.body.error.message).not.toContain('committed and closed');
    expect(await count(child)).toBe(0);
  });

  it('a failed COMMIT (close: false): the session stays open with no transaction, nothing committed', async () => {
    const child = await deferred();
    const open = await t.post('/v1/sessions', {});
    const id = open.body.id as string;
    await t.post(`/v1/sessions/${id}/execute`, { sql: `INSERT INTO ${child} (id, pid) VALUES (1, 99)` });
    const commit = await t.post(`/v1/sessions/${id}/commit`, { close: false });
    expect(commit.status, JSON.stringify(commit.body)).toBe(409);
    expect(commit.body.error.message).toContain('nothing was committed');
    const info = await t.get(`/v1/sessions/${id}`);
    expect(info.status).toBe(200);
    expect(info.body.inTransaction).toBe(false);
    // The session works on, in autocommit: this row is committed at once.
    const next = await t.post(`/v1/sessions/${id}/execute`, {
      sql: `INSERT INTO ${child} (id, pid) VALUES (2, NULL)`,
    });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(await count(child)).toBe(1);
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` });
  });
});
