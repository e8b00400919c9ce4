import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, StorageBackend } from '../../src/backend/storage-backend.js';
import { TransactionManager } from '../../src/backend/transaction-manager.js';
import type { ParamValue } from '../../src/backend/types.js';
import type { ErrorCode } from '../../src/errors.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { directOptions, testBackends, uniqueName } from '../helpers/backends.js';
import { expectErrorBody, expectRejection } from '../helpers/errors.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';
import {
  DB_CODES,
  DEADLOCK_SETUP,
  isUnsupported,
  type MappedCase,
  NAMES_COLUMN,
  NAMES_CONSTRAINT,
  SHORT_LOCK_WAIT,
} from './fixtures.js';

/**
 * Database errors mapped to gateway codes, the same cases on every backend: duplicate key, foreign key in
 * both directions, NOT NULL (explicit and omitted), syntax error, lock wait and deadlock, each with the
 * database's own code (fixtures.ts), no bound value in the body, and nothing left changed or open.
 */
const backends = await testBackends();
const OPTS = directOptions();

describe.each(backends)('error mapping: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let backend: StorageBackend;
  const parent = uniqueName('emp');
  const child = uniqueName('emc');
  const uq = `uq_${child}`;
  const exec = (sql: string, params?: unknown) => t.exec(sql, params);
  const q = (c: Connection, sql: string, params: ParamValue[] = []) => c.execute({ sql, params }, OPTS);
  const codes = DB_CODES[tb.driver];
  const dbCodes = (name: MappedCase) => {
    const f = codes[name];
    if (isUnsupported(f)) throw new Error(`no database code for ${name}: ${f.unsupported}`);
    return f;
  };
  const expectHttp = (
    res: { status: number; body: { error: Record<string, unknown> } },
    code: ErrorCode,
    name: MappedCase,
  ) => expectErrorBody(res, code, dbCodes(name));
  const expectDb = async (p: Promise<unknown>, code: ErrorCode, name: MappedCase) => {
    const e = await expectRejection(p, code);
    const want = dbCodes(name);
    if (want.sqlState) expect(e.details.sqlState).toBe(want.sqlState);
    if (want.dbCode) expect(e.details.dbCode).toBe(want.dbCode);
    return e;
  };
  const values = async () =>
    (await exec(`SELECT id, v FROM ${parent} ORDER BY id`)).body.rows.map(
      (r: { id: unknown; v: unknown }) => [Number(r.id), Number(r.v)],
    );

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc({ busyTimeoutMs: 300 }) } });
    backend = t.app.backends.get('db');
    for (const sql of [
      `CREATE TABLE ${parent} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)${TABLE_SUFFIX[tb.driver]}`,
      `CREATE TABLE ${child} (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, parent_id INTEGER, ` +
        `CONSTRAINT ${uq} UNIQUE (email), FOREIGN KEY (parent_id) REFERENCES ${parent}(id))${TABLE_SUFFIX[tb.driver]}`,
      `INSERT INTO ${parent} (id, v) VALUES (1, 0), (2, 0)`,
      `INSERT INTO ${child} (id, email, parent_id) VALUES (1, 'a@x', 1)`,
    ]) {
      const res = await exec(sql);
      expect(res.status, `${sql}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });
  afterAll(async () => {
    await exec(`DROP TABLE IF EXISTS ${child}`);
    await exec(`DROP TABLE IF EXISTS ${parent}`);
    await t?.close();
  });

  it('duplicate key -> UNIQUE_VIOLATION, naming the constraint where the database does, never the value', async () => {
    const secret = 'secret-dup-4711@example.com';
    expect((await exec(`INSERT INTO ${child} (id, email) VALUES (10, :e)`, { e: secret })).status).toBe(200);
    const res = await exec(`INSERT INTO ${child} (id, email) VALUES (11, :e)`, { e: secret });
    expectHttp(res, 'UNIQUE_VIOLATION', 'duplicate key');
    const names = NAMES_CONSTRAINT[tb.driver];
    if (isUnsupported(names)) expect(res.body.error.constraint, names.unsupported).toBeUndefined();
    else expect(res.body.error.constraint).toBe(uq);
    expect(JSON.stringify(res.body)).not.toContain('4711');
    const n = await exec(`SELECT COUNT(*) AS n FROM ${child} WHERE email = :e`, { e: secret });
    expect(Number(n.body.rows[0].n)).toBe(1);
  });

  it('foreign key, both directions -> FOREIGN_KEY_VIOLATION, nothing changed', async () => {
    const noParent = await exec(`INSERT INTO ${child} (id, email, parent_id) VALUES (20, 'fk@x', :p)`, {
      p: 987654,
    });
    expectHttp(noParent, 'FOREIGN_KEY_VIOLATION', 'missing parent');
    expect(JSON.stringify(noParent.body)).not.toContain('987654');
    const referenced = await exec(`DELETE FROM ${parent} WHERE id = 1`);
    expectHttp(referenced, 'FOREIGN_KEY_VIOLATION', 'referenced parent');
    expect(await values()).toEqual([
      [1, 0],
      [2, 0],
    ]);
    expect((await exec(`SELECT id FROM ${child} WHERE id = 20`)).body.rowCount).toBe(0);
  });

  it('NULL into NOT NULL, or no value and no default -> NOT_NULL_VIOLATION naming the column', async () => {
    const explicit = await exec(`INSERT INTO ${child} (id, email) VALUES (30, :e)`, { e: null });
    expectHttp(explicit, 'NOT_NULL_VIOLATION', 'explicit NULL');
    const omitted = await exec(`INSERT INTO ${child} (id) VALUES (31)`);
    expectHttp(omitted, 'NOT_NULL_VIOLATION', 'omitted NOT NULL');
    const names = NAMES_COLUMN[tb.driver];
    for (const res of [explicit, omitted]) {
      if (isUnsupported(names)) expect(res.body.error.column, names.unsupported).toBeUndefined();
      else expect(res.body.error.column).toBe('email');
    }
    expect((await exec(`SELECT id FROM ${child} WHERE id IN (30, 31)`)).body.rowCount).toBe(0);
  });

  it('syntax error -> SQL_SYNTAX_ERROR with the database code', async () => {
    expectHttp(await exec('SELEC 1'), 'SQL_SYNTAX_ERROR', 'syntax error');
  });

  it('a lock held longer than the wait -> LOCK_TIMEOUT (retryable); the holder commits its value', async () => {
    const a = await backend.acquire();
    const b = await backend.acquire();
    try {
      await new TransactionManager(a).begin();
      await q(a, `UPDATE ${parent} SET v = 7 WHERE id = 2`);
      const wait = SHORT_LOCK_WAIT[tb.driver];
      if (wait) await b.run(wait);
      await expectDb(q(b, `UPDATE ${parent} SET v = 8 WHERE id = 2`), 'LOCK_TIMEOUT', 'lock wait');
      expect(b.txStatus()).toBe('idle');
      await a.run('COMMIT');
      expect(await values()).toEqual([
        [1, 0],
        [2, 7],
      ]);
    } finally {
      await a.release();
      await b.release();
    }
    expect(backend.poolStats().inUse).toBe(0);
  });

  it('two transactions locking each other -> exactly one DEADLOCK (retryable), the other commits', async () => {
    await exec(`UPDATE ${parent} SET v = 0`);
    const a = await backend.acquire();
    const b = await backend.acquire();
    try {
      for (const c of [a, b]) {
        for (const sql of DEADLOCK_SETUP[tb.driver]) await c.run(sql);
      }
      await new TransactionManager(a).begin();
      await q(a, `UPDATE ${parent} SET v = v + 1 WHERE id = 1`);
      await new TransactionManager(b).begin();
      const deadlock = codes.deadlock;
      if (isUnsupported(deadlock)) {
        // The documented substitute: the second writer cannot take any row lock while the first holds one.
        await expectDb(q(b, `UPDATE ${parent} SET v = v + 1 WHERE id = 2`), 'LOCK_TIMEOUT', 'lock wait');
        await b.run('ROLLBACK');
        await a.run('COMMIT');
        expect(await values()).toEqual([
          [1, 1],
          [2, 0],
        ]);
        return;
      }
      await q(b, `UPDATE ${parent} SET v = v + 1 WHERE id = 2`);
      const results = await Promise.allSettled([
        q(a, `UPDATE ${parent} SET v = v + 1 WHERE id = 2`),
        new Promise((r) => setTimeout(r, 150)).then(() =>
          q(b, `UPDATE ${parent} SET v = v + 1 WHERE id = 1`),
        ),
      ]);
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, err: r.reason }] : []));
      expect(failed).toHaveLength(1);
      const victim = failed[0] as { i: number; err: unknown };
      await expectDb(Promise.reject(victim.err), 'DEADLOCK', 'deadlock');
      const [loser, winner] = victim.i === 0 ? [a, b] : [b, a];
      expect(winner.txStatus()).toBe('active');
      if (loser.txStatus() !== 'idle') await loser.run('ROLLBACK');
      await winner.run('COMMIT');
      // Only the winner's two increments are in the table (whichever one won, it touched both rows).
      expect(await values()).toEqual([
        [1, 1],
        [2, 1],
      ]);
    } finally {
      await a.release();
      await b.release();
    }
    expect(backend.poolStats().inUse).toBe(0);
  });
});
