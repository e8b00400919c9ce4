import { type Client, createClient } from '@libsql/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * Hrana batons with the real @libsql/client: a forged baton, a stale (already used) one, and one whose
 * stream expired between requests (the session idle timeout passed). Each is refused with the code the
 * client surfaces as LibsqlError.code, and afterwards no session, pooled connection or open transaction is
 * left behind. The client's own `fetch` option is the hook that tampers with the baton it sends.
 */

const backends = await testBackends();

type Tamper = (baton: string) => string;

/** A fetch for createClient that can rewrite the baton of the next pipeline/cursor request it sends. */
function tamperingFetch() {
  const seen: string[] = [];
  let tamper: Tamper | null = null;
  const f = async (req: Request): Promise<Response> => {
    if (req.method !== 'POST') return fetch(req);
    const body = JSON.parse(await req.text()) as { baton?: string | null };
    if (typeof body.baton === 'string') {
      seen.push(body.baton);
      if (tamper) {
        body.baton = tamper(body.baton);
        tamper = null;
      }
    }
    return fetch(req.url, { method: 'POST', headers: req.headers, body: JSON.stringify(body) });
  };
  return {
    fetch: f,
    seen,
    /** The next request that carries a baton sends `fn(baton)` instead. */
    once(fn: Tamper) {
      tamper = fn;
    },
  };
}

