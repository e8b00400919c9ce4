import { type Client, createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Driver, testBackends, uniqueName } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * Hrana over HTTP with the real @libsql/client (http: URL) on every backend. The SQL differs per database
 * only where the databases do ($1 vs ?, type names); the client code is the same.
 */

const backends = await testBackends();

interface Flavour {
  ddl(t: string): string;
  p(i: number): string;
  values: string;
  /** The code a duplicate primary key gets. */
  dupCode: string;
  /** The code a write in a read-only transaction gets. */
  readOnlyCode: string;
}

const FLAVOURS: Record<Driver, Flavour> = {
  sqlite: {
    ddl: (t) => `CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)`,
    p: () => '?',
    values: "SELECT 9223372036854775807 AS big, 1.5 AS f, 'txt' AS t, X'00ff' AS b, NULL AS n",
    dupCode: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    readOnlyCode: 'SQLITE_READONLY',
  },
  postgres: {
    ddl: (t) => `CREATE TABLE ${t} (id int8 PRIMARY KEY, name text NOT NULL, score float8, data bytea)`,
    p: (i) => `$${i}`,
    values:
      "SELECT 9223372036854775807::int8 AS big, 1.5::float8 AS f, 'txt'::text AS t, '\\x00ff'::bytea AS b, NULL AS n",
    dupCode: 'UNIQUE_VIOLATION',
    readOnlyCode: 'READ_ONLY_VIOLATION',
  },
  mysql: {
    ddl: (t) =>
      `CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, score DOUBLE, data BLOB)`,
    p: () => '?',
    values:
      "SELECT CAST(9223372036854775807 AS SIGNED) AS big, 1.5e0 AS f, 'txt' AS t, X'00ff' AS b, NULL AS n",
    dupCode: 'UNIQUE_VIOLATION',
    readOnlyCode: 'READ_ONLY_VIOLATION',
  },
};

for (const b of backends) {
  const f = FLAVOURS[b.driver];
  describe.skipIf(b.skipReason !== null)(`@libsql/client over Hrana on ${b.driver}`, () => {
    let s: ServedApp;
    let c: Client;
    let other: Client;
    const t = uniqueName('hr');
    const p = f.p;

    beforeAll(async () => {
      s = await serveTestApp({ backends: { main: b.backendDoc() } });
      c = createClient({ url: s.url, intMode: 'bigint' });
      other = createClient({ url: s.url, intMode: 'bigint' });
      await c.execute(f.ddl(t));
    });
    afterAll(async () => {
      if (!s) return;
      await c.execute(`DROP TABLE IF EXISTS ${t}`);
      c.close();
      other.close();
      expect(s.app.sessions.size).toBe(0);
      await s.close();
    });

    const count = async (where = '1=1') =>
      (await other.execute(`SELECT COUNT(*) AS n FROM ${t} WHERE ${where}`)).rows[0]?.n;

    it('returns Hrana values exactly (64-bit integers, floats, text, blobs, null)', async () => {
      const r = await c.execute(f.values);
      expect(r.columns).toEqual(['big', 'f', 't', 'b', 'n']);
      const row = r.rows[0] as unknown as Record<string, unknown>;
      expect(row.big).toBe(9223372036854775807n);
      expect(row.f).toBe(1.5);
      expect(row.t).toBe('txt');
      expect([...new Uint8Array(row.b as ArrayBuffer)]).toEqual([0, 255]);
      expect(row.n).toBeNull();
    });

    it('binds positional and named args and reports rowsAffected and lastInsertRowid', async () => {
      const ins = await c.execute({
        sql: `INSERT INTO ${t} (id, name, score, data) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})`,
        args: [1n, 'one', 0.25, new Uint8Array([1, 2, 3])],
      });
      expect(ins.rowsAffected).toBe(1);
      if (b.driver === 'sqlite') expect(ins.lastInsertRowid).toBe(1n);
      await c.execute({
        sql: `INSERT INTO ${t} (id, name, score) VALUES (:id, :name, :score)`,
        args: { id: 2n, name: 'two', score: null },
      });
      const r = await c.execute({
        sql: `SELECT id, name, score, data FROM ${t} WHERE id <= ${p(1)} ORDER BY id`,
        args: [2n],
      });
      expect(r.rows.map((x) => [x.id, x.name, x.score])).toEqual([
        [1n, 'one', 0.25],
        [2n, 'two', null],
      ]);
      expect([...new Uint8Array(r.rows[0]?.data as ArrayBuffer)]).toEqual([1, 2, 3]);
    });

    for (const mode of ['write', 'deferred'] as const) {
      it(`batch(${mode}) is all-or-nothing`, async () => {
        const base = mode === 'write' ? 100 : 200;
        const ok = await c.batch(
          [
            { sql: `INSERT INTO ${t} (id, name) VALUES (${p(1)}, ${p(2)})`, args: [BigInt(base), 'a'] },
            { sql: `INSERT INTO ${t} (id, name) VALUES (${p(1)}, ${p(2)})`, args: [BigInt(base + 1), 'b'] },
            { sql: `SELECT COUNT(*) AS n FROM ${t} WHERE id >= ${p(1)}`, args: [BigInt(base)] },
          ],
          mode,
        );
        expect(ok[2]?.rows[0]?.n).toBe(2n);
        const err = await c
          .batch(
            [
              { sql: `INSERT INTO ${t} (id, name) VALUES (${p(1)}, ${p(2)})`, args: [BigInt(base + 2), 'c'] },
              { sql: `INSERT INTO ${t} (id, name) VALUES (${p(1)}, ${p(2)})`, args: [BigInt(base), 'dup'] },
            ],
            mode,
          )
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ code: f.dupCode });
        expect(await count(`id = ${base + 2}`)).toBe(0n);
      });
    }

    it('batch(read) reads and refuses writes', async () => {
      const [r] = await c.batch([`SELECT COUNT(*) AS n FROM ${t}`], 'read');
      expect(typeof r?.rows[0]?.n).toBe('bigint');
      const err = await c
        .batch([`INSERT INTO ${t} (id, name) VALUES (300, 'no')`], 'read')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: f.readOnlyCode });
      expect(await count('id = 300')).toBe(0n);
      // the read-only mode did not outlive its transaction
      await c.execute(`INSERT INTO ${t} (id, name) VALUES (301, 'yes')`);
      expect(await count('id = 301')).toBe(1n);
    });

    it('keeps an interactive transaction across requests (batons), commit and rollback', async () => {
      const tx = await c.transaction('write');
      await tx.execute({ sql: `INSERT INTO ${t} (id, name) VALUES (${p(1)}, 'tx')`, args: [400n] });
      const inside = await tx.execute(`SELECT COUNT(*) AS n FROM ${t} WHERE id = 400`);
      expect(inside.rows[0]?.n).toBe(1n);
      expect(s.app.sessions.size).toBe(1);
      expect(await count('id = 400')).toBe(0n);
      await tx.commit();
      expect(await count('id = 400')).toBe(1n);

      const tx2 = await c.transaction('write');
      await tx2.execute(`INSERT INTO ${t} (id, name) VALUES (401, 'gone')`);
      await tx2.rollback();
      expect(await count('id = 401')).toBe(0n);
      expect(s.app.sessions.size).toBe(0);
    });

    it('executeMultiple runs a script in order', async () => {
      await c.executeMultiple(
        `INSERT INTO ${t} (id, name) VALUES (500, 'x;y'); -- a comment; with a semicolon
         INSERT INTO ${t} (id, name) VALUES (501, 'z');`,
      );
      const r = await c.execute(`SELECT name FROM ${t} WHERE id >= 500 AND id < 600 ORDER BY id`);
      expect(r.rows.map((x) => x.name)).toEqual(['x;y', 'z']);
      await expect(
        c.executeMultiple(`INSERT INTO ${t} (id, name) VALUES (502, 'ok'); SELEC 1;`),
      ).rejects.toMatchObject({
        code: expect.any(String),
      });
      expect(await count('id = 502')).toBe(1n);
    });

    it('maps errors to coded LibsqlErrors and leaves no stream open', async () => {
      const dup = await c.execute(`INSERT INTO ${t} (id, name) VALUES (1, 'dup')`).catch((e: unknown) => e);
      expect(dup).toMatchObject({ name: 'LibsqlError', code: f.dupCode });
      const missing = await c.execute('SELECT * FROM no_such_table_hr').catch((e: unknown) => e);
      expect(missing).toMatchObject({ name: 'LibsqlError' });
      expect(s.app.sessions.size).toBe(0);
      expect(s.app.backends.get('main').poolStats().inUse).toBe(0);
    });
  });
}

