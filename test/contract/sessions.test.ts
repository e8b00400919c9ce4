import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenericType } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { type Driver, type TestBackend, testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * The contract suite for interactive sessions: the same cases against every backend. What differs between
 * databases comes from Dialect capability flags and the Connection's own transaction status; the few
 * per-database probes below (connection ids, open-transaction views, a session variable) only observe.
 */
const backends = await testBackends();

/** The server's id for the connection a statement runs on (SQLite has none). */
const CONNECTION_ID: Record<Driver, string | null> = {
  sqlite: null,
  postgres: 'SELECT pg_backend_pid() AS id',
  mysql: 'SELECT CONNECTION_ID() AS id',
};

/** How many of the given connections have a transaction open, as the server sees it. */
const OPEN_TRANSACTIONS: Record<Driver, ((ids: string[]) => string) | null> = {
  sqlite: null,
  postgres: (ids) =>
    `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid IN (${ids.join(', ')}) ` +
    `AND state LIKE 'idle in transaction%'`,
  mysql: (ids) =>
    `SELECT COUNT(*) AS n FROM information_schema.innodb_trx WHERE trx_mysql_thread_id IN (${ids.join(', ')})`,
};

/** A per-connection setting, and how to read it back; `marker` must not survive into the next session. */
const SESSION_SETTING: Record<Driver, { set: string; get: string; marker: string }> = {
  sqlite: {
    set: 'PRAGMA foreign_keys = OFF',
    get: 'SELECT foreign_keys AS v FROM pragma_foreign_keys',
    marker: '0',
  },
  postgres: {
    set: "SET sqlgate_test.leak = 'leaked'",
    get: "SELECT current_setting('sqlgate_test.leak', true) AS v",
    marker: 'leaked',
  },
  mysql: { set: "SET @sqlgate_leak = 'leaked'", get: 'SELECT @sqlgate_leak AS v', marker: 'leaked' },
};

/**
 * Sessions abandoned with locks held. Server databases: 200 sessions, each holding a row lock. SQLite has
 * one writer and one worker thread per connection, so 200 connections would be 200 threads holding
 * nothing more than one of them can: 8 sessions, one holding the write lock and seven holding read
 * snapshots (which would block checkpoints), prove the same reaping.
 */
const ABANDON: Record<Driver, { sessions: number; writers: number; poolMax: number }> = {
  sqlite: { sessions: 8, writers: 1, poolMax: 9 },
  postgres: { sessions: 200, writers: 200, poolMax: 205 },
  mysql: { sessions: 200, writers: 200, poolMax: 205 },
};

/** A statement that runs for seconds (short on SQLite: a stopped statement runs on in its old thread). */
const SLOW_SQL: Record<Driver, string> = {
  sqlite:
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT count(*) AS n FROM c',
  postgres: 'SELECT pg_sleep(5) AS n',
  mysql: 'SELECT SLEEP(5) AS n',
};

/** Pool size for 32 concurrent clients; SQLite connections are worker threads and share one writer. */
const CONCURRENCY_POOL: Record<Driver, number> = { sqlite: 8, postgres: 40, mysql: 40 };

/** Retry backoff of the concurrency test (full jitter). */
const BACKOFF_BASE_MS = Number(process.env.SQLGATE_TEST_BACKOFF_BASE ?? 100);
const BACKOFF_CAP_MS = Number(process.env.SQLGATE_TEST_BACKOFF_CAP ?? 5000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(backends)('sessions contract: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  const dialect = () => t.app.backends.get('db').dialect;
  const ddl = (type: GenericType) => dialect().ddlType(type);
  const created: string[] = [];

  /** Helpers bound to an app, so the extra apps below (other configs) use the same vocabulary. */
  const client = (app: () => TestApp) => ({
    exec: (sql: string, params?: unknown, options?: unknown) =>
      app().post('/v1/execute', {
        sql,
        ...(params !== undefined ? { params } : {}),
        ...(options !== undefined ? { options } : {}),
      }),
    open: (body: Record<string, unknown> = {}) => app().post('/v1/sessions', body),
    sx: (id: string, sql: string, params?: unknown, options?: unknown) =>
      app().post(`/v1/sessions/${id}/execute`, {
        sql,
        ...(params !== undefined ? { params } : {}),
        ...(options !== undefined ? { options } : {}),
      }),
    state: (id: string) => app().get(`/v1/sessions/${id}`),
    commit: (id: string, body: Record<string, unknown> = {}) => app().post(`/v1/sessions/${id}/commit`, body),
    rollback: (id: string, body: Record<string, unknown> = {}) =>
      app().post(`/v1/sessions/${id}/rollback`, body),
    close: (id: string) => app().app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` }),
    count: async (table: string): Promise<number> => {
      const res = await app().post('/v1/execute', { sql: `SELECT COUNT(*) AS n FROM ${table}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return Number(res.body.rows[0].n);
    },
  });
  const c = client(() => t);
  const { exec, open, sx, state, commit, rollback, close, count } = c;

  const table = async (app: TestApp = t, rows = 0): Promise<string> => {
    const name = uniqueName('s');
    const res = await app.post('/v1/execute', {
      sql: `CREATE TABLE ${name} (id ${ddl('INTEGER')} PRIMARY KEY, v ${ddl('INTEGER')} NOT NULL)${TABLE_SUFFIX[tb.driver]}`,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    created.push(name);
    if (rows > 0) {
      const fill = await app.post('/v1/batch', {
        sql: `INSERT INTO ${name} (id, v) VALUES (:id, 0)`,
        paramSets: Array.from({ length: rows }, (_, i) => ({ id: i + 1 })),
      });
      expect(fill.status, JSON.stringify(fill.body)).toBe(200);
    }
    return name;
  };
  const ids = async (name: string, app: TestApp = t): Promise<number[]> => {
    const res = await app.post('/v1/execute', { sql: `SELECT id FROM ${name} ORDER BY id` });
    return res.body.rows.map((r: { id: unknown }) => Number(r.id));
  };
  const openOk = async (body: Record<string, unknown> = {}, o = c): Promise<string> => {
    const res = await o.open(body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created.reverse()) await exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  describe('lifecycle', () => {
    it('opens with BEGIN, keeps its writes private until commit, then is gone', async () => {
      const name = await table();
      const res = await open();
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ backend: 'db', inTransaction: true, idleTimeoutMs: 60_000 });
      expect(res.body.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now());
      const id = res.body.id;
      const ins = await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 10)`);
      expect(ins.status, JSON.stringify(ins.body)).toBe(200);
      expect(ins.body.affectedRows).toBe(1);
      // Inside the session the row is there; outside it is not, and reading does not block.
      expect((await sx(id, `SELECT v FROM ${name}`)).body.rowCount).toBe(1);
      expect(await count(name)).toBe(0);
      const st = await state(id);
      expect(st.body).toMatchObject({
        id,
        transactionStatus: 'active',
        inTransaction: true,
        status: 'ready',
      });
      const done = await commit(id);
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body).toMatchObject({ committed: true, closed: true, inTransaction: false });
      expect(await count(name)).toBe(1);
      const after = await state(id);
      expect(after.status).toBe(410);
      expect(after.body.error).toMatchObject({ code: 'SESSION_EXPIRED', class: 'TransactionError' });
      expect((await sx(id, 'SELECT 1')).status).toBe(410);
      expect(t.app.backends.get('db').poolStats().inUse).toBe(0);
    });

    it('rollback and DELETE leave nothing behind', async () => {
      const name = await table();
      const a = await openOk();
      await sx(a, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      const rb = await rollback(a);
      expect(rb.body).toMatchObject({ rolledBack: true, closed: true });
      const b = await openOk();
      await sx(b, `INSERT INTO ${name} (id, v) VALUES (2, 2)`);
      const del = await close(b);
      expect(del.statusCode).toBe(200);
      expect(del.json()).toMatchObject({ closed: true, rolledBack: true });
      expect(await count(name)).toBe(0);
      expect((await close(b)).statusCode).toBe(410);
    });

    it('answers 404 for unknown and malformed ids, and runs /v1/execute with "session" in the session', async () => {
      expect((await state('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).body.error.code).toBe('SESSION_NOT_FOUND');
      expect((await state('nope')).status).toBe(404);
      expect((await sx('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'SELECT 1')).status).toBe(404);
      const viaExecute = await t.post('/v1/execute', { sql: 'SELECT 1', session: 'nope' });
      expect(viaExecute.body.error.code).toBe('SESSION_NOT_FOUND');

      const name = await table();
      const id = await openOk();
      const ins = await t.post('/v1/execute', {
        sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)`,
        session: id,
      });
      expect(ins.status, JSON.stringify(ins.body)).toBe(200);
      expect(await count(name)).toBe(0);
      const wrong = await t.post('/v1/execute', { sql: 'SELECT 1', session: id, backend: 'other' });
      expect(wrong.status).toBe(400);
      const batch = await t.post('/v1/batch', {
        session: id,
        statements: [{ sql: `INSERT INTO ${name} (id, v) VALUES (2, 2)` }],
      });
      expect(batch.status, JSON.stringify(batch.body)).toBe(200);
      await commit(id);
      expect(await ids(name)).toEqual([1, 2]);
    });

    it('commit with close false keeps the pinned connection for the next transaction', async () => {
      const name = await table();
      const id = await openOk();
      const probe = CONNECTION_ID[tb.driver];
      const pid1 = probe ? (await sx(id, probe)).body.rows[0].id : null;
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      const kept = await commit(id, { close: false });
      expect(kept.body).toMatchObject({ committed: true, closed: false, inTransaction: false });
      expect(await count(name)).toBe(1);
      // Idle session: statements autocommit; commit refuses; a new transaction starts with /begin.
      expect((await commit(id, { close: false })).body.error.code).toBe('INVALID_TRANSACTION_STATE');
      const begun = await t.post(`/v1/sessions/${id}/begin`, {});
      expect(begun.status, JSON.stringify(begun.body)).toBe(200);
      expect(begun.body.inTransaction).toBe(true);
      expect((await t.post(`/v1/sessions/${id}/begin`, {})).body.error.code).toBe(
        'INVALID_TRANSACTION_STATE',
      );
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (2, 2)`);
      if (probe) expect((await sx(id, probe)).body.rows[0].id).toEqual(pid1);
      const rb = await rollback(id, { close: false });
      expect(rb.body).toMatchObject({ rolledBack: true, closed: false });
      expect((await rollback(id, { close: false })).body.rolledBack).toBe(false);
      expect(await ids(name)).toEqual([1]);
      expect((await close(id)).statusCode).toBe(200);
    });

    it('accepts commit and rollback without a body', async () => {
      const id = await openOk();
      const res = await t.app.inject({ method: 'POST', url: `/v1/sessions/${id}/commit` });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().closed).toBe(true);
    });

    it('checks the isolation level, read-only and deferrable against the capability flags', async () => {
      const caps = dialect().capabilities;
      for (const level of ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']) {
        const res = await open({ isolationLevel: level });
        if ((caps.isolationLevels as readonly string[]).includes(level)) {
          expect(res.status, `${level}: ${JSON.stringify(res.body)}`).toBe(201);
          await close(res.body.id);
        } else {
          expect(res.status).toBe(400);
          expect(res.body.error.code).toBe('UNSUPPORTED_FEATURE');
        }
      }
      const d = await open({ isolationLevel: 'SERIALIZABLE', readOnly: true, deferrable: true });
      if (caps.deferrable) {
        expect(d.status, JSON.stringify(d.body)).toBe(201);
        await close(d.body.id);
      } else {
        expect(d.body.error.code).toBe('UNSUPPORTED_FEATURE');
      }
      expect((await open({ begin: false, isolationLevel: 'SERIALIZABLE' })).status).toBe(400);
      expect((await open({ idleTimeoutMs: 10_000_000 })).status).toBe(400);
      expect(t.app.backends.get('db').poolStats().inUse).toBe(0);
    });

    it('a read-only session refuses writes; its connection writes again afterwards', async () => {
      const name = await table();
      const id = await openOk({ readOnly: true });
      expect((await sx(id, `SELECT COUNT(*) AS n FROM ${name}`)).status).toBe(200);
      const w = await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      expect(w.status, JSON.stringify(w.body)).toBe(403);
      expect(w.body.error.code).toBe('READ_ONLY_VIOLATION');
      // The client ends the read-only transaction with SQL; the next one (also as SQL) may write.
      expect((await sx(id, 'ROLLBACK')).status).toBe(200);
      expect((await state(id)).body.inTransaction).toBe(false);
      const again = await sx(id, 'BEGIN');
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      const ok = await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect((await sx(id, 'COMMIT')).status).toBe(200);
      expect((await state(id)).body.inTransaction).toBe(false);
      expect(await count(name)).toBe(1);
      await close(id);
    });
  });

  describe('client-driven transactions (begin: false)', () => {
    it('tracks BEGIN / SAVEPOINT / ROLLBACK TO / COMMIT sent as SQL', async () => {
      const name = await table();
      const res = await open({ begin: false });
      expect(res.body.inTransaction).toBe(false);
      const id = res.body.id;
      // Autocommit until the client begins.
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      expect(await count(name)).toBe(1);
      await sx(id, 'BEGIN');
      expect((await state(id)).body).toMatchObject({ inTransaction: true, transactionStatus: 'active' });
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (2, 2)`);
      await sx(id, 'SAVEPOINT before_three');
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (3, 3)`);
      await sx(id, 'ROLLBACK TO SAVEPOINT before_three');
      expect((await state(id)).body.inTransaction).toBe(true);
      expect(await count(name)).toBe(1);
      const cm = await sx(id, 'COMMIT');
      expect(cm.status, JSON.stringify(cm.body)).toBe(200);
      expect((await state(id)).body).toMatchObject({ inTransaction: false, transactionStatus: 'idle' });
      expect(await ids(name)).toEqual([1, 2]);
      // Left open by the client: DELETE rolls it back.
      await sx(id, 'BEGIN');
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (4, 4)`);
      const del = await close(id);
      expect(del.json().rolledBack).toBe(true);
      expect(await ids(name)).toEqual([1, 2]);
    });
  });

  describe('savepoints and errors', () => {
    it('creates, rolls back to and releases savepoints, quoting client names', async () => {
      const name = await table();
      const id = await openOk();
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      const weird = 'sp "1"; DROP TABLE x; --';
      const sp = await t.post(`/v1/sessions/${id}/savepoints`, { name: weird });
      expect(sp.status, JSON.stringify(sp.body)).toBe(201);
      expect(sp.body.name).toBe(weird);
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (2, 2)`);
      const gen = await t.post(`/v1/sessions/${id}/savepoints`, {});
      expect(gen.body.name).toMatch(/^sp_\d+$/);
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (3, 3)`);
      expect((await state(id)).body.savepoints).toEqual([weird, gen.body.name]);
      const rel = await t.post(`/v1/sessions/${id}/savepoints/${gen.body.name}/release`, {});
      expect(rel.status, JSON.stringify(rel.body)).toBe(200);
      const back = await t.post(`/v1/sessions/${id}/savepoints/${encodeURIComponent(weird)}/rollback`, {});
      expect(back.status, JSON.stringify(back.body)).toBe(200);
      expect(back.body).toMatchObject({ name: weird, inTransaction: true });
      expect((await state(id)).body.savepoints).toEqual([weird]);
      await commit(id);
      expect(await ids(name)).toEqual([1]);
    });

    it('savepoints need a transaction', async () => {
      const id = await openOk({ begin: false });
      const res = await t.post(`/v1/sessions/${id}/savepoints`, {});
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('INVALID_TRANSACTION_STATE');
      await close(id);
      // An unknown savepoint is the database's error (PostgreSQL then aborts the transaction).
      const other = await openOk();
      const missing = await t.post(`/v1/sessions/${other}/savepoints/nope/rollback`, {});
      expect(['UNDEFINED_OBJECT', 'INVALID_TRANSACTION_STATE']).toContain(missing.body.error.code);
      await close(other);
    });

    it('a failed statement: aborted databases refuse until rollback to a savepoint; commit keeps earlier work', async () => {
      const name = await table();
      const id = await openOk();
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      await t.post(`/v1/sessions/${id}/savepoints`, { name: 'sp' });
      const dup = await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      expect(dup.body.error.code).toBe('UNIQUE_VIOLATION');
      const st = (await state(id)).body;
      expect(st.inTransaction).toBe(true);
      if (st.transactionStatus === 'failed') {
        // PostgreSQL: the transaction is aborted until it is rolled back (to a savepoint).
        const refused = await sx(id, 'SELECT 1');
        expect(refused.status).toBe(409);
        expect(refused.body.error.code).toBe('TRANSACTION_ABORTED');
        const sp2 = await t.post(`/v1/sessions/${id}/savepoints`, {});
        expect(sp2.body.error.code).toBe('TRANSACTION_ABORTED');
      } else {
        expect(st.transactionStatus).toBe('active');
      }
      const back = await t.post(`/v1/sessions/${id}/savepoints/sp/rollback`, {});
      expect(back.status, JSON.stringify(back.body)).toBe(200);
      expect((await state(id)).body.transactionStatus).toBe('active');
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (2, 2)`);
      expect((await commit(id)).status).toBe(200);
      expect(await ids(name)).toEqual([1, 2]);
    });

    it('committing an aborted transaction rolls it back and says so', async () => {
      const name = await table();
      const id = await openOk();
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      const failed = (await state(id)).body.transactionStatus === 'failed';
      const res = await commit(id);
      if (failed) {
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('TRANSACTION_ABORTED');
        expect(await count(name)).toBe(0);
      } else {
        expect(res.status).toBe(200);
        expect(await count(name)).toBe(1);
      }
      // close: true closes whatever the outcome.
      expect((await state(id)).status).toBe(410);
    });

    it('a failed batch inside a session leaves the session as it was before the batch', async () => {
      const name = await table();
      const id = await openOk();
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      const res = await t.post(`/v1/sessions/${id}/batch`, {
        statements: [
          { sql: `INSERT INTO ${name} (id, v) VALUES (2, 2)` },
          { sql: `UPDATE ${name} SET v = 100 WHERE id = 1` },
          { sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)` },
        ],
      });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'UNIQUE_VIOLATION', statementIndex: 2 });
      // Not aborted (even on PostgreSQL), and nothing of the batch is left.
      expect((await state(id)).body).toMatchObject({ transactionStatus: 'active', savepoints: [] });
      const rows = await sx(id, `SELECT id, v FROM ${name} ORDER BY id`, undefined, { int64: 'number' });
      expect(rows.body.rows).toEqual([{ id: 1, v: 1 }]);
      const ok = await t.post(`/v1/sessions/${id}/batch`, {
        sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`,
        paramSets: [
          { id: 3, v: 3 },
          { id: 4, v: 4 },
        ],
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(await count(name)).toBe(0);
      await commit(id);
      expect(await ids(name)).toEqual([1, 3, 4]);
    });

    it('a transactional batch in an idle session runs in its own transaction', async () => {
      const name = await table();
      const id = await openOk({ begin: false });
      const bad = await t.post(`/v1/sessions/${id}/batch`, {
        statements: [
          { sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)` },
          { sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)` },
        ],
      });
      expect(bad.body.error.statementIndex).toBe(1);
      const good = await t.post(`/v1/sessions/${id}/batch`, {
        statements: [{ sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)` }],
      });
      expect(good.status).toBe(200);
      expect((await state(id)).body.inTransaction).toBe(false);
      expect(await count(name)).toBe(1);
      await close(id);
    });
  });

  it('a statement timeout inside a session leaves it usable or ends it cleanly, never half-alive', async () => {
    const name = await table();
    const id = await openOk();
    await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
    const slow = await sx(id, SLOW_SQL[tb.driver], undefined, { timeoutMs: 300 });
    expect(slow.status, JSON.stringify(slow.body)).toBe(504);
    expect(slow.body.error.code).toBe('STATEMENT_TIMEOUT');
    const st = await state(id);
    if (st.status === 410) {
      // The connection had to be stopped (SQLite): the session ended and its work was rolled back.
      expect(st.body.error.message).toContain('connection lost');
    } else {
      expect(st.body.inTransaction).toBe(true);
      if (st.body.transactionStatus === 'active') {
        expect((await sx(id, `SELECT COUNT(*) AS n FROM ${name}`)).status).toBe(200);
      }
      expect((await rollback(id)).status).toBe(200);
    }
    expect(await count(name)).toBe(0);
    const pool = t.app.backends.get('db');
    for (let i = 0; i < 40 && pool.poolStats().inUse > 0; i++) await sleep(50);
    expect(pool.poolStats().inUse).toBe(0);
  });

  it('crossing row locks: one writer fails retryably, the database state follows, the other commits', async () => {
    const app = await makeTestApp({ backends: { db: tb.backendDoc({ busyTimeoutMs: 300 }) } });
    const o = client(() => app);
    try {
      const name = await table(app, 2);
      const a = await openOk({}, o);
      const b = await openOk({}, o);
      expect((await o.sx(a, `UPDATE ${name} SET v = 1 WHERE id = 1`)).status).toBe(200);
      const b1 = await o.sx(b, `UPDATE ${name} SET v = 2 WHERE id = 2`);
      if (b1.status !== 200) {
        // One writer at a time (SQLite): the second waits busyTimeoutMs and gets LOCK_TIMEOUT.
        expect(b1.body.error).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true });
      } else {
        const [a2, b2] = await Promise.all([
          o.sx(a, `UPDATE ${name} SET v = 1 WHERE id = 2`),
          sleep(100).then(() => o.sx(b, `UPDATE ${name} SET v = 2 WHERE id = 1`)),
        ]);
        const failed = [a2, b2].filter((r) => r.status !== 200);
        expect(failed).toHaveLength(1);
        expect(failed[0]?.body.error).toMatchObject({
          code: 'DEADLOCK',
          retryable: true,
          class: 'DeadlockError',
        });
        const victim = a2.status === 200 ? b : a;
        const vs = (await o.state(victim)).body;
        // PostgreSQL aborts the victim's transaction; MySQL/MariaDB has already rolled it back entirely.
        expect(vs.inTransaction ? vs.transactionStatus : 'rolled back').toMatch(/failed|rolled back/);
        expect((await o.rollback(victim)).status).toBe(200);
      }
      const winner = b1.status === 200 && (await o.state(a)).status === 410 ? b : a;
      const loser = winner === a ? b : a;
      await o.close(loser);
      expect((await o.commit(winner)).status).toBe(200);
      expect(app.app.backends.get('db').poolStats().inUse).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('runs requests on one session one at a time, in arrival order', async () => {
    const name = await table();
    const id = await openOk();
    const sends = Array.from({ length: 25 }, (_, i) =>
      sx(id, `INSERT INTO ${name} (id, v) VALUES (:id, :v)`, { id: i + 1, v: i }),
    );
    const seen: number[] = [];
    const watcher = (async () => {
      for (let k = 0; k < 5; k++) {
        seen.push((await state(id)).body.queued);
        await sleep(1);
      }
    })();
    const results = await Promise.all(sends);
    await watcher;
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Each insert saw exactly the rows of the requests sent before it.
    const check = await sx(id, `SELECT COUNT(*) AS n FROM ${name}`);
    expect(Number(check.body.rows[0].n)).toBe(25);
    await commit(id);
    const rows = await exec(`SELECT id, v FROM ${name} ORDER BY id`, undefined, { int64: 'number' });
    expect(rows.body.rows.map((r: { v: number }) => r.v)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('limits open sessions per principal with 429 and Retry-After', async () => {
    const limited = await makeTestApp({
      backends: { db: tb.backendDoc() },
      sessions: { maxPerPrincipal: 2, maxOpen: 10 },
    });
    try {
      const a = await limited.post('/v1/sessions', {});
      const b = await limited.post('/v1/sessions', {});
      expect([a.status, b.status]).toEqual([201, 201]);
      const c3 = await limited.post('/v1/sessions', {});
      expect(c3.status).toBe(429);
      expect(c3.body.error).toMatchObject({ code: 'TOO_MANY_SESSIONS', retryable: true });
      expect(Number(c3.headers['retry-after'])).toBeGreaterThan(0);
      await limited.app.inject({ method: 'DELETE', url: `/v1/sessions/${a.body.id}` });
      expect((await limited.post('/v1/sessions', {})).status).toBe(201);
    } finally {
      await limited.close();
    }
  });

  it('no SET, temp table or open transaction leaks into the next session on the same connection', async () => {
    const one = await makeTestApp({ backends: { db: tb.backendDoc({ pool: { max: 1 } }) } });
    const o = client(() => one);
    try {
      const probe = CONNECTION_ID[tb.driver];
      const setting = SESSION_SETTING[tb.driver];
      const tmp = uniqueName('tmp');
      const first = await openOk({ begin: false }, o);
      const pid = probe ? (await o.sx(first, probe)).body.rows[0].id : null;
      expect((await o.sx(first, setting.set)).status).toBe(200);
      expect((await o.sx(first, setting.get)).body.rows[0].v).toBe(setting.marker);
      expect((await o.sx(first, `CREATE TEMPORARY TABLE ${tmp} (id INTEGER)`)).status).toBe(200);
      expect((await o.sx(first, `INSERT INTO ${tmp} (id) VALUES (1)`)).status).toBe(200);
      expect((await o.sx(first, 'BEGIN')).status).toBe(200);
      expect((await o.close(first)).statusCode).toBe(200);

      const second = await openOk({ begin: false }, o);
      if (probe) expect((await o.sx(second, probe)).body.rows[0].id).toEqual(pid);
      expect((await o.state(second)).body.inTransaction).toBe(false);
      expect((await o.sx(second, setting.get)).body.rows[0]?.v).not.toBe(setting.marker);
      const gone = await o.sx(second, `SELECT id FROM ${tmp}`);
      expect(gone.status).toBe(400);
      expect(gone.body.error.code).toBe('UNDEFINED_OBJECT');
      await o.close(second);
    } finally {
      await one.close();
    }
  });

  it('reaps 200 abandoned sessions holding locks within idle timeout + 2 s', async () => {
    const plan = ABANDON[tb.driver];
    const idleTimeoutMs = 1000;
    const app = await makeTestApp({
      backends: { db: tb.backendDoc({ pool: { max: plan.poolMax } }) },
      sessions: { idleTimeoutMs, maxOpen: 300, maxPerPrincipal: 300 },
    });
    const o = client(() => app);
    try {
      const name = await table(app, plan.sessions);
      // Warm the pool first, so all sessions below are opened (and abandoned) at about the same time
      // instead of waiting for new connections one after another.
      const warm = await Promise.all(
        Array.from({ length: plan.sessions }, () => openOk({ begin: false }, o)),
      );
      await Promise.all(warm.map((id) => o.close(id)));

      const probe = CONNECTION_ID[tb.driver];
      const reapedBefore = app.app.sessions.metrics().reapedTotal;
      const closedAt = new Map<string, { at: number; reason: string }>();
      app.app.sessions.on('close', (e) => closedAt.set(e.session.id, { at: Date.now(), reason: e.reason }));
      const opened = await Promise.all(
        Array.from({ length: plan.sessions }, async (_, i) => {
          const id = await openOk({}, o);
          const conn = probe ? String((await o.sx(id, probe)).body.rows[0].id) : null;
          const res =
            i < plan.writers
              ? await o.sx(id, `UPDATE ${name} SET v = v + 1 WHERE id = :id`, { id: i + 1 })
              : await o.sx(id, `SELECT COUNT(*) AS n FROM ${name}`);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          return { id, conn, lastUse: Date.now() };
        }),
      );
      const lastUse = Math.max(...opened.map((s) => s.lastUse));
      const peak = app.app.sessions.size;
      expect(peak).toBeGreaterThan(plan.sessions / 2);

      // Abandoned: nobody calls them again. The reaper must roll back and release all of them in time
      // (a close event fires once the connection is back in the pool).
      const allClosed = () => opened.every((s) => closedAt.has(s.id));
      while (!allClosed() && Date.now() - lastUse < idleTimeoutMs + 2000) await sleep(25);
      expect(app.app.sessions.size).toBe(0);
      for (const s of opened) {
        const closed = closedAt.get(s.id);
        expect(closed?.reason).toBe('idle timeout');
        expect((closed?.at ?? Number.POSITIVE_INFINITY) - s.lastUse).toBeLessThan(idleTimeoutMs + 2000);
      }
      expect(app.app.backends.get('db').poolStats()).toMatchObject({ inUse: 0, waiting: 0 });
      expect(app.app.sessions.metrics().reapedTotal - reapedBefore).toBe(plan.sessions);

      // The locks are free: another transaction updates every row at once, without waiting.
      const upd = await app.post('/v1/batch', {
        statements: [{ sql: `UPDATE ${name} SET v = v + 1`, options: { timeoutMs: 3000 } }],
      });
      expect(upd.status, JSON.stringify(upd.body)).toBe(200);
      expect(upd.body.results[0].affectedRows).toBe(plan.sessions);
      // Nothing the abandoned sessions did was committed.
      const sum = await app.post('/v1/execute', { sql: `SELECT SUM(v) AS s FROM ${name}` });
      expect(Number(sum.body.rows[0].s)).toBe(plan.sessions);

      // The database agrees: none of those connections has a transaction open.
      const openTx = OPEN_TRANSACTIONS[tb.driver];
      if (openTx) {
        const conns = [...new Set(opened.map((s) => s.conn as string))];
        const res = await app.post('/v1/execute', { sql: openTx(conns) });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(Number(res.body.rows[0].n)).toBe(0);
      }
      // Their ids now answer 410.
      const states = await Promise.all(opened.map((s) => o.state(s.id)));
      expect(states.every((s) => s.status === 410 && s.body.error.code === 'SESSION_EXPIRED')).toBe(true);
    } finally {
      await app.close();
    }
  }, 60_000);

  it('32 clients x 50 SERIALIZABLE read-modify-write increments with retries end at exactly 1600', async () => {
    const app = await makeTestApp({
      backends: { db: tb.backendDoc({ pool: { max: CONCURRENCY_POOL[tb.driver] } }) },
    });
    const o = client(() => app);
    const clients = 32;
    const increments = 50;
    let retries = 0;
    try {
      const name = await table(app, 1);
      const once = async (): Promise<boolean> => {
        const opened = await o.open({ isolationLevel: 'SERIALIZABLE' });
        if (opened.status !== 201) {
          if (opened.body.error?.retryable) return false;
          throw new Error(`open: ${JSON.stringify(opened.body)}`);
        }
        const id = opened.body.id;
        let committed = false;
        try {
          const read = await o.sx(id, `SELECT v FROM ${name} WHERE id = 1`);
          if (read.status !== 200) return giveUp(read);
          const v = Number(read.body.rows[0].v);
          const write = await o.sx(id, `UPDATE ${name} SET v = :v WHERE id = 1`, { v: v + 1 });
          if (write.status !== 200) return giveUp(write);
          const done = await o.commit(id);
          committed = true; // close: true ends the session whatever the outcome
          if (done.status !== 200) return giveUp(done);
          return true;
        } finally {
          // After a failure the session is still open (a commit closed it already).
          if (!committed) await o.close(id);
        }
      };
      const giveUp = (res: { body: { error?: { retryable?: boolean; code?: string } } }): false => {
        if (res.body.error?.retryable) return false;
        throw new Error(`not retryable: ${JSON.stringify(res.body)}`);
      };
      const worker = async () => {
        for (let i = 0; i < increments; i++) {
          for (let attempt = 0; ; attempt++) {
            if (await once()) break;
            retries++;
            // Exponential backoff with full jitter keeps the conflict rate (and the run time) down.
            await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
          }
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: clients }, worker));
      const final = await app.post('/v1/execute', { sql: `SELECT v FROM ${name} WHERE id = 1` });
      expect(Number(final.body.rows[0].v)).toBe(clients * increments);
      console.info(
        `[${tb.driver}] 1600 serializable increments in ${Date.now() - started} ms, ${retries} retries`,
      );
      expect(app.app.sessions.size).toBe(0);
      expect(app.app.backends.get('db').poolStats().inUse).toBe(0);
    } finally {
      await app.close();
    }
  }, 120_000);

  it('shutdown rolls back every open session before the backends close', async () => {
    const doc = tb.backendDoc();
    const first = await makeTestApp({ backends: { db: doc } });
    const name = await table(first);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await first.post('/v1/sessions', {});
      ids.push(res.body.id);
      await first.post(`/v1/sessions/${res.body.id}/execute`, {
        sql: `INSERT INTO ${name} (id, v) VALUES (:id, 1)`,
        params: { id: i + 1 },
      });
    }
    const closed: string[] = [];
    first.app.sessions.on('close', (e) => closed.push(e.reason));
    await first.close();
    expect(closed).toEqual(['server shutdown', 'server shutdown', 'server shutdown']);
    const second = await makeTestApp({ backends: { db: doc } });
    try {
      const res = await second.post('/v1/execute', { sql: `SELECT COUNT(*) AS n FROM ${name}` });
      expect(Number(res.body.rows[0].n)).toBe(0);
    } finally {
      await second.close();
    }
  });
});

