import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenericType } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';
import { AUTO_ID, TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * The contract suite for POST /v1/execute: the same cases, unchanged, against every backend.
 * Backend differences come only from the Dialect (DDL types, capabilities), never from `if (driver)`.
 */
const backends = await testBackends();

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');

describe.each(backends)('execute contract: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  const ddl = (type: GenericType) => t.app.backends.get('db').dialect.ddlType(type);
  const exec = (sql: string, params?: unknown, options?: unknown) => t.exec(sql, params, options);
  const created: string[] = [];
  const table = async (columns: string): Promise<string> => {
    const name = uniqueName();
    const res = await exec(`CREATE TABLE ${name} (${columns})${TABLE_SUFFIX[tb.driver]}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    created.push(name);
    return name;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created.reverse()) await exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  it('answers select 1 with typed metadata', async () => {
    const res = await exec('SELECT 1 AS x');
    expect(res.status).toBe(200);
    expect(res.body.command).toBe('SELECT');
    expect(res.body.rowCount).toBe(1);
    const col = res.body.columns[0];
    expect(col.name).toBe('x');
    expect(['INTEGER', 'BIGINT']).toContain(col.type);
    expect(res.body.rows[0].x).toBe(col.type === 'BIGINT' ? '1' : 1);
  });

  it('round-trips every portable GenericType exactly, plain and tagged', async () => {
    const name = await table(
      [
        'id INTEGER NOT NULL',
        `b ${ddl('BOOLEAN')}`,
        `i ${ddl('INTEGER')}`,
        `big ${ddl('BIGINT')}`,
        `dcm ${ddl('DECIMAL')}`,
        `dbl ${ddl('DOUBLE')}`,
        `vc ${ddl('VARCHAR')}`,
        `txt ${ddl('TEXT')}`,
        `bl ${ddl('BLOB')}`,
        `d ${ddl('DATE')}`,
        `tm ${ddl('TIME')}`,
        `dt ${ddl('DATETIME')}`,
        `ts ${ddl('TIMESTAMP')}`,
        `j ${ddl('JSON')}`,
        `u ${ddl('UUID')}`,
      ].join(', '),
    );
    const rows = [
      {
        id: 1,
        b: true,
        i: 2147483647,
        big: { $type: 'BIGINT', value: '9223372036854775807' },
        dcm: { $type: 'DECIMAL', value: '1234567890123456789012345678.0123456789' },
        dbl: 0.1 + 0.2,
        vc: 'héllo ✓ 𝄞 日本',
        txt: '',
        bl: { $type: 'BLOB', base64: ALL_BYTES },
        d: { $type: 'DATE', value: '2024-02-29' },
        tm: { $type: 'TIME', value: '23:59:59.123456' },
        dt: { $type: 'DATETIME', value: '2024-02-29T23:59:59.123456' },
        ts: { $type: 'TIMESTAMP', value: '2024-02-29T23:59:59.123456+00:00' },
        j: { $type: 'JSON', value: { a: [1, 'ü', { b: null }], emoji: '😀', n: 1.5 } },
        u: { $type: 'UUID', value: '123e4567-e89b-12d3-a456-426614174000' },
      },
      {
        id: 2,
        b: false,
        i: -2147483648,
        big: { $type: 'BIGINT', value: '-9223372036854775808' },
        dcm: { $type: 'DECIMAL', value: '-0.0000000001' },
        dbl: -2.5e-300,
        vc: '',
        txt: 'line1\nline2\t"quoted" \'single\' \\ back',
        bl: { $type: 'BLOB', base64: '' },
        d: { $type: 'DATE', value: '0001-01-01' },
        tm: { $type: 'TIME', value: '00:00:00' },
        dt: { $type: 'DATETIME', value: '9999-12-31T23:59:59.999999' },
        ts: { $type: 'TIMESTAMP', value: '1970-01-01T00:00:00+00:00' },
        j: { $type: 'JSON', value: [] },
        u: null,
      },
    ];
    for (const r of rows) {
      const cols = Object.keys(r);
      const res = await exec(
        `INSERT INTO ${name} (${cols.join(', ')}) VALUES (${cols.map((c) => `:${c}`).join(', ')})`,
        r,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.affectedRows).toBe(1);
    }
    const res = await exec(`SELECT * FROM ${name} ORDER BY id`, undefined, { columnTypes: { j: 'JSON' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const types = Object.fromEntries(
      res.body.columns.map((c: { name: string; type: string }) => [c.name, c.type]),
    );
    expect(types).toMatchObject({
      b: 'BOOLEAN',
      big: 'BIGINT',
      dcm: 'DECIMAL',
      dbl: 'DOUBLE',
      bl: 'BLOB',
      d: 'DATE',
      tm: 'TIME',
      dt: 'DATETIME',
      ts: 'TIMESTAMP',
      j: 'JSON',
    });
    expect(['VARCHAR', 'TEXT']).toContain(types.vc);
    expect(['TEXT', 'VARCHAR']).toContain(types.txt);
    const [r1, r2] = res.body.rows;
    expect(r1).toMatchObject({
      b: true,
      i: 2147483647,
      big: '9223372036854775807',
      dcm: '1234567890123456789012345678.0123456789',
      dbl: 0.30000000000000004,
      vc: 'héllo ✓ 𝄞 日本',
      txt: '',
      bl: ALL_BYTES,
      d: '2024-02-29',
      tm: '23:59:59.123456',
      dt: '2024-02-29T23:59:59.123456',
      ts: '2024-02-29T23:59:59.123456+00:00',
      j: { a: [1, 'ü', { b: null }], emoji: '😀', n: 1.5 },
      u: '123e4567-e89b-12d3-a456-426614174000',
    });
    expect(r2).toMatchObject({
      b: false,
      i: -2147483648,
      big: '-9223372036854775808',
      dcm: '-0.0000000001',
      dbl: -2.5e-300,
      vc: '',
      txt: 'line1\nline2\t"quoted" \'single\' \\ back',
      bl: '',
      d: '0001-01-01',
      dt: '9999-12-31T23:59:59.999999',
      ts: '1970-01-01T00:00:00+00:00',
      j: [],
      u: null,
    });
    expect(['00:00:00', '00:00:00.000000']).toContain(r2.tm);
  });

  it('int64 "number" gives numbers when safe and refuses to round otherwise', async () => {
    const name = await table(`id INTEGER NOT NULL, big ${ddl('BIGINT')}`);
    await exec(`INSERT INTO ${name} (id, big) VALUES (1, :v)`, {
      v: { $type: 'BIGINT', value: '9007199254740991' },
    });
    const ok = await exec(`SELECT big FROM ${name}`, undefined, { int64: 'number' });
    expect(ok.status).toBe(200);
    expect(ok.body.rows[0].big).toBe(9007199254740991);
    await exec(`UPDATE ${name} SET big = :v`, { v: { $type: 'BIGINT', value: '9007199254740993' } });
    const bad = await exec(`SELECT big FROM ${name}`, undefined, { int64: 'number' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('TYPE_CONVERSION_ERROR');
    const str = await exec(`SELECT big FROM ${name}`);
    expect(str.body.rows[0].big).toBe('9007199254740993');
  });

  it('reports affectedRows and lastInsertId', async () => {
    const name = await table(`id ${AUTO_ID[tb.driver]}, v ${ddl('INTEGER')}`);
    const returning = t.app.backends.get('db').dialect.capabilities.returning;
    const ins = await exec(`INSERT INTO ${name} (v) VALUES (:v)${returning ? ' RETURNING id' : ''}`, {
      v: 10,
    });
    expect(ins.status, JSON.stringify(ins.body)).toBe(200);
    expect(ins.body.command).toBe('INSERT');
    expect(ins.body.affectedRows).toBe(1);
    expect(ins.body.lastInsertId).toBe('1');
    await exec(`INSERT INTO ${name} (v) VALUES (:v)`, { v: 10 });
    await exec(`INSERT INTO ${name} (v) VALUES (:v)`, { v: 20 });
    const upd = await exec(`UPDATE ${name} SET v = v + 1 WHERE v = :v`, { v: 10 });
    expect(upd.body.command).toBe('UPDATE');
    expect(upd.body.affectedRows).toBe(2);
    expect(upd.body.lastInsertId).toBeNull();
    const del = await exec(`DELETE FROM ${name} WHERE v = :v`, { v: 20 });
    expect(del.body.affectedRows).toBe(1);
    const left = await exec(`SELECT COUNT(*) AS n FROM ${name}`);
    expect(Number(left.body.rows[0].n)).toBe(2);
  });

  it('returns rows as arrays with rowMode "array"', async () => {
    const res = await exec('SELECT 1 AS a, :s AS b', { s: 'x' }, { rowMode: 'array' });
    expect(res.status).toBe(200);
    expect(res.body.rows).toHaveLength(1);
    expect(res.body.rows[0][1]).toBe('x');
    expect(res.body.columns.map((c: { name: string }) => c.name)).toEqual(['a', 'b']);
  });

  it('names and types positional and named params the same way', async () => {
    const native = t.app.backends.get('db').dialect.placeholder(0);
    const a = await exec(`SELECT ${native} AS v`, ['abc']);
    const b = await exec('SELECT :v AS v', { v: 'abc' });
    expect(a.body.rows[0].v).toBe('abc');
    expect(b.body.rows[0].v).toBe('abc');
  });

  it('stops a result past maxRows with RESULT_TOO_LARGE', async () => {
    const name = await table('id INTEGER NOT NULL');
    for (let i = 0; i < 5; i++) await exec(`INSERT INTO ${name} (id) VALUES (:i)`, { i });
    const res = await exec(`SELECT id FROM ${name}`, undefined, { maxRows: 3 });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('RESULT_TOO_LARGE');
    const ok = await exec(`SELECT id FROM ${name}`, undefined, { maxRows: 5 });
    expect(ok.body.rowCount).toBe(5);
  });

  describe('errors', () => {
    const expectError = (
      res: { status: number; body: any },
      code: string,
      status: number,
      cls: string | null,
    ) => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.class).toBe(cls);
      expect(typeof res.body.error.requestId).toBe('string');
      expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
    };

    it('syntax error -> SQL_SYNTAX_ERROR', async () => {
      expectError(await exec('SELEC 1'), 'SQL_SYNTAX_ERROR', 400, 'QueryError');
    });
    it('missing table -> UNDEFINED_OBJECT', async () => {
      expectError(await exec('SELECT * FROM no_such_table_at_all'), 'UNDEFINED_OBJECT', 400, 'QueryError');
    });
    it('constraint violations -> 409 IntegrityError with the right code', async () => {
      const parent = await table(`id ${ddl('INTEGER')} PRIMARY KEY`);
      const child = await table(
        `id ${ddl('INTEGER')} PRIMARY KEY, email ${ddl('VARCHAR')} NOT NULL UNIQUE, qty ${ddl('INTEGER')} CHECK (qty > 0), ` +
          `parent_id ${ddl('INTEGER')} REFERENCES ${parent}(id)`,
      );
      await exec(`INSERT INTO ${parent} (id) VALUES (1)`);
      const ok = await exec(`INSERT INTO ${child} (id, email, qty, parent_id) VALUES (1, :e, 1, 1)`, {
        e: 'a@x',
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const secret = 'secret-param-sentinel-4711';
      const dup = await exec(`INSERT INTO ${child} (id, email, qty) VALUES (2, :e, 1)`, { e: 'a@x' });
      expectError(dup, 'UNIQUE_VIOLATION', 409, 'IntegrityError');
      expect(dup.body.error.retryable).toBe(false);
      expectError(
        await exec(`INSERT INTO ${child} (id, email, qty) VALUES (3, NULL, 1)`),
        'NOT_NULL_VIOLATION',
        409,
        'IntegrityError',
      );
      const chk = await exec(`INSERT INTO ${child} (id, email, qty) VALUES (4, :e, 0)`, { e: secret });
      expectError(chk, 'CHECK_VIOLATION', 409, 'IntegrityError');
      expect(JSON.stringify(chk.body)).not.toContain(secret);
      expectError(
        await exec(`INSERT INTO ${child} (id, email, qty, parent_id) VALUES (5, :e, 1, 99)`, { e: 'b@x' }),
        'FOREIGN_KEY_VIOLATION',
        409,
        'IntegrityError',
      );
      const count = await exec(`SELECT COUNT(*) AS n FROM ${child}`);
      expect(Number(count.body.rows[0].n)).toBe(1);
    });
    it('wrong param count -> PARAM_INVALID before reaching the database', async () => {
      const native = t.app.backends.get('db').dialect.placeholder(0);
      expectError(await exec(`SELECT ${native} AS a`, [1, 2]), 'PARAM_INVALID', 400, 'TypeConversionError');
      expectError(await exec('SELECT :a AS a', { b: 1 }), 'PARAM_INVALID', 400, 'TypeConversionError');
    });
    it('two statements -> BAD_REQUEST', async () => {
      expectError(await exec('SELECT 1; SELECT 2'), 'BAD_REQUEST', 400, 'ValidationError');
      const one = await exec('SELECT 1 AS x;  -- trailing comment');
      expect(one.status).toBe(200);
    });
    it('unknown backend -> BACKEND_NOT_FOUND', async () => {
      const res = await t.post('/v1/execute', { sql: 'SELECT 1', backend: 'nope' });
      expectError(res, 'BACKEND_NOT_FOUND', 404, null);
    });
    it('keeps serving after errors', async () => {
      const res = await exec('SELECT 2 AS y');
      expect(res.status).toBe(200);
      expect(Number(res.body.rows[0].y)).toBe(2);
    });
  });
});
