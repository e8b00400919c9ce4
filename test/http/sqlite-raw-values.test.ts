import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/**
 * SQLite gaps an ORM with its own type adapters ran into (issue #19): `valueMode: "raw"` gives values as
 * stored, and `affectedRows` / `lastInsertId` / `command` follow the statement a WITH clause qualifies.
 */
describe('sqlite raw values and WITH statements', () => {
  let t: TestApp;
  const RAW = { valueMode: 'raw' };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: { driver: 'sqlite', database: tempSqliteFile() } } });
    const ddl =
      'CREATE TABLE v (id INTEGER PRIMARY KEY, b BOOLEAN, d DATETIME, j JSON, bl BLOB, n NUMERIC, r REAL, i INTEGER)';
    expect((await t.exec(ddl)).status).toBe(200);
    const ins = await t.exec('INSERT INTO v (b, d, j, bl, n, r, i) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      2,
      '2024-01-02 03:04:05.123456',
      '"abc"',
      'text in a blob column',
      '12.30',
      { $type: 'DOUBLE', value: 2 },
      { $type: 'BIGINT', value: '9007199254740993' },
    ]);
    expect(ins.status).toBe(200);
    expect((await t.exec("INSERT INTO v (j, bl) VALUES ('abc', X'0001')")).status).toBe(200);
  });
  afterAll(async () => t.close());

  it('typed mode (the default) interprets declared types', async () => {
    const r = await t.exec('SELECT b, d, j FROM v ORDER BY id');
    expect(r.body.rows[0]).toEqual({ b: true, d: '2024-01-02T03:04:05.123456', j: 'abc' });
    expect(r.body.rows[1].j).toBe('abc');
  });

  it('raw mode returns each value by its storage class, tagging what JSON would misstate', async () => {
    const r = await t.exec('SELECT b, d, j, bl, n, r, i FROM v ORDER BY id', undefined, RAW);
    expect(r.status).toBe(200);
    expect(r.body.rows[0]).toEqual({
      b: 2,
      d: '2024-01-02 03:04:05.123456',
      j: '"abc"',
      bl: 'text in a blob column',
      n: 12.3,
      r: { $type: 'DOUBLE', value: '2' },
      i: { $type: 'BIGINT', value: '9007199254740993' },
    });
    expect(r.body.rows[1].j).toBe('abc');
    expect(r.body.rows[1].bl).toEqual({ $type: 'BLOB', base64: 'AAE=' });
    // Column metadata still names the declared type.
    expect(r.body.columns.map((c: { dbType: string }) => c.dbType)).toEqual([
      'BOOLEAN',
      'DATETIME',
      'JSON',
      'BLOB',
      'NUMERIC',
      'REAL',
      'INTEGER',
    ]);
  });

  it('raw mode applies in batches and bulk results too', async () => {
    const r = await t.post('/v1/batch', {
      statements: [{ sql: 'SELECT b FROM v WHERE id = 1', options: RAW }],
    });
    expect(r.status).toBe(200);
    expect(r.body.results[0].rows).toEqual([{ b: 2 }]);
  });

  it('raw mode applies to NDJSON streams too', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      payload: { sql: 'SELECT b, d, j, bl, r, i FROM v ORDER BY id', options: { ...RAW, rowMode: 'array' } },
    });
    expect(res.statusCode).toBe(200);
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[1]).toEqual([
      2,
      '2024-01-02 03:04:05.123456',
      '"abc"',
      'text in a blob column',
      { $type: 'DOUBLE', value: '2' },
      { $type: 'BIGINT', value: '9007199254740993' },
    ]);
    expect(lines[2][3]).toEqual({ $type: 'BLOB', base64: 'AAE=' });
    expect(lines[3]).toMatchObject({ done: true, rowCount: 2 });
  });

  it('an unknown valueMode is a 400', async () => {
    const r = await t.exec('SELECT 1', undefined, { valueMode: 'stored' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BAD_REQUEST');
  });

  it('WITH ... UPDATE reports the rows it changed and the UPDATE command', async () => {
    await t.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, v TEXT)');
    await t.exec("INSERT INTO w (v) VALUES ('a'), ('b'), ('c')");
    const r = await t.exec(
      "WITH s AS (SELECT id FROM w WHERE v IN ('a', 'b')) UPDATE w SET v = 'x' WHERE id IN (SELECT id FROM s)",
    );
    expect(r.status).toBe(200);
    expect(r.body.command).toBe('UPDATE');
    expect(r.body.affectedRows).toBe(2);
    const after = await t.exec("SELECT count(*) AS n FROM w WHERE v = 'x'");
    expect(after.body.rows[0].n).toBe('2');
  });

  it('WITH ... INSERT reports lastInsertId, also through paramSets', async () => {
    const r = await t.exec("WITH s(v) AS (SELECT 'new') INSERT INTO w (v) SELECT v FROM s");
    expect(r.body.command).toBe('INSERT');
    expect(r.body.affectedRows).toBe(1);
    expect(r.body.lastInsertId).toBe('4');
    const bulk = await t.post('/v1/batch', {
      sql: 'WITH s(v) AS (SELECT ?) INSERT INTO w (v) SELECT v FROM s',
      paramSets: [['p'], ['q']],
    });
    expect(bulk.status).toBe(200);
    expect(bulk.body.results.map((x: { lastInsertId: string }) => x.lastInsertId)).toEqual(['5', '6']);
    expect(bulk.body.results.map((x: { affectedRows: number }) => x.affectedRows)).toEqual([1, 1]);
  });

  it('a WITH ... SELECT stays a SELECT with no affected rows', async () => {
    const r = await t.exec("WITH s AS (SELECT 'UPDATE' AS word) SELECT word FROM s");
    expect(r.body.command).toBe('SELECT');
    expect(r.body.affectedRows).toBe(0);
    expect(r.body.rows).toEqual([{ word: 'UPDATE' }]);
  });
});
