import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * POST /sql with the real @neondatabase/serverless neon() client, against PostgreSQL: values, types,
 * transactions, errors, auth and scopes, and the gateway's coded answers to bad input.
 */

const pg = (await testBackends()).find((b) => b.driver === 'postgres');
const skip = pg?.skipReason ?? null;

const KEY = 'neon-test-key-0123456789abcdef';
const RO_KEY = 'neon-readonly-key-0123456789abcdef';
let s: ServedApp;
let table: string;

/** Identity parsers: the client hands back the text exactly as the gateway sent it. */
const rawTypes = { getTypeParser: () => (v: string) => v };

describe.skipIf(skip !== null)('Neon SQL-over-HTTP with neon()', () => {
  beforeAll(async () => {
    s = await serveTestApp({
      auth: {
        apiKeys: [
          { name: 'app', key: KEY, backends: ['main'] },
          { name: 'ro', key: RO_KEY, backends: ['main'], readOnly: true },
        ],
      },
      compat: { neon: { databases: { neondb: 'main' } } },
      limits: { maxRows: 1000 },
      backends: {
        main: { driver: 'postgres', url: PG_URL, pool: { max: 4 } },
        lite: { driver: 'sqlite', database: ':memory:' },
      },
      defaultBackend: 'main',
    });
    neonConfig.fetchEndpoint = (_host, port) => `http://127.0.0.1:${port}/sql`;
    table = uniqueName('neon');
    const sql = neon(`postgresql://app:${KEY}@127.0.0.1:${s.port}/main`);
    await sql.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, name text NOT NULL, amount numeric(12,2))`);
  });
  afterAll(async () => {
    if (s) {
      await neon(`postgresql://app:${KEY}@127.0.0.1:${s.port}/main`).query(`DROP TABLE IF EXISTS ${table}`);
      await s.close();
    }
  });

  const db = (user = 'app', key = KEY, name = 'main') =>
    neon(`postgresql://${user}:${key}@127.0.0.1:${s.port}/${name}`);

  it('runs tagged templates with params and parses values by their OIDs', async () => {
    const sql = db();
    const big = '9007199254740993';
    const rows = await sql`SELECT ${big}::int8 AS big, 12.30::numeric AS n, true AS b, ${'x y'}::text AS t,
      '\\x00ff'::bytea AS bytes, '{"a":[1,2]}'::jsonb AS j, ARRAY[1,2,NULL]::int4[] AS arr,
      '2024-05-01'::date AS d, NULL::text AS nothing`;
    expect(rows).toHaveLength(1);
    const r = rows[0] as Record<string, unknown>;
    expect(r.big).toBe(big); // pg-types leaves int8 as a string
    expect(r.n).toBe('12.30');
    expect(r.b).toBe(true);
    expect(r.t).toBe('x y');
    expect(Buffer.isBuffer(r.bytes)).toBe(true);
    expect([...(r.bytes as Buffer)]).toEqual([0, 255]);
    expect(r.j).toEqual({ a: [1, 2] });
    expect(r.arr).toEqual([1, 2, null]);
    expect(r.nothing).toBeNull();
  });

  it('sends every value in PostgreSQL text form, exactly as the server prints it', async () => {
    const sql = db();
    const exprs = [
      `9223372036854775807::int8`,
      `-12345678901234567890.123456789::numeric`,
      `'2024-05-01 12:34:56.123456+02'::timestamptz`,
      `'2024-05-01 12:34:56.5'::timestamp`,
      `'13:14:15.000001'::time`,
      `'1 year 2 mons 3 days 04:05:06'::interval`,
      `'\\xdeadbeef'::bytea`,
      `ARRAY['a b', 'c"d', 'e\\f', '', NULL]::text[]`,
      `ARRAY[[1,2],[3,4]]::int4[]`,
      `ARRAY['2024-01-01 00:00:00+00'::timestamptz]`,
      `1.5::float8`,
      `'NaN'::float8`,
      `'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid`,
      `'{"k": "v", "n": [1, 2.5]}'::jsonb`,
    ];
    const query = `SELECT ${exprs.map((e, i) => `${e} AS v${i}, (${e})::text AS t${i}`).join(', ')}`;
    const res = await sql.query(query, [], { fullResults: true, arrayMode: true, types: rawTypes as never });
    const row = res.rows[0] as unknown[];
    for (let i = 0; i < exprs.length; i++) {
      expect(row[2 * i], exprs[i]).toBe(row[2 * i + 1]);
    }
    const oids = res.fields.map((f) => f.dataTypeID).filter((_, i) => i % 2 === 0);
    expect(oids).toEqual([20, 1700, 1184, 1114, 1083, 1186, 17, 1009, 1007, 1185, 701, 701, 2950, 3802]);
  });

  it('parses timestamptz to the same instant', async () => {
    const rows = await db()`SELECT '2024-05-01 12:34:56.789+02'::timestamptz AS t`;
    expect((rows[0] as { t: Date }).t.toISOString()).toBe('2024-05-01T10:34:56.789Z');
  });

  it('query() with fullResults and arrayMode gives fields, command and rowCount', async () => {
    const sql = db();
    const ins = await sql.query(
      `INSERT INTO ${table} (id, name, amount) VALUES ($1, $2, $3), ($4, $5, $6)`,
      [1, 'a', '1.10', 2, 'b', '2.20'],
      { fullResults: true },
    );
    expect(ins.command).toBe('INSERT');
    expect(ins.rowCount).toBe(2);
    const sel = await sql.query(`SELECT id, name, amount FROM ${table} ORDER BY id`, [], {
      fullResults: true,
      arrayMode: true,
    });
    expect(sel.command).toBe('SELECT');
    expect(sel.rowCount).toBe(2);
    expect(sel.rowAsArray).toBe(true);
    expect(sel.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['id', 20],
      ['name', 25],
      ['amount', 1700],
    ]);
    expect(sel.rows).toEqual([
      ['1', 'a', '1.10'],
      ['2', 'b', '2.20'],
    ]);
    const ddl = await sql.query(`CREATE TEMP TABLE ${table}_tmp (x int)`, [], { fullResults: true });
    expect(ddl.command).toBe('CREATE');
    expect(ddl.rowCount).toBeNull();
  });

  it('transaction() is all-or-nothing', async () => {
    const sql = db();
    const results = await sql.transaction([
      sql`INSERT INTO ${sql.unsafe(table)} (id, name) VALUES (10, 'tx')`,
      sql`SELECT count(*)::int AS n FROM ${sql.unsafe(table)} WHERE id = 10`,
    ]);
    expect(results[1]).toEqual([{ n: 1 }]);
    await expect(
      sql.transaction([
        sql`INSERT INTO ${sql.unsafe(table)} (id, name) VALUES (11, 'gone')`,
        sql`INSERT INTO ${sql.unsafe(table)} (id, name) VALUES (10, 'dup')`,
      ]),
    ).rejects.toMatchObject({ code: '23505', constraint: `${table}_pkey` });
    const left = await sql`SELECT id FROM ${sql.unsafe(table)} WHERE id = 11`;
    expect(left).toEqual([]);
  });

  it('transaction() honours isolation level, read-only and deferrable', async () => {
    const sql = db();
    const [[iso]] = (await sql.transaction(
      [
        sql`SELECT current_setting('transaction_isolation') AS i, current_setting('transaction_read_only') AS r, current_setting('transaction_deferrable') AS d`,
      ],
      { isolationLevel: 'Serializable', readOnly: true, deferrable: true },
    )) as [[Record<string, string>]];
    expect(iso).toEqual({ i: 'serializable', r: 'on', d: 'on' });
    const [[rc]] = (await sql.transaction([sql`SELECT current_setting('transaction_isolation') AS i`], {
      isolationLevel: 'RepeatableRead',
    })) as [[Record<string, string>]];
    expect(rc?.i).toBe('repeatable read');
    await expect(
      sql.transaction([sql`INSERT INTO ${sql.unsafe(table)} (id, name) VALUES (20, 'ro')`], {
        readOnly: true,
      }),
    ).rejects.toMatchObject({ code: '25006' });
    expect(await sql`SELECT id FROM ${sql.unsafe(table)} WHERE id = 20`).toEqual([]);
  });

  it('reports PostgreSQL error fields and never echoes params', async () => {
    const sql = db();
    const secret = 'sekrit-param-value-42';
    const err = await sql`SELECT ${secret}::int AS x`.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'NeonDbError', code: '22P02', severity: 'ERROR' });
    expect(JSON.stringify({ ...(err as object), message: (err as Error).message })).not.toContain(secret);
    const syntax = await sql`SELEC 1`.catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: '42601', position: '1' });
  });

  it('maps the database name through compat.neon.databases, and applies backend scopes', async () => {
    expect(await db('app', KEY, 'neondb')`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    // not PostgreSQL
    await expect(db('app', KEY, 'lite')`SELECT 1`).rejects.toMatchObject({ code: 'BACKEND_NOT_FOUND' });
    await expect(db('app', KEY, 'nosuch')`SELECT 1`).rejects.toMatchObject({ code: 'BACKEND_NOT_FOUND' });
  });

  it('authenticates with the password or an authToken, and refuses a wrong key', async () => {
    const viaToken = neon(`postgresql://x:wrong@127.0.0.1:${s.port}/main`, { authToken: KEY });
    expect(await viaToken`SELECT 2 AS two`).toEqual([{ two: 2 }]);
    await expect(db('app', 'wrong-key')`SELECT 1`).rejects.toThrow(/HTTP status 401/);
  });

  it('refuses a read-only principal exactly as /v1 does where read-only cannot be enforced', async () => {
    // The test login is a superuser without a readOnlyUrl: /v1 answers 403 FORBIDDEN, and so does /sql.
    const ro = db('ro', RO_KEY);
    const err = (await ro`SELECT 1`.catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/HTTP status 403/);
    expect(err.message).toContain('"code":"FORBIDDEN"');
    const v1 = await fetch(`${s.url}/v1/execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RO_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT 1', backend: 'main' }),
    });
    expect(v1.status).toBe(403);
  });

  it('answers a too-large result with a coded 400', async () => {
    await expect(db()`SELECT g FROM generate_series(1, 5000) g`).rejects.toMatchObject({ code: '54000' });
  });

  it('refuses bad headers and bodies with coded 400s, never a 5xx', async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${s.url}/sql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, ...headers },
        body,
      });
    const cs = { 'neon-connection-string': `postgresql://u@h/main` };
    const cases: Array<[Record<string, string>, string]> = [
      [{}, '{"query":"SELECT 1","params":[]}'],
      [{ 'neon-connection-string': 'mysql://h/main' }, '{"query":"SELECT 1"}'],
      [{ 'neon-connection-string': 'not a url' }, '{"query":"SELECT 1"}'],
      [{ ...cs, 'neon-array-mode': 'maybe' }, '{"query":"SELECT 1"}'],
      [{ ...cs, 'neon-raw-text-output': 'false' }, '{"query":"SELECT 1"}'],
      [{ ...cs, 'neon-batch-isolation-level': 'Chaos' }, '{"queries":[{"query":"SELECT 1"}]}'],
      [cs, '{"query":'],
      [cs, '[]'],
      [cs, '{"query":""}'],
      [cs, '{"query":"SELECT $1","params":[{"a":1}]}'],
      [cs, '{"queries":[]}'],
      [cs, '{"queries":"SELECT 1"}'],
      [cs, '{"query":"SELECT 1; SELECT 2"}'],
    ];
    for (const [headers, body] of cases) {
      const res = await post(headers, body);
      expect(res.status, `${JSON.stringify(headers)} ${body}`).toBe(400);
      const json = (await res.json()) as { code: string; message: string };
      expect(typeof json.code).toBe('string');
      expect(json.message.length).toBeGreaterThan(0);
    }
  });

  it('answers a browser preflight for the Neon headers when CORS is configured', async () => {
    const c = await serveTestApp({
      server: { cors: { origins: ['https://app.example'] } },
      backends: { main: { driver: 'postgres', url: PG_URL, pool: { max: 1 } } },
    });
    try {
      const res = await fetch(`${c.url}/sql`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'neon-connection-string,neon-array-mode,neon-raw-text-output',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(res.headers.get('access-control-allow-headers')).toContain('neon-connection-string');
    } finally {
      await c.close();
    }
  });
});
