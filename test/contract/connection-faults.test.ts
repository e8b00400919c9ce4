import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, StorageBackend } from '../../src/backend/storage-backend.js';
import type { ExecOptions } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { directOptions, testBackends } from '../helpers/backends.js';
import { expectErrorBody, expectRejection } from '../helpers/errors.js';
import {
  CANCEL_KEEPS_CONNECTION,
  CONNECTION_ID,
  isUnsupported,
  KNOWN_DEFECTS,
  SESSION_STATE,
  SLOW_SQL,
  UNREACHABLE,
} from './fixtures.js';

/**
 * Connection and pool behaviour every backend shares, with the per-database SQL in fixtures.ts: a client
 * that goes away cancels its statement, a full pool answers OVERLOADED, a server (or file) that cannot be
 * reached is BACKEND_UNAVAILABLE, and releasing a connection resets what its user changed.
 */
const backends = await testBackends();
const OPTS = directOptions();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(backends)('connection faults: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  /** One pooled connection, so "the next user" gets the same one (or its replacement). */
  let t: TestApp;
  let backend: StorageBackend;
  const q = (c: Connection, sql: string, opts: Partial<ExecOptions> = {}) =>
    c.execute({ sql, params: [] }, { ...OPTS, ...opts });
  const connectionId = async (c: Connection): Promise<string | null> => {
    const probe = CONNECTION_ID[tb.driver];
    if (isUnsupported(probe)) return null;
    return String(((await q(c, probe)).rows[0] as Record<string, unknown>).id);
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc({ pool: { max: 1, acquireTimeoutMs: 300 } }) } });
    backend = t.app.backends.get('db');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a client that goes away cancels its statement, and the pool goes on', async () => {
    const c = await backend.acquire();
    const keeps = CANCEL_KEEPS_CONNECTION[tb.driver];
    try {
      const ac = new AbortController();
      const running = q(c, SLOW_SQL[tb.driver], { signal: ac.signal }).then(
        () => null,
        (e: unknown) => e,
      );
      // The statement runs for 5 s and the timeout is 10 s: only the abort can stop it within 2 s.
      await sleep(150);
      const started = Date.now();
      ac.abort();
      const err = await expectRejection(
        running.then((e) => Promise.reject(e ?? new Error('the slow statement finished'))),
        'STATEMENT_TIMEOUT',
      );
      expect(err.message).toMatch(/client went away/);
      expect(Date.now() - started).toBeLessThan(2000);
      if (isUnsupported(keeps)) {
        expect(c.isClosed, keeps.unsupported).toBe(true);
      } else {
        // Cancelled, not killed: the same connection carries on, outside any transaction.
        expect(c.txStatus()).toBe('idle');
        expect(Number(((await q(c, 'SELECT 3 AS three')).rows[0] as Record<string, unknown>).three)).toBe(3);
      }
      const already = new AbortController();
      already.abort();
      const runsAnyway = KNOWN_DEFECTS[tb.driver]['aborted-signal-runs'];
      if (runsAnyway) {
        expect(
          Number(
            ((await q(c, 'SELECT 1 AS one', { signal: already.signal })).rows[0] as Record<string, unknown>)
              .one,
          ),
          runsAnyway,
        ).toBe(1);
      } else if (!isUnsupported(keeps)) {
        await expectRejection(q(c, 'SELECT 1', { signal: already.signal }), 'STATEMENT_TIMEOUT');
      }
    } finally {
      await c.release();
    }
    const next = await t.exec('SELECT 4 AS four');
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(Number(next.body.rows[0].four)).toBe(4);
    expect(backend.poolStats()).toMatchObject({ inUse: 0, max: 1 });
  });

  it('a full pool answers 503 OVERLOADED with Retry-After after the acquire timeout', async () => {
    const held = await backend.acquire();
    try {
      const started = Date.now();
      const res = await t.exec('SELECT 1 AS one');
      expectErrorBody(res, 'OVERLOADED');
      expect(res.headers['retry-after']).toBe('1');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      const stale = KNOWN_DEFECTS[tb.driver]['waiting-after-timeout'];
      expect(backend.poolStats(), stale).toMatchObject({ inUse: 1, max: 1, waiting: stale ? 1 : 0 });
    } finally {
      await held.release();
    }
    const res = await t.exec('SELECT 1 AS one');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Number(res.body.rows[0].one)).toBe(1);
  });

  it('an unreachable server or database file is 503 BACKEND_UNAVAILABLE, not a crash, and names no address', async () => {
    const where = UNREACHABLE[tb.driver];
    const down = await makeTestApp({ backends: { db: tb.backendDoc(where) } });
    try {
      const res = await down.exec('SELECT 1');
      expectErrorBody(res, 'BACKEND_UNAVAILABLE');
      const target = String(where.url ?? where.database);
      expect(JSON.stringify(res.body)).not.toContain(target.includes('://') ? new URL(target).host : target);
      await expect(down.app.backends.get('db').ping(500)).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
      });
      expect(down.app.backends.get('db').poolStats().inUse).toBe(0);
    } finally {
      await down.close();
    }
  });

  it('release resets settings, temporary tables and open transactions before the next user', async () => {
    const state = SESSION_STATE[tb.driver];
    const c = await backend.acquire();
    const id = await connectionId(c);
    for (const sql of state.dirty) await q(c, sql);
    await c.run('BEGIN');
    expect(c.txStatus()).toBe('active');
    await c.release();
    const d = await backend.acquire();
    try {
      if (id !== null) expect(await connectionId(d)).toBe(id);
      expect(d.txStatus()).toBe('idle');
      const row = (await q(d, state.probe)).rows[0] as Record<string, unknown>;
      expect(Object.fromEntries(Object.keys(state.clean).map((k) => [k, row[k] ?? null]))).toEqual(
        state.clean,
      );
      await expectRejection(q(d, `SELECT * FROM ${state.tempTable}`), 'UNDEFINED_OBJECT');
    } finally {
      await d.release();
    }
    // Autocommit requests: what one leaves behind does not reach the next one.
    for (const sql of state.dirty.filter((s) => !/\bTEMP/i.test(s))) {
      expect((await t.exec(sql)).status).toBe(200);
    }
    const seen = await t.exec(state.probe);
    expect(seen.status, JSON.stringify(seen.body)).toBe(200);
    const row = seen.body.rows[0] as Record<string, unknown>;
    const seenState = Object.fromEntries(Object.keys(state.clean).map((k) => [k, row[k] ?? null]));
    const leaks = KNOWN_DEFECTS[tb.driver]['autocommit-reset'];
    if (leaks) expect(seenState, leaks).not.toEqual(state.clean);
    else expect(seenState).toEqual(state.clean);
  });
});