describe('SQLite: one writer', () => {
  let t: TestApp;
  beforeAll(async () => {
    const sqlite = backends.find((b) => b.driver === 'sqlite') as TestBackend;
    t = await makeTestApp({ backends: { db: sqlite.backendDoc({ busyTimeoutMs: 400, pool: { max: 4 } }) } });
    // Start all four worker threads now, so no request below waits for one to boot.
    const warm = await Promise.all([1, 2, 3, 4].map(() => t.post('/v1/sessions', { begin: false })));
    for (const w of warm) await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${w.body.id}` });
    await t.post('/v1/execute', { sql: 'CREATE TABLE w (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)' });
    await t.post('/v1/execute', { sql: 'INSERT INTO w (id, v) VALUES (1, 0)' });
  });
  afterAll(() => t?.close());

  it('a write session holds the writer: other writers get LOCK_TIMEOUT, readers keep reading, HTTP stays responsive', async () => {
    const writer = await t.post('/v1/sessions', { isolationLevel: 'SERIALIZABLE' });
    expect(writer.status).toBe(201);
    const id = writer.body.id;
    await t.post(`/v1/sessions/${id}/execute`, { sql: 'UPDATE w SET v = 1 WHERE id = 1' });

    const started = performance.now();
    const blocked = t.post('/v1/execute', { sql: 'UPDATE w SET v = 2 WHERE id = 1' });
    const other = t.post('/v1/sessions', { isolationLevel: 'SERIALIZABLE' });
    // While both wait for the lock (in worker threads), reads and health checks answer at once.
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const read = await t.post('/v1/execute', { sql: 'SELECT v FROM w WHERE id = 1' });
      expect(read.body.rows[0].v).toBe('0');
      expect((await t.get('/healthz')).status).toBe(200);
      latencies.push(performance.now() - t0);
    }
    expect(Math.max(...latencies)).toBeLessThan(100);
    const res = await blocked;
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true, class: 'LockError' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    const second = await other;
    expect(second.body.error.code).toBe('LOCK_TIMEOUT');

    await t.post(`/v1/sessions/${id}/commit`, {});
    const after = await t.post('/v1/execute', { sql: 'UPDATE w SET v = 2 WHERE id = 1' });
    expect(after.status).toBe(200);
    expect(t.app.backends.get('db').poolStats().inUse).toBe(0);
  });
});

describe('sessions with API keys', () => {
  const KEY_A = 'key-a-0123456789abcdef';
  const KEY_B = 'key-b-0123456789abcdef';
  const KEY_RO = 'key-ro-0123456789abcdef';
  const KEY_OTHER = 'key-other-0123456789abc';
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  let t: TestApp;
  beforeAll(async () => {
    const sqlite = backends.find((b) => b.driver === 'sqlite') as TestBackend;
    t = await makeTestApp({
      auth: {
        apiKeys: [
          { name: 'a', key: KEY_A },
          { name: 'b', key: KEY_B },
          { name: 'ro', key: KEY_RO, readOnly: true },
          { name: 'other', key: KEY_OTHER, backends: ['elsewhere'], maxSessions: 1 },
        ],
      },
      backends: { db: sqlite.backendDoc(), elsewhere: sqlite.backendDoc() },
      defaultBackend: 'db',
    });
    await t.post('/v1/execute', { sql: 'CREATE TABLE k (id INTEGER PRIMARY KEY)' }, as(KEY_A));
  });
  afterAll(() => t?.close());

  it('a session opened with key A answers 404 to key B, on every route, and stays intact', async () => {
    const open = await t.post('/v1/sessions', {}, as(KEY_A));
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    const id = open.body.id;
    await t.post(`/v1/sessions/${id}/execute`, { sql: 'INSERT INTO k (id) VALUES (1)' }, as(KEY_A));
    const probes = [
      t.get(`/v1/sessions/${id}`, as(KEY_B)),
      t.post(`/v1/sessions/${id}/execute`, { sql: 'SELECT 1' }, as(KEY_B)),
      t.post('/v1/execute', { sql: 'SELECT 1', session: id }, as(KEY_B)),
      t.post(`/v1/sessions/${id}/batch`, { statements: [{ sql: 'SELECT 1' }] }, as(KEY_B)),
      t.post(`/v1/sessions/${id}/savepoints`, {}, as(KEY_B)),
      t.post(`/v1/sessions/${id}/commit`, {}, as(KEY_B)),
      t.post(`/v1/sessions/${id}/rollback`, {}, as(KEY_B)),
      t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: as(KEY_B) }).then((r) => ({
        status: r.statusCode,
        body: r.json(),
      })),
    ];
    for (const res of await Promise.all(probes)) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('SESSION_NOT_FOUND');
    }
    expect((await t.get(`/v1/sessions/${id}`)).status).toBe(401);
    const mine = await t.get(`/v1/sessions/${id}`, as(KEY_A));
    expect(mine.body).toMatchObject({ inTransaction: true });
    expect((await t.post(`/v1/sessions/${id}/commit`, {}, as(KEY_A))).status).toBe(200);
    // Ended: the owner learns so (410), anyone else still cannot tell the id ever existed.
    expect((await t.get(`/v1/sessions/${id}`, as(KEY_A))).status).toBe(410);
    expect((await t.get(`/v1/sessions/${id}`, as(KEY_B))).status).toBe(404);
  });

  it('honours backend scopes, per-key maxSessions and read-only keys', async () => {
    const hidden = await t.post('/v1/sessions', { backend: 'db' }, as(KEY_OTHER));
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('BACKEND_NOT_FOUND');
    const batch = await t.post('/v1/batch', { statements: [{ sql: 'SELECT 1' }] }, as(KEY_OTHER));
    expect(batch.body.error.code).toBe('BACKEND_NOT_FOUND');
    const first = await t.post('/v1/sessions', { backend: 'elsewhere' }, as(KEY_OTHER));
    expect(first.status).toBe(201);
    const second = await t.post('/v1/sessions', { backend: 'elsewhere' }, as(KEY_OTHER));
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('TOO_MANY_SESSIONS');
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${first.body.id}`, headers: as(KEY_OTHER) });

    const ro = await t.post('/v1/sessions', {}, as(KEY_RO));
    expect(ro.status, JSON.stringify(ro.body)).toBe(201);
    const write = await t.post(
      `/v1/sessions/${ro.body.id}/execute`,
      { sql: 'INSERT INTO k (id) VALUES (2)' },
      as(KEY_RO),
    );
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('READ_ONLY_VIOLATION');
    const read = await t.post(
      `/v1/sessions/${ro.body.id}/execute`,
      { sql: 'SELECT COUNT(*) AS n FROM k' },
      as(KEY_RO),
    );
    expect(read.status).toBe(200);
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${ro.body.id}`, headers: as(KEY_RO) });
    const roBatch = await t.post(
      '/v1/batch',
      { statements: [{ sql: 'INSERT INTO k (id) VALUES (3)' }] },
      as(KEY_RO),
    );
    expect(roBatch.status).toBe(403);
    expect(roBatch.body.error.code).toBe('READ_ONLY_VIOLATION');
  });
});
