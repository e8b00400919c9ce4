import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Driver, testBackends, uniqueName } from '../helpers/backends.js';
import { postStream, seriesSql } from '../helpers/ndjson.js';
import { runningStatements } from '../helpers/server-activity.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * A Hrana client that goes away mid-request leaves nothing behind, on every backend: a v3 cursor dropped
 * after 1,000 rows, and a pipeline on a stream (a baton) dropped while its statement runs. Within 1 s the
 * statement is no longer running on the server (pg_stat_activity / PROCESSLIST; for SQLite the one worker
 * of a one-connection pool is free again), the stream's session is gone (ended with its client, not at the
 * idle timeout) and the pool has its connection back; the stream's baton is then STREAM_EXPIRED.
 */

const backends = await testBackends();

/** A statement that runs for a long time without a row to stream (minutes, unless cancelled). */
function slowSql(driver: Driver, marker: string): string {
  switch (driver) {
    case 'postgres':
      return `/* ${marker} */ SELECT pg_sleep(60) AS x`;
    case 'mysql':
      return `/* ${marker} */ SELECT SLEEP(60) AS x`;
    case 'sqlite':
      return `/* ${marker} */ WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 10000000000) SELECT count(*) AS x FROM s`;
  }
}

async function waitUntil(what: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await what()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** POST a JSON body and give up on it (the socket destroyed) once `afterMs` passed without an answer. */
function postAndDrop(url: string, body: unknown, afterMs: number): Promise<'dropped' | number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('dropped');
    }, afterMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end(JSON.stringify(body));
  });
}

const stmt = (sql: string) => ({ sql, want_rows: true });

for (const b of backends) {
  describe.skipIf(b.skipReason !== null)(`Hrana client gone mid-request on ${b.driver}`, () => {
    let s: ServedApp;
    const pool = () => s.app.backends.get('main').poolStats();
    /** Nothing of the dropped request left: not running, no session, the pool's connection back. */
    const settled = async (marker: string) =>
      waitUntil(
        async () =>
          s.app.sessions.size === 0 &&
          pool().inUse === 0 &&
          (await runningStatements(b.driver, marker)) === 0,
        1000,
      );
    /** The backend answers again (for SQLite: its single worker is not still computing). */
    const answers = async () => {
      const r = await s.exec('SELECT 2 AS x');
      expect(r.status).toBe(200);
      expect(Number(r.body.rows[0].x)).toBe(2);
    };

    beforeAll(async () => {
      s = await serveTestApp({
        backends: { main: b.backendDoc({ pool: { max: 1 } }) },
        // Long enough that only the client going away can end these streams within the test's 1 s.
        sessions: { idleTimeoutMs: 60_000 },
        limits: { maxStreamRows: 100_000_000 },
      });
    });
    afterAll(async () => {
      await s?.close();
    });

    it('a v3 cursor dropped after 1,000 rows: statement cancelled, stream and connection released', async () => {
      const marker = uniqueName('cur');
      const r = await postStream(`${s.url}/v3/cursor`, {
        baton: null,
        batch: { steps: [{ stmt: stmt(seriesSql(b.driver, 100_000_000, marker)) }] },
      });
      expect(r.status).toBe(200);
      const seen: unknown[] = [];
      const { count } = await r.lines((line, i) => {
        if (i < 2) seen.push(line);
        return i >= 1001 ? 'stop' : undefined;
      });
      expect(count).toBe(1002);
      expect(seen[0]).toMatchObject({ baton: expect.any(String), base_url: null });
      expect(seen[1]).toMatchObject({ type: 'step_begin', step: 0 });
      expect(s.app.sessions.size).toBe(1);
      r.destroy();
      expect(await settled(marker)).toBe(true);
      await answers();
      // The stream ended with its client: the baton of the cursor's first line is expired, not live.
      const again = await fetch(`${s.url}/v3/pipeline`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          baton: (seen[0] as { baton: string }).baton,
          requests: [{ type: 'execute', stmt: stmt('SELECT 1') }],
        }),
      });
      expect(again.status).toBe(400);
      expect(((await again.json()) as { code: string }).code).toBe('STREAM_EXPIRED');
    }, 30_000);

    it('a pipeline on a baton dropped while its statement runs: cancelled, stream and connection released', async () => {
      const open = await fetch(`${s.url}/v3/pipeline`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ baton: null, requests: [{ type: 'execute', stmt: stmt('SELECT 1 AS one') }] }),
      });
      expect(open.status).toBe(200);
      const { baton } = (await open.json()) as { baton: string };
      expect(typeof baton).toBe('string');
      expect(s.app.sessions.size).toBe(1);
      const marker = uniqueName('pipe');
      const sent = { baton, requests: [{ type: 'execute', stmt: stmt(slowSql(b.driver, marker)) }] };
      // Dropped once the statement is surely running (it would run for a minute).
      expect(await postAndDrop(`${s.url}/v3/pipeline`, sent, 400)).toBe('dropped');
      expect(await settled(marker)).toBe(true);
      await answers();
    }, 30_000);
  });
}
