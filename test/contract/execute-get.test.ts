import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { capturedLogs, makeTestApp } from '../helpers/app.js';
import { type Driver, MYSQL_URL, PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * GET /v1/execute (issue #20): reads from a URL. Whoever calls, the statement runs with read-only rights,
 * so a write sent as a GET is refused with a code and changes nothing; the SQL stays out of our logs.
 *
 * Per database the read-only connection is the one read-only principals get: SQLite's read-only worker;
 * PostgreSQL READ ONLY transactions on a non-superuser login; MariaDB a SELECT-only user (readOnlyUrl).
 */
const backends = await testBackends();
const PG_ROLE = 'sqlgate_curl_get_app';
const MY_RO_USER = 'sqlgate_curl_get_ro';

function withUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}

/** Creates what the backend's read-only mode needs (roles are per server, grants per database). */
async function backendDoc(driver: Driver, base: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (driver === 'sqlite') return base;
  const admin = await makeTestApp({ backends: { db: base } });
  try {
    const run = async (sql: string, params?: unknown) => {
      const res = await admin.exec(sql, params);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    if (driver === 'postgres') {
      const exists = await run('SELECT 1 FROM pg_roles WHERE rolname = $1', [PG_ROLE]);
      if (exists.rowCount === 0) await run(`CREATE ROLE ${PG_ROLE} LOGIN`);
      await run(`GRANT USAGE, CREATE ON SCHEMA public TO ${PG_ROLE}`);
      return { ...base, url: withUser(PG_URL, PG_ROLE) };
    }
    const db = new URL(MYSQL_URL).pathname.slice(1);
    for (const host of ['127.0.0.1', 'localhost']) {
      await run(`CREATE USER IF NOT EXISTS '${MY_RO_USER}'@'${host}' IDENTIFIED BY ''`);
      await run(`GRANT SELECT ON \`${db}\`.* TO '${MY_RO_USER}'@'${host}'`);
    }
    return { ...base, readOnlyUrl: withUser(MYSQL_URL, MY_RO_USER) };
  } finally {
    await admin.close();
  }
}

describe.each(backends)('GET /v1/execute: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let name: string;
  const get = (query: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: `/v1/execute?${query}`, headers });
  const q = (sql: string, extra = '') => `sql=${encodeURIComponent(sql)}${extra}`;
  const count = async () => (await t.exec(`SELECT count(*) AS n FROM ${name}`)).body.rows[0].n;

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: await backendDoc(tb.driver, tb.backendDoc()) } });
    name = uniqueName('get');
    const res = await t.exec(
      `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, v TEXT)${TABLE_SUFFIX[tb.driver]}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await t.exec(`INSERT INTO ${name} (id, v) VALUES (1, 'one'), (2, '')`);
  });
  afterAll(async () => {
    if (name) await t.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  it('runs a read with positional params, in JSON, CSV or a table', async () => {
    const sql = `SELECT id, v FROM ${name} WHERE id >= ${t.app.backends.get('db').dialect.placeholder(0)} ORDER BY id`;
    const json = await get(q(sql, '&p=1'));
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json().rows).toEqual([
      { id: expect.anything(), v: 'one' },
      { id: expect.anything(), v: '' },
    ]);
    expect(json.json().rows.map((r: { id: unknown }) => String(r.id))).toEqual(['1', '2']);
    expect(String(json.headers['server-timing'])).toMatch(/^queue;.*db;.*ser;/);
    const csv = await get(q(sql, '&p=2&format=csv'));
    expect(csv.body).toBe('id,v\r\n2,""\r\n');
    const table = await get(q(sql, '&p=2'), { accept: 'text/plain' });
    expect(table.body).toMatch(/^ id \| v\n----\+---\n +2 \|\n\(1 row\)\nTime: /);
  });

  it('refuses a write with a code, and writes nothing', async () => {
    const before = await count();
    for (const sql of [
      `INSERT INTO ${name} (id, v) VALUES (3, 'three')`,
      `UPDATE ${name} SET v = 'changed'`,
      `DELETE FROM ${name}`,
      `DROP TABLE ${name}`,
    ]) {
      const res = await get(q(sql));
      expect(res.statusCode, `${sql}: ${res.body}`).toBe(403);
      expect(res.json().error.code).toBe('READ_ONLY_VIOLATION');
    }
    expect(await count()).toEqual(before);
    const rows = (await t.exec(`SELECT id, v FROM ${name} ORDER BY id`)).body.rows;
    expect(rows.map((r: { v: string }) => r.v)).toEqual(['one', '']);
  });

  it('has no automatic HEAD (link previewers probe with it): 405, nothing run', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: `/v1/execute?${q(`DELETE FROM ${name}`)}` });
    expect(res.statusCode).toBe(405);
    expect(String(res.headers.allow)).toBe('GET, POST');
    expect(Number(await count())).toBe(2);
  });

  it('keeps the SQL and params out of the request log lines', async () => {
    const marker = `m${Math.random().toString(36).slice(2, 10)}`;
    const from = capturedLogs.length;
    const ok = await get(q(`SELECT '${marker}' AS tag`, `&p=${marker}p`));
    expect(ok.statusCode).toBeGreaterThanOrEqual(200);
    await get(q(`INSERT INTO ${name} (id, v) VALUES (9, '${marker}')`));
    const lines = capturedLogs.slice(from);
    const incoming = lines.filter((l) => l.includes('incoming request'));
    expect(incoming.length).toBe(2);
    for (const l of incoming) expect(JSON.parse(l).req.url).toBe('/v1/execute?[redacted]');
    for (const l of lines) expect(l).not.toContain(marker);
  });
});

/**
 * Where the database cannot make a read-only connection airtight (a superuser PostgreSQL login or MariaDB
 * without readOnlyUrl), GET refuses every statement with FORBIDDEN rather than trusting the SQL's text.
 */
describe.each(backends.filter((b) => b.driver !== 'sqlite'))(
  'GET /v1/execute without a read-only credential: $driver',
  (tb) => {
    if (tb.skipReason) {
      it.skip(`skipped: ${tb.skipReason}`, () => {});
      return;
    }
    let t: TestApp;
    beforeAll(async () => {
      t = await makeTestApp({ backends: { db: tb.backendDoc() } });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('is FORBIDDEN, with the reason, for reads and writes alike', async () => {
      for (const sql of ['SELECT 1', 'CREATE TABLE never_made_by_get (id INTEGER)']) {
        const res = await t.app.inject({ method: 'GET', url: `/v1/execute?sql=${encodeURIComponent(sql)}` });
        expect(res.statusCode).toBe(403);
        expect(res.json().error.code).toBe('FORBIDDEN');
        expect(res.json().error.message).toMatch(/readOnlyUrl/);
      }
      const table = await t.exec(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'never_made_by_get'",
      );
      expect(Number(table.body.rows[0].n)).toBe(0);
    });
  },
);
