import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { MYSQL_URL, PG_URL, testBackends, uniqueName } from '../helpers/backends.js';

/**
 * What read-only principals MAY do that is not a read: take locks. Advisory locks (PostgreSQL) and
 * GET_LOCK / SELECT ... FOR UPDATE (MySQL) change no data; the decision (docs/security.md) is to allow
 * them, bounded by the statement's transaction or the session. These tests pin that down: the lock is
 * really released when the statement, batch or session ends, and nothing in the database changed.
 * (PostgreSQL refuses FOR UPDATE itself in a READ ONLY transaction: covered in read-only.test.ts.)
 */

const backends = await testBackends();
const pgTb = backends.find((b) => b.driver === 'postgres');
const myTb = backends.find((b) => b.driver === 'mysql');
const READER = 'reader-key-locks-0123456789';
const auth = { authorization: `Bearer ${READER}` };
const PG_APP_ROLE = 'sqlgate_app_test';
const PG_RO_ROLE = 'sqlgate_ro_test';
const MY_RO_USER = 'sqlgate_ro_test';

function withUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}

async function readerApp(doc: Record<string, unknown>): Promise<TestApp> {
  return makeTestApp({
    auth: { apiKeys: [{ name: 'reader', key: READER, readOnly: true }] },
    backends: { db: doc },
  });
}

const pgModes = [
  { label: 'READ ONLY guard on a non-superuser login', extra: { url: withUser(PG_URL, PG_APP_ROLE) } },
  { label: 'readOnlyUrl with a SELECT-only role', extra: { readOnlyUrl: withUser(PG_URL, PG_RO_ROLE) } },
];

describe.each(pgModes)('postgres advisory locks for a read-only principal: $label', ({ extra }) => {
  if (pgTb?.skipReason) {
    it.skip(`skipped: ${pgTb.skipReason}`, () => {});
    return;
  }
  let admin: TestApp;
  let reader: TestApp;
  const key = 700_000 + Math.floor(Math.random() * 100_000);
  const held = async (): Promise<number> => {
    const res = await admin.exec(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
      [key],
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.rows[0].n;
  };

  beforeAll(async () => {
    admin = await makeTestApp({ backends: { db: pgTb?.backendDoc() } });
    for (const role of [PG_APP_ROLE, PG_RO_ROLE]) {
      const res = await admin.exec(
        `DO $$ BEGIN CREATE ROLE ${role} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    reader = await readerApp(pgTb?.backendDoc(extra) ?? {});
  });
  afterAll(async () => {
    await reader?.close();
    await admin?.close();
  });

  it('a session-level lock taken by execute is gone when the statement ends', async () => {
    const res = await reader.post('/v1/execute', { sql: `SELECT pg_advisory_lock(${key})` }, auth);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await held()).toBe(0);
  });

  it('a lock taken in a session is held until the session ends, then released', async () => {
    const open = await reader.post('/v1/sessions', { begin: true }, auth);
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    const res = await reader.post(
      `/v1/sessions/${open.body.id}/execute`,
      { sql: `SELECT pg_advisory_lock(${key})` },
      auth,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await held()).toBe(1);
    const del = await reader.app.inject({
      method: 'DELETE',
      url: `/v1/sessions/${open.body.id}`,
      headers: auth,
    });
    expect(del.statusCode).toBeLessThan(300);
    expect(await held()).toBe(0);
  });

  it('a transaction-level lock in a batch ends with the batch', async () => {
    const res = await reader.post(
      '/v1/batch',
      { statements: [{ sql: `SELECT pg_advisory_xact_lock(${key})` }, { sql: 'SELECT 1' }] },
      auth,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await held()).toBe(0);
  });
});

describe('mysql locks for a read-only principal (readOnlyUrl)', () => {
  if (myTb?.skipReason) {
    it.skip(`skipped: ${myTb.skipReason}`, () => {});
    return;
  }
  let admin: TestApp;
  let reader: TestApp;
  const table = uniqueName('rolk');
  const lockName = `sqlgate_${table}`;

  beforeAll(async () => {
    admin = await makeTestApp({ backends: { db: myTb?.backendDoc() } });
    const db = new URL(MYSQL_URL).pathname.slice(1);
    for (const sql of [
      `CREATE USER IF NOT EXISTS '${MY_RO_USER}'@'127.0.0.1' IDENTIFIED BY ''`,
      `CREATE USER IF NOT EXISTS '${MY_RO_USER}'@'localhost' IDENTIFIED BY ''`,
      `GRANT SELECT ON \`${db}\`.* TO '${MY_RO_USER}'@'127.0.0.1'`,
      `GRANT SELECT ON \`${db}\`.* TO '${MY_RO_USER}'@'localhost'`,
      `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v INTEGER) ENGINE=InnoDB`,
      `INSERT INTO ${table} VALUES (1, 10)`,
    ]) {
      const res = await admin.exec(sql);
      expect(res.status, `${sql}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    reader = await readerApp(myTb?.backendDoc({ readOnlyUrl: withUser(MYSQL_URL, MY_RO_USER) }) ?? {});
  });
  afterAll(async () => {
    await admin?.exec(`DROP TABLE IF EXISTS ${table}`);
    await reader?.close();
    await admin?.close();
  });

  it('GET_LOCK through execute is allowed and released with the statement', async () => {
    const res = await reader.post('/v1/execute', { sql: `SELECT GET_LOCK('${lockName}', 0) AS got` }, auth);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Number(res.body.rows[0].got)).toBe(1);
    const free = await admin.exec(`SELECT IS_FREE_LOCK('${lockName}') AS free`);
    expect(Number(free.body.rows[0].free)).toBe(1);
  });

  it('SELECT ... FOR UPDATE in a session holds the row lock until the session ends, and changes nothing', async () => {
    const open = await reader.post('/v1/sessions', { begin: true }, auth);
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    const res = await reader.post(
      `/v1/sessions/${open.body.id}/execute`,
      { sql: `SELECT id, v FROM ${table} WHERE id = 1 FOR UPDATE` },
      auth,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rows).toEqual([{ id: 1, v: 10 }]);
    const blocked = await admin.exec(`SELECT id FROM ${table} WHERE id = 1 FOR UPDATE NOWAIT`);
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(409);
    expect(blocked.body.error.code).toBe('LOCK_TIMEOUT');
    const del = await reader.app.inject({
      method: 'DELETE',
      url: `/v1/sessions/${open.body.id}`,
      headers: auth,
    });
    expect(del.statusCode).toBeLessThan(300);
    const free = await admin.exec(`SELECT id FROM ${table} WHERE id = 1 FOR UPDATE NOWAIT`);
    expect(free.status, JSON.stringify(free.body)).toBe(200);
    expect((await admin.exec(`SELECT id, v FROM ${table}`)).body.rows).toEqual([{ id: 1, v: 10 }]);
  });

  it('LOCK IN SHARE MODE through execute is allowed and leaves no lock behind', async () => {
    const res = await reader.post(
      '/v1/execute',
      { sql: `SELECT v FROM ${table} WHERE id = 1 LOCK IN SHARE MODE` },
      auth,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const free = await admin.exec(`SELECT id FROM ${table} WHERE id = 1 FOR UPDATE NOWAIT`);
    expect(free.status, JSON.stringify(free.body)).toBe(200);
  });
});
