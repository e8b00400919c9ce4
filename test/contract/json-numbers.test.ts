import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { type Driver, testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * JSON values from the database keep the database's exact number text (issue #15, defect 6): beyond 2^53,
 * more digits than a double, big exponents, -0, in nested objects and arrays; and `jsonNumbers: "string"`
 * returns the numbers a double cannot hold as strings. The response TEXT is checked, through a parse that
 * keeps every number token as written, since JSON.parse in the test would round them itself.
 */
const backends = await testBackends();

const DOC =
  '{"n": 9007199254740993, "neg": -12345678901234567890, "f": 0.1234567890123456789, "e": 1.5e300, ' +
  '"z": -0, "small": 2, "arr": [1, [2.5, {"deep": 9007199254740993}]], "s": "9007199254740993"}';
const ROWS_LARGE = 40; // more than MIN_WIRE_ROWS: the rows travel as text (rows-json.ts)

/** JSON text parsed with every number as `{"$num": "<its text>"}`. */
// biome-ignore lint/suspicious/noExplicitAny: the test walks nested JSON of any shape
function exactView(text: string): any {
  return JSON.parse(
    text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (t) =>
      t.startsWith('"') ? t : `{"$num":"${t}"}`,
    ),
  );
}
const num = (text: string) => ({ $num: text });

/** A JSON column's value as the database's own text. */
const AS_TEXT: Record<Driver, (col: string) => string> = {
  postgres: (c) => `${c}::text`,
  mysql: (c) => `CAST(${c} AS CHAR)`,
  sqlite: (c) => `CAST(${c} AS TEXT)`,
};

