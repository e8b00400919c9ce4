import * as hrana from '@libsql/hrana-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Driver, testBackends, uniqueName } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * Hrana 3 cursors (POST /v3/cursor) with the real @libsql/hrana-client, on every backend: a batch whose
 * rows stream back as NDJSON entries, conditions, step errors, the stream (baton) kept for the next request,
 * transactions across a cursor and a pipeline, the stream limits, and malformed cursor requests.
 *
 * Which endpoint: hrana-client 0.10 probes only `/v3-protobuf` for Hrana 3 (its JSON `v3` entry is in the
 * code but commented out of the probe list), and @libsql/client 0.18 opens its HTTP client at version 2, so
 * neither reaches cursors by itself. The test selects the client's own JSON v3 endpoint explicitly; every
 * request, encoding and decoding after that is the library's.
 */

const backends = await testBackends();

const JSON_V3 = {
  versionPath: 'v3',
  pipelinePath: 'v3/pipeline',
  cursorPath: 'v3/cursor',
  version: 3,
  encoding: 'json',
} as const;

/** A hrana-client HTTP client on the JSON Hrana 3 endpoint (see above). */
async function openV3(url: string): Promise<hrana.HttpClient> {
  const client = hrana.openHttp(url, undefined, undefined, undefined, 2);
  await client.getVersion(); // let the constructor's own endpoint settle first
  const internal = client as unknown as { _endpoint: unknown; _endpointPromise: Promise<unknown> };
  internal._endpoint = JSON_V3;
  internal._endpointPromise = Promise.resolve(JSON_V3);
  expect(await client.getVersion()).toBe(3);
  return client;
}

interface Flavour {
  /** `n` (1..count) as a 64-bit integer column and `t` = 'r' || n. */
  series(count: number): string;
  ddl(t: string): string;
  p(i: number): string;
}

const FLAVOURS: Record<Driver, Flavour> = {
  sqlite: {
    series: (c) =>
      `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${c}) SELECT n, 'r' || n AS t FROM g`,
    ddl: (t) => `CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT)`,
    p: () => '?',
  },
  postgres: {
    series: (c) => `SELECT n::int8 AS n, 'r' || n AS t FROM generate_series(1, ${c}) AS n`,
    ddl: (t) => `CREATE TABLE ${t} (id int8 PRIMARY KEY, name text)`,
    p: (i) => `$${i}`,
  },
  mysql: {
    // MariaDB stops a recursive CTE after max_recursive_iterations (1000): digits cross-joined instead.
    series: (c) => {
      const d =
        '(SELECT 0 AS x UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)';
      return `SELECT n, CONCAT('r', n) AS t FROM (SELECT a.x + 10 * b.x + 100 * c.x + 1000 * d.x + 10000 * e.x + 1 AS n FROM ${d} a, ${d} b, ${d} c, ${d} d, ${d} e) s WHERE n <= ${c} ORDER BY n`;
    },
    ddl: (t) => `CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR(32))`,
    p: () => '?',
  },
};

