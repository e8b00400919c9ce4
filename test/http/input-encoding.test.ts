import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';

/**
 * Text the databases cannot take as given: a NUL in the SQL (PostgreSQL dropped the message and answered
 * 503, SQLite ran the SQL up to the NUL, MySQL ran it), a body that is not UTF-8 and lone surrogates
 * (which drivers replaced with U+FFFD). All are refused with 400 BAD_REQUEST before reaching a backend,
 * and nothing changes in the database.
 */
const backends = await testBackends();

describe.each(backends)('$driver: NUL, invalid UTF-8 and lone surrogates', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  const table = uniqueName('enc');
  const count = async () => Number((await t.exec(`SELECT count(*) AS n FROM ${table}`)).body.rows[0].n);
  const raw = (payload: Buffer | string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: { 'content-type': 'application/json' },
      payload,
    });

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc({ pool: { max: 1 } }) } });
    expect((await t.exec(`CREATE TABLE ${table} (id INTEGER, s VARCHAR(20))`)).status).toBe(200);
    expect((await t.exec(`INSERT INTO ${table} (id, s) VALUES (1, 'a')`)).status).toBe(200);
  });
  afterAll(async () => {
    await t?.exec(`DROP TABLE IF EXISTS ${table}`);
    await t?.close();
  });

  it('a NUL in the SQL is 400 BAD_REQUEST, nothing after it runs, and the connection still works', async () => {
    const res = await t.exec(`SELECT 1\u0000; DELETE FROM ${table}`);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(res.body.error.retryable).toBe(false);
    expect(res.body.error.message).toContain('NUL');
    const alone = await t.exec(`DELETE FROM ${table}\u0000`);
    expect(alone.status).toBe(400);
    expect(await count()).toBe(1);
  });

  it('a NUL in a batch statement fails the batch with statementIndex; nothing committed', async () => {
    const res = await t.post('/v1/batch', {
      statements: [{ sql: `INSERT INTO ${table} (id, s) VALUES (2, 'b')` }, { sql: `SELECT 1\u0000` }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(res.body.error.statementIndex).toBe(1);
    expect(await count()).toBe(1);
  });

  it('a NUL inside a string param is not the SQL: it reaches the database as data or a coded error', async () => {
    const res = await t.exec(
      `SELECT count(*) AS n FROM ${table} WHERE s = ${tb.driver === 'postgres' ? '$1' : '?'}`,
      ['a\u0000b'],
    );
    // PostgreSQL text cannot hold NUL (22021); the others compare it as data.
    if (tb.driver === 'postgres') {
      expect(res.status).toBe(400);
      expect(res.body.error.sqlState).toBe('22021');
    } else {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(Number(res.body.rows[0].n)).toBe(0);
    }
  });

  it('a body that is not valid UTF-8 is 400 BAD_REQUEST (not U+FFFD)', async () => {
    const before = Buffer.from(`{"sql":"UPDATE ${table} SET s = '`);
    const after = Buffer.from(`' WHERE id = 1"}`);
    const res = await raw(Buffer.concat([before, Buffer.from([0xc3, 0x28]), after]));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe('BAD_REQUEST');
    expect(res.json().error.message).toContain('UTF-8');
    const encodedSurrogate = await raw(Buffer.concat([before, Buffer.from([0xed, 0xa0, 0x80]), after]));
    expect(encodedSurrogate.statusCode).toBe(400);
    expect((await t.exec(`SELECT s FROM ${table}`)).body.rows).toEqual([{ s: 'a' }]);
  });

  it('a lone surrogate in the SQL or in a string param is 400 BAD_REQUEST', async () => {
    const inSql = await raw(`{"sql":"UPDATE ${table} SET s = '\\ud800' WHERE id = 1"}`);
    expect(inSql.statusCode, inSql.body).toBe(400);
    expect(inSql.json().error.code).toBe('BAD_REQUEST');
    expect(inSql.json().error.message).toContain('surrogate');
    const ph = tb.driver === 'postgres' ? '$1' : '?';
    const inParam = await raw(`{"sql":"UPDATE ${table} SET s = ${ph} WHERE id = 1","params":["x\\udc00"]}`);
    expect(inParam.statusCode, inParam.body).toBe(400);
    expect(inParam.json().error.code).toBe('BAD_REQUEST');
    const tagged = await raw(
      `{"sql":"UPDATE ${table} SET s = ${ph} WHERE id = 1","params":[{"$type":"TEXT","value":"\\ud83d"}]}`,
    );
    expect(tagged.statusCode).toBe(400);
    expect((await t.exec(`SELECT s FROM ${table}`)).body.rows).toEqual([{ s: 'a' }]);
  });

  it('a surrogate pair written as escapes is one character and round-trips', async () => {
    const ph = tb.driver === 'postgres' ? '$1' : '?';
    const res = await raw(`{"sql":"SELECT ${ph} AS e","params":["\\ud83d\\ude00"]}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().rows[0].e).toBe('😀');
  });
});
