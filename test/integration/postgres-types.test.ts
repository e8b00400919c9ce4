import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERIC_TYPES } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { PG_URL, testBackends, uniqueName } from '../helpers/backends.js';

/**
 * Exact round trips of PostgreSQL types through POST /v1/execute against a real server.
 * The server's TimeZone is Etc/UTC (scripts/services.sh; the test checks it), so timestamptz values come
 * back with +00:00 unless a backend sets another zone: a second app connects with
 * `options=-c TimeZone=...` in its URL to read the same rows in other zones.
 */
const pg = (await testBackends()).find((b) => b.driver === 'postgres');
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');

/** PG_URL with a session setting given at connection start. */
function urlWith(setting: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c ${setting}`);
  return u.toString();
}

describe('postgres types over HTTP', () => {
  if (!pg || pg.skipReason) {
    it.skip(`skipped: ${pg?.skipReason ?? 'no postgres backend'}`, () => {});
    return;
  }
  let t: TestApp;
  const created: string[] = [];
  const exec = async (sql: string, params?: unknown, options?: unknown, app = t) => {
    const res = await app.post('/v1/execute', {
      sql,
      ...(params !== undefined ? { params } : {}),
      ...(options ? { options } : {}),
    });
    return res;
  };
  const ok = async (sql: string, params?: unknown, options?: unknown, app = t) => {
    const res = await exec(sql, params, options, app);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const table = async (columns: string): Promise<string> => {
    const name = uniqueName('pgt');
    await ok(`CREATE TABLE ${name} (${columns})`);
    created.push(name);
    return name;
  };
  /** Inserts one value into column v and reads it back. */
  const roundTrip = async (type: string, value: unknown, options?: unknown) => {
    const name = await table(`id INTEGER PRIMARY KEY, v ${type}`);
    await ok(`INSERT INTO ${name} (id, v) VALUES (1, :v)`, { v: value });
    const body = await ok(`SELECT v FROM ${name}`, undefined, options);
    return { value: body.rows[0].v, column: body.columns[0] };
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: pg.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created.reverse()) await exec(`DROP TABLE IF EXISTS ${name}`);
    await exec('DROP TYPE IF EXISTS pgt_mood');
    await t?.close();
  });

  it('runs with the session TimeZone the tests assume (UTC)', async () => {
    const body = await ok('SHOW TimeZone');
    expect(['Etc/UTC', 'UTC']).toContain(body.rows[0].TimeZone);
    const info = await t.get('/v1/backends');
    expect(JSON.stringify(info.body)).toMatch(/PostgreSQL 1\d\.\d+/);
  });

  it('BIGINT keeps ±(2^63-1) and -2^63 exactly, as strings or refused numbers', async () => {
    const name = await table('id INTEGER PRIMARY KEY, v BIGINT');
    const values = ['9223372036854775807', '-9223372036854775807', '-9223372036854775808', '0'];
    for (const [i, v] of values.entries()) {
      await ok(`INSERT INTO ${name} (id, v) VALUES (:i, :v)`, { i, v: { $type: 'BIGINT', value: v } });
    }
    const body = await ok(`SELECT v FROM ${name} ORDER BY id`);
    expect(body.rows.map((r: { v: string }) => r.v)).toEqual(values);
    expect(body.columns[0]).toMatchObject({ type: 'BIGINT', dbType: 'int8', nullable: null });
    const bad = await exec(`SELECT v FROM ${name} WHERE id = 0`, undefined, { int64: 'number' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('TYPE_CONVERSION_ERROR');
    const safe = await ok(`SELECT v FROM ${name} WHERE id = 3`, undefined, { int64: 'number' });
    expect(safe.rows[0].v).toBe(0);
  });

  it('NUMERIC(38,10) and unconstrained NUMERIC are exact strings that keep their scale', async () => {
    const name = await table('id INTEGER PRIMARY KEY, v NUMERIC(38,10), u NUMERIC');
    const rows = [
      ['1234567890123456789012345678.0123456789', '1.10'],
      ['-0.0000000001', '-99999999999999999999999999999999999999.000000000000000000001'],
      ['0.0000000000', 'NaN'],
    ];
    for (const [i, [v, u]] of rows.entries()) {
      await ok(`INSERT INTO ${name} (id, v, u) VALUES (:i, :v, :u)`, {
        i,
        v: { $type: 'DECIMAL', value: v },
        u: u === 'NaN' ? 'NaN' : { $type: 'DECIMAL', value: u },
      });
    }
    const body = await ok(`SELECT v, u FROM ${name} ORDER BY id`);
    expect(body.rows).toEqual(rows.map(([v, u]) => ({ v, u })));
    expect(body.columns.map((c: { type: string }) => c.type)).toEqual(['DECIMAL', 'DECIMAL']);
  });

  it('timestamptz(6) keeps microseconds and the instant from any offset; reads in the session zone', async () => {
    const name = await table('id INTEGER PRIMARY KEY, v TIMESTAMPTZ(6)');
    const inputs = [
      '2024-02-29T23:59:59.123456+05:30',
      '2024-07-01T12:00:00.000001-08:00',
      '1999-12-31T23:59:59.999999+14:00',
      '1970-01-01T00:00:00Z',
      '2024-03-10 02:30:00-03:30',
    ];
    for (const [i, v] of inputs.entries()) {
      await ok(`INSERT INTO ${name} (id, v) VALUES (:i, :v)`, { i, v: { $type: 'TIMESTAMP', value: v } });
    }
    const utc = await ok(`SELECT v FROM ${name} ORDER BY id`);
    expect(utc.columns[0]).toMatchObject({ type: 'TIMESTAMP', dbType: 'timestamptz' });
    expect(utc.rows.map((r: { v: string }) => r.v)).toEqual([
      '2024-02-29T18:29:59.123456+00:00',
      '2024-07-01T20:00:00.000001+00:00',
      '1999-12-31T09:59:59.999999+00:00',
      '1970-01-01T00:00:00+00:00',
      '2024-03-10T06:00:00+00:00',
    ]);

    const kolkata = await makeTestApp({
      backends: { db: pg.backendDoc({ url: urlWith('TimeZone=Asia/Kolkata') }) },
    });
    const stJohns = await makeTestApp({
      backends: { db: pg.backendDoc({ url: urlWith('TimeZone=America/St_Johns') }) },
    });
    const amsterdam = await makeTestApp({
      backends: { db: pg.backendDoc({ url: urlWith('TimeZone=Europe/Amsterdam') }) },
    });
    try {
      const k = await ok(`SELECT v FROM ${name} WHERE id = 0`, undefined, undefined, kolkata);
      expect(k.rows[0].v).toBe('2024-02-29T23:59:59.123456+05:30');
      const s = await ok(`SELECT v FROM ${name} ORDER BY id`, undefined, undefined, stJohns);
      // Newfoundland: -03:30 in winter, -02:30 in summer (DST).
      expect(s.rows[0].v).toBe('2024-02-29T14:59:59.123456-03:30');
      expect(s.rows[1].v).toBe('2024-07-01T17:30:00.000001-02:30');
      // Before standard time, zones had local mean time offsets with seconds: kept, not rounded.
      const lmt = await ok(
        `SELECT :v::timestamptz AS v`,
        { v: { $type: 'TIMESTAMP', value: '1850-01-01T00:00:00Z' } },
        undefined,
        amsterdam,
      );
      expect(lmt.rows[0].v).toBe('1850-01-01T00:19:32+00:19:32');
      // Sending what was read back gives the same instant (as a plain string: the TIMESTAMP tag does not
      // take offsets with seconds).
      const again = await ok(
        `SELECT (:a::timestamptz = :b::timestamptz) AS same`,
        { a: lmt.rows[0].v, b: '1850-01-01T00:00:00Z' },
        undefined,
        amsterdam,
      );
      expect(again.rows[0].same).toBe(true);
    } finally {
      await Promise.all([kolkata.close(), stJohns.close(), amsterdam.close()]);
    }
  });

  it('timestamp(6) (no zone) is YYYY-MM-DDTHH:MM:SS[.ffffff]; infinity passes through', async () => {
    const name = await table('id INTEGER PRIMARY KEY, v TIMESTAMP(6)');
    const values = ['0001-01-01T00:00:00', '2024-02-29T23:59:59.123456', '9999-12-31T23:59:59.999999'];
    for (const [i, v] of values.entries()) {
      await ok(`INSERT INTO ${name} (id, v) VALUES (:i, :v)`, { i, v: { $type: 'DATETIME', value: v } });
    }
    await ok(`INSERT INTO ${name} (id, v) VALUES (9, 'infinity'), (10, '-infinity')`);
    const body = await ok(`SELECT v FROM ${name} ORDER BY id`);
    expect(body.columns[0]).toMatchObject({ type: 'DATETIME', dbType: 'timestamp' });
    expect(body.rows.map((r: { v: string }) => r.v)).toEqual([...values, 'infinity', '-infinity']);
  });

  it('DATE edge years, BC and infinity', async () => {
    const name = await table('id INTEGER PRIMARY KEY, v DATE');
    const tagged = ['0001-01-01', '9999-12-31', '2024-02-29', '10000-01-01'];
    for (const [i, v] of tagged.entries()) {
      await ok(`INSERT INTO ${name} (id, v) VALUES (:i, :v)`, { i, v: { $type: 'DATE', value: v } });
    }
    // BC dates are written the way PostgreSQL prints them, as a plain string.
    await ok(`INSERT INTO ${name} (id, v) VALUES (10, :v)`, { v: '0044-03-15 BC' });
    await ok(`INSERT INTO ${name} (id, v) VALUES (11, :v)`, { v: { $type: 'DATE', value: 'infinity' } });
    await ok(`INSERT INTO ${name} (id, v) VALUES (12, :v)`, { v: { $type: 'DATE', value: '-infinity' } });
    const body = await ok(`SELECT v FROM ${name} ORDER BY id`);
    expect(body.columns[0]).toMatchObject({ type: 'DATE', dbType: 'date' });
    expect(body.rows.map((r: { v: string }) => r.v)).toEqual([
      ...tagged,
      '0044-03-15 BC',
      'infinity',
      '-infinity',
    ]);
    const bc = await ok(`SELECT '0044-03-15 12:00:00 BC'::timestamptz AS v`);
    expect(bc.rows[0].v).toBe('0044-03-15T12:00:00+00:00 BC');
  });

  it('TIME(6) keeps microseconds; timetz keeps its offset', async () => {
    for (const v of ['23:59:59.999999', '00:00:00.000001', '12:34:56']) {
      const r = await roundTrip('TIME(6)', { $type: 'TIME', value: v });
      expect(r.value).toBe(v);
      expect(r.column).toMatchObject({ type: 'TIME', dbType: 'time' });
    }
    const tz = await roundTrip('TIMETZ(6)', { $type: 'TIME', value: '12:00:00.5+05:30' });
    expect(tz.value).toBe('12:00:00.5+05:30');
    const neg = await ok(`SELECT '01:02:03-08'::timetz AS v`);
    expect(neg.rows[0].v).toBe('01:02:03-08:00');
  });

  it('bytea: all 256 byte values, empty, and NULL', async () => {
    const name = await table('id INTEGER PRIMARY KEY, v BYTEA');
    await ok(`INSERT INTO ${name} (id, v) VALUES (1, :v)`, { v: { $type: 'BLOB', base64: ALL_BYTES } });
    await ok(`INSERT INTO ${name} (id, v) VALUES (2, :v)`, { v: { $type: 'BLOB', base64: '' } });
    await ok(`INSERT INTO ${name} (id, v) VALUES (3, NULL)`);
    const body = await ok(`SELECT v, length(v) AS n FROM ${name} ORDER BY id`);
    expect(body.columns[0]).toMatchObject({ type: 'BLOB', dbType: 'bytea' });
    expect(body.rows).toEqual([
      { v: ALL_BYTES, n: 256 },
      { v: '', n: 0 },
      { v: null, n: null },
    ]);
  });

  it('jsonb: nested unicode and escapes round-trip (keys reordered); json keeps text order', async () => {
    const value = {
      zeta: [1, 2.5, -0.125, 1e-7, true, false, null, 'ü😀\u0001"\\/\n'],
      alpha: { nested: { deeper: [{ '': 'empty key' }, [[]]] }, 日本: '語' },
      big: 12345678901234,
    };
    const r = await roundTrip('JSONB', { $type: 'JSON', value });
    expect(r.value).toEqual(value);
    expect(r.column).toMatchObject({ type: 'JSON', dbType: 'jsonb' });
    const scalar = await roundTrip('JSONB', { $type: 'JSON', value: 'just a string' });
    expect(scalar.value).toBe('just a string');
    const arr = await roundTrip('JSONB', { $type: 'JSON', value: [1, [2, [3]]] });
    expect(arr.value).toEqual([1, [2, [3]]]);
    // Numbers a JS client would get rounded keep the server's text in the response (json-text.ts; the
    // JSON numbers contract tests it in full); `jsonNumbers: "string"` gives them as strings.
    const big = '{"id": 12345678901234567890}';
    const exact = await t.app.inject({
      method: 'POST',
      url: '/v1/execute',
      payload: { sql: 'SELECT :j::jsonb AS j', params: { j: big } },
    });
    expect(exact.statusCode).toBe(200);
    expect(exact.body).toContain('"rows":[{"j":{"id":12345678901234567890}}]');
    const huge = await exec(`SELECT '{"x": 1e400}'::json AS j`, undefined, { jsonNumbers: 'string' });
    expect(huge.body.rows[0].j).toEqual({ x: '1e400' });
    const plain = await roundTrip('JSON', { z: 1, a: 2 });
    expect(Object.keys(plain.value)).toEqual(['z', 'a']);
    expect(plain.column).toMatchObject({ type: 'JSON', dbType: 'json' });
  });

  it('arrays of every common element type decode element-wise', async () => {
    const name = await table(
      'id INTEGER PRIMARY KEY, i8 INT8[], tx TEXT[], nu NUMERIC[], bo BOOL[], m2 INT4[][], ts TIMESTAMPTZ[], ' +
        'u UUID[], jb JSONB[], by BYTEA[], f8 FLOAT8[], d DATE[]',
    );
    const params = {
      i8: [{ $type: 'BIGINT', value: '9223372036854775807' }, null, -1],
      tx: ['plain', 'a,b', 'c"d', 'NULL', null, '', ' spaced ', '{braces}', 'back\\slash', 'ünï😀'],
      nu: [{ $type: 'DECIMAL', value: '1.10' }, { $type: 'DECIMAL', value: '-0.000001' }, null],
      bo: [true, false, null],
      m2: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      ts: [{ $type: 'TIMESTAMP', value: '2024-02-29T23:59:59.123456+05:30' }, null],
      u: [{ $type: 'UUID', value: '123e4567-e89b-12d3-a456-426614174000' }],
      jb: [
        { $type: 'JSON', value: { a: [1, 'x,y'] } },
        { $type: 'JSON', value: 'str"q' },
      ],
      by: [{ $type: 'BLOB', base64: 'AAH/' }, null],
      f8: [1.5, { $type: 'DOUBLE', value: 'NaN' }, { $type: 'DOUBLE', value: '-Infinity' }],
      d: [{ $type: 'DATE', value: '0001-01-01' }],
    };
    await ok(
      `INSERT INTO ${name} (id, ${Object.keys(params).join(', ')}) VALUES (1, ${Object.keys(params)
        .map((k) => `:${k}`)
        .join(', ')})`,
      params,
    );
    const body = await ok(`SELECT ${Object.keys(params).join(', ')} FROM ${name}`);
    expect(body.rows[0]).toEqual({
      i8: ['9223372036854775807', null, '-1'],
      tx: ['plain', 'a,b', 'c"d', 'NULL', null, '', ' spaced ', '{braces}', 'back\\slash', 'ünï😀'],
      nu: ['1.10', '-0.000001', null],
      bo: [true, false, null],
      m2: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      ts: ['2024-02-29T18:29:59.123456+00:00', null],
      u: ['123e4567-e89b-12d3-a456-426614174000'],
      jb: [{ a: [1, 'x,y'] }, 'str"q'],
      by: ['AAH/', null],
      f8: [1.5, 'NaN', '-Infinity'],
      d: ['0001-01-01'],
    });
    for (const c of body.columns) expect(c.type).toBe('ARRAY');
    expect(body.columns.map((c: { dbType: string }) => c.dbType)).toEqual([
      '_int8',
      '_text',
      '_numeric',
      '_bool',
      '_int4',
      '_timestamptz',
      '_uuid',
      '_jsonb',
      '_bytea',
      '_float8',
      '_date',
    ]);
    const odd = await ok(`SELECT '{}'::int[] AS e, '[0:1]={7,8}'::int[] AS lb, ARRAY[NULL]::text[] AS n`);
    expect(odd.rows[0]).toEqual({ e: [], lb: [7, 8], n: [null] });
    const numbers = await ok('SELECT :a::int8[] AS a', { a: [1, 2] }, { int64: 'number' });
    expect(numbers.rows[0].a).toEqual([1, 2]);
  });

  it('float8 NaN and ±Infinity both ways; extremes exact', async () => {
    const name = await table('id INTEGER PRIMARY KEY, v FLOAT8, r REAL');
    const values: Array<[unknown, unknown]> = [
      [
        { $type: 'DOUBLE', value: 'NaN' },
        { $type: 'FLOAT', value: 'NaN' },
      ],
      [
        { $type: 'DOUBLE', value: 'Infinity' },
        { $type: 'FLOAT', value: 'Infinity' },
      ],
      [
        { $type: 'DOUBLE', value: '-Infinity' },
        { $type: 'FLOAT', value: '-Infinity' },
      ],
      [5e-324, 0.1],
      // Integral doubles this large must be tagged: as plain JSON numbers they would be unsafe integers.
      [
        { $type: 'DOUBLE', value: 1.7976931348623157e308 },
        { $type: 'FLOAT', value: 3.4028234663852886e38 },
      ],
      [0.1 + 0.2, -1.5],
    ];
    for (const [i, [v, r]] of values.entries()) {
      await ok(`INSERT INTO ${name} (id, v, r) VALUES (:i, :v, :r)`, { i, v, r });
    }
    const body = await ok(`SELECT v, r FROM ${name} ORDER BY id`);
    expect(body.columns.map((c: { type: string }) => c.type)).toEqual(['DOUBLE', 'FLOAT']);
    expect(body.rows).toEqual([
      { v: 'NaN', r: 'NaN' },
      { v: 'Infinity', r: 'Infinity' },
      { v: '-Infinity', r: '-Infinity' },
      { v: 5e-324, r: 0.1 },
      { v: 1.7976931348623157e308, r: 3.4028235e38 },
      { v: 0.30000000000000004, r: -1.5 },
    ]);
  });

  it('uuid, enum, interval, boolean, and types without a better mapping', async () => {
    const u = await roundTrip('UUID', { $type: 'UUID', value: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' });
    expect(u.value).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(u.column).toMatchObject({ type: 'UUID', dbType: 'uuid' });

    await ok('DROP TYPE IF EXISTS pgt_mood');
    await ok("CREATE TYPE pgt_mood AS ENUM ('sad', 'ok', 'happy')");
    const name = await table('id INTEGER PRIMARY KEY, m pgt_mood, ms pgt_mood[]');
    await ok(`INSERT INTO ${name} (id, m, ms) VALUES (1, :m, :ms)`, { m: 'happy', ms: ['sad', null, 'ok'] });
    const e = await ok(`SELECT m, ms FROM ${name}`);
    expect(e.rows[0]).toEqual({ m: 'happy', ms: ['sad', null, 'ok'] });
    expect(e.columns).toEqual([
      { name: 'm', type: 'ENUM', dbType: 'pgt_mood', nullable: null },
      { name: 'ms', type: 'ARRAY', dbType: '_pgt_mood', nullable: null },
    ]);

    const iv = await roundTrip('INTERVAL', {
      $type: 'INTERVAL',
      value: '1 year 2 months 3 days 04:05:06.789',
    });
    expect(iv.value).toBe('1 year 2 mons 3 days 04:05:06.789');
    expect(iv.column).toMatchObject({ type: 'INTERVAL', dbType: 'interval' });

    // Domains arrive as their base type; arrays over a domain decode like arrays of the base type.
    await ok('DROP DOMAIN IF EXISTS pgt_posint');
    await ok('CREATE DOMAIN pgt_posint AS int8 CHECK (VALUE > 0)');
    try {
      const dom = await ok('SELECT 5::pgt_posint AS d, ARRAY[5, 6]::pgt_posint[] AS da');
      expect(dom.rows[0]).toEqual({ d: '5', da: ['5', '6'] });
      expect(dom.columns.map((c: { type: string; dbType: string }) => `${c.type}/${c.dbType}`)).toEqual([
        'BIGINT/int8',
        'ARRAY/_pgt_posint',
      ]);
    } finally {
      await ok('DROP DOMAIN pgt_posint');
    }

    const b = await ok('SELECT true AS t, false AS f, NULL::bool AS n');
    expect(b.rows[0]).toEqual({ t: true, f: false, n: null });
    expect(b.columns[0].type).toBe('BOOLEAN');

    const other = await ok(
      "SELECT '192.168.0.1/24'::inet AS ip, '$1.50'::money AS mo, B'101' AS bits, point(1,2) AS p, " +
        "'<a/>'::xml AS x, 'a b'::tsvector AS tv, int4range(1, 5) AS r",
    );
    expect(other.rows[0]).toEqual({
      ip: '192.168.0.1/24',
      mo: '$1.50',
      bits: '101',
      p: '(1,2)',
      x: '<a/>',
      tv: "'a' 'b'",
      r: '[1,5)',
    });
    for (const c of other.columns) expect(c.type).toBe('OTHER');
    expect(other.columns.map((c: { dbType: string }) => c.dbType)).toEqual([
      'inet',
      'money',
      'bit',
      'point',
      'xml',
      'tsvector',
      'int4range',
    ]);
  });

  it('integer widths and text types carry their own GenericType and dbType', async () => {
    const body = await ok(
      "SELECT 1::int2 AS s, 1::int4 AS i, 1::int8 AS b, 'x'::varchar(3) AS v, 'x'::char(3) AS c, " +
        "'x'::text AS t, 'x'::name AS n, 1.5::numeric(4,2) AS d",
    );
    expect(body.rows[0]).toEqual({ s: 1, i: 1, b: '1', v: 'x', c: 'x  ', t: 'x', n: 'x', d: '1.50' });
    expect(body.columns.map((c: { type: string; dbType: string }) => `${c.type}/${c.dbType}`)).toEqual([
      'SMALLINT/int2',
      'INTEGER/int4',
      'BIGINT/int8',
      'VARCHAR/varchar',
      'CHAR/bpchar',
      'TEXT/text',
      'TEXT/name',
      'DECIMAL/numeric',
    ]);
  });

  it('every GenericType has a DDL type that stores it', async () => {
    const dialect = t.app.backends.get('db').dialect;
    const types = GENERIC_TYPES;
    const cols = types.map((g, i) => `c${i} ${dialect.ddlType(g)}`).join(', ');
    await table(`id INTEGER PRIMARY KEY, ${cols}`);
    const arr = await roundTrip(dialect.ddlType('ARRAY'), ['a', null, 'b,c']);
    expect(arr.value).toEqual(['a', null, 'b,c']);
    const ch = await roundTrip(dialect.ddlType('CHAR'), 'abc');
    expect(ch.value).toBe('abc');
  });
});
