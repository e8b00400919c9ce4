import { afterEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { SqlgateError } from '../../src/errors.js';
import { newSessionId, SESSION_ID_BYTES } from '../../src/sessions/session-id.js';
import { SessionStore, type SessionStoreOptions } from '../../src/sessions/session-store.js';
import { backendsOf, EXEC, FakeBackend, type FakeConnection, SESSIONS_CONFIG } from './session-fakes.js';

const A: Principal = { id: 'key:a', backends: ['*'], readOnly: false };
const B: Principal = { id: 'key:b', backends: ['*'], readOnly: false };

const stores: SessionStore[] = [];
function makeStore(overrides: Partial<SessionStoreOptions['config']> = {}, backend = new FakeBackend()) {
  const store = new SessionStore({
    config: { ...SESSIONS_CONFIG, ...overrides },
    backends: backendsOf(backend),
    drainTimeoutMs: 500,
  });
  stores.push(store);
  return { store, backend };
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.closeAll();
});

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as SqlgateError).code;
  }
  return undefined;
}

const stmt = (sql: string) => ({ sql, params: [] });
const tick = () => new Promise((r) => setTimeout(r, 10));

describe('session ids', () => {
  it('are 192 random bits, base64url, and do not repeat', () => {
    expect(SESSION_ID_BYTES * 8).toBeGreaterThanOrEqual(128);
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = newSessionId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(10_000);
  });
});

