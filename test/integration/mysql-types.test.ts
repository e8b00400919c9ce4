import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';

/**
 * Exact round trips through POST /v1/execute for every MySQL/MariaDB type the gateway maps (see
 * docs/types.md, MySQL section), including the range edges where a lossy driver would round, shift or truncate.
 */
const my = (await testBackends()).find((b) => b.driver === 'mysql');

type Row = Record<string, unknown>;
type Col = { name: string; type: string; dbType: string; nullable: boolean | null };

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');

describe('mysql types over HTTP', () => {
  if (!my || my.skipReason) {
    it.skip(`skipped: ${my?.skipReason ?? 'no mysql backend'}`, () => {});
    return;
  }
  let t: TestApp;
  const created: string[] = [];
  const exec = (sql: string, params?: unknown, options?: unknown) => t.exec(sql, params, options);
  const ok = async (sql: string, params?: unknown, options?: unknown) => {
    const res = await exec(sql, params, options);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const ddl = (type: Parameters<ReturnType<TestApp['app']['backends']['get']>['dialect']['ddlType']>[0]) =>
    t.app.backends.get('db').dialect.ddlType(type);
  const table = async (columns: string): Promise<string> => {
    const name = uniqueName('myt');
    await ok(
      `CREATE TABLE ${name} (id INT NOT NULL PRIMARY KEY, ${columns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
    created.push(name);
    return name;
  };
  /** Inserts rows given as {column: param} and reads them back ordered by id. */
  const roundTrip = async (name: string, rows: Array<Record<string, unknown>>, options?: unknown) => {
    for (const r of rows) {
      const cols = Object.keys(r);
      await ok(`INSERT INTO ${name} (${cols.join(', ')}) VALUES (${cols.map((c) => `:${c}`).join(', ')})`, r);
    }
    return ok(`SELECT * FROM ${name} ORDER BY id`, undefined, options);
  };
  const column = (body: { columns: Col[] }, name: string) => body.columns.find((c) => c.name === name);

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: my.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created.reverse()) await exec(`DROP TABLE IF EXISTS ${name}`);
    await t?.close();
  });

  it('BIGINT ±(2^63-1), its minimum and BIGINT UNSIGNED 2^64-1 stay exact', async () => {
    const name = await table('s BIGINT, u BIGINT UNSIGNED');
    const body = await roundTrip(name, [
      {
        id: 1,
        s: { $type: 'BIGINT', value: '9223372036854775807' },
        u: { $type: 'DECIMAL', value: '18446744073709551615' },
      },
      { id: 2, s: { $type: 'BIGINT', value: '-9223372036854775807' }, u: '18446744073709551614' },
      { id: 3, s: { $type: 'BIGINT', value: '-9223372036854775808' }, u: 0 },
    ]);
    expect(body.rows.map((r: Row) => [r.s, r.u])).toEqual([
      ['9223372036854775807', '18446744073709551615'],
      ['-9223372036854775807', '18446744073709551614'],
      ['-9223372036854775808', '0'],
    ]);
    expect(column(body, 's')).toMatchObject({ type: 'BIGINT', dbType: 'BIGINT', nullable: true });
    expect(column(body, 'u')).toMatchObject({ type: 'BIGINT', dbType: 'BIGINT UNSIGNED' });
    const asNumber = await exec(`SELECT u FROM ${name} WHERE id = 1`, undefined, { int64: 'number' });
    expect(asNumber.status).toBe(422);
    expect(asNumber.body.error.code).toBe('TYPE_CONVERSION_ERROR');
    const safe = await ok(`SELECT u FROM ${name} WHERE id = 3`, undefined, { int64: 'number' });
    expect(safe.rows[0].u).toBe(0);
    const echo = await ok('SELECT :v AS v', { v: { $type: 'BIGINT', value: '-9223372036854775808' } });
    expect(echo.rows[0].v).toBe('-9223372036854775808');
    expect(echo.columns[0].type).toBe('BIGINT');
  });

  it('DECIMAL(38,10) and DECIMAL(65,30) keep every digit', async () => {
    const name = await table(`d ${ddl('DECIMAL')}, w DECIMAL(65,30)`);
    const body = await roundTrip(name, [
      {
        id: 1,
        d: { $type: 'DECIMAL', value: '1234567890123456789012345678.0123456789' },
        w: { $type: 'DECIMAL', value: '12345678901234567890123456789012345.123456789012345678901234567890' },
      },
      {
        id: 2,
        d: { $type: 'DECIMAL', value: '-0.0000000001' },
        w: { $type: 'DECIMAL', value: '-0.000000000000000000000000000001' },
      },
      { id: 3, d: { $type: 'DECIMAL', value: '12.3' }, w: { $type: 'DECIMAL', value: '1e3' } },
    ]);
    expect(body.rows.map((r: Row) => [r.d, r.w])).toEqual([
      [
        '1234567890123456789012345678.0123456789',
        '12345678901234567890123456789012345.123456789012345678901234567890',
      ],
      ['-0.0000000001', '-0.000000000000000000000000000001'],
      ['12.3000000000', '1000.000000000000000000000000000000'],
    ]);
    expect(column(body, 'd')).toMatchObject({ type: 'DECIMAL', dbType: 'DECIMAL(38,10)' });
    expect(column(body, 'w')).toMatchObject({ type: 'DECIMAL', dbType: 'DECIMAL(65,30)' });
  });

  it('DATETIME(6), the TIMESTAMP column (UTC, +00:00) and DATE edge years', async () => {
    const name = await table(
      `dt ${ddl('DATETIME')}, ts ${ddl('TIMESTAMP')}, nts TIMESTAMP(6) NULL, d ${ddl('DATE')}`,
    );
    const body = await roundTrip(name, [
      {
        id: 1,
        dt: { $type: 'DATETIME', value: '1000-01-01T00:00:00' },
        ts: { $type: 'TIMESTAMP', value: '1970-01-01T00:00:00Z' },
        nts: { $type: 'TIMESTAMP', value: '2024-06-01T12:00:00.123456+02:00' },
        d: { $type: 'DATE', value: '1000-01-01' },
      },
      {
        id: 2,
        dt: { $type: 'DATETIME', value: '9999-12-31T23:59:59.999999' },
        ts: { $type: 'TIMESTAMP', value: '2024-03-01T01:30:00.5+02:00' },
        nts: null,
        d: { $type: 'DATE', value: '9999-12-31' },
      },
      {
        id: 3,
        dt: { $type: 'DATETIME', value: '2024-02-29 23:59:59.000001' },
        ts: { $type: 'TIMESTAMP', value: '2100-12-31T23:00:00-05:00' },
        nts: { $type: 'TIMESTAMP', value: '2038-01-19T03:14:07Z' },
        d: { $type: 'DATE', value: '0001-01-01' },
      },
    ]);
    expect(body.rows.map((r: Row) => [r.dt, r.ts, r.nts, r.d])).toEqual([
      ['1000-01-01T00:00:00', '1970-01-01T00:00:00+00:00', '2024-06-01T10:00:00.123456+00:00', '1000-01-01'],
      ['9999-12-31T23:59:59.999999', '2024-02-29T23:30:00.500000+00:00', null, '9999-12-31'],
      ['2024-02-29T23:59:59.000001', '2101-01-01T04:00:00+00:00', '2038-01-19T03:14:07+00:00', '0001-01-01'],
    ]);
    expect(column(body, 'dt')).toMatchObject({ type: 'DATETIME', dbType: 'DATETIME(6)' });
    expect(column(body, 'ts')).toMatchObject({ type: 'TIMESTAMP', dbType: 'DATETIME(6)' });
    expect(column(body, 'nts')).toMatchObject({ type: 'TIMESTAMP', dbType: 'TIMESTAMP(6)' });
    expect(column(body, 'd')).toMatchObject({ type: 'DATE', dbType: 'DATE' });

    // An alias keeps the marker (the original column name is in the metadata); array rows too.
    const alias = await ok(`SELECT ts AS t1, dt AS t2 FROM ${name} WHERE id = 1`, undefined, {
      rowMode: 'array',
    });
    expect(alias.rows[0]).toEqual(['1970-01-01T00:00:00+00:00', '1000-01-01T00:00:00']);
    expect(alias.columns.map((c: Col) => c.type)).toEqual(['TIMESTAMP', 'DATETIME']);
    // A client can read a DATETIME as UTC TIMESTAMP, and the reverse.
    const coerced = await ok(`SELECT dt, ts FROM ${name} WHERE id = 2`, undefined, {
      columnTypes: { dt: 'TIMESTAMP', ts: 'DATETIME' },
    });
    expect(coerced.rows[0]).toEqual({
      dt: '9999-12-31T23:59:59.999999+00:00',
      ts: '2024-02-29T23:30:00.500000',
    });
    // A value past MySQL's microseconds is refused, not rounded.
    const tooFine = await exec(`UPDATE ${name} SET dt = :v WHERE id = 1`, {
      v: { $type: 'DATETIME', value: '2024-01-01T00:00:00.1234567' },
    });
    expect(tooFine.status).toBe(400);
    expect(tooFine.body.error.code).toBe('PARAM_INVALID');
  });

  it("zero dates (allowed by the server's sql_mode) come back verbatim, not as null", async () => {
    const name = await table('dt DATETIME, d DATE, nts TIMESTAMP NULL');
    await ok(`INSERT INTO ${name} (id, dt, d, nts) VALUES (1, '0000-00-00 00:00:00', '0000-00-00', 0)`);
    const body = await ok(`SELECT dt, d, nts FROM ${name}`);
    expect(body.rows[0]).toEqual({
      dt: '0000-00-00T00:00:00',
      d: '0000-00-00',
      nts: '0000-00-00T00:00:00+00:00',
    });
  });

  it('TIME(6) including negative values and more than 24 hours', async () => {
    const name = await table(`tm ${ddl('TIME')}`);
    const values = [
      '-838:59:59',
      '838:59:59',
      '100:00:00.5',
      '-00:00:01.000001',
      '23:59:59.123456',
      '00:00:00',
    ];
    const body = await roundTrip(
      name,
      values.map((v, i) => ({ id: i + 1, tm: v })),
    );
    expect(body.rows.map((r: Row) => r.tm)).toEqual([
      '-838:59:59',
      '838:59:59',
      '100:00:00.500000',
      '-00:00:01.000001',
      '23:59:59.123456',
      '00:00:00',
    ]);
    expect(column(body, 'tm')).toMatchObject({ type: 'TIME', dbType: 'TIME(6)' });
    const tagged = await ok('SELECT CAST(:t AS TIME(6)) AS t', {
      t: { $type: 'TIME', value: '12:30:00.25Z' },
    });
    expect(tagged.rows[0].t).toBe('12:30:00.250000');
  });

  it('LONGBLOB with all 256 byte values, VARBINARY and BINARY as base64', async () => {
    const name = await table(`bl ${ddl('BLOB')}, vb VARBINARY(16), bn BINARY(4)`);
    const body = await roundTrip(name, [
      {
        id: 1,
        bl: { $type: 'BLOB', base64: ALL_BYTES },
        vb: { $type: 'BLOB', base64: 'AP8=' },
        bn: { $type: 'BLOB', base64: 'AQI=' },
      },
      { id: 2, bl: { $type: 'BLOB', base64: '' }, vb: null, bn: null },
    ]);
    expect(body.rows[0]).toMatchObject({ bl: ALL_BYTES, vb: 'AP8=', bn: 'AQIAAA==' });
    expect(body.rows[1]).toMatchObject({ bl: '', vb: null });
    expect(body.columns.slice(1).map((c: Col) => [c.type, c.dbType])).toEqual([
      ['BLOB', 'LONGBLOB'],
      ['BLOB', 'VARBINARY'],
      ['BLOB', 'BINARY'],
    ]);
    const len = await ok(`SELECT LENGTH(bl) AS n FROM ${name} WHERE id = 1`);
    expect(Number(len.rows[0].n)).toBe(256);
  });

  it('JSON: nested unicode values come back parsed, without columnTypes (MariaDB extended metadata)', async () => {
    const name = await table(`j ${ddl('JSON')}`);
    const doc = {
      a: [1, 'ü', { b: null }],
      emoji: '😀👍🏽',
      deep: { x: { y: { z: [true, false, null, 1.5, -2, '日本語'] } } },
      s: 'quote " backslash \\ newline \n tab \t',
    };
    const body = await roundTrip(name, [
      { id: 1, j: { $type: 'JSON', value: doc } },
      { id: 2, j: { $type: 'JSON', value: [] } },
      { id: 3, j: { $type: 'JSON', value: 'just a string' } },
      { id: 4, j: null },
    ]);
    expect(body.rows.map((r: Row) => r.j)).toEqual([doc, [], 'just a string', null]);
    expect(column(body, 'j')).toMatchObject({ type: 'JSON', dbType: 'JSON' });
    // A number a double cannot hold keeps the stored text (json-text.ts), or comes as a string; TEXT is exact.
    await ok(`UPDATE ${name} SET j = :j WHERE id = 4`, {
      j: { $type: 'TEXT', value: '{"n": 12345678901234567890123}' },
    });
    const kept = await t.app.inject({
      method: 'POST',
      url: '/v1/execute',
      payload: { sql: `SELECT j FROM ${name} WHERE id = 4` },
    });
    expect(kept.statusCode).toBe(200);
    expect(kept.body).toContain('"rows":[{"j":{"n":12345678901234567890123}}]');
    const strings = await ok(`SELECT j FROM ${name} WHERE id = 4`, undefined, { jsonNumbers: 'string' });
    expect(strings.rows[0].j).toEqual({ n: '12345678901234567890123' });
    const exact = await ok(`SELECT j FROM ${name} WHERE id = 4`, undefined, { columnTypes: { j: 'TEXT' } });
    expect(exact.rows[0].j).toBe('{"n": 12345678901234567890123}');
    // A plain object param is JSON too.
    await ok(`UPDATE ${name} SET j = :j WHERE id = 4`, { j: { k: 'v' } });
    expect((await ok(`SELECT j FROM ${name} WHERE id = 4`)).rows[0].j).toEqual({ k: 'v' });
    // JSON built by an expression has no JSON metadata: TEXT unless columnTypes says JSON.
    const expr = await ok("SELECT JSON_OBJECT('a', 1) AS o");
    expect(expr.columns[0].type).not.toBe('JSON');
    const asJson = await ok("SELECT JSON_OBJECT('a', 1) AS o", undefined, { columnTypes: { o: 'JSON' } });
    expect(asJson.rows[0].o).toEqual({ a: 1 });
  });

  it('ENUM and SET are strings of GenericType ENUM', async () => {
    const name = await table("e ENUM('small','medium','large'), st SET('a','b','c')");
    const body = await roundTrip(name, [
      { id: 1, e: 'medium', st: 'a,c' },
      { id: 2, e: null, st: '' },
    ]);
    expect(body.rows.map((r: Row) => [r.e, r.st])).toEqual([
      ['medium', 'a,c'],
      [null, ''],
    ]);
    expect(column(body, 'e')).toMatchObject({ type: 'ENUM', dbType: 'ENUM' });
    expect(column(body, 'st')).toMatchObject({ type: 'ENUM', dbType: 'SET' });
  });

  it('BIT(1) and TINYINT(1) are BOOLEAN; TINYINT(1) holding 2 is refused unless read as a number', async () => {
    const name = await table(`b ${ddl('BOOLEAN')}, bit1 BIT(1), bit8 BIT(8), t TINYINT`);
    const body = await roundTrip(name, [
      { id: 1, b: true, bit1: true, bit8: 170, t: -5 },
      { id: 2, b: false, bit1: false, bit8: 0, t: 127 },
      { id: 3, b: null, bit1: null, bit8: null, t: null },
    ]);
    expect(body.rows.map((r: Row) => [r.b, r.bit1, r.bit8, r.t])).toEqual([
      [true, true, '170', -5],
      [false, false, '0', 127],
      [null, null, null, null],
    ]);
    expect(body.columns.slice(1).map((c: Col) => [c.type, c.dbType])).toEqual([
      ['BOOLEAN', 'TINYINT(1)'],
      ['BOOLEAN', 'BIT(1)'],
      ['BIGINT', 'BIT(8)'],
      ['SMALLINT', 'TINYINT'],
    ]);
    await ok(`UPDATE ${name} SET b = 2 WHERE id = 1`);
    const refused = await exec(`SELECT b FROM ${name} WHERE id = 1`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('TYPE_CONVERSION_ERROR');
    const asNumber = await ok(`SELECT b FROM ${name} ORDER BY id`, undefined, {
      columnTypes: { b: 'SMALLINT' },
    });
    expect(asNumber.rows.map((r: Row) => r.b)).toEqual([2, 0, null]);
    expect(asNumber.columns[0].type).toBe('SMALLINT');
  });

  it('YEAR is a number', async () => {
    const name = await table('y YEAR');
    const body = await roundTrip(name, [
      { id: 1, y: 2024 },
      { id: 2, y: 1901 },
      { id: 3, y: 2155 },
    ]);
    expect(body.rows.map((r: Row) => r.y)).toEqual([2024, 1901, 2155]);
    expect(column(body, 'y')).toMatchObject({ type: 'SMALLINT', dbType: 'YEAR' });
  });

  it('UUID: CHAR(36) for the portable type, MariaDB UUID as UUID', async () => {
    const name = await table(`u ${ddl('UUID')}, nu UUID`);
    const id = '123e4567-e89b-12d3-a456-426614174000';
    const body = await roundTrip(name, [
      { id: 1, u: { $type: 'UUID', value: id }, nu: { $type: 'UUID', value: id } },
    ]);
    expect(body.rows[0]).toMatchObject({ u: id, nu: id });
    expect(column(body, 'u')).toMatchObject({ type: 'CHAR', dbType: 'CHAR' });
    expect(column(body, 'nu')).toMatchObject({ type: 'UUID', dbType: 'UUID' });
  });

  it('utf8mb4: emoji and astral-plane characters survive text columns and params', async () => {
    const name = await table(`vc ${ddl('VARCHAR')}, tx ${ddl('TEXT')}, ch ${ddl('CHAR')}`);
    const s = '😀👍🏽𝄞 日本語 ü ✓ \u0000 end';
    const body = await roundTrip(name, [{ id: 1, vc: s, tx: s.repeat(100), ch: '😀' }]);
    expect(body.rows[0]).toMatchObject({ vc: s, tx: s.repeat(100), ch: '😀' });
    const len = await ok(`SELECT CHAR_LENGTH(vc) AS n FROM ${name}`);
    expect(Number(len.rows[0].n)).toBe([...s].length);
    expect(body.columns.slice(1).map((c: Col) => c.type)).toEqual(['VARCHAR', 'TEXT', 'CHAR']);
  });

  it('FLOAT reads as its shortest decimal, DOUBLE exactly; NaN and Infinity are refused', async () => {
    const name = await table(`f ${ddl('FLOAT')}, d ${ddl('DOUBLE')}`);
    const body = await roundTrip(name, [
      { id: 1, f: 0.1, d: 0.1 + 0.2 },
      { id: 2, f: 1234567, d: 5e-324 },
      {
        id: 3,
        f: { $type: 'FLOAT', value: -3.4028234663852886e38 },
        d: { $type: 'DOUBLE', value: 1.7976931348623157e308 },
      },
    ]);
    expect(body.rows.map((r: Row) => [r.f, r.d])).toEqual([
      [0.1, 0.30000000000000004],
      [1234567, 5e-324],
      [-3.4028235e38, 1.7976931348623157e308],
    ]);
    expect(body.columns.slice(1).map((c: Col) => c.type)).toEqual(['FLOAT', 'DOUBLE']);
    for (const value of ['NaN', 'Infinity', '-Infinity']) {
      const res = await exec(`UPDATE ${name} SET d = :d WHERE id = 1`, { d: { $type: 'DOUBLE', value } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('PARAM_INVALID');
    }
  });

  it('arrays are refused with a hint to send JSON', async () => {
    const res = await exec('SELECT :a AS a', { a: [1, 2] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('UNSUPPORTED_FEATURE');
    expect(res.body.error.message).toContain('JSON');
  });

  it('reports nullability and INTEGER/SMALLINT widths', async () => {
    const name = await table('a INT NOT NULL, b SMALLINT UNSIGNED, c MEDIUMINT, i4 INT UNSIGNED');
    await ok(`INSERT INTO ${name} (id, a, b, c, i4) VALUES (1, -2147483648, 65535, -8388608, 4294967295)`);
    const body = await ok(`SELECT id, a, b, c, i4 FROM ${name}`);
    expect(body.rows[0]).toEqual({ id: 1, a: -2147483648, b: 65535, c: -8388608, i4: 4294967295 });
    expect(body.columns.map((c: Col) => [c.type, c.dbType, c.nullable])).toEqual([
      ['INTEGER', 'INT', false],
      ['INTEGER', 'INT', false],
      ['SMALLINT', 'SMALLINT UNSIGNED', true],
      ['INTEGER', 'MEDIUMINT', true],
      ['INTEGER', 'INT UNSIGNED', true],
    ]);
  });
});
