import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, StorageBackend } from '../../src/backend/storage-backend.js';
import { TransactionManager } from '../../src/backend/transaction-manager.js';
import type { ParamValue } from '../../src/backend/types.js';
import type { ErrorCode, SqlgateError } from '../../src/errors.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { directOptions, MYSQL_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { expectErrorBody, expectRejection } from '../helpers/errors.js';

/**
 * MariaDB-specific error mapping (the cases every database shares, with MariaDB's errnos, are in
 * test/contract/error-mapping.test.ts): gateway errors a real MariaDB statement can produce, with HTTP status, class, retryable flag,
 * SQLSTATE and errno; and that no bound value ever appears in an error response. Single statements go
 * through POST /v1/execute; what needs two transactions at once (a read-only transaction) uses connections pinned with backend.acquire().
 */
const my = (await testBackends()).find((b) => b.driver === 'mysql');

const OPTS = directOptions({ maxRows: 1000, maxResponseBytes: 1 << 20 });
const int = (value: number): ParamValue => ({ type: 'INTEGER', value });

describe('mysql errors', () => {
  if (!my || my.skipReason) {
    it.skip(`skipped: ${my?.skipReason ?? 'no mysql backend'}`, () => {});
    return;
  }
  let t: TestApp;
  let backend: StorageBackend;
  let parent: string;
  let child: string;
  /** Foreign key names are unique per database in InnoDB: one per run. */
  let fk: string;
  const exec = (sql: string, params?: unknown, options?: unknown) => t.exec(sql, params, options);
  const q = (c: Connection, sql: string, params: ParamValue[] = []) => c.execute({ sql, params }, OPTS);

  /** An HTTP error body matches the registry for its code and carries the SQLSTATE and errno. */
  const expectHttp = (
    res: { status: number; body: { error: Record<string, unknown> } },
    code: ErrorCode,
    sqlState?: string,
    errno?: number,
  ) => expectErrorBody(res, code, { sqlState, dbCode: errno });
  /** A rejection from the backend API, checked as the HTTP layer would answer with it. */
  const expectRejected = async (p: Promise<unknown>, code: ErrorCode, errno: number) => {
    const e = await expectRejection(p, code);
    expect(e.details.dbCode).toBe(errno);
    return e;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: my.backendDoc() } });
    backend = t.app.backends.get('db');
    parent = uniqueName('mye_p');
    child = uniqueName('mye_c');
    fk = `fk_${child}`;
    for (const sql of [
      `CREATE TABLE ${parent} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB`,
      `CREATE TABLE ${child} (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL, qty INT CHECK (qty > 0), ` +
        `tiny TINYINT, at DATETIME, code VARCHAR(3), parent_id INT, UNIQUE KEY uq_email (email), ` +
        `CONSTRAINT ${fk} FOREIGN KEY (parent_id) REFERENCES ${parent}(id)) ENGINE=InnoDB`,
      `INSERT INTO ${parent} (id, v) VALUES (1, 0), (2, 0)`,
      `INSERT INTO ${child} (id, email, qty, parent_id) VALUES (1, 'a@x', 1, 1)`,
    ]) {
      const res = await exec(sql);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });
  afterAll(async () => {
    await exec(`DROP TABLE IF EXISTS ${child}`);
    await exec(`DROP TABLE IF EXISTS ${parent}`);
    await t?.close();
  });

  describe('single statements over HTTP', () => {
    it('CHECK constraint -> CHECK_VIOLATION (MariaDB errno 4025)', async () => {
      const secret = 'secret-check-sentinel-0815';
      const res = await exec(`INSERT INTO ${child} (id, email, qty) VALUES (40, :e, :q)`, {
        e: secret,
        q: 0,
      });
      expectHttp(res, 'CHECK_VIOLATION', '23000', 4025);
      expect(JSON.stringify(res.body)).not.toContain(secret);
    });

    it('bad values -> QUERY_FAILED without the value', async () => {
      const secret = 'secret-value-9a8b7c';
      const cases: Array<[string, Record<string, unknown>, number]> = [
        [`UPDATE ${child} SET tiny = :v WHERE id = 1`, { v: 1000 }, 1264],
        [`UPDATE ${child} SET tiny = :v WHERE id = 1`, { v: secret }, 1366],
        [`UPDATE ${child} SET at = :v WHERE id = 1`, { v: secret }, 1292],
        [`UPDATE ${child} SET code = :v WHERE id = 1`, { v: secret }, 1406],
      ];
      for (const [sql, params, errno] of cases) {
        const res = await exec(sql, params);
        expectHttp(res, 'QUERY_FAILED', undefined, errno);
        expect(JSON.stringify(res.body)).not.toContain(secret);
      }
    });

    it('undefined table, column, function -> UNDEFINED_OBJECT', async () => {
      expectHttp(await exec('SELECT * FROM no_such_table_here'), 'UNDEFINED_OBJECT', '42S02', 1146);
      expectHttp(await exec(`SELECT no_such_column FROM ${child}`), 'UNDEFINED_OBJECT', '42S22', 1054);
      expectHttp(await exec('SELECT no_such_function_x(1)'), 'UNDEFINED_OBJECT', '42000', 1305);
    });

    it('statement timeout -> 504 STATEMENT_TIMEOUT, the query is killed and the connection reused', async () => {
      const probe = uniqueName('probe');
      const started = performance.now();
      const res = await exec(`SELECT SLEEP(5) /* ${probe} */`, undefined, { timeoutMs: 300 });
      const elapsed = performance.now() - started;
      expectHttp(res, 'STATEMENT_TIMEOUT');
      expect(elapsed).toBeLessThan(2500);
      const running = await exec(
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE :p AND ID <> CONNECTION_ID()`,
        { p: `%${probe}%` },
      );
      expect(running.status).toBe(200);
      expect(Number(running.body.rows[0].n)).toBe(0);
      const after = await exec('SELECT 1 AS one');
      expect(after.body.rows[0].one).toBe(1);
    });

    it('a KILL QUERY from elsewhere -> STATEMENT_TIMEOUT', async () => {
      const c = await backend.acquire();
      const admin = await mysql.createConnection(MYSQL_URL);
      try {
        const id = (c as unknown as { threadId: number }).threadId;
        const running = q(c, 'SELECT SLEEP(5)').then(
          () => Promise.reject(new Error('the statement was not stopped')),
          (e: unknown) => Promise.reject(e),
        );
        running.catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
        await admin.query(`KILL QUERY ${id}`);
        const e = await expectRejected(running, 'STATEMENT_TIMEOUT', 1317);
        expect(e.details.sqlState).toBe('70100');
        expect((await q(c, 'SELECT 2 AS two')).rows[0]).toEqual({ two: 2 });
      } finally {
        await admin.end();
        await c.release();
      }
    });
  });

  describe('two transactions at once', () => {
    it('a write in START TRANSACTION READ ONLY -> READ_ONLY_VIOLATION', async () => {
      const c = await backend.acquire();
      try {
        const tm = new TransactionManager(c);
        await tm.begin({ readOnly: true });
        expect(c.txStatus()).toBe('active');
        await expectRejected(
          q(c, `UPDATE ${parent} SET v = 0 WHERE id = ?`, [int(1)]),
          'READ_ONLY_VIOLATION',
          1792,
        );
        expect((await q(c, `SELECT COUNT(*) AS n FROM ${parent}`)).rows[0]).toEqual({ n: '2' });
        await tm.rollback();
        expect(c.txStatus()).toBe('idle');
      } finally {
        await c.release();
      }
    });

    it('an unknown savepoint -> UNDEFINED_OBJECT', async () => {
      const c = await backend.acquire();
      try {
        const tm = new TransactionManager(c);
        await tm.begin();
        const err = await c.run('ROLLBACK TO SAVEPOINT `nope`').then(
          () => null,
          (e: unknown) => e as SqlgateError,
        );
        expect(err?.code).toBe('UNDEFINED_OBJECT');
        expect(err?.details.dbCode).toBe(1305);
        await tm.rollback();
      } finally {
        await c.release();
      }
    });
  });
});
