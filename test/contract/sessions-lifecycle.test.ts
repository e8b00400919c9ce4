import { describe, expect, it } from 'vitest';
import { testBackends } from '../helpers/backends.js';
import { CONNECTION_ID, sessionsSuite } from './sessions-setup.js';

/**
 * Sessions: open, commit, rollback, close, ids, options checked against capability flags, client-driven transactions.
 * Part of the sessions contract suite, split by topic; shared setup in sessions-setup.ts.
 */
const backends = await testBackends();

describe.each(backends)('sessions lifecycle: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  const s = sessionsSuite(tb);
  const { open, sx, state, commit, rollback, close, count, table, ids, openOk } = s;
  const dialect = () => s.t.app.backends.get('db').dialect;

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
      expect(s.t.app.backends.get('db').poolStats().inUse).toBe(0);
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
      const viaExecute = await s.t.post('/v1/execute', { sql: 'SELECT 1', session: 'nope' });
      expect(viaExecute.body.error.code).toBe('SESSION_NOT_FOUND');

      const name = await table();
      const id = await openOk();
      const ins = await s.t.post('/v1/execute', {
        sql: `INSERT INTO ${name} (id, v) VALUES (1, 1)`,
        session: id,
      });
      expect(ins.status, JSON.stringify(ins.body)).toBe(200);
      expect(await count(name)).toBe(0);
      const wrong = await s.t.post('/v1/execute', { sql: 'SELECT 1', session: id, backend: 'other' });
      expect(wrong.status).toBe(400);
      const batch = await s.t.post('/v1/batch', {
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
      const begun = await s.t.post(`/v1/sessions/${id}/begin`, {});
      expect(begun.status, JSON.stringify(begun.body)).toBe(200);
      expect(begun.body.inTransaction).toBe(true);
      expect((await s.t.post(`/v1/sessions/${id}/begin`, {})).body.error.code).toBe(
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
      const res = await s.t.app.inject({ method: 'POST', url: `/v1/sessions/${id}/commit` });
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
      expect(s.t.app.backends.get('db').poolStats().inUse).toBe(0);
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
});
