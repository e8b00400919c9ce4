import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_WIRE_ROWS, rowsJsonOf } from '../../src/backend/rows-json.js';
import { SqliteBackend } from '../../src/backend/sqlite/sqlite-backend.js';
import type { SqliteConnection } from '../../src/backend/sqlite/sqlite-connection.js';
import type { ParamValue } from '../../src/backend/types.js';
import { SqlgateError } from '../../src/errors.js';
import { directOptions, tempSqliteFile } from '../helpers/backends.js';

/**
 * The SQLite connection called directly: how params cross to the worker thread (compact primitives, not
 * ParamValue objects) and the bulk path of executeMany (one loop in the worker, results sent back as
 * columns). The contract suite covers the same through HTTP; these pin the details it does not reach.
 */

const OPTS = directOptions();
const int = (value: number): ParamValue => ({ type: 'INTEGER', value });
const dbl = (value: number): ParamValue => ({ type: 'DOUBLE', value });
const text = (value: string): ParamValue => ({ type: 'TEXT', value });

async function failure(p: Promise<unknown>): Promise<SqlgateError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SqlgateError);
  return err as SqlgateError;
}

describe('sqlite connection', () => {
  let backend: SqliteBackend;
  let conn: SqliteConnection;
  let seq = 0;

  /** A fresh table t_N (id INTEGER PRIMARY KEY, v TEXT). */
  const table = async () => {
    const name = `t_${++seq}`;
    await conn.execute({ sql: `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, v TEXT)`, params: [] }, OPTS);
    return name;
  };
  const count = async (name: string) =>
    (await conn.execute({ sql: `SELECT count(*) AS n FROM ${name}`, params: [] }, OPTS)).rows[0];

  beforeAll(async () => {
    backend = new SqliteBackend({
      name: 'db',
      driver: 'sqlite',
      database: tempSqliteFile(),
      pool: { max: 2, acquireTimeoutMs: 5_000, idleTimeoutMs: 60_000 },
      connectTimeoutMs: 5_000,
      busyTimeoutMs: 1_000,
      statementCacheSize: 100,
      replicaMaxLagMs: 5000,
    });
    await backend.connect();
    conn = await backend.acquire();
  });
  afterAll(async () => {
    await conn?.release();
    await backend?.disconnect();
  });

  it('binds every param type exactly: integral doubles stay REAL, integers INTEGER', async () => {
    const params: ParamValue[] = [
      int(2),
      dbl(2),
      dbl(-0),
      dbl(2.5),
      { type: 'BIGINT', value: 9007199254740993n },
      { type: 'BOOLEAN', value: true },
      { type: 'NULL', value: null },
      { type: 'DECIMAL', value: '12.30' },
      { type: 'JSON', value: { a: [1] } },
      { type: 'BLOB', value: new Uint8Array([0, 1, 255]) },
    ];
    const sql = `SELECT ${params.map(() => 'typeof(?)').join(', ')}`;
    const types = await conn.execute({ sql, params }, { ...OPTS, rowMode: 'array' });
    expect(types.rows[0]).toEqual([
      'integer',
      'real',
      'real',
      'real',
      'integer',
      'integer',
      'null',
      'text',
      'text',
      'blob',
    ]);
    const values = await conn.execute(
      { sql: `SELECT ${params.map(() => '?').join(', ')}`, params },
      { ...OPTS, rowMode: 'array' },
    );
    expect(values.rows[0]).toEqual([
      '2',
      2,
      -0,
      2.5,
      '9007199254740993',
      '1',
      null,
      '12.30',
      '{"a":[1]}',
      'AAH/',
    ]);
  });

  it('executeMany returns one result per set with affectedRows and lastInsertId', async () => {
    const name = await table();
    const sets = Array.from({ length: 500 }, (_, i) => [int(i + 1), text(`row ${i + 1}`)]);
    const results = await conn.executeMany(`INSERT INTO ${name} (id, v) VALUES (?, ?)`, sets, OPTS);
    expect(results).toHaveLength(500);
    expect(results[0]).toMatchObject({
      columns: [],
      rows: [],
      rowCount: 0,
      affectedRows: 1,
      lastInsertId: '1',
      command: 'INSERT',
    });
    expect(results[499]?.lastInsertId).toBe('500');
    expect(results.every((r) => typeof r.durationMs === 'number' && r.durationMs >= 0)).toBe(true);
    expect(await count(name)).toEqual({ n: '500' });

    const asNumbers = await conn.executeMany(
      `INSERT INTO ${name} (v) VALUES (?)`,
      [[text('a')], [text('b')]],
      directOptions({ int64: 'number' }),
    );
    expect(asNumbers.map((r) => r.lastInsertId)).toEqual([501, 502]);

    const updated = await conn.executeMany(
      `UPDATE ${name} SET v = 'x' WHERE id <= ?`,
      [[int(10)], [int(0)]],
      OPTS,
    );
    expect(updated.map((r) => [r.affectedRows, r.lastInsertId, r.command])).toEqual([
      [10, null, 'UPDATE'],
      [0, null, 'UPDATE'],
    ]);
  });

  it('lastInsertId stays exact beyond 2^53, and is null for a set that inserted nothing', async () => {
    const name = await table();
    const big: ParamValue = { type: 'BIGINT', value: 9007199254740993n };
    const sql = `INSERT OR IGNORE INTO ${name} (id, v) VALUES (?, ?)`;
    const results = await conn.executeMany(
      sql,
      [
        [int(1), text('a')],
        [int(1), text('ignored')],
        [big, text('big')],
        [int(2), text('b')],
      ],
      OPTS,
    );
    expect(results.map((r) => [r.affectedRows, r.lastInsertId])).toEqual([
      [1, '1'],
      [0, null],
      [1, '9007199254740993'],
      [1, '2'],
    ]);
    const asNumbers = await conn.executeMany(
      sql,
      [
        [int(3), text('c')],
        [int(3), text('ignored')],
      ],
      directOptions({ int64: 'number' }),
    );
    expect(asNumbers.map((r) => r.lastInsertId)).toEqual([3, null]);
    const tooBig = await failure(
      conn.executeMany(
        sql,
        [
          [int(4), text('d')],
          [{ type: 'BIGINT', value: 9007199254740995n }, text('e')],
        ],
        directOptions({ int64: 'number' }),
      ),
    );
    expect(tooBig.code).toBe('TYPE_CONVERSION_ERROR');
    expect(tooBig.details.statementIndex).toBe(1);
  });

  it('executeMany gives rows per set for statements that return them', async () => {
    const name = await table();
    const results = await conn.executeMany(
      `INSERT INTO ${name} (id, v) VALUES (?, ?) RETURNING id, v`,
      [
        [int(7), text('a')],
        [int(8), text('b')],
      ],
      OPTS,
    );
    expect(results.map((r) => [r.rows, r.affectedRows, r.lastInsertId])).toEqual([
      [[{ id: '7', v: 'a' }], 1, '7'],
      [[{ id: '8', v: 'b' }], 1, '8'],
    ]);
  });

  it('sets of different lengths bind each set on its own', async () => {
    const name = await table();
    const err = await failure(
      conn.executeMany(`INSERT INTO ${name} (id, v) VALUES (?, ?)`, [[int(1), text('a')], [int(2)]], OPTS),
    );
    expect(err.details.statementIndex).toBe(1);
    const ok = await conn.executeMany(
      `INSERT INTO ${name} (id, v) VALUES (?, coalesce(?, 'd'))`,
      [
        [int(3), text('c')],
        [int(4), { type: 'NULL', value: null }],
      ],
      OPTS,
    );
    expect(ok.map((r) => r.lastInsertId)).toEqual(['3', '4']);
  });

  it('an unbindable param fails at its set, after the sets before it ran, and after earlier errors', async () => {
    const name = await table();
    const sql = `INSERT INTO ${name} (id, v) VALUES (?, ?)`;
    const nan = await failure(
      conn.executeMany(
        sql,
        [
          [int(1), text('a')],
          [int(2), text('b')],
          [int(3), dbl(Number.NaN)],
        ],
        OPTS,
      ),
    );
    expect(nan.code).toBe('PARAM_INVALID');
    expect(nan.details).toMatchObject({ statementIndex: 2, backend: 'db' });
    // Not inside a transaction here: the sets before the bad one committed one by one.
    expect(await count(name)).toEqual({ n: '2' });

    // A unique violation in set 1 comes before the unbindable array in set 2.
    const first = await failure(
      conn.executeMany(
        sql,
        [
          [int(5), text('a')],
          [int(1), text('dup')],
          [int(6), { type: 'ARRAY', value: [] }],
        ],
        OPTS,
      ),
    );
    expect(first.code).toBe('UNIQUE_VIOLATION');
    expect(first.details.statementIndex).toBe(1);

    // The statement's own error comes before its params' one, as when the worker bound them.
    const syntax = await failure(
      conn.executeMany('INSERT INTO nowhere VALUES (?', [[dbl(Number.NaN)]], OPTS),
    );
    expect(syntax.code).toBe('SQL_SYNTAX_ERROR');
    expect(syntax.details.statementIndex).toBe(0);
    const single = await failure(
      conn.execute({ sql: 'SELECT * FROM no_such_table WHERE x = ?', params: [dbl(Number.NaN)] }, OPTS),
    );
    expect(single.code).toBe('UNDEFINED_OBJECT');
    expect(single.details.statementIndex).toBeUndefined();
    const param = await failure(conn.execute({ sql: 'SELECT ?', params: [dbl(Number.NaN)] }, OPTS));
    expect(param.code).toBe('PARAM_INVALID');
    expect(param.details).toEqual({ backend: 'db' });
  });

  it('rows built as JSON text in the worker equal the rows of the object path, type by type, both row modes', async () => {
    const name = `w_${++seq}`;
    await conn.execute(
      {
        sql: `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, big INTEGER, r REAL, t TEXT, b BLOB, j JSON,
          d DATETIME, dec DECIMAL_TEXT, flag BOOLEAN, n TEXT)`,
        params: [],
      },
      OPTS,
    );
    await conn.execute(
      {
        sql: `WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 40)
          INSERT INTO ${name} SELECT x, 9223372036854775807 - x, x / 3.0, 'q"\\u' || x || char(10) || 'é😀',
            randomblob(4), '{"a":[' || x || ',true,null],"s":"x\\"y"}', '2024-01-02 03:04:05.123456',
            '12345678901234567890.' || x, x % 2, NULL FROM g`,
        params: [],
      },
      OPTS,
    );
    for (const rowMode of ['object', 'array'] as const) {
      const opts = { ...OPTS, rowMode };
      const sql = `SELECT * FROM ${name} ORDER BY id`;
      const small = await conn.execute({ sql: `${sql} LIMIT ${MIN_WIRE_ROWS - 1}`, params: [] }, opts);
      expect(rowsJsonOf(small)).toBeUndefined(); // crossed as objects
      const all = await conn.execute({ sql, params: [] }, opts);
      const text = rowsJsonOf(all);
      expect(text).toBeDefined(); // crossed as JSON text
      expect(all.rowCount).toBe(40);
      const parsed = JSON.parse(text as string);
      expect(parsed.slice(0, MIN_WIRE_ROWS - 1)).toEqual(small.rows);
      expect(all.rows).toEqual(parsed);
      expect(all.columns).toEqual(small.columns);
      const first = (rowMode === 'array' ? parsed[0] : Object.values(parsed[0])) as unknown[];
      expect(first).toEqual([
        '1',
        '9223372036854775806',
        1 / 3,
        'q"\\u1\né😀',
        expect.any(String),
        { a: [1, true, null], s: 'x"y' },
        '2024-01-02T03:04:05.123456',
        '12345678901234567890.1',
        true,
        null,
      ]);
    }
  });

  it('duplicate column names: the last value wins, in the text as in an object', async () => {
    const sql = `WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 40)
      SELECT x AS a, x * 10 AS a FROM g`;
    const res = await conn.execute({ sql, params: [] }, OPTS);
    expect(res.rowCount).toBe(40);
    expect(res.rows[39]).toEqual({ a: '400' });
    const text = rowsJsonOf(res);
    if (text !== undefined) expect(text).not.toMatch(/"a":\d+,"a"/);
    const arr = await conn.execute({ sql, params: [] }, { ...OPTS, rowMode: 'array' });
    expect(arr.rows[39]).toEqual(['40', '400']);
  });

  it('maxRows and maxResponseBytes stop a result read as text', async () => {
    const sql = `WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 100000)
      SELECT x, 'some text of a row' AS t FROM g`;
    const rows = await failure(conn.execute({ sql, params: [] }, { ...OPTS, maxRows: 50 }));
    expect(rows.code).toBe('RESULT_TOO_LARGE');
    const bytes = await failure(conn.execute({ sql, params: [] }, { ...OPTS, maxResponseBytes: 4096 }));
    expect(bytes.code).toBe('RESULT_TOO_LARGE');
    const fits = await conn.execute(
      { sql: `${sql} LIMIT 100`, params: [] },
      { ...OPTS, maxResponseBytes: 8192 },
    );
    expect(fits.rowCount).toBe(100);
  });

  it('executeMany with no sets runs nothing', async () => {
    expect(await conn.executeMany('SELECT syntax error here', [], OPTS)).toEqual([]);
  });
});
