import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * Issue #15, defect 5: an impossible tagged date or time (February 30, month 13, hour 25) is refused with
 * 400 PARAM_INVALID before the database sees it, on every backend — also where the column is untyped (a
 * SQLite TEXT column, a PostgreSQL parameter without a cast) — and nothing is written.
 */
const backends = await testBackends();

describe.each(backends)('tagged date/time validation: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let name: string;

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
    name = uniqueName();
    const res = await t.exec(
      `CREATE TABLE ${name} (id INTEGER NOT NULL, v VARCHAR(64))${TABLE_SUFFIX[tb.driver]}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
  afterAll(async () => {
    await t?.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  const bad: [string, string][] = [
    ['DATE', '2024-02-30'],
    ['DATE', '2024-13-01'],
    ['DATETIME', '2024-01-01T25:00:00'],
    ['TIMESTAMP', '2024-13-01T00:00:00+00:00'],
    ['TIME', '10:61:00'],
  ];

  it.each(bad)('%s %s -> 400 PARAM_INVALID, nothing written', async (type, value) => {
    const res = await t.exec(`INSERT INTO ${name} (id, v) VALUES (:id, :v)`, {
      id: 1,
      v: { $type: type, value },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PARAM_INVALID');
    expect(JSON.stringify(res.body)).not.toContain(value);
    const count = await t.exec(`SELECT count(*) AS n FROM ${name}`);
    expect(String(count.body.rows[0].n)).toBe('0');
  });

  it('a real leap day goes in and comes back as written', async () => {
    const res = await t.exec(`INSERT INTO ${name} (id, v) VALUES (:id, :v)`, {
      id: 2,
      v: { $type: 'DATE', value: '2024-02-29' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const back = await t.exec(`SELECT v FROM ${name} WHERE id = 2`);
    expect(back.body.rows).toEqual([{ v: '2024-02-29' }]);
    await t.exec(`DELETE FROM ${name}`);
  });
});