/** Open transactions on this test's PostgreSQL database (other servers' clients use other databases). */
async function pgIdleInTransaction(): Promise<number> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`,
    );
    return r.rows[0].n as number;
  } finally {
    await c.end();
  }
}

for (const b of backends) {
  const p = (i: number) => (b.driver === 'postgres' ? `$${i}` : '?');
  describe.skipIf(b.skipReason !== null)(`Hrana batons on ${b.driver}`, () => {
    let s: ServedApp;
    let plain: Client;
    const t = uniqueName('hb');

    beforeAll(async () => {
      s = await serveTestApp({
        backends: { main: b.backendDoc({ pool: { max: 4 } }) },
        sessions: { idleTimeoutMs: 1000, maxLifetimeMs: 60_000 },
      });
      plain = createClient({ url: s.url, intMode: 'bigint' });
      await plain.execute(`CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR(32))`);
    });
    afterAll(async () => {
      if (!s) return;
      await plain.execute(`DROP TABLE IF EXISTS ${t}`);
      plain.close();
      await s.close();
    });

    const count = async (id: number) =>
      (await plain.execute({ sql: `SELECT COUNT(*) AS n FROM ${t} WHERE id = ${p(1)}`, args: [BigInt(id)] }))
        .rows[0]?.n;

    /** Nothing is left open: no session, no connection out of the pool, no open PostgreSQL transaction. */
    const expectNothingOpen = async () => {
      expect(s.app.sessions.size).toBe(0);
      expect(s.app.backends.get('main').poolStats().inUse).toBe(0);
      if (b.driver === 'postgres') expect(await pgIdleInTransaction()).toBe(0);
    };

    const insert = (id: number) => ({
      sql: `INSERT INTO ${t} (id, name) VALUES (${p(1)}, ${p(2)})`,
      args: [BigInt(id), `n${id}`],
    });

    /** The same INSERT as a raw Hrana stmt (values in Hrana's JSON form). */
    const rawInsert = (id: number) => ({
      sql: `INSERT INTO ${t} (id, name) VALUES (${p(1)}, ${p(2)})`,
      args: [
        { type: 'integer', value: String(id) },
        { type: 'text', value: `n${id}` },
      ],
    });

    it('a forged baton is BATON_INVALID; the real stream is closed with it', async () => {
      const tf = tamperingFetch();
      const c = createClient({ url: s.url, intMode: 'bigint', fetch: tf.fetch });
      const tx = await c.transaction('write');
      await tx.execute(insert(1));
      expect(s.app.sessions.size).toBe(1);
      // A baton that looks right but was never issued (its MAC is wrong).
      tf.once((baton) => `${baton.slice(0, baton.lastIndexOf('.'))}.AAAAAAAAAAAAAAAAAAAAAA`);
      const err = await tx.execute(insert(2)).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'LibsqlError', code: 'BATON_INVALID' });
      expect(tx.closed).toBe(true);
      tx.close();
      c.close();
      // A made-up baton never reaches the stream: the client, on the error, closes its stream with its
      // real baton (rolled back), and the reaper would end it otherwise.
      await waitFor(() => s.app.sessions.size === 0);
      expect(await count(1)).toBe(0n);
      expect(await count(2)).toBe(0n);
      await expectNothingOpen();
    });

    it('garbage batons are BATON_INVALID and open nothing', async () => {
      for (const baton of ['x', '', '...', 'a.b.c', `${'z'.repeat(5000)}.1.x`, 'ab.9007199254740993.m']) {
        const res = await fetch(`${s.url}/v2/pipeline`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ baton, requests: [{ type: 'execute', stmt: { sql: 'SELECT 1' } }] }),
        });
        expect(res.status, baton.slice(0, 20)).toBe(400);
        expect(res.headers.get('content-type')).toBe('application/json');
        expect(await res.json()).toMatchObject({ code: 'BATON_INVALID' });
      }
      await expectNothingOpen();
    });

    it('a stale (already used) baton is BATON_REUSED; the newest baton still works', async () => {
      const tf = tamperingFetch();
      const c = createClient({ url: s.url, intMode: 'bigint', fetch: tf.fetch });
      const tx = await c.transaction('write');
      await tx.execute(insert(10)); // BEGIN + INSERT, no baton yet: the reply issues the first one
      await tx.execute(insert(11)); // sends baton #1, gets #2
      expect(tf.seen).toHaveLength(1);
      const stale = tf.seen[0] as string;
      // Replay #1 from outside the client: refused, and the stream is untouched.
      const replay = await fetch(`${s.url}/v2/pipeline`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ baton: stale, requests: [{ type: 'execute', stmt: rawInsert(12) }] }),
      });
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ code: 'BATON_REUSED' });
      // The client itself sending a stale baton gets the same code.
      tf.once(() => stale);
      const err = await tx.execute(insert(13)).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'LibsqlError', code: 'BATON_REUSED' });
      c.close();
      await waitFor(() => s.app.sessions.size === 0);
      for (const id of [10, 11, 12, 13]) expect(await count(id)).toBe(0n);
      await expectNothingOpen();
    });

    it('the newest baton keeps working after a replay was refused, and commits', async () => {
      const first = await rawPipeline(s.url, null, [{ type: 'execute', stmt: { sql: 'BEGIN' } }]);
      const b1 = first.baton as string;
      const second = await rawPipeline(s.url, b1, [{ type: 'execute', stmt: rawInsert(20) }]);
      expect(second.results[0].type).toBe('ok');
      const b2 = second.baton as string;
      expect(b2).not.toBe(b1);
      const again = await rawPipelineResponse(s.url, b1, [{ type: 'execute', stmt: rawInsert(21) }]);
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({ code: 'BATON_REUSED' });
      const done = await rawPipeline(s.url, b2, [
        { type: 'execute', stmt: { sql: 'COMMIT' } },
        { type: 'close' },
      ]);
      expect(done.baton).toBeNull();
      expect(done.results.map((r: { type: string }) => r.type)).toEqual(['ok', 'ok']);
      expect(await count(20)).toBe(1n);
      expect(await count(21)).toBe(0n);
      // The closed stream's last baton now names a stream that has ended.
      const after = await rawPipelineResponse(s.url, b2, [{ type: 'close' }]);
      expect(after.status).toBe(400);
      expect(after.body).toMatchObject({ code: 'STREAM_EXPIRED' });
      await expectNothingOpen();
    });

    it('a stream that expired between requests is STREAM_EXPIRED, rolled back, nothing leaked', async () => {
      const c = createClient({ url: s.url, intMode: 'bigint' });
      const tx = await c.transaction('write');
      await tx.execute(insert(30));
      expect(s.app.sessions.size).toBe(1);
      if (b.driver === 'postgres') expect(await pgIdleInTransaction()).toBe(1);
      // sessions.idleTimeoutMs is 1 s: the reaper ends the stream while the client is idle.
      await waitFor(() => s.app.sessions.size === 0);
      const err = await tx.execute(insert(31)).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'LibsqlError', code: 'STREAM_EXPIRED' });
      expect(tx.closed).toBe(true);
      tx.close();
      c.close();
      expect(await count(30)).toBe(0n);
      expect(await count(31)).toBe(0n);
      await expectNothingOpen();
      expect(s.app.sessions.metrics().reapedTotal).toBeGreaterThan(0);
    });

    it('a baton of a stream on another backend is refused', async () => {
      const two = await serveTestApp({
        backends: {
          main: b.backendDoc({ pool: { max: 2 } }),
          lite: { driver: 'sqlite', database: ':memory:' },
        },
        defaultBackend: 'main',
      });
      try {
        const open = await rawPipeline(`${two.url}/hrana/lite`, null, [
          { type: 'execute', stmt: { sql: 'SELECT 1' } },
        ]);
        const res = await rawPipelineResponse(`${two.url}/hrana/main`, open.baton, [
          { type: 'execute', stmt: { sql: 'SELECT 1' } },
        ]);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'BATON_INVALID' });
      } finally {
        await two.close();
      }
      expect(two.app.sessions.size).toBe(0);
    });
  });
}

async function rawPipelineResponse(base: string, baton: string | null, requests: unknown[]) {
  const res = await fetch(`${base}/v2/pipeline`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ baton, requests }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function rawPipeline(base: string, baton: string | null, requests: unknown[]) {
  const r = await rawPipelineResponse(base, baton, requests);
  expect(r.status).toBe(200);
  return r.body;
}

/** Polls `cond` every 50 ms for up to 10 s (the reaper runs every 250 ms); fails the test if it never holds. */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached within 10 s');
}