describe.each(backends)('JSON numbers contract: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let table: string;
  let large: string;
  /** The database's text for DOC stored in the JSON column (PostgreSQL's jsonb normalizes it). */
  let dbText: string;
  const raw = async (url: string, payload: unknown, headers: Record<string, string> = {}) => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      payload: payload as object,
      headers: { 'content-type': 'application/json', ...headers },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.body;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
    const ddl = (type: 'JSON' | 'TEXT') => t.app.backends.get('db').dialect.ddlType(type);
    table = uniqueName();
    large = uniqueName();
    for (const name of [table, large]) {
      const res = await t.exec(
        `CREATE TABLE ${name} (id INTEGER NOT NULL, j ${ddl('JSON')}, s ${ddl('TEXT')})${TABLE_SUFFIX[tb.driver]}`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const literal = DOC.replace(/'/g, "''");
    await t.exec(`INSERT INTO ${table} (id, j, s) VALUES (1, '${literal}', '${literal}')`);
    const inserts = Array.from({ length: ROWS_LARGE }, (_, i) => ({
      sql: `INSERT INTO ${large} (id, j, s) VALUES (${i}, '${literal}', '${literal}')`,
    }));
    expect((await t.post('/v1/batch', { statements: inserts })).status).toBe(200);
    const text = await t.exec(`SELECT ${AS_TEXT[tb.driver]('j')} AS t FROM ${table}`);
    dbText = text.body.rows[0].t;
  });
  afterAll(async () => {
    for (const name of [table, large]) if (name) await t.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  it('keeps the exact number text of a JSON column (object and array rows)', async () => {
    const body = exactView(await raw('/v1/execute', { sql: `SELECT j FROM ${table}` }));
    expect(body.columns[0].type).toBe('JSON');
    expect(body.rows[0].j).toEqual(exactView(dbText));
    expect(body.rows[0].j.n).toEqual(num('9007199254740993'));
    expect(body.rows[0].j.neg).toEqual(num('-12345678901234567890'));
    expect(body.rows[0].j.f).toEqual(num('0.1234567890123456789'));
    expect(body.rows[0].j.arr[1][1].deep).toEqual(num('9007199254740993'));
    expect(body.rows[0].j.s).toBe('9007199254740993');
    // jsonb has no negative zero; the text-stored JSON of SQLite and MariaDB keeps the sign.
    expect(body.rows[0].j.z).toEqual(num(tb.driver === 'postgres' ? '0' : '-0'));
    const arr = exactView(
      await raw('/v1/execute', { sql: `SELECT id, j FROM ${table}`, options: { rowMode: 'array' } }),
    );
    expect(arr.rows[0][1]).toEqual(exactView(dbText));
  });

  it('keeps them in a result large enough to travel as text', async () => {
    const body = exactView(await raw('/v1/execute', { sql: `SELECT id, j FROM ${large} ORDER BY id` }));
    expect(body.rows).toHaveLength(ROWS_LARGE);
    for (const row of body.rows) expect(row.j).toEqual(exactView(dbText));
  });

  it('keeps them for text read with columnTypes JSON', async () => {
    const body = exactView(
      await raw('/v1/execute', { sql: `SELECT s FROM ${table}`, options: { columnTypes: { s: 'JSON' } } }),
    );
    expect(body.columns[0].type).toBe('JSON');
    expect(body.rows[0].s).toEqual(exactView(DOC));
  });

  it('ordinary JSON values stay plain values', async () => {
    const res = await t.exec(`SELECT j FROM ${table} WHERE id = 1`, undefined, {
      columnTypes: { j: 'JSON' },
    });
    expect(res.body.rows[0].j.small).toBe(2);
    expect(res.body.rows[0].j.arr[1][0]).toBe(2.5);
    const plain = await t.exec(`SELECT s FROM ${table}`, undefined, { columnTypes: { s: 'TEXT' } });
    expect(plain.body.rows[0].s).toBe(DOC);
  });

  it('jsonNumbers "string": numbers a double cannot hold become strings of their exact text', async () => {
    for (const sql of [`SELECT j FROM ${table}`, `SELECT s AS j FROM ${table}`]) {
      const res = await t.exec(sql, undefined, { jsonNumbers: 'string', columnTypes: { j: 'JSON' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const j = res.body.rows[0].j;
      expect(j.n).toBe('9007199254740993');
      expect(j.neg).toBe('-12345678901234567890');
      expect(j.f).toBe('0.1234567890123456789');
      expect(j.e).toBe(1.5e300);
      expect(j.small).toBe(2);
      expect(j.arr).toEqual([1, [2.5, { deep: '9007199254740993' }]]);
      expect(j.s).toBe('9007199254740993');
      const textStored = tb.driver !== 'postgres' || sql.includes(' s ');
      expect(j.z).toBe(textStored ? '-0' : 0);
    }
  });

  it('in a batch and in a session', async () => {
    const batch = exactView(
      await raw('/v1/batch', {
        statements: [
          { sql: `SELECT j FROM ${table}` },
          { sql: `SELECT j FROM ${table}`, options: { jsonNumbers: 'string', rowMode: 'array' } },
        ],
      }),
    );
    expect(batch.results[0].rows[0].j).toEqual(exactView(dbText));
    expect(batch.results[1].rows[0][0].n).toBe('9007199254740993');
    const open = await t.post('/v1/sessions', {});
    expect(open.status).toBe(201);
    const inSession = exactView(
      await raw(`/v1/sessions/${open.body.id}/execute`, { sql: `SELECT j FROM ${table}` }),
    );
    expect(inSession.rows[0].j).toEqual(exactView(dbText));
    const sessionBatch = exactView(
      await raw(`/v1/sessions/${open.body.id}/batch`, { statements: [{ sql: `SELECT j FROM ${large}` }] }),
    );
    expect(sessionBatch.results[0].rows[0].j).toEqual(exactView(dbText));
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${open.body.id}` });
  });

  it('over the NDJSON stream, exact and as strings', async () => {
    const ndjson = { accept: 'application/x-ndjson' };
    for (const src of [table, large]) {
      const lines = (await raw('/v1/execute', { sql: `SELECT j FROM ${src}` }, ndjson)).trim().split('\n');
      expect(exactView(lines.at(-1) as string).done).toBe(true);
      const rows = lines.slice(1, -1).map(exactView);
      expect(rows.length).toBe(src === table ? 1 : ROWS_LARGE);
      for (const row of rows) expect(row.j).toEqual(exactView(dbText));
    }
    const strings = (
      await raw(
        '/v1/execute',
        { sql: `SELECT j FROM ${table}`, options: { jsonNumbers: 'string', rowMode: 'array' } },
        ndjson,
      )
    ).split('\n');
    expect(JSON.parse(strings[1] as string)[0].arr[1][1].deep).toBe('9007199254740993');
  });

  it.runIf(tb.driver === 'postgres')(
    'json_build_array of an int8 beyond 2^53 (drizzle relational queries)',
    async () => {
      const sql = `SELECT json_build_array(9007199254740993::int8, 'x', json_build_object('id', -9007199254740995::int8)) AS data`;
      const exact = exactView(await raw('/v1/execute', { sql }));
      expect(exact.rows[0].data).toEqual([num('9007199254740993'), 'x', { id: num('-9007199254740995') }]);
      const res = await t.exec(sql, undefined, { jsonNumbers: 'string' });
      expect(res.body.rows[0].data).toEqual(['9007199254740993', 'x', { id: '-9007199254740995' }]);
    },
  );

  it('refuses an unknown jsonNumbers mode', async () => {
    const res = await t.exec('SELECT 1 AS one', undefined, { jsonNumbers: 'double' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });
});
