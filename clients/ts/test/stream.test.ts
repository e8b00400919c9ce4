import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient, SqlgateError, sql } from '../src/index.js';
import { DDL, SUFFIX } from './ddl.js';
import { cuttingProxy } from './faults.js';
import { type Db, type Gateway, MYSQL_URL, PG_URL, startGateway, uniqueName } from './gateway.js';
import { failingSql, runningSql, seriesSql } from './series.js';

/**
 * stream() over the gateway's NDJSON endpoint, on every database: 100,000 rows exact and in order, the
 * same decoding as execute, early break and abort releasing the connection (a pool of one proves it),
 * a mid-stream error, a cut body, and streams inside a transaction.
 */
const ALL: Db[] = ['sqlite', 'postgres', 'mysql'];
// A second backend per database with a pool of ONE connection: a leaked connection makes the next call 503.
const one = (db: Db, url: string) => `  ${db}_one: { driver: ${db}, url: "${url}", pool: { max: 1, acquireTimeoutMs: 3000 } }`;
const oneFile = join(tmpdir(), `${uniqueName('one')}.sqlite`);
const gw: Gateway = await startGateway(
  [
    `  sqlite_one: { driver: sqlite, database: "${oneFile}", pool: { max: 1, acquireTimeoutMs: 3000 } }`,
    one('postgres', PG_URL),
    one('mysql', MYSQL_URL),
    '',
  ].join('\n'),
);
afterAll(async () => {
  await gw.stop();
  for (const f of [oneFile, `${oneFile}-wal`, `${oneFile}-shm`]) rmSync(f, { force: true });
});

