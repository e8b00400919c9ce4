import { neon, neonConfig } from '@neondatabase/serverless';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * Malformed input on Neon's POST /sql: wrong or missing headers, an unknown database, a backend that is not
 * PostgreSQL, bodies that are not JSON, wrong parameter types, 10,000 queries in one transaction, huge
 * SQL. Each gets a coded answer (400 with `code` and `message`, 413 for a body over server.bodyLimit),
 * never a 5xx, and afterwards no connection is out of the pool and no transaction is left open.
 */

const pgBackend = (await testBackends()).find((b) => b.driver === 'postgres');
const skip = pgBackend?.skipReason ?? null;
const BODY_LIMIT = 4 * 1024 * 1024; // the default server.bodyLimit

async function pgIdleInTransaction(): Promise<number> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`,
    );
    return r.rows[0].n as number;
  } finally {
    await c.end();
  }
}

describe.skipIf(skip !== null)('Neon /sql: malformed input', () => {
  let s: ServedApp;
  const table = uniqueName('nbad');

  beforeAll(async () => {
    s = await serveTestApp({
      backends: {
        main: { driver: 'postgres', url: PG_URL, pool: { max: 4 } },
        lite: { driver: 'sqlite', database: ':memory:' },
      },
      defaultBackend: 'main',
    });
    neonConfig.fetchEndpoint = (_host, port) => `http://127.0.0.1:${port}/sql`;
    await db().query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, v text)`);
  });
  afterAll(async () => {
    if (!s) return;
    await db().query(`DROP TABLE IF EXISTS ${table}`);
    await s.close();
  });

  const db = (name = 'main') => neon(`postgresql://u:p@127.0.0.1:${s.port}/${name}`);
  const CS = { 'neon-connection-string': 'postgresql://u@h/main' };

  async function send(headers: Record<string, string>, body: string, method = 'POST') {
    const res = await fetch(`${s.url}/sql`, { method, headers, body: method === 'GET' ? undefined : body });
    const text = await res.text();
    let json: { code?: string; message?: string; sqlgateCode?: string; error?: { code: string } } = {};
    try {
      json = JSON.parse(text);
    } catch {
      json = { message: text };
    }
    return { status: res.status, json };
  }

  const rowCount = async () =>
    Number(((await db().query(`SELECT COUNT(*) AS n FROM ${table}`)) as Array<{ n: string }>)[0]?.n);
  const expectNothingOpen = async () => {
    expect(s.app.backends.get('main').poolStats().inUse).toBe(0);
    expect(await pgIdleInTransaction()).toBe(0);
  };

  it('wrong or missing headers and an unknown database get coded 400s', async () => {
    const q = '{"query":"SELECT 1","params":[]}';
    const cases: Array<[Record<string, string>, string, string]> = [
      [{}, 'BAD_REQUEST', 'no Neon-Connection-String'],
      [{ 'neon-connection-string': '' }, 'BAD_REQUEST', 'empty connection string'],
      [{ 'neon-connection-string': 'postgresql://u@h' }, 'BAD_REQUEST', 'no database name'],
      [{ 'neon-connection-string': 'postgresql://u@h/nope' }, 'BACKEND_NOT_FOUND', 'unknown database'],
      [{ 'neon-connection-string': 'postgresql://u@h/lite' }, 'UNSUPPORTED_FEATURE', 'a SQLite backend'],
      [{ 'neon-connection-string': 'http://h/main' }, 'BAD_REQUEST', 'not a postgres URL'],
      [{ ...CS, 'neon-array-mode': '1' }, 'BAD_REQUEST', 'array mode not a boolean'],
      [{ ...CS, 'neon-batch-read-only': 'yes' }, 'BAD_REQUEST', 'read-only not a boolean'],
      [{ ...CS, 'neon-batch-deferrable': 'no' }, 'BAD_REQUEST', 'deferrable not a boolean'],
    ];
    for (const [headers, code, what] of cases) {
      const r = await send(headers, q);
      expect(r.status, what).toBe(400);
      expect(r.json.sqlgateCode ?? r.json.code, what).toBe(code);
      expect(r.json.message?.length, what).toBeGreaterThan(0);
    }
    // The real client surfaces the same codes.
    await expect(db('nope')`SELECT 1`).rejects.toMatchObject({ code: 'BACKEND_NOT_FOUND' });
    await expect(db('lite')`SELECT 1`).rejects.toMatchObject({ code: 'UNSUPPORTED_FEATURE' });
    await expectNothingOpen();
  });

  it('bodies that are not JSON, or not a query, get coded 400s', async () => {
    const cases: Array<[string, string]> = [
      ['hello', 'not JSON'],
      ['', 'empty'],
      ['{"query":"SELECT 1"', 'truncated'],
      ['null', 'null'],
      ['42', 'a number'],
      ['{"params":[]}', 'no query'],
      ['{"query":1}', 'query not a string'],
      ['{"query":"SELECT $1","params":{"a":1}}', 'params an object'],
      ['{"query":"SELECT $1","params":[[1,2]]}', 'a nested array param'],
      ['{"queries":[{"query":"SELECT 1"},"SELECT 2"]}', 'a batch entry that is a string'],
      ['{"queries":[{"query":"SELECT 1","params":5}]}', 'batch params not an array'],
      ['{"query":"SELECT \\u0000"}', 'NUL in the SQL'],
      ['{"query":"SELECT 1","__proto__":{"polluted":true}}', 'prototype poisoning'],
    ];
    for (const [body, what] of cases) {
      const r = await send(CS, body);
      expect(r.status, what).toBe(400);
      expect(typeof r.json.code, what).toBe('string');
      expect(r.json.message?.length, what).toBeGreaterThan(0);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectNothingOpen();
  });

  it('wrong parameter counts and uncastable values are PostgreSQL errors with their SQLSTATE', async () => {
    const few = await send(CS, '{"query":"SELECT $1::int, $2::int","params":["1"]}');
    expect(few.status).toBe(400);
    expect(typeof few.json.code).toBe('string');
    const cast = await send(CS, '{"query":"SELECT $1::int AS n","params":["not a number"]}');
    expect(cast.status).toBe(400);
    expect(cast.json.code).toBe('22P02');
    expect(JSON.stringify(cast.json)).not.toContain('not a number');
    await expectNothingOpen();
  });

  it('10,000 queries in one transaction run (limits.maxBatchStatements); 10,001 are refused, nothing run', async () => {
    const sql = db();
    const ins = (i: number) => sql.query(`INSERT INTO ${table} (id, v) VALUES ($1, $2)`, [i, `v${i}`]);
    const many = Array.from({ length: 10_001 }, (_, i) => ins(i + 1));
    await expect(sql.transaction(many)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await rowCount()).toBe(0);
    const results = await sql.transaction(many.slice(0, 10_000));
    expect(results).toHaveLength(10_000);
    expect(await rowCount()).toBe(10_000);
    // One failure rolls all 10,000 back.
    await sql.query(`DELETE FROM ${table}`);
    const failing = [...many.slice(0, 9_999), ins(1)];
    await expect(sql.transaction(failing)).rejects.toMatchObject({ code: '23505' });
    expect(await rowCount()).toBe(0);
    await expectNothingOpen();
  });

  it('huge SQL: over server.bodyLimit is a coded 413; under it, it runs exactly', async () => {
    const huge = `SELECT '${'x'.repeat(BODY_LIMIT)}' AS v`;
    const r = await send(CS, JSON.stringify({ query: huge, params: [] }));
    expect(r.status).toBe(413);
    expect(r.json.code).toBe('PAYLOAD_TOO_LARGE');
    // neon() reads error fields from a 400 only; for any other status it reports the status and the body.
    const err = (await db()
      .query(huge)
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('HTTP status 413');
    expect(err.message).toContain('PAYLOAD_TOO_LARGE');
    const big = 'y'.repeat(BODY_LIMIT / 4);
    const rows = (await db().query(`SELECT '${big}'::text AS v`)) as Array<{ v: string }>;
    expect(rows[0]?.v).toBe(big);
    await expectNothingOpen();
  });

  it('wrong methods and paths are coded 4xx, not 5xx', async () => {
    const get = await send(CS, '', 'GET');
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.status).toBeLessThan(500);
    // Routing answers before the Neon route: the gateway's own error shape, with the Allow header's advice.
    expect(get.status).toBe(405);
    expect(get.json.error?.code).toBe('METHOD_NOT_ALLOWED');
    await expectNothingOpen();
  });
});
