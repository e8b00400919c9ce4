import { describe, expect, it } from 'vitest';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';
import {
  ABANDON,
  CONNECTION_ID,
  OPEN_TRANSACTIONS,
  SESSION_SETTING,
  sessionsSuite,
  sleep,
} from './sessions-setup.js';

/**
 * Sessions: per-principal limits, nothing leaking between sessions on one connection, reaping abandoned sessions, shutdown.
 * Part of the sessions contract suite, split by topic; shared setup in sessions-setup.ts.
 */
const backends = await testBackends();

describe.each(backends)('sessions limits and expiry: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  const s = sessionsSuite(tb);
  const { table, openOk, client } = s;

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