async function waitUntil(what: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await what()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(ALL)('stream on %s', (db) => {
  if (!gw.dbs.includes(db)) {
    it.skip(`skipped: ${gw.skipped[db]}`, () => {});
    return;
  }
  let c: Client;
  let single: Client;
  const T = DDL[db];
  beforeAll(() => {
    c = createClient({ url: gw.url, backend: db });
    single = createClient({ url: gw.url, backend: `${db}_one` });
  });

  /** The pool of one is free and the query is no longer running on the server. */
  const released = async (marker: string) => {
    expect((await single.execute('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    const q = runningSql(db, marker);
    if (q) expect(await waitUntil(async () => (await c.execute(q)).rows[0]?.n === 0, 5000)).toBe(true);
  };

  it('gives 100,000 rows complete, in order and exact, with the columns first', async () => {
    const n = 100_000;
    const s = await c.stream<{ n: number; t: string }>(seriesSql(db, n));
    expect(s.columns.map((x) => [x.name, x.type])).toEqual([
      ['n', 'BIGINT'],
      // MariaDB types CONCAT(...) as VARCHAR; the others as TEXT.
      ['t', db === 'mysql' ? 'VARCHAR' : 'TEXT'],
    ]);
    expect(s.summary).toBeUndefined();
    let i = 0;
    let bad = 0;
    for await (const row of s) {
      i++;
      if (row.n !== i || row.t !== `r${i}`) bad++;
    }
    expect(i).toBe(n);
    expect(bad).toBe(0);
    expect(s.summary).toMatchObject({ rowCount: n, affectedRows: 0, lastInsertId: null });
    expect(typeof s.summary?.durationMs).toBe('number');
  }, 120_000);

  it('decodes rows exactly as execute does (BIGINT beyond 2^53, BLOB, DECIMAL, arrays)', async () => {
    const t = uniqueName('sd');
    await c.execute(`CREATE TABLE ${t} (id ${T.INTEGER}, big ${T.BIGINT}, dcm ${T.DECIMAL}, b ${T.BLOB})${SUFFIX[db]}`);
    try {
      const sets = Array.from({ length: 300 }, (_, i) => [
        i,
        2n ** 53n + BigInt(i),
        { $type: 'DECIMAL', value: `${i}.125` },
        i % 5 === 0 ? null : new Uint8Array([i % 256, 0, 255]),
      ]);
      const ph = (k: number) => (db === 'postgres' ? `$${k + 1}` : '?');
      await c.batch(`INSERT INTO ${t} VALUES (${ph(0)}, ${ph(1)}, ${ph(2)}, ${ph(3)})`, sets);
      for (const options of [{ int64: 'bigint' as const }, { rowMode: 'array' as const }, { int64: 'string' as const }]) {
        const q = sql`SELECT * FROM ${sql([t] as unknown as TemplateStringsArray)} WHERE id >= ${0} ORDER BY id`;
        const plain = await c.execute(q, options);
        const s = await c.stream(q, options);
        const got: unknown[] = [];
        for await (const row of s) got.push(row);
        expect(s.columns).toEqual(plain.columns);
        expect(got).toEqual(plain.rows);
        expect(got.length).toBe(300);
      }
      const first = await c.stream<{ big: bigint; b: Uint8Array | null }>(`SELECT big, b FROM ${t} WHERE id = 1`, undefined, {
        int64: 'bigint',
      });
      const rows = [];
      for await (const r of first) rows.push(r);
      expect(rows).toEqual([{ big: 2n ** 53n + 1n, b: new Uint8Array([1, 0, 255]) }]);
    } finally {
      await c.execute(`DROP TABLE ${t}`);
    }
  });

  it('break stops the request: the server stops the query and the connection is free again', async () => {
    const marker = uniqueName('brk');
    const s = await single.stream<{ n: number }>(seriesSql(db, 50_000_000, marker));
    let seen = 0;
    for await (const row of s) {
      seen++;
      expect(row.n).toBe(seen);
      if (seen === 1000) break;
    }
    expect(seen).toBe(1000);
    expect(s.summary).toBeUndefined();
    await released(marker);
  });

  it('an AbortSignal cancels a running stream with ABORTED', async () => {
    const marker = uniqueName('abt');
    const ctl = new AbortController();
    const s = await single.stream(seriesSql(db, 50_000_000, marker), undefined, { signal: ctl.signal });
    let seen = 0;
    const err = await (async () => {
      for await (const _ of s) if (++seen === 500) ctl.abort();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlgateError);
    expect((err as SqlgateError).code).toBe('ABORTED');
    expect(seen).toBeGreaterThanOrEqual(500);
    await released(marker);
  });

  it('a statement failing midway throws its coded error after the rows that came', async () => {
    const s = await single.stream<{ n: number }>(failingSql(db, 2500));
    const got: number[] = [];
    const err = await (async () => {
      for await (const row of s) got.push(Number(row.n));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlgateError);
    const e = err as SqlgateError;
    expect(e.code).toBe('QUERY_FAILED');
    expect(e.class).toBe('DatabaseError');
    expect(e.retryable).toBe(false);
    expect(typeof e.requestId).toBe('string');
    expect(e.info.rowsReceived).toBe(got.length);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThanOrEqual(2500);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    expect(s.summary).toBeUndefined();
    expect((await single.execute('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
  });

  it('an error before the first row rejects stream() with the ordinary coded error', async () => {
    const e = (await c.stream('SELECT * FROM no_such_table_here').catch((x: unknown) => x)) as SqlgateError;
    expect(e).toBeInstanceOf(SqlgateError);
    expect(e.code).toBe('UNDEFINED_OBJECT');
    expect(e.status).toBe(400);
  });

  it('streams inside a transaction: it sees the uncommitted rows, and the transaction goes on', async () => {
    const t = uniqueName('stx');
    await c.execute(`CREATE TABLE ${t} (id ${T.INTEGER} PRIMARY KEY)${SUFFIX[db]}`);
    try {
      await c.transaction(async (tx) => {
        await tx.batch(`INSERT INTO ${t} (id) VALUES (${db === 'postgres' ? '$1' : '?'})`, [[1], [2], [3]]);
        const ids: unknown[] = [];
        for await (const r of await tx.stream(`SELECT id FROM ${t} ORDER BY id`)) ids.push(r.id);
        expect(ids).toEqual([1, 2, 3]);
        // An early break inside the session leaves it usable.
        for await (const _ of await tx.stream(seriesSql(db, 100_000))) break;
        await tx.execute(`INSERT INTO ${t} (id) VALUES (4)`);
      });
      expect((await c.execute(`SELECT COUNT(*) AS n FROM ${t}`)).rows).toEqual([{ n: 4 }]);
      const rolled = await c
        .transaction(async (tx) => {
          await tx.execute(`INSERT INTO ${t} (id) VALUES (5)`);
          for await (const _ of await tx.stream(failingSql(db, 10)));
        })
        .catch((e: SqlgateError) => e.code);
      expect(rolled).toBe('QUERY_FAILED');
      expect((await c.execute(`SELECT COUNT(*) AS n FROM ${t}`)).rows).toEqual([{ n: 4 }]);
    } finally {
      await c.execute(`DROP TABLE ${t}`);
    }
  });
});

describe('stream edges', () => {
  it('a body cut before its trailer is STREAM_INCOMPLETE, never a short success', async () => {
    const proxy = await cuttingProxy(gw.url, 64 * 1024);
    try {
      const c = createClient({ url: proxy.url, backend: 'sqlite', retry: false });
      const s = await c.stream<{ n: number }>(seriesSql('sqlite', 200_000));
      let seen = 0;
      const err = await (async () => {
        for await (const row of s) {
          seen++;
          expect(row.n).toBe(seen);
        }
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SqlgateError);
      expect((err as SqlgateError).code).toBe('STREAM_INCOMPLETE');
      expect((err as SqlgateError).class).toBe('ConnectionError');
      expect(seen).toBeGreaterThan(100);
      expect(seen).toBeLessThan(200_000);
      expect(s.summary).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('a row stream is iterated once; a transaction stream after commit is TRANSACTION_CLOSED', async () => {
    const c = createClient({ url: gw.url, backend: 'sqlite' });
    const s = await c.stream('SELECT 1 AS a');
    const rows: unknown[] = [];
    for await (const r of s) rows.push(r);
    expect(rows).toEqual([{ a: 1 }]);
    expect(s.summary?.rowCount).toBe(1);
    const again = await (async () => {
      for await (const _ of s);
    })().catch((e: SqlgateError) => e.code);
    expect(again).toBe('BAD_REQUEST');
    const tx = await c.session();
    await tx.commit();
    expect(await tx.stream('SELECT 1').catch((e: SqlgateError) => e.code)).toBe('TRANSACTION_CLOSED');
  });

  it('reassembles a row larger than many chunks, and refuses to read a stream cancelled before', async () => {
    const c = createClient({ url: gw.url, backend: 'sqlite' });
    // 3 MB made by the database (a request body that large is refused): 'ab' x 1.5M, then 'end'.
    const big = `${'ab'.repeat(1_500_000)}end`;
    const s = await c.stream<{ v: string; n: number }>(
      "SELECT replace(hex(zeroblob(1500000)), '00', 'ab') || 'end' AS v, 2 AS n",
    );
    const rows = [];
    for await (const r of s) rows.push(r);
    expect(rows.length).toBe(1);
    expect(rows[0]?.v.length).toBe(big.length);
    expect(rows[0]?.v === big).toBe(true);
    expect(rows[0]?.n).toBe(2);
    const early = await c.stream('SELECT 1 AS a');
    early.cancel();
    const e = await (async () => {
      for await (const _ of early);
    })().catch((x: SqlgateError) => x.code);
    expect(e).toBe('ABORTED');
  });
});
