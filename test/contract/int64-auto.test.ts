import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenericType } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';
import { AUTO_ID, TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * `options.int64: "auto"`: each BIGINT value is a JSON number when it is a safe integer and a string
 * otherwise, decided per value; the column metadata still says BIGINT so a client can decode either.
 */
const backends = await testBackends();

const SAFE_MAX = '9007199254740991';
const UNSAFE = '9007199254740993';
const MIN64 = '-9223372036854775808';

describe.each(backends)('int64 "auto" contract: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  const ddl = (type: GenericType) => t.app.backends.get('db').dialect.ddlType(type);
  const exec = (sql: string, params?: unknown, options?: unknown) => t.exec(sql, params, options);
  const created: string[] = [];
  const table = async (columns: string): Promise<string> => {
    const name = uniqueName();
    const res = await exec(`CREATE TABLE ${name} (${columns})${TABLE_SUFFIX[tb.driver]}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    created.push(name);
    return name;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created.reverse()) await exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  it('gives numbers for safe values and strings for the others, in one column', async () => {
    const name = await table(`id INTEGER NOT NULL, big ${ddl('BIGINT')}`);
    const values = ['1', '-42', SAFE_MAX, UNSAFE, MIN64, null];
    for (const [i, v] of values.entries()) {
      const res = await exec(`INSERT INTO ${name} (id, big) VALUES (:id, :v)`, {
        id: i,
        v: v === null ? null : { $type: 'BIGINT', value: v },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const expected = [1, -42, 9007199254740991, UNSAFE, MIN64, null];
    const obj = await exec(`SELECT big FROM ${name} ORDER BY id`, undefined, { int64: 'auto' });
    expect(obj.status, JSON.stringify(obj.body)).toBe(200);
    expect(obj.body.columns[0].type).toBe('BIGINT');
    expect(obj.body.rows.map((r: { big: unknown }) => r.big)).toEqual(expected);
    const arr = await exec(`SELECT big FROM ${name} ORDER BY id`, undefined, {
      int64: 'auto',
      rowMode: 'array',
    });
    expect(arr.body.rows.map((r: unknown[]) => r[0])).toEqual(expected);
  });

  it('keeps the per-value choice on results large enough for the text fast path', async () => {
    const name = await table(`id INTEGER NOT NULL, big ${ddl('BIGINT')}`);
    const paramSets = Array.from({ length: 80 }, (_, i) => [
      i,
      { $type: 'BIGINT', value: i % 2 === 0 ? String(i) : (9007199254740993n + BigInt(i)).toString() },
    ]);
    const ph = t.app.backends.get('db').dialect.placeholder;
    const ins = await t.post('/v1/batch', {
      sql: `INSERT INTO ${name} (id, big) VALUES (${ph(0)}, ${ph(1)})`,
      paramSets,
    });
    expect(ins.status, JSON.stringify(ins.body)).toBe(200);
    for (const rowMode of ['object', 'array'] as const) {
      const res = await exec(`SELECT id, big FROM ${name} ORDER BY id`, undefined, {
        int64: 'auto',
        rowMode,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.rows).toHaveLength(80);
      for (const [i, row] of (res.body.rows as Array<Record<string, unknown> | unknown[]>).entries()) {
        const big = Array.isArray(row) ? row[1] : row.big;
        expect(big).toEqual(i % 2 === 0 ? i : (9007199254740993n + BigInt(i)).toString());
      }
    }
  });

  it('encodes lastInsertId the same way', async () => {
    const name = await table(`id ${AUTO_ID[tb.driver]}, v INTEGER`);
    const small = await exec(`INSERT INTO ${name} (v) VALUES (1)`, undefined, { int64: 'auto' });
    expect(small.status, JSON.stringify(small.body)).toBe(200);
    if (small.body.lastInsertId !== null) expect(small.body.lastInsertId).toBe(1);
    const big = await exec(
      `INSERT INTO ${name} (id, v) VALUES (:id, 2)`,
      { id: { $type: 'BIGINT', value: UNSAFE } },
      {
        int64: 'auto',
      },
    );
    expect(big.status, JSON.stringify(big.body)).toBe(200);
    if (big.body.lastInsertId !== null) expect(big.body.lastInsertId).toBe(UNSAFE);
    const rows = await exec(`SELECT id FROM ${name} ORDER BY id`, undefined, { int64: 'auto' });
    expect(rows.body.rows).toEqual([{ id: 1 }, { id: UNSAFE }]);
  });

  it('refuses an unknown int64 mode with BAD_REQUEST', async () => {
    const res = await exec('SELECT 1 AS x', undefined, { int64: 'bigint' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });
});