describe('SessionStore', () => {
  it('binds a session to the principal that opened it', async () => {
    const { store } = makeStore();
    const s = await store.open(A, {});
    expect(store.get(s.id, A)).toBe(s);
    expect(await codeOf(() => store.get(s.id, B))).toBe('SESSION_NOT_FOUND');
    expect(await codeOf(store.run(s.id, B, async () => 1))).toBe('SESSION_NOT_FOUND');
    await store.runAndClose(s.id, A, 'closed by the client', async () => undefined);
    // The owner learns the session is gone; anyone else still cannot tell it existed.
    expect(await codeOf(() => store.get(s.id, A))).toBe('SESSION_EXPIRED');
    expect(await codeOf(() => store.get(s.id, B))).toBe('SESSION_NOT_FOUND');
    expect(await codeOf(() => store.get('not-an-id', A))).toBe('SESSION_NOT_FOUND');
    expect(await codeOf(() => store.get(newSessionId(), A))).toBe('SESSION_NOT_FOUND');
  });

  it('opens with BEGIN (and the isolation level) unless begin is false', async () => {
    const { store, backend } = makeStore();
    const s1 = await store.open(A, { isolationLevel: 'SERIALIZABLE' });
    expect(s1.info().inTransaction).toBe(true);
    expect(backend.connections[0]?.log).toEqual(['BEGIN SERIALIZABLE']);
    const s2 = await store.open(A, { begin: false });
    expect(s2.info().inTransaction).toBe(false);
    expect(backend.connections[1]?.log).toEqual([]);
    expect(await codeOf(store.open(A, { begin: false, readOnly: true }))).toBe('BAD_REQUEST');
  });

  it('refuses an unsupported isolation level and gives the connection back', async () => {
    const { store, backend } = makeStore();
    expect(await codeOf(store.open(A, { isolationLevel: 'READ UNCOMMITTED' }))).toBe('UNSUPPORTED_FEATURE');
    expect(backend.inUse).toBe(0);
    expect(store.size).toBe(0);
  });

  it('checks idleTimeoutMs against the maximum lifetime', async () => {
    const { store } = makeStore({ maxLifetimeMs: 10_000 });
    expect(await codeOf(store.open(A, { idleTimeoutMs: 10_001 }))).toBe('BAD_REQUEST');
    expect(await codeOf(store.open(A, { idleTimeoutMs: 999 }))).toBe('BAD_REQUEST');
    const s = await store.open(A, { idleTimeoutMs: 10_000 });
    expect(s.info().idleTimeoutMs).toBe(10_000);
  });

  it('runs requests on one session one at a time, in arrival order', async () => {
    const { store } = makeStore();
    const s = await store.open(A, { begin: false });
    const conn = s.conn as FakeConnection;
    let running = 0;
    let maxRunning = 0;
    const done: number[] = [];
    const jobs = Array.from({ length: 20 }, (_, i) =>
      store.run(s.id, A, async (session) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Later jobs are faster: without the queue they would finish first.
        await new Promise((r) => setTimeout(r, 20 - i));
        await session.execute(stmt(`SELECT ${i}`), EXEC);
        running--;
        done.push(i);
      }),
    );
    expect(s.info().queued).toBeGreaterThan(0);
    await Promise.all(jobs);
    expect(maxRunning).toBe(1);
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(conn.log).toEqual(Array.from({ length: 20 }, (_, i) => `SELECT ${i}`));
  });

  it('keeps going after a failed request in the queue', async () => {
    const { store } = makeStore();
    const s = await store.open(A, { begin: false });
    const first = store.run(s.id, A, async () => {
      throw new SqlgateError('QUERY_FAILED', 'x');
    });
    const second = store.run(s.id, A, async () => 'ok');
    expect(await codeOf(first)).toBe('QUERY_FAILED');
    expect(await second).toBe('ok');
  });

  it('limits open sessions in total and per principal, with retryAfter, and frees slots on close', async () => {
    const { store } = makeStore({ maxOpen: 3, maxPerPrincipal: 2 });
    const a1 = await store.open(A);
    await store.open(A);
    const err = await store.open(A).catch((e: SqlgateError) => e);
    expect(err).toBeInstanceOf(SqlgateError);
    expect((err as SqlgateError).code).toBe('TOO_MANY_SESSIONS');
    expect((err as SqlgateError).details.retryAfter).toBeGreaterThan(0);
    await store.open(B);
    expect(await codeOf(store.open(B))).toBe('TOO_MANY_SESSIONS'); // total reached
    await store.runAndClose(a1.id, A, 'closed by the client', async () => undefined);
    await store.open(B);
    expect(store.metrics().rejectedTotal).toBe(2);
  });

  it('honours principal.limits.maxSessions and cannot be overshot by concurrent opens', async () => {
    const { store } = makeStore();
    const limited: Principal = { ...A, limits: { maxSessions: 3 } };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.open(limited)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(store.size).toBe(3);
  });

  it('reaps idle sessions: rollback, reset, release, tombstone, counters', async () => {
    const { store, backend } = makeStore({ idleTimeoutMs: 1000 });
    const s = await store.open(A);
    const conn = s.conn as FakeConnection;
    const closed: string[] = [];
    store.on('close', (e) => closed.push(e.reason));
    store.reap(Date.now() + 500);
    expect(store.size).toBe(1);
    store.reap(Date.now() + 1001);
    await store.closeAll(); // waits for the closing in flight
    expect(conn.log).toEqual(['BEGIN', 'ROLLBACK', 'RESET']);
    expect(conn.released).toBe(1);
    expect(backend.inUse).toBe(0);
    expect(closed).toEqual(['idle timeout']);
    expect(store.metrics()).toMatchObject({ openSessions: 0, reapedTotal: 1, closedTotal: 1 });
    expect(await codeOf(() => store.get(s.id, A))).toBe('SESSION_EXPIRED');
  });

  it('does not reap a busy session for idleness, but does at its maximum lifetime', async () => {
    const { store } = makeStore({ idleTimeoutMs: 1000, maxLifetimeMs: 5000 });
    const s = await store.open(A);
    (s.conn as FakeConnection).delayMs = 200;
    const running = store.run(s.id, A, (x) => x.execute(stmt('SELECT slow'), EXEC));
    await tick();
    store.reap(Date.now() + 2000);
    expect(store.size).toBe(1);
    store.reap(Date.now() + 5001);
    expect(store.size).toBe(0);
    // The running request finishes first; the session ends after it.
    await expect(running).resolves.toMatchObject({ command: 'SELECT' });
    await store.closeAll();
    expect((s.conn as FakeConnection).log).toEqual(['BEGIN', 'SELECT slow', 'ROLLBACK', 'RESET']);
    expect(await codeOf(store.run(s.id, A, async () => 1))).toBe('SESSION_EXPIRED');
  });

  it('fails requests queued behind a close with SESSION_EXPIRED', async () => {
    const { store } = makeStore();
    const s = await store.open(A);
    (s.conn as FakeConnection).delayMs = 30;
    const before = store.run(s.id, A, (x) => x.execute(stmt('SELECT 1'), EXEC));
    const close = store.runAndClose(s.id, A, 'committed and closed', (x) => x.commit());
    const after = store.run(s.id, A, (x) => x.execute(stmt('SELECT 2'), EXEC));
    await expect(before).resolves.toBeTruthy();
    await expect(close).resolves.toMatchObject({ rolledBack: false });
    expect(await codeOf(after)).toBe('SESSION_EXPIRED');
    expect((s.conn as FakeConnection).log).toEqual(['BEGIN', 'SELECT 1', 'COMMIT', 'RESET']);
  });

  it('forgets tombstones after tombstoneMs', async () => {
    const { store } = makeStore({ tombstoneMs: 5000 });
    const s = await store.open(A);
    await store.runAndClose(s.id, A, 'closed by the client', async () => undefined);
    store.reap(Date.now() + 4000);
    expect(await codeOf(() => store.get(s.id, A))).toBe('SESSION_EXPIRED');
    store.reap(Date.now() + 5001);
    expect(await codeOf(() => store.get(s.id, A))).toBe('SESSION_NOT_FOUND');
  });

  it('tracks transaction state from the connection (client SQL BEGIN / COMMIT)', async () => {
    const { store } = makeStore();
    const s = await store.open(A, { begin: false });
    await store.run(s.id, A, (x) => x.execute(stmt('BEGIN'), EXEC));
    expect(s.info()).toMatchObject({ inTransaction: true, transactionStatus: 'active' });
    await store.run(s.id, A, (x) => x.execute(stmt('COMMIT'), EXEC));
    expect(s.info()).toMatchObject({ inTransaction: false, transactionStatus: 'idle' });
  });

  it('refuses statements in a failed transaction until rollback, without sending them', async () => {
    const { store } = makeStore();
    const s = await store.open(A);
    const conn = s.conn as FakeConnection;
    const sp = await store.run(s.id, A, (x) => x.savepoint());
    expect(await codeOf(store.run(s.id, A, (x) => x.execute(stmt('FAIL'), EXEC)))).toBe('QUERY_FAILED');
    expect(s.info().transactionStatus).toBe('failed');
    expect(await codeOf(store.run(s.id, A, (x) => x.execute(stmt('SELECT 1'), EXEC)))).toBe(
      'TRANSACTION_ABORTED',
    );
    expect(await codeOf(store.run(s.id, A, (x) => x.savepoint('b')))).toBe('TRANSACTION_ABORTED');
    expect(conn.log).not.toContain('SELECT 1');
    conn.status = 'active'; // what ROLLBACK TO SAVEPOINT does on PostgreSQL
    await store.run(s.id, A, (x) => x.rollbackTo(sp));
    await store.run(s.id, A, (x) => x.execute(stmt('SELECT 1'), EXEC));
    expect(conn.log).toContain('SELECT 1');
    expect(conn.log).toContain(`ROLLBACK TO SAVEPOINT "${sp}"`);
  });

  it('ends a session whose connection died, and answers SESSION_EXPIRED afterwards', async () => {
    const { store, backend } = makeStore();
    const s = await store.open(A);
    expect(await codeOf(store.run(s.id, A, (x) => x.execute(stmt('DIE'), EXEC)))).toBe('BACKEND_UNAVAILABLE');
    const err = await store.run(s.id, A, async () => 1).catch((e: SqlgateError) => e);
    expect((err as SqlgateError).code).toBe('SESSION_EXPIRED');
    expect((err as SqlgateError).message).toContain('connection lost');
    expect(backend.inUse).toBe(0);
  });

  it('rolls back and releases every session on closeAll, and refuses new ones', async () => {
    const { store, backend } = makeStore();
    const sessions = await Promise.all([store.open(A), store.open(B), store.open(A, { begin: false })]);
    await store.closeAll();
    expect(backend.inUse).toBe(0);
    expect(sessions.map((s) => (s.conn as FakeConnection).log)).toEqual([
      ['BEGIN', 'ROLLBACK', 'RESET'],
      ['BEGIN', 'ROLLBACK', 'RESET'],
      ['RESET'],
    ]);
    expect(await codeOf(store.open(A))).toBe('BACKEND_UNAVAILABLE');
  });

  it('destroys a connection whose request outlives the drain timeout on shutdown', async () => {
    const { store } = makeStore();
    const s = await store.open(A);
    (s.conn as FakeConnection).delayMs = 2000;
    const stuck = store.run(s.id, A, (x) => x.execute(stmt('SELECT stuck'), EXEC));
    let stuckSettled = false;
    void stuck.then(
      () => (stuckSettled = true),
      () => (stuckSettled = true),
    );
    await tick();
    await store.closeAll();
    // Ordered by events, not by the clock: closeAll gave up after the drain timeout (500 ms) and
    // destroyed the connection while the 2 s statement was still running.
    expect(stuckSettled).toBe(false);
    expect((s.conn as FakeConnection).destroyed).toBe(true);
    await stuck.catch(() => undefined);
  });

  it('exposes metrics: open sessions per backend, counters, pool stats', async () => {
    const { store } = makeStore();
    const opened: string[] = [];
    store.on('open', (s) => opened.push(s.id));
    const s = await store.open(A);
    await store.open(A);
    const m = store.metrics();
    expect(m).toMatchObject({ openSessions: 2, openByBackend: { db: 2 }, openedTotal: 2, reapedTotal: 0 });
    expect(m.pools.db).toMatchObject({ inUse: 2 });
    expect(opened).toContain(s.id);
  });
});
