import mysql from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlBackend } from '../../src/backend/mysql/mysql-backend.js';
import { connectionOptions } from '../../src/backend/mysql/mysql-options.js';
import { mysqlGenericType } from '../../src/backend/mysql/mysql-types.js';
import { columnEncoder } from '../../src/backend/mysql/mysql-values.js';
import { rowsJsonOf } from '../../src/backend/rows-json.js';
import type { ExecOptions, GenericType, JsonValue } from '../../src/backend/types.js';
import { directOptions, MYSQL_URL, testBackends, uniqueName } from '../helpers/backends.js';

/**
 * The backend decodes binary-protocol rows itself (mysql-rows.ts). These tests hold it to what mysql2's own
 * row parser followed by the column encoders gives, value for value, over the edges of each fast path:
 * BIGINT around ±2^53 and the 64-bit limits, DATETIME/TIMESTAMP/DATE with every fraction width and zero
 * dates, BLOB lengths across the 1-, 3- and 4-byte length codes, JSON, and NULLs across null-bitmap bytes.
 */
const my = (await testBackends()).find((b) => b.driver === 'mysql');

interface Field {
  name: string;
  columnType: number;
  flags: number;
  columnLength: number;
  characterSet: number;
  decimals: number;
  encoding?: string;
}

describe('mysql binary row decoding', () => {
  if (!my || my.skipReason) {
    it.skip(`skipped: ${my?.skipReason ?? 'no mysql backend'}`, () => {});
    return;
  }
  let backend: MysqlBackend;
  let raw: mysql.Connection;
  const table = uniqueName('myr');

  /** mysql2's binary parser + this backend's encoders: the reference the decoder must match. */
  const reference = (sql: string, opts: ExecOptions) =>
    new Promise<JsonValue[][]>((resolve, reject) => {
      raw.execute({ sql, values: [], rowsAsArray: true }, (err, rows, fields) => {
        if (err) return reject(err);
        const fs = fields as unknown as Field[];
        const encoders = fs.map((f) => {
          const native: GenericType = mysqlGenericType(f);
          return columnEncoder(f, native, opts.columnTypes?.[f.name], opts.int64);
        });
        resolve(
          (rows as unknown[][]).map((r) =>
            r.map((v, i) =>
              v === null || v === undefined ? null : (encoders[i] as (x: unknown) => JsonValue)(v),
            ),
          ),
        );
      });
    });
  const run = (sql: string, opts: Partial<ExecOptions> = {}) =>
    backend.execute({ sql, params: [] }, directOptions({ rowMode: 'array', ...opts }));
  const same = async (sql: string, opts: Partial<ExecOptions> = {}) => {
    const mine = await run(sql, opts);
    expect(mine.rows).toEqual(await reference(sql, directOptions({ rowMode: 'array', ...opts })));
    return mine.rows as JsonValue[][];
  };

  beforeAll(async () => {
    backend = new MysqlBackend({
      name: 'rows',
      driver: 'mysql',
      url: MYSQL_URL,
      pool: { max: 2, acquireTimeoutMs: 5000, idleTimeoutMs: 10_000 },
      connectTimeoutMs: 5000,
      busyTimeoutMs: 0,
      statementCacheSize: 100,
      replicaMaxLagMs: 5000,
    });
    await backend.connect();
    raw = mysql.createConnection({ ...connectionOptions(MYSQL_URL, 5000) });
    await raw.promise().query("SET time_zone = '+00:00'");
    await raw.promise().query(
      `CREATE TABLE ${table} (id INT PRIMARY KEY, b BIGINT, bu BIGINT UNSIGNED,
        d0 DATETIME, d3 DATETIME(3), d6 DATETIME(6), ts TIMESTAMP(6) NULL, dd DATE,
        bl LONGBLOB, j JSON, t TEXT, n1 INT, n2 INT, n3 INT,
        bo BOOLEAN, db DOUBLE, fl FLOAT, dc DECIMAL(10,3), vc VARCHAR(20))`,
    );
    const rows: Array<[number, string]> = [
      [
        1,
        "-9223372036854775808, 18446744073709551615, '2024-02-29 23:59:59', '2024-02-29 23:59:59.5', '2024-02-29 23:59:59.000001', '2038-01-19 03:14:07.999999', '9999-12-31', 0x00, '{\"a\": 1}', 'x', 1, NULL, 3, 1, -0.1, 0.1, -1.500, 'q\"uote'",
      ],
      [
        2,
        "9007199254740992, 9007199254740993, '0001-01-01 00:00:00', '1970-01-01 00:00:00.001', '1970-01-01 00:00:00', '1970-01-01 00:00:01', '0001-01-01', REPEAT('a', 300), '[1, 2.5, \"z\"]', '', NULL, NULL, NULL, 0, 1e300, -3.4e38, 0.001, 'back\\\\slash'",
      ],
      [
        3,
        "-9007199254740993, 9007199254740991, '2000-01-01 12:34:56', '2000-01-01 12:34:56.120', '2000-01-01 12:34:56.123450', NULL, '2000-06-15', REPEAT('b', 70000), 'null', 'é', 2, 2, 2, NULL, 5e-324, 1.17549e-38, 9999999.999, CONCAT('tab', CHAR(9), 'nl', CHAR(10))",
      ],
      [
        4,
        "-9007199254740992, 0, NULL, NULL, NULL, NULL, NULL, '', '{}', NULL, NULL, 5, NULL, 1, 0, 0, 0, '</script>'",
      ],
      [
        5,
        "-1, 4294967296, '1000-01-01 00:00:00', '1000-01-01 00:00:00.999', '1000-01-01 00:00:00.000010', '2000-01-01 00:00:00.000001', '1000-01-01', NULL, NULL, 'y', 7, 8, 9, 0, 123456789.125, 16777216, -0.001, CONCAT(CHAR(1), 'ctl')",
      ],
      [
        6,
        "4294967295, 18446744073709551614, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', NULL, '0000-00-00', 0x0102, '\"s\"', 'z', NULL, NULL, 1, NULL, NULL, NULL, NULL, 'ünï😀'",
      ],
    ];
    await raw.promise().query("SET SESSION sql_mode = ''");
    for (const [id, values] of rows) {
      await raw.promise().query(`INSERT INTO ${table} VALUES (${id}, ${values})`);
    }
  });
  afterAll(async () => {
    await raw?.promise().query(`DROP TABLE IF EXISTS ${table}`);
    await raw?.promise().end();
    await backend?.disconnect();
  });

  it('every column of every row equals mysql2 parser + encoders, in array and object row mode', async () => {
    const sql = `SELECT * FROM ${table} ORDER BY id`;
    const rows = await same(sql);
    expect(rows).toHaveLength(6);
    expect(rows[0]?.slice(1, 8)).toEqual([
      '-9223372036854775808',
      '18446744073709551615',
      '2024-02-29T23:59:59',
      '2024-02-29T23:59:59.500',
      '2024-02-29T23:59:59.000001',
      '2038-01-19T03:14:07.999999+00:00',
      '9999-12-31',
    ]);
    expect(rows[1]?.slice(1, 3)).toEqual(['9007199254740992', '9007199254740993']);
    expect(rows[2]?.[1]).toBe('-9007199254740993');
    expect(rows[2]?.[4]).toBe('2000-01-01T12:34:56.120');
    expect(String(rows[2]?.[8]).length).toBe(Math.ceil(70000 / 3) * 4);
    expect(rows[5]?.slice(3, 6)).toEqual([
      '0000-00-00T00:00:00',
      '0000-00-00T00:00:00',
      '0000-00-00T00:00:00',
    ]);
    const objects = await run(sql, { rowMode: 'object' });
    const names = objects.columns.map((c) => c.name);
    expect(objects.rows).toEqual(rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]]))));
  });

  it('int64 "number" and columnTypes coercions still go through the shared encoders', async () => {
    await same(`SELECT id, b, d6 FROM ${table} WHERE id IN (2, 4, 5) ORDER BY id`, { int64: 'string' });
    const numbers = await run(`SELECT b FROM ${table} WHERE id = 5`, { int64: 'number' });
    expect(numbers.rows).toEqual([[-1]]);
    const unsafe = await run(`SELECT b FROM ${table} WHERE id = 1`, { int64: 'number' }).catch((e) => e);
    expect(unsafe.code).toBe('TYPE_CONVERSION_ERROR');
    await same(`SELECT d6, t FROM ${table} ORDER BY id`, { columnTypes: { d6: 'TIMESTAMP', t: 'TEXT' } });
  });

  it('expressions: computed temporal precision, NULL-typed and literal columns', async () => {
    await same(
      "SELECT CAST('2024-01-02 03:04:05.678' AS DATETIME(2)) AS a, NOW(6) >= '2000-01-01' AS b, NULL AS c, " +
        "CAST('2024-01-02' AS DATE) AS d, CAST(-5 AS SIGNED) AS e, CAST(18446744073709551615 AS UNSIGNED) AS f",
    );
  });

  it('a cross join (72 rows, JSON twice per row) in both row modes; maxRows and maxResponseBytes stop it', async () => {
    const sql = `SELECT a.*, b.id AS id2, b.j AS j2 FROM ${table} a, ${table} b, (SELECT 1 UNION SELECT 2) c ORDER BY a.id, b.id`;
    const arrays = await run(sql);
    expect(arrays.rowCount).toBe(72);
    // Past 32 rows they travel as JSON text (rows-json.ts); `rows` parses it on first read.
    const arrayText = rowsJsonOf(arrays);
    expect(arrayText).toBeDefined();
    expect(JSON.stringify(JSON.parse(arrayText as string))).toBe(
      JSON.stringify(await reference(sql, directOptions({ rowMode: 'array' }))),
    );
    expect(arrays.rows).toEqual(await reference(sql, directOptions({ rowMode: 'array' })));
    const objects = await run(sql, { rowMode: 'object' });
    const objectText = rowsJsonOf(objects) as string;
    const names = objects.columns.map((c) => c.name);
    const expected = arrays.rows.map((r) =>
      Object.fromEntries(names.map((n, i) => [n, (r as JsonValue[])[i]])),
    );
    // The same text as JSON.stringify of the objects, except that JSON cells keep the server's spelling.
    expect(JSON.stringify(JSON.parse(objectText))).toBe(JSON.stringify(expected));
    expect(objects.rows).toEqual(expected);
    const limited = await run(sql, { maxRows: 40 }).catch((e) => e);
    expect(limited.code).toBe('RESULT_TOO_LARGE');
    const big = await run(sql, { maxResponseBytes: 20_000 }).catch((e) => e);
    expect(big.code).toBe('RESULT_TOO_LARGE');
  });

  it('duplicate column names in object rows: the last value wins, as before', async () => {
    const sql = `SELECT a.id, b.id FROM ${table} a, ${table} b ORDER BY a.id, b.id`;
    const res = await run(sql, { rowMode: 'object' });
    expect(rowsJsonOf(res)).toBeUndefined();
    expect(res.rows).toHaveLength(36);
    expect(res.rows[1]).toEqual({ id: 2 });
  });

  it('maxResponseBytes counts JSON cells by their text and stops the statement', async () => {
    const res = await run(`SELECT j FROM ${table}`, { maxResponseBytes: 8 }).catch((e) => e);
    expect(res.code).toBe('RESULT_TOO_LARGE');
    const fits = await run(`SELECT j FROM ${table} ORDER BY id`, { maxResponseBytes: 1 << 20 });
    expect(fits.rows).toEqual([[{ a: 1 }], [[1, 2.5, 'z']], [null], [{}], [null], ['s']]);
  });

  it('BOOLEAN params bind as TINY 0/1 (plain JS booleans, the same bytes as a typed TINY)', async () => {
    const t = { type: 'BOOLEAN', value: true } as const;
    const f = { type: 'BOOLEAN', value: false } as const;
    const res = await backend.execute(
      { sql: 'SELECT ? AS t, ? AS f, ? + 1 AS n, CONCAT(?, ?) AS c', params: [t, f, t, t, f] },
      directOptions(),
    );
    expect(res.columns.map((c) => [c.type, c.dbType])).toEqual([
      ['SMALLINT', 'TINYINT'],
      ['SMALLINT', 'TINYINT'],
      ['INTEGER', 'INT'],
      ['VARCHAR', 'VARCHAR'],
    ]);
    expect(res.rows).toEqual([{ t: 1, f: 0, n: 2, c: '10' }]);
  });

  it('a refused param names its place: params[i], or paramSets[s][i] with statementIndex s', async () => {
    const bad = { type: 'DATE', value: '2024-13' } as const;
    const one = await backend
      .execute({ sql: 'SELECT ?, ?', params: [{ type: 'INTEGER', value: 1 }, bad] }, directOptions())
      .catch((e) => e);
    expect(one.code).toBe('PARAM_INVALID');
    expect(one.message).toMatch(/^params\[1\]: not a DATE/);
    const conn = await backend.acquire();
    try {
      const ok = { type: 'DATE', value: '2024-12-01' } as const;
      const many = await conn
        .executeMany?.('SELECT ?', [[ok], [ok], [bad]], directOptions())
        .catch((e: unknown) => e);
      expect(many).toMatchObject({ code: 'PARAM_INVALID', details: { statementIndex: 2 } });
      expect((many as Error).message).toMatch(/^paramSets\[2\]\[0\]: not a DATE/);
    } finally {
      await conn.release();
    }
  });
});