for (const b of backends) {
  const f = FLAVOURS[b.driver];
  describe.skipIf(b.skipReason !== null)(`Hrana 3 cursors on ${b.driver}`, () => {
    let s: ServedApp;
    let client: hrana.HttpClient;
    const t = uniqueName('hc');

    beforeAll(async () => {
      s = await serveTestApp({
        backends: { main: b.backendDoc({ pool: { max: 4 } }) },
        limits: { maxStreamRows: 50_000 },
      });
      client = await openV3(s.url);
      client.intMode = 'bigint';
      const st = client.openStream();
      await st.run(f.ddl(t));
      st.close();
    });
    afterAll(async () => {
      if (!s) return;
      const st = client.openStream();
      await st.run(`DROP TABLE IF EXISTS ${t}`);
      st.close();
      client.close();
      await new Promise((r) => setTimeout(r, 100));
      await s.close();
    });

    /** The client closes its stream in the background (a close pipeline): wait for it, up to 10 s. */
    const nothingOpen = async () => {
      const pool = () => s.app.backends.get('main').poolStats().inUse;
      for (let i = 0; i < 500 && (s.app.sessions.size > 0 || pool() > 0); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(s.app.sessions.size).toBe(0);
      expect(pool()).toBe(0);
    };

    it('streams a batch: rows exact and in order, conditions, step errors, affected rows', async () => {
      const stream = client.openStream();
      const batch = stream.batch(true);
      const s0 = batch.step();
      const rows = s0.query(f.series(5000));
      const s1 = batch.step();
      const ins = s1.run([`INSERT INTO ${t} (id, name) VALUES (${f.p(1)}, ${f.p(2)})`, [1n, 'one']]);
      const afterOk = batch.step().condition(hrana.BatchCond.ok(s1)).queryValue('SELECT 1 AS one');
      const s3 = batch.step();
      const bad = s3.query('SELECT * FROM no_such_table_hc');
      const onError = batch.step().condition(hrana.BatchCond.error(s3)).queryValue('SELECT 2 AS two');
      const skipped = batch.step().condition(hrana.BatchCond.ok(s3)).query('SELECT 3 AS three');
      rows.catch(() => undefined);
      bad.catch(() => undefined);
      await batch.execute();
      const r = await rows;
      expect(r?.columnNames).toEqual(['n', 't']);
      expect(r?.rows).toHaveLength(5000);
      expect(r?.rows[0]?.[0]).toBe(1n);
      expect(r?.rows[4999]?.[0]).toBe(5000n);
      expect(r?.rows[4999]?.[1]).toBe('r5000');
      expect(r?.rows.every((row, i) => row[0] === BigInt(i + 1) && row[1] === `r${i + 1}`)).toBe(true);
      expect((await ins)?.affectedRowCount).toBe(1);
      expect(Number((await afterOk)?.value)).toBe(1);
      await expect(bad).rejects.toBeInstanceOf(hrana.ResponseError);
      expect(Number((await onError)?.value)).toBe(2);
      expect(await skipped).toBeUndefined();
      // The stream lives on after a cursor: a pipeline request on the same baton sees the row.
      const check = await stream.query(`SELECT name FROM ${t} WHERE id = 1`);
      expect(check.rows[0]?.[0]).toBe('one');
      stream.close();
      await nothingOpen();
    });

    it('keeps a transaction across a cursor and pipelines; rollback undoes it', async () => {
      const stream = client.openStream();
      const batch = stream.batch(true);
      batch.step().run('BEGIN');
      const inTx = batch
        .step()
        .condition(hrana.BatchCond.not(hrana.BatchCond.isAutocommit(batch)))
        .run([`INSERT INTO ${t} (id, name) VALUES (${f.p(1)}, 'tx')`, [2n]]);
      await batch.execute();
      expect((await inTx)?.affectedRowCount).toBe(1);
      expect(await stream.getAutocommit()).toBe(false);
      await stream.run('ROLLBACK');
      expect(await stream.getAutocommit()).toBe(true);
      const n = await stream.queryValue(`SELECT COUNT(*) FROM ${t} WHERE id = 2`);
      expect(n.value).toBe(0n);
      stream.close();
      await nothingOpen();
    });

    it('a step over limits.maxStreamRows fails with RESPONSE_TOO_LARGE; the next step still runs', async () => {
      const stream = client.openStream();
      const batch = stream.batch(true);
      const big = batch.step().query(f.series(60_000));
      const next = batch.step().query('SELECT 42 AS x');
      big.catch(() => undefined);
      await batch.execute();
      await expect(big).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
      expect(Number((await next)?.rows[0]?.[0])).toBe(42);
      stream.close();
      await nothingOpen();
    });

    it('refuses malformed cursor requests with coded JSON and leaves no stream open', async () => {
      const post = async (body: string) => {
        const res = await fetch(`${s.url}/v3/cursor`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        return {
          status: res.status,
          type: res.headers.get('content-type'),
          json: (await res.json()) as { code?: string },
        };
      };
      const cases: Array<[string, string, string]> = [
        ['{"baton":null', 'not JSON', ''],
        ['{"baton":null}', 'no batch', 'HRANA_PROTO_ERROR'],
        ['{"baton":null,"batch":{"steps":[{"stmt":{}}]}}', 'a stmt without sql', 'HRANA_PROTO_ERROR'],
        [
          '{"baton":null,"batch":{"steps":[{"stmt":{"sql":"SELECT ?","args":[7]}}]}}',
          'a bare number arg',
          'HRANA_PROTO_ERROR',
        ],
        [
          '{"baton":"forged.1.xxxxxxxxxxxxxxxxxxxxxx","batch":{"steps":[]}}',
          'a forged baton',
          'BATON_INVALID',
        ],
      ];
      for (const [body, what, code] of cases) {
        const r = await post(body);
        expect(r.status, what).toBe(400);
        expect(r.type, what).toBe('application/json');
        if (code) expect(r.json.code, what).toBe(code);
        else expect(typeof r.json.code, what).toBe('string');
      }
      await nothingOpen();
    });
  });
}