describe('@libsql/client on SQLite only', () => {
  let s: ServedApp;
  let c: Client;
  beforeAll(async () => {
    const sqlite = backends.find((b) => b.driver === 'sqlite');
    s = await serveTestApp({ backends: { main: sqlite?.backendDoc() ?? {} } });
    c = createClient({ url: s.url });
  });
  afterAll(async () => {
    c.close();
    await s.close();
  });

  it('migrate() runs DDL with foreign keys off, then on again (the backend enables them)', async () => {
    await c.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    await c.migrate([
      'CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))',
      'INSERT INTO child VALUES (1, 99)',
    ]);
    expect((await c.execute('SELECT parent_id FROM child')).rows[0]?.parent_id).toBe(99);
    expect((await c.execute('PRAGMA foreign_keys')).rows[0]?.foreign_keys).toBe(1);
  });

  it('intMode number refuses an integer that does not fit, bigint keeps it', async () => {
    await expect(c.execute('SELECT 9007199254740993 AS x')).rejects.toThrow(RangeError);
    const big = createClient({ url: s.url, intMode: 'bigint' });
    expect((await big.execute('SELECT 9007199254740993 AS x')).rows[0]?.x).toBe(9007199254740993n);
    const str = createClient({ url: s.url, intMode: 'string' });
    expect((await str.execute('SELECT 9007199254740993 AS x')).rows[0]?.x).toBe('9007199254740993');
    big.close();
    str.close();
  });

  it('reports declared column types', async () => {
    await c.execute('CREATE TABLE typed (a INTEGER, b TEXT, c REAL, d BLOB)');
    const r = await c.execute('SELECT a, b, c, d FROM typed');
    expect(r.columnTypes).toEqual(['INTEGER', 'TEXT', 'REAL', 'BLOB']);
  });

  it('serves a named backend under /hrana/<backend>/', async () => {
    const named = createClient({ url: `${s.url}/hrana/main/` });
    expect((await named.execute('SELECT 7 AS seven')).rows[0]?.seven).toBe(7);
    const none = createClient({ url: `${s.url}/hrana/nope/` });
    await expect(none.execute('SELECT 1')).rejects.toMatchObject({ code: 'BACKEND_NOT_FOUND' });
    named.close();
    none.close();
  });
});
