import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenericType } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { type Driver, testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * The contract suite for POST /v1/batch: the same cases against every backend. Differences come from the
 * Dialect's capability flags only.
 */
const backends = await testBackends();

/** A statement that runs for seconds, to be cancelled. */
const SLOW_SQL: Record<Driver, string> = {
  // Short: a cancelled SQLite statement runs on to its end in the terminated worker, holding its locks
  // (better-sqlite3 has no sqlite3_interrupt), so a long one would lock the later tests out.
  sqlite:
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT count(*) AS n FROM c',
  postgres: 'SELECT pg_sleep(5) AS n',
  mysql: 'SELECT SLEEP(5) AS n',
};

describe.each(backends)('batch contract: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  const dialect = () => t.app.backends.get('db').dialect;
  const ddl = (type: GenericType) => dialect().ddlType(type);
  const ph = (i: number) => dialect().placeholder(i);
  const exec = (sql: string, params?: unknown) =>
    t.post('/v1/execute', { sql, ...(params !== undefined ? { params } : {}) });
  const batch = (body: Record<string, unknown>) => t.post('/v1/batch', body);
  const count = async (table: string): Promise<number> => {
    const res = await exec(`SELECT COUNT(*) AS n FROM ${table}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return Number(res.body.rows[0].n);
  };
  const created: string[] = [];
  const table = async (): Promise<string> => {
    const name = uniqueName('b');
    const res = await exec(
      `CREATE TABLE ${name} (id ${ddl('INTEGER')} PRIMARY KEY, v ${ddl('VARCHAR')} NOT NULL)${TABLE_SUFFIX[tb.driver]}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    created.push(name);
    return name;
  };
  const expectPoolIdle = () => expect(t.app.backends.get('db').poolStats().inUse).toBe(0);

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created.reverse()) await exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  it('runs statements in order on one connection and returns one result each', async () => {
    const name = await table();
    const res = await batch({
      statements: [
        { sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`, params: { id: 1, v: 'a' } },
        { sql: `INSERT INTO ${name} (id, v) VALUES (${ph(0)}, ${ph(1)})`, params: [2, 'b'] },
        { sql: `UPDATE ${name} SET v = :v WHERE id = :id`, params: { id: 2, v: 'B' } },
        { sql: `SELECT id, v FROM ${name} ORDER BY id`, options: { rowMode: 'array' } },
        { sql: `SELECT id FROM ${name} ORDER BY id`, options: { int64: 'string' } },
      ],
      options: { int64: 'number' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results).toHaveLength(5);
    expect(res.body.results.map((r: { command: string }) => r.command)).toEqual([
      'INSERT',
      'INSERT',
      'UPDATE',
      'SELECT',
      'SELECT',
    ]);
    expect(res.body.results[2].affectedRows).toBe(1);
    // The batch's options apply to every statement; a statement's own override them key by key.
    expect(res.body.results[3].rows).toEqual([
      [1, 'a'],
      [2, 'B'],
    ]);
    const last = res.body.results[4];
    const want = last.columns[0].type === 'BIGINT' ? ['1', '2'] : [1, 2];
    expect(last.rows.map((r: { id: unknown }) => r.id)).toEqual(want);
    expect(typeof res.body.durationMs).toBe('number');
    expectPoolIdle();
  });

  it('is all-or-nothing: the 3rd of 5 failing leaves nothing and reports statementIndex 2', async () => {
    const name = await table();
    const ins = (id: number) => ({
      sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`,
      params: { id, v: 'x' },
    });
    const res = await batch({ statements: [ins(1), ins(2), ins(1), ins(3), ins(4)] });
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.error.code).toBe('UNIQUE_VIOLATION');
    expect(res.body.error.statementIndex).toBe(2);
    expect(await count(name)).toBe(0);
    expectPoolIdle();
  });

  it('fails a transactional batch on a bad param before touching the database', async () => {
    const name = await table();
    const res = await batch({
      statements: [
        { sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`, params: { id: 1, v: 'a' } },
        { sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`, params: { id: 2 } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PARAM_INVALID');
    expect(res.body.error.statementIndex).toBe(1);
    expect(await count(name)).toBe(0);
  });

  it('refuses transaction control statements inside a transactional batch', async () => {
    const res = await batch({ statements: [{ sql: 'SELECT 1' }, { sql: 'COMMIT' }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(res.body.error.statementIndex).toBe(1);
  });

  it('DDL in a transactional batch is atomic, or refused where the database commits it implicitly', async () => {
    const name = uniqueName('ddl');
    const res = await batch({
      statements: [
        { sql: `CREATE TABLE ${name} (id ${ddl('INTEGER')} PRIMARY KEY)${TABLE_SUFFIX[tb.driver]}` },
        { sql: `INSERT INTO ${name} (id) VALUES (1)` },
        { sql: `INSERT INTO ${name} (id) VALUES (1)` },
      ],
    });
    if (dialect().capabilities.transactionalDdl) {
      expect(res.status).toBe(409);
      expect(res.body.error.statementIndex).toBe(2);
    } else {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('BAD_REQUEST');
      expect(res.body.error.statementIndex).toBe(0);
    }
    // Either way the table does not exist afterwards.
    expect((await exec(`SELECT COUNT(*) AS n FROM ${name}`)).body.error.code).toBe('UNDEFINED_OBJECT');
  });

  it('transaction false: autocommit, stops at the first error with the results so far', async () => {
    const name = await table();
    const ins = (id: number) => ({
      sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`,
      params: { id, v: 'x' },
    });
    const res = await batch({ transaction: false, statements: [ins(1), ins(1), ins(2)] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results).toHaveLength(2);
    expect(res.body.results[0].affectedRows).toBe(1);
    expect(res.body.results[1].error).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      class: 'IntegrityError',
      statementIndex: 1,
    });
    expect(typeof res.body.results[1].error.requestId).toBe('string');
    expect(await count(name)).toBe(1);
    expectPoolIdle();
  });

  it('transaction false with continueOnError runs every statement', async () => {
    const name = await table();
    const ins = (id: number) => ({
      sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`,
      params: { id, v: 'x' },
    });
    const res = await batch({
      transaction: false,
      continueOnError: true,
      statements: [ins(1), ins(1), { sql: 'SELEC 1' }, ins(2), { sql: 'SELECT :a AS a', params: {} }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const codes = res.body.results.map((r: { error?: { code: string } }) => r.error?.code ?? 'ok');
    expect(codes).toEqual(['ok', 'UNIQUE_VIOLATION', 'SQL_SYNTAX_ERROR', 'ok', 'PARAM_INVALID']);
    expect(res.body.results[4].error.statementIndex).toBe(4);
    expect(await count(name)).toBe(2);
  });

  it('checks the shape: empty, both forms, options that need a transaction, the size limit', async () => {
    const bad = [
      { statements: [] },
      { statements: [{ sql: 'SELECT 1' }], sql: 'SELECT 1', paramSets: [[]] },
      { transaction: false, isolationLevel: 'SERIALIZABLE', statements: [{ sql: 'SELECT 1' }] },
      { continueOnError: true, statements: [{ sql: 'SELECT 1' }] },
      { sql: 'SELECT 1' },
      { statements: [{ sql: 'SELECT 1' }], extra: 1 },
    ];
    for (const body of bad) {
      const res = await batch(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('BAD_REQUEST');
    }
    const max = t.config.limits.maxBatchStatements;
    const tooMany = await batch({
      sql: `SELECT ${ph(0)} AS x`,
      paramSets: Array.from({ length: max + 1 }, (_, i) => [i]),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('maxBatchStatements');
  });

  it('honours isolationLevel and readOnly through the capability flags', async () => {
    const caps = dialect().capabilities;
    for (const level of ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']) {
      const res = await batch({ isolationLevel: level, statements: [{ sql: 'SELECT 1 AS x' }] });
      if ((caps.isolationLevels as readonly string[]).includes(level)) {
        expect(res.status, `${level}: ${JSON.stringify(res.body)}`).toBe(200);
      } else {
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('UNSUPPORTED_FEATURE');
      }
    }
    const name = await table();
    const ro = await batch({
      readOnly: true,
      statements: [
        { sql: `SELECT COUNT(*) AS n FROM ${name}` },
        { sql: `INSERT INTO ${name} (id, v) VALUES (1, 'x')` },
      ],
    });
    if (caps.readOnlyTransactions) {
      expect(ro.status, JSON.stringify(ro.body)).toBe(403);
      expect(ro.body.error.code).toBe('READ_ONLY_VIOLATION');
      expect(ro.body.error.statementIndex).toBe(1);
    } else {
      expect(ro.body.error.code).toBe('UNSUPPORTED_FEATURE');
    }
    expect(await count(name)).toBe(0);
    // The connection that ran the read-only batch writes again afterwards.
    const rw = await batch({ statements: [{ sql: `INSERT INTO ${name} (id, v) VALUES (1, 'x')` }] });
    expect(rw.status, JSON.stringify(rw.body)).toBe(200);
    expectPoolIdle();
  });

  it('a client that goes away mid-batch gets nothing committed and its connection back in the pool', async () => {
    const name = await table();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as { port: number };
    const abort = new AbortController();
    const started = Date.now();
    const req = fetch(`http://127.0.0.1:${port}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        statements: [{ sql: `INSERT INTO ${name} (id, v) VALUES (1, 'x')` }, { sql: SLOW_SQL[tb.driver] }],
      }),
      signal: abort.signal,
    }).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 400));
    abort.abort();
    expect(await req).toBeInstanceOf(Error);
    const pool = t.app.backends.get('db');
    while (pool.poolStats().inUse > 0 && Date.now() - started < 10_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pool.poolStats().inUse).toBe(0);
    expect(await count(name)).toBe(0);
  });

  describe('bulk form (sql + paramSets)', () => {
    it('inserts 10,000 rows atomically in one request', async () => {
      const name = await table();
      const sql = `INSERT INTO ${name} (id, v) VALUES (${ph(0)}, ${ph(1)})`;
      const sets = Array.from({ length: 10_000 }, (_, i) => [i + 1, `row ${i + 1}`]);
      const res = await batch({ sql, paramSets: sets });
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
      expect(res.body.results).toHaveLength(10_000);
      expect(res.body.results[9_999].affectedRows).toBe(1);
      expect(await count(name)).toBe(10_000);
      expectPoolIdle();
    });

    it('a failing row makes none of the 10,000 visible and names its index', async () => {
      const name = await table();
      const sql = `INSERT INTO ${name} (id, v) VALUES (${ph(0)}, ${ph(1)})`;
      const sets = Array.from({ length: 10_000 }, (_, i) => [i + 1, `row ${i + 1}`]);
      sets[9_998] = [5, 'duplicate of row 5'];
      const res = await batch({ sql, paramSets: sets });
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body.error.code).toBe('UNIQUE_VIOLATION');
      expect(res.body.error.statementIndex).toBe(9_998);
      expect(await count(name)).toBe(0);
      expectPoolIdle();
    });

    it('takes named parameter sets and per-batch options', async () => {
      const name = await table();
      const res = await batch({
        sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`,
        paramSets: [
          { id: 1, v: 'a' },
          { v: 'b', id: 2 },
        ],
        options: { int64: 'number' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(await count(name)).toBe(2);
      const bad = await batch({
        sql: `INSERT INTO ${name} (id, v) VALUES (:id, :v)`,
        paramSets: [{ id: 3, v: 'c' }, { id: 4 }],
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'PARAM_INVALID', statementIndex: 1 });
      expect(await count(name)).toBe(2);
    });

    it('with transaction false commits set by set, like the statements form', async () => {
      const name = await table();
      const sql = `INSERT INTO ${name} (id, v) VALUES (${ph(0)}, ${ph(1)})`;
      const res = await batch({
        transaction: false,
        sql,
        paramSets: [
          [1, 'a'],
          [2, 'b'],
          [1, 'dup'],
          [3, 'c'],
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.results).toHaveLength(3);
      expect(res.body.results[2].error).toMatchObject({ code: 'UNIQUE_VIOLATION', statementIndex: 2 });
      expect(await count(name)).toBe(2);
      const all = await batch({
        transaction: false,
        continueOnError: true,
        sql,
        paramSets: [
          [3, 'c'],
          [1, 'dup'],
          [4, 'd'],
        ],
      });
      expect(all.body.results.map((r: { error?: unknown }) => (r.error ? 'error' : 'ok'))).toEqual([
        'ok',
        'error',
        'ok',
      ]);
      expect(await count(name)).toBe(4);
    });
  });
});
