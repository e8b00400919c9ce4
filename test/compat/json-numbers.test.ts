import { createClient } from '@libsql/client';
import * as hrana from '@libsql/hrana-client';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, uniqueName } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * JSON numbers from the database reach the compat clients exactly as the database wrote them: through
 * neon() as PostgreSQL's json/jsonb text (compared with the server's own `::text`), through Hrana as text
 * values (@libsql/client execute, batch and interactive transaction; @libsql/hrana-client v3 cursors), on
 * PostgreSQL and on SQLite (a JSON column). A double would round every one of these numbers.
 */

const backends = await testBackends();
const pg = backends.find((b) => b.driver === 'postgres');
const sqlite = backends.find((b) => b.driver === 'sqlite');

/** JSON texts whose numbers a double cannot hold as written, and object keys JavaScript would reorder. */
const DOCS = [
  '{"a": 12345678901234567890}',
  '{"b": 0.1000000000000000055, "c": [1.0, -0, 1e400, 9007199254740993]}',
  '{"10": 1, "b": {"2": 2.50, "x": 1E+2}, "zz": [[-12345678901234567890.000000000000000001]]}',
  '12345678901234567890',
  '[0.30000000000000004, 0.3000000000000000444]',
];
/** The same documents as compact text with every number as written (what Hrana sends, what json keeps). */
const COMPACT = [
  '{"a":12345678901234567890}',
  '{"b":0.1000000000000000055,"c":[1.0,-0,1e400,9007199254740993]}',
  '{"10":1,"b":{"2":2.50,"x":1E+2},"zz":[[-12345678901234567890.000000000000000001]]}',
  '12345678901234567890',
  '[0.30000000000000004,0.3000000000000000444]',
];

const rawTypes = { getTypeParser: () => (v: string) => v };
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

const JSON_V3 = {
  versionPath: 'v3',
  pipelinePath: 'v3/pipeline',
  cursorPath: 'v3/cursor',
  version: 3,
  encoding: 'json',
} as const;

/** A hrana-client on the JSON Hrana 3 endpoint (it probes only v3-protobuf itself; see hrana-cursor.test.ts). */
async function openV3(url: string): Promise<hrana.HttpClient> {
  const client = hrana.openHttp(url, undefined, undefined, undefined, 2);
  await client.getVersion();
  const internal = client as unknown as { _endpoint: unknown; _endpointPromise: Promise<unknown> };
  internal._endpoint = JSON_V3;
  internal._endpointPromise = Promise.resolve(JSON_V3);
  expect(await client.getVersion()).toBe(3);
  return client;
}

