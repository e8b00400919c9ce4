import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, StorageBackend } from '../../src/backend/storage-backend.js';
import { TransactionManager } from '../../src/backend/transaction-manager.js';
import type { ExecOptions, ParamValue } from '../../src/backend/types.js';
import type { SqlgateError } from '../../src/errors.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { directOptions, MYSQL_URL, testBackends, uniqueName } from '../helpers/backends.js';

/**
 * The MySQL Connection and pool against a real MariaDB: killed connections, bulk executeMany, truthful
 * transaction status and statements stopped early. Client-gone cancel, full pool, unreachable server and
 * release reset run on every backend in test/contract/connection-faults.test.ts.
 */
const my = (await testBackends()).find((b) => b.driver === 'mysql');

const OPTS = directOptions();
const int = (value: number): ParamValue => ({ type: 'INTEGER', value });
const text = (value: string): ParamValue => ({ type: 'TEXT', value });
const threadIdOf = (c: Connection) => (c as unknown as { threadId: number }).threadId;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mysql connection and pool', () => {
  if (!my || my.skipReason) {
    it.skip(`skipped: ${my?.skipReason ?? 'no mysql backend'}`, () => {});
    return;
  }
  let t: TestApp;
  let backend: StorageBackend;
  let admin: mysql.Connection;
  const created: string[] = [];
  const exec = (sql: string, params?: unknown, options?: unknown) => t.exec(sql, params, options);
  const q = (c: Connection, sql: string, params: ParamValue[] = [], opts: Partial<ExecOptions> = {}) =>
    c.execute({ sql, params }, { ...OPTS, ...opts });
  const table = async (columns: string): Promise<string> => {
    const name = uniqueName('myc');
    const res = await exec(`CREATE TABLE ${name} (${columns}) ENGINE=InnoDB`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    created.push(name);
    return name;
  };
  const count = async (name: string) =>
    Number((await exec(`SELECT COUNT(*) AS n FROM ${name}`)).body.rows[0].n);

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: my.backendDoc({ pool: { max: 4, acquireTimeoutMs: 2000 } }) } });
    backend = t.app.backends.get('db');
    admin = await mysql.createConnection(MYSQL_URL);
  });
  afterAll(async () => {
    for (const name of created.reverse()) await exec(`DROP TABLE IF EXISTS ${name}`);
    await admin?.end();
    await t?.close();
  });

  describe('killed connections', () => {
    it('KILL of an idle pooled connection: the next request gets a working connection', async () => {
      const one = await makeTestApp({ backends: { db: my.backendDoc({ pool: { max: 1 } }) } });
      try {
        const first = await one.post('/v1/execute', { sql: 'SELECT CONNECTION_ID() AS id' });
        const id = Number(first.body.rows[0].id);
        await admin.query(`KILL ${id}`);
        // Either the dead connection is noticed before anything is sent (200), or exactly one request fails.
        const next = await one.post('/v1/execute', { sql: 'SELECT CONNECTION_ID() AS id' });
        if (next.status !== 200) {
          expect(next.status).toBe(503);
          expect(next.body.error.code).toBe('BACKEND_UNAVAILABLE');
        }
        const after = await one.post('/v1/execute', { sql: 'SELECT CONNECTION_ID() AS id' });
        expect(after.status).toBe(200);
        expect(Number(after.body.rows[0].id)).not.toBe(id);
      } finally {
        await one.close();
      }
    });

    it('KILL of a pinned connection: one BACKEND_UNAVAILABLE, the connection reports closed, the pool recovers', async () => {
      const c = await backend.acquire();
      const tm = new TransactionManager(c);
      await tm.begin();
      await admin.query(`KILL ${threadIdOf(c)}`);
      await sleep(50);
      const err = await q(c, 'SELECT 1 AS one').then(
        () => null,
        (e: unknown) => e as SqlgateError,
      );
      expect(err?.code).toBe('BACKEND_UNAVAILABLE');
      expect(c.isClosed).toBe(true);
      await c.release();
      expect(backend.poolStats().inUse).toBe(0);
      const res = await exec('SELECT 1 AS one');
      expect(res.status).toBe(200);
    });

    it('KILL during a running statement: BACKEND_UNAVAILABLE, not a hang', async () => {
      const c = await backend.acquire();
      const running = q(c, 'SELECT SLEEP(5)').then(
        () => null,
        (e: unknown) => e as SqlgateError,
      );
      await sleep(200);
      await admin.query(`KILL ${threadIdOf(c)}`);
      const err = await running;
      expect(err?.code).toBe('BACKEND_UNAVAILABLE');
      await c.destroy();
      expect((await exec('SELECT 1 AS one')).status).toBe(200);
    });
  });

  describe('executeMany', () => {
    const rows = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => [int(from + i), text(`name-${from + i}`)]);

    it('bulk INSERT in chunks: one result per set, consecutive ids, every row stored', async () => {
      const name = await table('id BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL UNIQUE, s VARCHAR(50)');
      const c = await backend.acquire();
      try {
        const results = await c.executeMany(`INSERT INTO ${name} (k, s) VALUES (?, ?)`, rows(2500), OPTS);
        expect(results).toHaveLength(2500);
        expect(results.every((r) => r.affectedRows === 1 && r.command === 'INSERT')).toBe(true);
        expect(results.map((r) => r.lastInsertId)).toEqual(
          Array.from({ length: 2500 }, (_, i) => String(i + 1)),
        );
      } finally {
        await c.release();
      }
      const check = await exec(`SELECT id, k, s FROM ${name} WHERE k IN (0, 999, 1000, 2499) ORDER BY k`);
      expect(check.body.rows).toEqual([
        { id: '1', k: 0, s: 'name-0' },
        { id: '1000', k: 999, s: 'name-999' },
        { id: '1001', k: 1000, s: 'name-1000' },
        { id: '2500', k: 2499, s: 'name-2499' },
      ]);
    });

    it('in a transaction a failing set names its index and rollback leaves nothing', async () => {
      const name = await table('k INT NOT NULL PRIMARY KEY, s VARCHAR(50)');
      const sets = rows(2500);
      sets[1700] = [int(5), text('duplicate of set 5')];
      const c = await backend.acquire();
      const tm = new TransactionManager(c);
      try {
        await tm.begin();
        const err = await c.executeMany(`INSERT INTO ${name} (k, s) VALUES (?, ?)`, sets, OPTS).then(
          () => null,
          (e: unknown) => e as SqlgateError,
        );
        expect(err?.code).toBe('UNIQUE_VIOLATION');
        expect(err?.details.statementIndex).toBe(1700);
        expect(c.txStatus()).toBe('active');
        // Everything before the failing set was applied, exactly as if the sets ran one by one.
        expect((await q(c, `SELECT COUNT(*) AS n FROM ${name}`)).rows[0]).toEqual({ n: '1700' });
        await tm.rollback();
      } finally {
        await c.release();
      }
      expect(await count(name)).toBe(0);
    });

    it('in autocommit the sets before the failing one stay committed', async () => {
      const name = await table('k INT NOT NULL PRIMARY KEY, s VARCHAR(50)');
      const sets = rows(1200);
      sets[1100] = [int(1), text('dup')];
      const c = await backend.acquire();
      try {
        const err = await c.executeMany(`INSERT INTO ${name} (k, s) VALUES (?, ?)`, sets, OPTS).then(
          () => null,
          (e: unknown) => e as SqlgateError,
        );
        expect(err?.details.statementIndex).toBe(1100);
      } finally {
        await c.release();
      }
      expect(await count(name)).toBe(1100);
    });

    it('other statements run set by set with their own affectedRows', async () => {
      const name = await table('k INT NOT NULL PRIMARY KEY, v INT NOT NULL');
      await exec(`INSERT INTO ${name} (k, v) VALUES (1, 0), (2, 0), (3, 0)`);
      const c = await backend.acquire();
      try {
        const upd = await c.executeMany(
          `UPDATE ${name} SET v = v + 1 WHERE k <= ?`,
          [[int(1)], [int(3)], [int(0)]],
          OPTS,
        );
        expect(upd.map((r) => r.affectedRows)).toEqual([1, 3, 0]);
        const ign = await c.executeMany(
          `INSERT IGNORE INTO ${name} (k, v) VALUES (?, ?)`,
          [
            [int(1), int(9)],
            [int(4), int(9)],
          ],
          OPTS,
        );
        expect(ign.map((r) => r.affectedRows)).toEqual([0, 1]);
        const err = await c
          .executeMany(
            `UPDATE ${name} SET k = ? WHERE k = ?`,
            [
              [int(10), int(1)],
              [int(10), int(2)],
            ],
            OPTS,
          )
          .then(
            () => null,
            (e: unknown) => e as SqlgateError,
          );
        expect(err?.code).toBe('UNIQUE_VIOLATION');
        expect(err?.details.statementIndex).toBe(1);
      } finally {
        await c.release();
      }
    });
  });

  describe('transaction status', () => {
    it('follows BEGIN/COMMIT, implicit commits by DDL and autocommit=0', async () => {
      const name = await table('k INT PRIMARY KEY');
      const c = await backend.acquire();
      try {
        expect(c.txStatus()).toBe('idle');
        await c.run('START TRANSACTION');
        expect(c.txStatus()).toBe('active');
        await q(c, `INSERT INTO ${name} (k) VALUES (?)`, [int(1)]);
        await q(c, `SELECT * FROM ${name}`);
        expect(c.txStatus()).toBe('active');
        // DDL commits implicitly; the status says so.
        await q(c, `CREATE TEMPORARY TABLE ${name}_tmp (a INT)`);
        expect(c.txStatus()).toBe('active');
        await q(c, `ALTER TABLE ${name} ADD COLUMN extra INT`);
        expect(c.txStatus()).toBe('idle');
        expect(await count(name)).toBe(1);
        // With autocommit off, a SELECT begins a transaction: read from the EOF packet of its result.
        await q(c, 'SET autocommit = 0');
        await q(c, `SELECT * FROM ${name}`);
        expect(c.txStatus()).toBe('active');
        await c.run('COMMIT');
        expect(c.txStatus()).toBe('idle');
      } finally {
        await c.release();
      }
    });

    it('savepoints through the TransactionManager', async () => {
      const name = await table('k INT PRIMARY KEY');
      const c = await backend.acquire();
      const tm = new TransactionManager(c);
      try {
        await tm.begin({ isolationLevel: 'SERIALIZABLE' });
        await q(c, `INSERT INTO ${name} (k) VALUES (1)`);
        const sp = await tm.savepoint('before two');
        await q(c, `INSERT INTO ${name} (k) VALUES (2)`);
        await tm.rollbackTo(sp);
        await tm.commit();
      } finally {
        await c.release();
      }
      expect(await count(name)).toBe(1);
    });
  });

  describe('limits', () => {
    it('maxRows stops a slow result early instead of draining it', async () => {
      const started = performance.now();
      // Rows wider than the server's network buffer are sent one by one as they are produced.
      const res = await exec(
        "SELECT seq, REPEAT('x', 20000) AS pad, SLEEP(0.01) AS s FROM seq_1_to_1000",
        undefined,
        {
          maxRows: 5,
        },
      );
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('RESULT_TOO_LARGE');
      // 1000 rows x 10 ms would take 10 s.
      expect(performance.now() - started).toBeLessThan(3000);
      expect((await exec('SELECT 1 AS one')).status).toBe(200);
    });
  });

  describe('backend', () => {
    it('pings, reports the server version and refuses read-only access without a readOnlyUrl', async () => {
      await backend.ping(1000);
      const info = await backend.serverInfo();
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      const err = await backend.acquire({ readOnly: true }).then(
        () => null,
        (e: unknown) => e as SqlgateError,
      );
      expect(err?.code).toBe('FORBIDDEN');
    });
  });
});
