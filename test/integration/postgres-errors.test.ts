import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, StorageBackend } from '../../src/backend/storage-backend.js';
import { TransactionManager } from '../../src/backend/transaction-manager.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { directOptions, PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { expectErrorBody, expectRejection } from '../helpers/errors.js';

/**
 * PostgreSQL-specific error mapping (the cases every database shares, with PostgreSQL's SQLSTATEs, are in
 * test/contract/error-mapping.test.ts): gateway errors a real PostgreSQL statement can produce, with its HTTP status, class, retryable flag
 * and SQLSTATE. Single statements go through POST /v1/execute; situations that need two transactions at
 * once (serialization failure) use two pinned connections from the same backend.
 */
const pg = (await testBackends()).find((b) => b.driver === 'postgres');

const OPTS = directOptions({ maxRows: 1000, maxResponseBytes: 1 << 20 });

describe('postgres errors', () => {
  if (!pg || pg.skipReason) {
    it.skip(`skipped: ${pg?.skipReason ?? 'no postgres backend'}`, () => {});
    return;
  }
  let t: TestApp;
  let backend: StorageBackend;
  let tbl: string;
  const exec = (sql: string, params?: unknown, options?: unknown) => t.exec(sql, params, options);
  const q = (c: Connection, sql: string, params: unknown[] = []) =>
    c.execute({ sql, params: params.map((v) => ({ type: 'INTEGER', value: v as number })) }, OPTS);

  /** An HTTP error body matches the registry for its code, and carries the SQLSTATE. */
  const expectHttp = (res: { status: number; body: any }, code: ErrorCode, sqlState: string | undefined) =>
    expectErrorBody(res, code, { sqlState });
  /** A rejection from the backend API is the SqlgateError the HTTP layer would answer with. */
  const expectRejected = async (p: Promise<unknown>, code: ErrorCode, sqlState: string) => {
    const e = await expectRejection(p, code);
    expect(e.details.sqlState).toBe(sqlState);
    return e;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: pg.backendDoc() } });
    backend = t.app.backends.get('db');
    tbl = uniqueName('pge');
    const res = await exec(
      `CREATE TABLE ${tbl} (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, ` +
        `qty INTEGER CHECK (qty > 0), parent_id INTEGER REFERENCES ${tbl}(id))`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await exec(`INSERT INTO ${tbl} (id, email, qty) VALUES (1, 'a@x', 1), (2, 'b@x', 2)`);
  });
  afterAll(async () => {
    await exec(`DROP TABLE IF EXISTS ${tbl}`);
    await t?.close();
  });

  describe('single statements over HTTP', () => {
    const secret = 'secret-param-sentinel-0815';

    it('integrity: unique, foreign key, not null, check (409, IntegrityError, values not echoed)', async () => {
      const dup = await exec(`INSERT INTO ${tbl} (id, email, qty) VALUES (3, :e, 1)`, { e: 'a@x' });
      expectHttp(dup, 'UNIQUE_VIOLATION', '23505');
      expect(dup.body.error.constraint).toBe(`${tbl}_email_key`);
      expect(dup.body.error.table).toBe(tbl);
      expect(dup.body.error.detail).toBeUndefined();
      expect(JSON.stringify(dup.body)).not.toContain('a@x');

      const fk = await exec(`INSERT INTO ${tbl} (id, email, qty, parent_id) VALUES (3, :e, 1, :p)`, {
        e: secret,
        p: 999,
      });
      expectHttp(fk, 'FOREIGN_KEY_VIOLATION', '23503');
      expect(JSON.stringify(fk.body)).not.toContain(secret);
      expect(JSON.stringify(fk.body)).not.toContain('999');

      const nn = await exec(`INSERT INTO ${tbl} (id, email, qty) VALUES (4, NULL, :q)`, { q: 4711 });
      expectHttp(nn, 'NOT_NULL_VIOLATION', '23502');
      expect(nn.body.error.column).toBe('email');
      expect(JSON.stringify(nn.body)).not.toContain('4711');

      const chk = await exec(`INSERT INTO ${tbl} (id, email, qty) VALUES (5, :e, 0)`, { e: secret });
      expectHttp(chk, 'CHECK_VIOLATION', '23514');
      expect(JSON.stringify(chk.body)).not.toContain(secret);
    });

    it('syntax and undefined objects (400, QueryError)', async () => {
      const syn = await exec('SELEC 1');
      expectHttp(syn, 'SQL_SYNTAX_ERROR', '42601');
      expect(syn.body.error.position).toBe(1);
      expectHttp(await exec('SELECT * FROM no_such_table_pg'), 'UNDEFINED_OBJECT', '42P01');
      expectHttp(await exec(`SELECT no_such_column FROM ${tbl}`), 'UNDEFINED_OBJECT', '42703');
      const fn = await exec('SELECT no_such_function(1)');
      expectHttp(fn, 'UNDEFINED_OBJECT', '42883');
      expect(typeof fn.body.error.hint).toBe('string');
      expectHttp(await exec("SELECT 'x'::no_such_type"), 'UNDEFINED_OBJECT', '42704');
      expectHttp(await exec('CREATE TABLE no_such_schema.t (id int)'), 'UNDEFINED_OBJECT', '3F000');
    });

    it('data errors (400, DatabaseError) never quote the offending param', async () => {
      expectHttp(await exec('SELECT 1 / 0'), 'QUERY_FAILED', '22012');
      const bad = await exec('SELECT :v::int AS v', { v: secret });
      expectHttp(bad, 'QUERY_FAILED', '22P02');
      expect(JSON.stringify(bad.body)).not.toContain(secret);
      const range = await exec('SELECT :v::int2 AS v', { v: '99999' });
      expectHttp(range, 'QUERY_FAILED', '22003');
      expect(JSON.stringify(range.body)).not.toContain('99999');
      const json = await exec('SELECT :v::jsonb AS v', { v: `{"k": ${secret}}` });
      expectHttp(json, 'QUERY_FAILED', '22P02');
      expect(JSON.stringify(json.body)).not.toContain(secret);
    });

    it('unsupported features and transaction-state misuse', async () => {
      expectHttp(await exec('SELECT * FROM otherdb.public.t'), 'UNSUPPORTED_FEATURE', '0A000');
      expectHttp(await exec('SAVEPOINT sp'), 'INVALID_TRANSACTION_STATE', '25P01');
      // No data stream over HTTP: refused before sending, or (spelled so the check misses it) by CopyFail.
      expectHttp(await exec(`COPY ${tbl} (id) FROM STDIN`), 'UNSUPPORTED_FEATURE', undefined);
      expectHttp(await exec(`COPY ${tbl} (id) FROM/**/STDIN`), 'UNSUPPORTED_FEATURE', undefined);
      const after = await exec('SELECT 1 AS x');
      expect(after.body.rows).toEqual([{ x: 1 }]);
    });

    it('errors while connecting: no such database or role -> BACKEND_UNAVAILABLE; role full -> OVERLOADED', async () => {
      const withUrl = async (edit: (u: URL) => void, extra: Record<string, unknown> = {}) => {
        const u = new URL(PG_URL);
        edit(u);
        return makeTestApp({ backends: { db: pg.backendDoc({ url: u.toString(), ...extra }) } });
      };
      const noDb = await withUrl((u) => {
        u.pathname = '/no_such_database_pg';
      });
      try {
        expectHttp(await noDb.post('/v1/execute', { sql: 'SELECT 1' }), 'BACKEND_UNAVAILABLE', '3D000');
      } finally {
        await noDb.close();
      }
      const noRole = await withUrl((u) => {
        u.username = 'no_such_role_pg';
      });
      try {
        expectHttp(await noRole.post('/v1/execute', { sql: 'SELECT 1' }), 'BACKEND_UNAVAILABLE', '28000');
      } finally {
        await noRole.close();
      }
      // The server refuses more connections than the role may have (53300): back off like a full pool.
      const role = uniqueName('pgone');
      await exec(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`);
      const limited = await withUrl(
        (u) => {
          u.username = role;
        },
        { pool: { max: 2 } },
      );
      try {
        const held = await limited.app.backends.get('db').acquire();
        try {
          const res = await limited.post('/v1/execute', { sql: 'SELECT 1' });
          expectHttp(res, 'OVERLOADED', '53300');
          expect(res.headers['retry-after']).toBe('1');
        } finally {
          await held.release();
        }
      } finally {
        await limited.close();
        await exec(`DROP ROLE ${role}`);
      }
    });

    it('statement timeout: 504, and the query is no longer running afterwards', async () => {
      const marker = uniqueName('sleep');
      const started = Date.now();
      const res = await exec(`SELECT pg_sleep(5) AS ${marker}`, undefined, { timeoutMs: 200 });
      expectHttp(res, 'STATEMENT_TIMEOUT', '57014');
      expect(Date.now() - started).toBeLessThan(3000);
      const act = await exec(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE :q AND state = 'active' AND pid <> pg_backend_pid()`,
        { q: `%${marker}%` },
      );
      expect(act.status).toBe(200);
      expect(act.body.rows[0].n).toBe('0');
      // The connection that ran it serves the next request normally (a shorter timeout, then none).
      const next = await exec('SELECT 42 AS ok FROM pg_sleep(0.05)', undefined, { timeoutMs: 2000 });
      expect(next.status).toBe(200);
      expect(next.body.rows[0].ok).toBe(42);
    });

    it('permission denied for a least-privilege login -> FORBIDDEN', async () => {
      const role = uniqueName('pgrole');
      await exec(`CREATE ROLE ${role} LOGIN`);
      const u = new URL(PG_URL);
      u.username = role;
      const app = await makeTestApp({ backends: { db: pg.backendDoc({ url: u.toString() }) } });
      try {
        const res = await app.post('/v1/execute', { sql: `SELECT * FROM ${tbl}` });
        expectHttp(res, 'FORBIDDEN', '42501');
      } finally {
        await app.close();
        await exec(`DROP ROLE ${role}`);
      }
    });
  });

  describe('transactions on pinned connections', () => {
    it('25P02: statements in a failed transaction are refused until ROLLBACK', async () => {
      const c = await backend.acquire();
      try {
        const tx = new TransactionManager(c);
        await tx.begin();
        expect(c.txStatus()).toBe('active');
        await expectRejected(q(c, 'SELECT 1 / 0'), 'QUERY_FAILED', '22012');
        expect(c.txStatus()).toBe('failed');
        const aborted = await expectRejected(q(c, 'SELECT 1'), 'TRANSACTION_ABORTED', '25P02');
        expect(ERROR_CODES[aborted.code]).toMatchObject({ status: 409, class: 'TransactionError' });
        await tx.rollback();
        expect(c.txStatus()).toBe('idle');
        expect((await q(c, 'SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
      } finally {
        await c.release();
      }
    });

    it('25006: a write in a READ ONLY transaction -> READ_ONLY_VIOLATION (403)', async () => {
      const c = await backend.acquire();
      try {
        const tx = new TransactionManager(c);
        await tx.begin({ readOnly: true, isolationLevel: 'SERIALIZABLE', deferrable: true });
        const e = await expectRejected(
          q(c, `UPDATE ${tbl} SET qty = qty + 1 WHERE id = 1`),
          'READ_ONLY_VIOLATION',
          '25006',
        );
        expect(ERROR_CODES[e.code]).toMatchObject({
          status: 403,
          class: 'OperationalError',
          retryable: false,
        });
        await tx.rollback();
      } finally {
        await c.release();
      }
    });

    it('a read-only login (readOnlyUrl) is read-only by default and cannot be switched back', async () => {
      const role = uniqueName('pgro');
      const admin = await backend.acquire();
      await q(admin, `CREATE ROLE ${role} LOGIN`);
      await q(admin, `GRANT SELECT ON ${tbl} TO ${role}`);
      await admin.release();
      const u = new URL(PG_URL);
      u.username = role;
      const app = await makeTestApp({ backends: { db: pg.backendDoc({ readOnlyUrl: u.toString() }) } });
      try {
        const ro = await app.app.backends.get('db').acquire({ readOnly: true });
        try {
          expect(ro.readOnlyEnforced).toBe(true);
          expect((await q(ro, `SELECT count(*)::int AS n FROM ${tbl} WHERE id = 1`)).rows).toEqual([
            { n: 1 },
          ]);
          await expectRejected(q(ro, `DELETE FROM ${tbl}`), 'READ_ONLY_VIOLATION', '25006');
          // Switching the session default back does not help: every statement on a read-only connection
          // runs inside its own READ ONLY transaction (postgres-read-only.ts), and the login lacks DELETE.
          await q(ro, 'SET default_transaction_read_only = off');
          await expectRejected(q(ro, `DELETE FROM ${tbl}`), 'READ_ONLY_VIOLATION', '25006');
          expect((await q(ro, `SELECT count(*)::int AS n FROM ${tbl} WHERE id = 1`)).rows).toEqual([
            { n: 1 },
          ]);
        } finally {
          await ro.release();
        }
      } finally {
        await app.close();
        const cleanup = await backend.acquire();
        await q(cleanup, `REVOKE ALL ON ${tbl} FROM ${role}`);
        await q(cleanup, `DROP ROLE ${role}`);
        await cleanup.release();
      }
    });

    it('40001: a concurrent update under SERIALIZABLE -> SERIALIZATION_FAILURE (409, retryable)', async () => {
      const [a, b] = [await backend.acquire(), await backend.acquire()];
      try {
        await new TransactionManager(a).begin({ isolationLevel: 'SERIALIZABLE' });
        await new TransactionManager(b).begin({ isolationLevel: 'SERIALIZABLE' });
        // Write skew: each reads both rows, then writes the row the other read.
        await q(a, `SELECT sum(qty) FROM ${tbl} WHERE id IN (1, 2)`);
        await q(b, `SELECT sum(qty) FROM ${tbl} WHERE id IN (1, 2)`);
        await q(a, `UPDATE ${tbl} SET qty = qty + 10 WHERE id = 1`);
        await q(b, `UPDATE ${tbl} SET qty = qty + 10 WHERE id = 2`);
        await a.run('COMMIT');
        const e = await expectRejected(b.run('COMMIT'), 'SERIALIZATION_FAILURE', '40001');
        expect(ERROR_CODES[e.code]).toMatchObject({
          status: 409,
          class: 'TransactionError',
          retryable: true,
        });
        expect(b.txStatus()).toBe('idle');
      } finally {
        await a.release();
        await b.release();
      }
    });

    it('a commit of a failed transaction rolls back and says so', async () => {
      const c = await backend.acquire();
      try {
        const tx = new TransactionManager(c);
        await tx.begin();
        await q(c, `INSERT INTO ${tbl} (id, email, qty) VALUES (50, 'tx@x', 1)`);
        await q(c, 'SELECT 1 / 0').catch(() => {});
        await expect(tx.commit()).rejects.toMatchObject({ code: 'TRANSACTION_ABORTED' });
        expect(c.txStatus()).toBe('idle');
        expect((await q(c, `SELECT count(*)::int AS n FROM ${tbl} WHERE id = 50`)).rows).toEqual([{ n: 0 }]);
      } finally {
        await c.release();
      }
    });
  });
});
