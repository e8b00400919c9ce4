import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATEMENT_CACHE_SIZE } from '../../src/backend/postgres/postgres-statement-cache.js';
import { rowsJsonOf } from '../../src/backend/rows-json.js';
import type { Connection, StorageBackend } from '../../src/backend/storage-backend.js';
import type { ExecOptions, ParamValue } from '../../src/backend/types.js';
import { SqlgateError } from '../../src/errors.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { directOptions, testBackends, uniqueName } from '../helpers/backends.js';

/**
 * The PostgreSQL backend's named prepared statements (postgres-statement-cache.ts) against a real server:
 * what gets prepared, the bound, resets, DDL between runs (through the gateway and from elsewhere), and a
 * stale statement inside a transaction. What is on the server is read from pg_prepared_statements on the
 * same connection.
 */
const pg = (await testBackends()).find((b) => b.driver === 'postgres');

const OPTS = directOptions();
const int = (value: number): ParamValue => ({ type: 'INTEGER', value });

describe('postgres prepared statements', () => {
  if (!pg || pg.skipReason) {
    it.skip(`skipped: ${pg?.skipReason ?? 'no postgres backend'}`, () => {});
    return;
  }
  let t: TestApp;
  /** A second gateway: its DDL is invisible to the first one's bookkeeping, like a migration tool's. */
  let other: TestApp;
  let backend: StorageBackend;
  let otherBackend: StorageBackend;
  const created: string[] = [];

  const q = (c: Connection, sql: string, params: ParamValue[] = [], opts: Partial<ExecOptions> = {}) =>
    c.execute({ sql, params }, { ...OPTS, ...opts });
  /** The gateway's statements prepared on this connection, by SQL text (this query itself left out). */
  const prepared = async (c: Connection): Promise<Map<string, string>> => {
    const res = await q(
      c,
      "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'sqlgate\\_%'",
    );
    const rows = res.rows as Array<{ name: string; statement: string }>;
    return new Map(
      rows.filter((r) => !r.statement.includes('pg_prepared_statements')).map((r) => [r.statement, r.name]),
    );
  };
  const elsewhere = async (sql: string) => {
    await otherBackend.execute({ sql, params: [] }, OPTS);
  };
  const table = async (columns: string, rows: string): Promise<string> => {
    const name = uniqueName('pgs');
    await elsewhere(`CREATE TABLE ${name} (${columns})`);
    await elsewhere(`INSERT INTO ${name} VALUES ${rows}`);
    created.push(name);
    return name;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: pg.backendDoc({ pool: { max: 2 } }) } });
    other = await makeTestApp({ backends: { db: pg.backendDoc({ pool: { max: 2 } }) } });
    backend = t.app.backends.get('db');
    otherBackend = other.app.backends.get('db');
  });
  afterAll(async () => {
    for (const name of created.reverse()) await elsewhere(`DROP TABLE IF EXISTS ${name}`).catch(() => {});
    await t?.close();
    await other?.close();
  });

  it('prepares a statement on its second run and reuses it; one-shot SQL is never prepared', async () => {
    const c = await backend.acquire();
    try {
      const sql = `SELECT $1::int + 1 AS v /* ${uniqueName('hit')} */`;
      const once = `SELECT $1::int AS w /* ${uniqueName('once')} */`;
      expect((await q(c, once, [int(1)])).rows).toEqual([{ w: 1 }]);
      expect((await q(c, sql, [int(1)])).rows).toEqual([{ v: 2 }]);
      expect((await prepared(c)).has(sql)).toBe(false);
      expect((await q(c, sql, [int(2)])).rows).toEqual([{ v: 3 }]);
      const name = (await prepared(c)).get(sql);
      expect(name).toMatch(/^sqlgate_[0-9a-f]{8}_\d+$/);
      // Runs 3..5 use the same statement (Bind/Execute only) and still see their own params and columns.
      for (const n of [10, 20, 30]) {
        const res = await q(c, sql, [int(n)]);
        expect(res.rows).toEqual([{ v: n + 1 }]);
        expect(res.columns).toMatchObject([{ name: 'v', type: 'INTEGER', dbType: 'int4' }]);
      }
      const after = await prepared(c);
      expect(after.get(sql)).toBe(name);
      expect(after.has(once)).toBe(false);
      // Array rows, and a result large enough to travel as JSON text, from the prepared statement too.
      const many = `SELECT g AS n, 'x' || g AS s FROM generate_series(1, $1::int) g /* ${uniqueName('many')} */`;
      await q(c, many, [int(1)]);
      const arr = await q(c, many, [int(40)], { rowMode: 'array' });
      expect(arr.rowCount).toBe(40);
      expect(arr.rows[39]).toEqual([40, 'x40']);
      const obj = await q(c, many, [int(40)]);
      expect(obj.rows[0]).toEqual({ n: 1, s: 'x1' });
      expect(JSON.parse(JSON.stringify(obj.rows)).length).toBe(40);
    } finally {
      await c.release();
    }
  });

  it('statementCacheSize: 0 never prepares under a name (PgBouncer in transaction mode)', async () => {
    const off = await makeTestApp({
      backends: { db: pg.backendDoc({ pool: { max: 1 }, statementCacheSize: 0 }) },
    });
    try {
      const c = await off.app.backends.get('db').acquire();
      try {
        const sql = `SELECT $1::int * 2 AS v /* ${uniqueName('off')} */`;
        for (const n of [1, 2, 3]) expect((await q(c, sql, [int(n)])).rows).toEqual([{ v: n * 2 }]);
        expect((await prepared(c)).size).toBe(0);
      } finally {
        await c.release();
      }
    } finally {
      await off.close();
    }
  });

  it(`keeps at most ${STATEMENT_CACHE_SIZE} statements per connection, closing the least recently used`, async () => {
    const c = await backend.acquire();
    try {
      const tag = uniqueName('lru');
      const sqlOf = (i: number) => `SELECT ${i} AS i /* ${tag} */`;
      for (let i = 0; i <= STATEMENT_CACHE_SIZE; i++) {
        await q(c, sqlOf(i));
        expect((await q(c, sqlOf(i))).rows).toEqual([{ i }]);
      }
      const now = await prepared(c);
      expect(now.size).toBeLessThanOrEqual(STATEMENT_CACHE_SIZE);
      expect(now.has(sqlOf(0))).toBe(false);
      expect(now.has(sqlOf(STATEMENT_CACHE_SIZE))).toBe(true);
      // The evicted one still runs (prepared afresh).
      expect((await q(c, sqlOf(0))).rows).toEqual([{ i: 0 }]);
      expect((await prepared(c)).has(sqlOf(0))).toBe(true);
    } finally {
      await c.release();
    }
  });

  it('DISCARD ALL on reset, and a client DEALLOCATE / DISCARD, clear the cache; statements still run', async () => {
    const c = await backend.acquire();
    try {
      const sql = `SELECT $1::text AS s /* ${uniqueName('reset')} */`;
      const text = (value: string): ParamValue => ({ type: 'TEXT', value });
      await q(c, sql, [text('a')]);
      await q(c, sql, [text('b')]);
      expect((await prepared(c)).has(sql)).toBe(true);
      await c.reset();
      expect((await prepared(c)).size).toBe(0);
      expect((await q(c, sql, [text('c')])).rows).toEqual([{ s: 'c' }]);
      expect((await prepared(c)).has(sql)).toBe(true);
      await q(c, 'DEALLOCATE ALL');
      expect((await q(c, sql, [text('d')])).rows).toEqual([{ s: 'd' }]);
      const name = (await prepared(c)).get(sql) as string;
      await q(c, `DEALLOCATE ${name}`);
      expect((await q(c, sql, [text('e')])).rows).toEqual([{ s: 'e' }]);
    } finally {
      await c.release();
    }
  });

  it('ALTER TABLE between two runs: the next run returns the new columns (DDL through the gateway or elsewhere)', async () => {
    const tbl = await table('id int PRIMARY KEY, a text', "(1, 'x')");
    const sql = `SELECT * FROM ${tbl} WHERE id = $1`;
    const c = await backend.acquire();
    try {
      await q(c, sql, [int(1)]);
      expect((await q(c, sql, [int(1)])).rows).toEqual([{ id: 1, a: 'x' }]);
      expect((await prepared(c)).has(sql)).toBe(true);

      // Elsewhere: the server refuses the cached statement (0A000); in autocommit it is re-run at once.
      await elsewhere(`ALTER TABLE ${tbl} ADD COLUMN b int DEFAULT 7`);
      const r1 = await q(c, sql, [int(1)]);
      expect(r1.rows).toEqual([{ id: 1, a: 'x', b: 7 }]);
      expect(r1.columns.map((col) => col.name)).toEqual(['id', 'a', 'b']);
      await elsewhere(`ALTER TABLE ${tbl} ALTER COLUMN b TYPE text`);
      const r2 = await q(c, sql, [int(1)]);
      expect(r2.rows).toEqual([{ id: 1, a: 'x', b: '7' }]);
      expect(r2.columns[2]).toMatchObject({ name: 'b', type: 'TEXT' });
      // The same again in a batch of several sets (executeMany).
      await elsewhere(`ALTER TABLE ${tbl} DROP COLUMN a`);
      const sets = await c.executeMany(sql, [[int(1)], [int(2)]], OPTS);
      expect(sets.map((s) => s.rows)).toEqual([[{ id: 1, b: '7' }], []]);

      // Through this gateway (another connection of the same backend): prepared afresh, no error at all.
      await backend.execute({ sql: `ALTER TABLE ${tbl} ADD COLUMN c bool DEFAULT true`, params: [] }, OPTS);
      expect((await q(c, sql, [int(1)])).rows).toEqual([{ id: 1, b: '7', c: true }]);
    } finally {
      await c.release();
    }
  });

  it('a cached statement made stale inside a transaction fails that transaction cleanly; after rollback it runs', async () => {
    const tbl = await table('id int PRIMARY KEY, a text', "(1, 'x')");
    const sql = `SELECT * FROM ${tbl} WHERE id = $1`;
    const c = await backend.acquire();
    try {
      await q(c, sql, [int(1)]);
      await q(c, sql, [int(1)]);
      expect((await prepared(c)).has(sql)).toBe(true);
      await elsewhere(`ALTER TABLE ${tbl} ADD COLUMN b int DEFAULT 7`);

      await c.run('BEGIN');
      await q(c, `INSERT INTO ${tbl} (id, a) VALUES (2, 'y')`);
      const err = await q(c, sql, [int(1)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SqlgateError);
      expect((err as SqlgateError).details).toMatchObject({ sqlState: '0A000' });
      expect((err as SqlgateError).details.hint).toMatch(/roll back and retry/);
      // Not re-run behind the client's back: the transaction is failed, as the server says.
      expect(c.txStatus()).toBe('failed');
      await c.run('ROLLBACK');
      expect(c.txStatus()).toBe('idle');

      // Nothing of the transaction stayed, and the statement runs again with the new columns.
      expect((await q(c, sql, [int(2)])).rows).toEqual([]);
      expect((await q(c, sql, [int(1)])).rows).toEqual([{ id: 1, a: 'x', b: 7 }]);
      // And inside a new transaction too.
      await c.run('BEGIN');
      expect((await q(c, sql, [int(1)])).rows).toEqual([{ id: 1, a: 'x', b: 7 }]);
      await c.run('COMMIT');
      expect(c.txStatus()).toBe('idle');
    } finally {
      await c.release();
    }
  });

  it('a session or batch does not inherit statements autocommit requests prepared on its connection', async () => {
    const one = await makeTestApp({ backends: { db: pg.backendDoc({ pool: { max: 1 } }) } });
    try {
      const single = one.app.backends.get('db');
      const tbl = await table('id int PRIMARY KEY, a text', "(1, 'x')");
      const sql = `SELECT * FROM ${tbl} WHERE id = $1`;
      await single.execute({ sql, params: [int(1)] }, OPTS);
      await single.execute({ sql, params: [int(1)] }, OPTS);
      await elsewhere(`ALTER TABLE ${tbl} ADD COLUMN b int DEFAULT 7`);
      const c = await single.acquire();
      try {
        await c.run('BEGIN');
        expect((await q(c, sql, [int(1)])).rows).toEqual([{ id: 1, a: 'x', b: 7 }]);
        await c.run('COMMIT');
      } finally {
        await c.release();
      }
    } finally {
      await one.close();
    }
  });

  it('DDL rolled back inside a transaction: the statement prepared inside it is not trusted afterwards', async () => {
    const tbl = await table('id int PRIMARY KEY, a text', "(1, 'x')");
    const sql = `SELECT * FROM ${tbl} WHERE id = $1`;
    const c = await backend.acquire();
    try {
      await c.run('BEGIN');
      await q(c, `ALTER TABLE ${tbl} ADD COLUMN b int DEFAULT 7`);
      await q(c, sql, [int(1)]);
      expect((await q(c, sql, [int(1)])).rows).toEqual([{ id: 1, a: 'x', b: 7 }]);
      await c.run('ROLLBACK');
      await c.run('BEGIN');
      expect((await q(c, sql, [int(1)])).rows).toEqual([{ id: 1, a: 'x' }]);
      await c.run('COMMIT');
    } finally {
      await c.release();
    }
  });

  it('params of every length and script reach the server intact, named or not', async () => {
    const c = await backend.acquire();
    try {
      const sql = `SELECT $1::text AS s, length($1::text) AS n, $2::bytea AS b /* ${uniqueName('utf8')} */`;
      const values = ['', 'a', 'é€😀', `${'x'.repeat(63)}é`, 'ascii '.repeat(30), `${'y'.repeat(100)}😀`];
      for (const v of values) {
        for (let run = 0; run < 2; run++) {
          const res = await q(c, sql, [
            { type: 'TEXT', value: v },
            { type: 'BLOB', value: new Uint8Array([0, 1, 255]) },
          ]);
          expect(res.rows).toEqual([{ s: v, n: [...v].length, b: 'AAH/' }]);
        }
      }
      expect(
        (
          await c.executeMany(
            `SELECT $1::text AS s /* ${uniqueName('utf8many')} */`,
            [[{ type: 'TEXT', value: 'ü' }], [{ type: 'NULL', value: null }]],
            OPTS,
          )
        ).map((r) => r.rows),
      ).toEqual([[{ s: 'ü' }], [{ s: null }]]);
    } finally {
      await c.release();
    }
  });

  it('a failed first run (bad SQL, bad param) leaves nothing half-prepared in the way', async () => {
    const c = await backend.acquire();
    try {
      const sql = `SELECT $1::int AS v /* ${uniqueName('bad')} */`;
      const text = (value: string): ParamValue => ({ type: 'TEXT', value });
      await expect(q(c, sql, [text('nope')])).rejects.toBeInstanceOf(SqlgateError);
      await expect(q(c, sql, [text('nope')])).rejects.toBeInstanceOf(SqlgateError);
      expect((await q(c, sql, [int(5)])).rows).toEqual([{ v: 5 }]);
      expect((await q(c, sql, [int(6)])).rows).toEqual([{ v: 6 }]);
      const broken = `SELEC 1 /* ${uniqueName('syntax')} */`;
      for (let i = 0; i < 3; i++) {
        await expect(q(c, broken)).rejects.toMatchObject({ code: 'SQL_SYNTAX_ERROR' });
      }
      expect(c.txStatus()).toBe('idle');
      expect((await q(c, 'SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.release();
    }
  });

  it('rows built as JSON text equal the decoded values, type by type, in both row modes', async () => {
    const sql = `SELECT g AS i2, g::int8 * 3000000000 AS i8, (g / 3.0)::numeric(10,4) AS num, g / 7.0::float8 AS f8,
        CASE WHEN g % 5 = 0 THEN 'NaN'::float8 WHEN g % 7 = 0 THEN '-Infinity'::float8 ELSE 1e300 END AS fspecial,
        'tab\t"quote" \\ é ' || g AS txt, g % 2 = 0 AS b, decode(lpad(to_hex(g), 4, '0'), 'hex') AS bytes,
        '{"k": 1, "big": 12345678901234, "s": "a\\"b", "n": null}'::jsonb AS doc, '[1, 2.50, "x"]'::json AS js,
        DATE '2024-02-29' + g AS d, TIME '12:34:56.789' AS t, TIMETZ '12:00:00+05:30' AS ttz,
        TIMESTAMP '2024-01-01 00:00:00.123456' + g * INTERVAL '1 second' AS ts,
        TIMESTAMPTZ '2024-01-01 00:00:00.5+00' + g * INTERVAL '1 hour' AS tstz,
        TIMESTAMPTZ '1850-01-01 00:00:00+00' AS old, 'infinity'::timestamptz AS inf,
        INTERVAL '1 day 02:03:04' AS iv, gen_random_uuid() IS NOT NULL AS has_uuid,
        '00000000-0000-4000-8000-00000000000a'::uuid AS u, ARRAY[g, NULL, 3] AS arr, ARRAY['a,b', NULL, 'c"d'] AS tarr,
        NULL::text AS nothing, '1.5'::money AS cash
      FROM generate_series(1, 40) g`;
    const c = await backend.acquire();
    try {
      await q(c, "SET TIME ZONE 'Europe/Amsterdam'");
      for (const rowMode of ['object', 'array'] as const) {
        const text = await q(c, sql, [], { rowMode });
        expect(rowsJsonOf(text)).toBeDefined();
        // Any columnTypes entry sends the rows through the value decoders instead.
        const values = await q(c, sql, [], { rowMode, columnTypes: { not_a_column: 'TEXT' } });
        expect(rowsJsonOf(values)).toBeUndefined();
        expect(text.rowCount).toBe(40);
        expect(JSON.parse(JSON.stringify(text.rows))).toEqual(JSON.parse(JSON.stringify(values.rows)));
        expect(text.columns).toEqual(values.columns);
      }
      const bigNumbers = await q(c, 'SELECT g::int8 AS n FROM generate_series(1, 40) g', [], {
        int64: 'number',
      });
      expect(bigNumbers.rows[39]).toEqual({ n: 40 });
      const unsafe = q(c, 'SELECT (g::int8 + 9007199254740990) AS n FROM generate_series(1, 40) g', [], {
        int64: 'number',
      });
      await expect(unsafe).rejects.toMatchObject({ code: 'TYPE_CONVERSION_ERROR' });
      // A JSON number a double cannot hold stays the server's text in the rows' JSON (json-text.ts).
      const risky = await q(
        c,
        `SELECT '{"n": 12345678901234567890}'::jsonb AS doc FROM generate_series(1, 40)`,
      );
      expect(rowsJsonOf(risky)?.startsWith('[{"doc":{"n":12345678901234567890}},')).toBe(true);
      // Duplicate column names keep the object-row rule (the last value wins).
      const dup = await q(c, 'SELECT g AS a, -g AS a FROM generate_series(1, 40) g');
      expect(dup.rows[0]).toEqual({ a: -1 });
    } finally {
      await c.release();
    }
  });
});
