import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/**
 * Scratch sessions (issue #19): `POST /v1/sessions {"scratch": true}` on a SQLite backend whose
 * `scratch` settings allow the principal opens a fresh private :memory: database, gone with the session.
 */
const TESTER = 'scratch-tester-key-000001';
const OTHER = 'scratch-other-key-0000002';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('scratch sessions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await makeTestApp({
      auth: {
        apiKeys: [
          { name: 'tester', key: TESTER },
          { name: 'other', key: OTHER },
        ],
      },
      backends: {
        db: {
          driver: 'sqlite',
          database: tempSqliteFile(),
          scratch: { enabled: true, principals: ['key:tester'], maxSessions: 2, maxSizeMb: 1 },
        },
        plain: { driver: 'sqlite', database: tempSqliteFile() },
      },
    });
  });
  afterAll(async () => t.close());

  const open = (body: Record<string, unknown>, key = TESTER) => t.post('/v1/sessions', body, auth(key));
  const run = (id: string, sql: string, key = TESTER) =>
    t.post(`/v1/sessions/${id}/execute`, { sql }, auth(key));
  const close = (id: string) =>
    t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: auth(TESTER) });
  const scratchCount = () =>
    (t.app.backends.get('db') as unknown as { scratch?: { size: number } }).scratch?.size ?? 0;

  it('gives each session its own database, separate from the backend file, gone when it ends', async () => {
    const a = await open({ backend: 'db', scratch: true, begin: false });
    const b = await open({ backend: 'db', scratch: true, begin: false });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(scratchCount()).toBe(2);
    expect((await run(a.body.id, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')).status).toBe(200);
    expect((await run(a.body.id, "INSERT INTO t (v) VALUES ('only in a')")).body.affectedRows).toBe(1);
    expect((await run(a.body.id, 'SELECT v FROM t')).body.rows).toEqual([{ v: 'only in a' }]);
    // Not in the other scratch database, nor in the backend's own file.
    const inB = await run(b.body.id, 'SELECT v FROM t');
    expect(inB.status).toBe(400);
    expect(inB.body.error.message).toMatch(/no such table/);
    const shared = await t.post('/v1/execute', { backend: 'db', sql: 'SELECT v FROM t' }, auth(TESTER));
    expect(shared.body.error.message).toMatch(/no such table/);
    expect((await run(a.body.id, 'PRAGMA database_list')).body.rows[0].file).toBe('');

    // The limit: a third is refused while two are open.
    const third = await open({ backend: 'db', scratch: true });
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('TOO_MANY_SESSIONS');

    expect((await close(a.body.id)).statusCode).toBe(200);
    expect(scratchCount()).toBe(1);
    const c = await open({ backend: 'db', scratch: true, begin: false });
    expect(c.status).toBe(201);
    const fresh = await run(c.body.id, 'SELECT v FROM t');
    expect(fresh.body.error.message).toMatch(/no such table/);
    await close(b.body.id);
    await close(c.body.id);
    expect(scratchCount()).toBe(0);
  });

  it('a transaction session (begin: true) works and rolls back on close like any session', async () => {
    const s = await open({ backend: 'db', scratch: true });
    expect(s.status).toBe(201);
    expect((await run(s.body.id, 'CREATE TABLE x (v INTEGER)')).status).toBe(200);
    expect((await run(s.body.id, 'INSERT INTO x VALUES (1)')).body.affectedRows).toBe(1);
    const commit = await t.post(`/v1/sessions/${s.body.id}/commit`, { close: true }, auth(TESTER));
    expect(commit.status).toBe(200);
    expect(scratchCount()).toBe(0);
  });

  it('caps the size and refuses what would lift the cap', async () => {
    const s = await open({ backend: 'db', scratch: true, begin: false });
    // 1 MB of 4 KiB pages (an untyped PRAGMA column comes back as text in typed mode).
    expect(Number((await run(s.body.id, 'PRAGMA max_page_count')).body.rows[0].max_page_count)).toBe(256);
    await run(s.body.id, 'CREATE TABLE big (b BLOB)');
    const tooBig = await run(s.body.id, 'INSERT INTO big VALUES (zeroblob(2 * 1024 * 1024))');
    expect(tooBig.status).toBeGreaterThanOrEqual(400);
    expect(tooBig.body.error.message).toMatch(/full/i);
    for (const sql of [
      'PRAGMA max_page_count = 1000000',
      'pragma main.page_size=65536',
      "ATTACH DATABASE ':memory:' AS more",
      "VACUUM INTO '/tmp/scratch-copy.sqlite'",
    ]) {
      const refused = await run(s.body.id, sql);
      expect(refused.status, sql).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
    }
    // A column that merely has such a name is fine.
    expect((await run(s.body.id, "SELECT 'ok' AS page_size")).body.rows).toEqual([{ page_size: 'ok' }]);
    await close(s.body.id);
  });

  it('refuses principals not listed, backends without scratch settings, and non-SQLite-style requests', async () => {
    const other = await open({ backend: 'db', scratch: true }, OTHER);
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('FORBIDDEN');
    const off = await open({ backend: 'plain', scratch: true });
    expect(off.status).toBe(400);
    expect(off.body.error.code).toBe('BAD_REQUEST');
    expect(off.body.error.message).toMatch(/backends\.plain\.scratch\.enabled/);
    // Without "scratch" a session is an ordinary one on the backend's file.
    const normal = await open({ backend: 'db', begin: false }, OTHER);
    expect(normal.status).toBe(201);
    expect(scratchCount()).toBe(0);
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${normal.body.id}`, headers: auth(OTHER) });
  });
});