describe.skipIf(!pg || pg.skipReason !== null)('exact JSON numbers on PostgreSQL', () => {
  let s: ServedApp;
  const table = uniqueName('jn');
  const db = () => neon(`postgresql://app:x@127.0.0.1:${s.port}/main`);

  beforeAll(async () => {
    s = await serveTestApp({ backends: { main: pg?.backendDoc({ pool: { max: 4 } }) } });
    neonConfig.fetchEndpoint = (_host, port) => `http://127.0.0.1:${port}/sql`;
    await db().query(`CREATE TABLE ${table} (id int4 PRIMARY KEY, j json, jb jsonb)`);
    await db().query(
      `INSERT INTO ${table} VALUES ${DOCS.map((d, i) => `(${i}, ${lit(d)}, ${lit(d)})`).join(', ')}`,
    );
  });
  afterAll(async () => {
    if (s) {
      await db().query(`DROP TABLE IF EXISTS ${table}`);
      await s.close();
    }
  });

  it('neon(): jsonb is the text PostgreSQL prints, json its text without whitespace, numbers as written', async () => {
    const res = await db().query(`SELECT id, j, jb, jb::text AS jbt FROM ${table} ORDER BY id`, [], {
      arrayMode: true,
      fullResults: true,
      types: rawTypes as never,
    });
    expect(res.rows).toHaveLength(DOCS.length);
    for (const [i, row] of (res.rows as string[][]).entries()) {
      expect(row[2], DOCS[i]).toBe(row[3]);
      expect(row[1], DOCS[i]).toBe(COMPACT[i]);
    }
    // The server's jsonb text, for one document spelled out: keys by length, numbers kept, 1e400 expanded.
    expect((res.rows as string[][])[1]?.[2]).toBe(
      `{"b": 0.1000000000000000055, "c": [1.0, 0, 1${'0'.repeat(400)}, 9007199254740993]}`,
    );
  });

  it('neon(): jsonb[] elements and a transaction([...]) keep the numbers too', async () => {
    const sql = db();
    // In a transaction neon() takes the type parsers from each query's own options.
    const opts = { arrayMode: true, fullResults: true, types: rawTypes as never } as const;
    const results = (await sql.transaction(
      [
        sql.query(
          `SELECT a, a::text, d, d::text FROM (SELECT ARRAY[${lit(DOCS[0] as string)}::jsonb, NULL] AS a, ${lit(DOCS[2] as string)}::jsonb AS d) s`,
          [],
          opts,
        ),
        sql.query(`SELECT jb FROM ${table} WHERE id = 4`, [], opts),
      ] as never,
      { readOnly: true },
    )) as unknown as Array<{ rows: string[][] }>;
    const [one, two] = results;
    const row = one?.rows[0] ?? [];
    expect(row[0]).toBe(row[1]);
    expect(row[2]).toBe(row[3]);
    expect(row[0]).toBe('{"{\\"a\\": 12345678901234567890}",NULL}');
    expect(two?.rows).toEqual([['[0.30000000000000004, 0.3000000000000000444]']]);
  });

  it('Hrana (@libsql/client): json/jsonb text values keep the numbers in execute, batch and a transaction', async () => {
    const c = createClient({ url: `${s.url}/hrana/main/` });
    try {
      const q = `SELECT j, jb FROM ${table} ORDER BY id`;
      const expectRows = (rows: unknown[]) => {
        const got = rows.map((r) => [(r as Record<string, unknown>).j, (r as Record<string, unknown>).jb]);
        expect(got.map((r) => r[0])).toEqual(COMPACT);
        // jsonb normalises (1E+2 -> 100, -0 -> 0, 1e400 expanded, keys reordered): its numbers as printed.
        expect(got.map((r) => typeof r[1])).toEqual(COMPACT.map(() => 'string'));
        expect(got[0]?.[1]).toBe('{"a":12345678901234567890}');
        expect(got[4]?.[1]).toBe('[0.30000000000000004,0.3000000000000000444]');
      };
      expectRows((await c.execute(q)).rows);
      const [b] = await c.batch([q], 'read');
      expectRows(b?.rows ?? []);
      const tx = await c.transaction('write');
      try {
        expectRows((await tx.execute(q)).rows);
      } finally {
        await tx.rollback();
      }
    } finally {
      c.close();
    }
  });

  it('Hrana 3 cursor (@libsql/hrana-client): streamed json rows keep the numbers', async () => {
    const client = await openV3(`${s.url}/hrana/main/`);
    try {
      const stream = client.openStream();
      const batch = stream.batch(true);
      const rows = batch.step().query(`SELECT j FROM ${table} ORDER BY id`);
      await batch.execute();
      expect((await rows)?.rows.map((r) => r[0])).toEqual(COMPACT);
      stream.close();
    } finally {
      client.close();
    }
  });
});

describe.skipIf(!sqlite || sqlite.skipReason !== null)('exact JSON numbers on SQLite (Hrana)', () => {
  let s: ServedApp;
  const table = uniqueName('jn');

  beforeAll(async () => {
    s = await serveTestApp({ backends: { main: sqlite?.backendDoc() } });
  });
  afterAll(async () => {
    await s?.close();
  });

  // Not the bare number: a JSON column has NUMERIC affinity, so SQLite itself stores that text as a REAL.
  const docs = COMPACT.filter((d) => d.startsWith('{') || d.startsWith('['));

  it('a JSON column comes back as text with every number as stored', async () => {
    const c = createClient({ url: `${s.url}/` });
    try {
      await c.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, j JSON)`);
      await c.batch(
        docs.map((d, i) => ({ sql: `INSERT INTO ${table} VALUES (?, ?)`, args: [i, d] })),
        'write',
      );
      const one = await c.execute(`SELECT j FROM ${table} ORDER BY id`);
      expect(one.rows.map((r) => r.j)).toEqual(docs);
      // 32 rows: the SQLite worker sends a result this size as JSON text, which must not be re-parsed lossily.
      const many = await c.execute(
        `SELECT j FROM ${table}, (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8) ORDER BY id`,
      );
      expect(many.rows).toHaveLength(32);
      expect([...new Set(many.rows.map((r) => r.j))]).toEqual(docs);
    } finally {
      c.close();
    }
  });
});
