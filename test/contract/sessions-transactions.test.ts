import { describe, expect, it } from 'vitest';
import { makeTestApp } from '../helpers/app.js';
import { testBackends } from '../helpers/backends.js';
import { SLOW_SQL, sessionsSuite, sleep } from './sessions-setup.js';

/**
 * Sessions: savepoints, failed statements and batches inside a transaction, timeouts, crossing row locks, request ordering.
 * Part of the sessions contract suite, split by topic; shared setup in sessions-setup.ts.
 */
const backends = await testBackends();

describe.each(backends)('sessions transactions: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  const s = sessionsSuite(tb);
  const { exec, sx, state, commit, rollback, close, count, table, ids, openOk, client } = s;

  describe('savepoints and errors', () => {
    it('creates, rolls back to and releases savepoints, quoting client names', async () => {
      const name = await table();
      const id = await openOk();
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      const weird = 'sp "1"; DROP TABLE x; --';
      const sp = await s.t.post(`/v1/sessions/${id}/savepoints`, { name: weird });
      expect(sp.status, JSON.stringify(sp.body)).toBe(201);
      expect(sp.body.name).toBe(weird);
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (2, 2)`);
      const gen = await s.t.post(`/v1/sessions/${id}/savepoints`, {});
      expect(gen.body.name).toMatch(/^sp_\d+$/);
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (3, 3)`);
      expect((await state(id)).body.savepoints).toEqual([weird, gen.body.name]);
      const rel = await s.t.post(`/v1/sessions/${id}/savepoints/${gen.body.name}/release`, {});
      expect(rel.status, JSON.stringify(rel.body)).toBe(200);
      const back = await s.t.post(`/v1/sessions/${id}/savepoints/${encodeURIComponent(weird)}/rollback`, {});
      expect(back.status, JSON.stringify(back.body)).toBe(200);
      expect(back.body).toMatchObject({ name: weird, inTransaction: true });
      expect((await state(id)).body.savepoints).toEqual([weird]);
      await commit(id);
      expect(await ids(name)).toEqual([1]);
    });

    it('savepoints need a transaction', async () => {
      const id = await openOk({ begin: false });
      const res = await s.t.post(`/v1/sessions/${id}/savepoints`, {});
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('INVALID_TRANSACTION_STATE');
      await close(id);
      // An unknown savepoint is the database's error (PostgreSQL then aborts the transaction).
      const other = await openOk();
      const missing = await s.t.post(`/v1/sessions/${other}/savepoints/nope/rollback`, {});
      expect(['UNDEFINED_OBJECT', 'INVALID_TRANSACTION_STATE']).toContain(missing.body.error.code);
      await close(other);
    });

    it('a failed statement: aborted databases refuse until rollback to a savepoint; commit keeps earlier work', async () => {
      const name = await table();
      const id = await openOk();
      await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      await s.t.post(`/v1/sessions/${id}/savepoints`, { name: 'sp' });
      const dup = await sx(id, `INSERT INTO ${name} (id, v) VALUES (1, 1)`);
      expect(dup.body.error.code).toBe('UNIQUE_VIOLATION');
      const st = (await state(id)).body;
      expect(st.inTransaction).toBe(true);
      if (st.transactionStatus === 'failed') {
        // PostgreSQL: the transaction is aborted until it is rolled back (to a savepoint).
        const refused = await sx(id, 'SELECT 1');
        expect(refused.status).toBe(409);
        expect(refused.body.error.code).toBe('TRANSACTION_ABORTED');
        const sp2 = await s.t.post(`/v1/sessions/${id}/savepoints`, {});
        expect(sp2.body.error.code).toBe('TRANSACTION_ABORTED');
      } else {
        expect(st.transactionStatus).toBe('active');
      }
      const back = await s.t.post(`/v1/sessions/${id}/savepoints/sp/rollback`, {});
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
      const res = await s.t.post(`/v1/sessions/${id}/batch`, {
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
      const ok = await s.t.post(`/v1/sessions/${id}/batch`, {
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
      const bad = await s.t.post(`/v1/sessions/${id}/batch`, {
        statements: [
          { sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)` },
          { sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)` },
        ],
      });
      expect(bad.body.error.statementIndex).toBe(1);
      const good = await s.t.post(`/v1/sessions/${id}/batch`, {
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
    const pool = s.t.app.backends.get('db');
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
});
