import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient, decimal, type Session, SqlgateError, sql } from '../src/index.js';
import { DDL, ph, SUFFIX } from './ddl.js';
import { type Db, type Gateway, startGateway, uniqueName } from './gateway.js';

/** The core client against a real gateway, the same cases on every database. */
const gw: Gateway = await startGateway();
afterAll(() => gw.stop());

const ALL: Db[] = ['sqlite', 'postgres', 'mysql'];
const BYTES = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

describe.each(ALL)('client on %s', (db) => {
  if (!gw.dbs.includes(db)) {
    it.skip(`skipped: ${gw.skipped[db]}`, () => {});
    return;
  }
  let c: Client;
  const tables: string[] = [];
  const table = async (cols: string) => {
    const name = uniqueName();
    await c.execute(`CREATE TABLE ${name} (${cols})${SUFFIX[db]}`);
    tables.push(name);
    return name;
  };
  const T = DDL[db];
  beforeAll(() => {
    c = createClient({ url: gw.url, backend: db });
  });
  afterAll(async () => {
    for (const t of tables.reverse()) await c.execute(`DROP TABLE ${t}`);
  });

  it('does CRUD with the sql tag: values travel as parameters, never as text', async () => {
    const t = await table(`id ${T.INTEGER} PRIMARY KEY, name ${T.VARCHAR}`);
    const evil = "x'); DROP TABLE nope; --";
    await c.execute(sql`INSERT INTO ${sql([t] as unknown as TemplateStringsArray)} (id, name) VALUES (${1}, ${evil})`);
    const r = await c.execute<{ id: number; name: string }>(sql`SELECT id, name FROM ${sql([t] as unknown as TemplateStringsArray)} WHERE id = ${1}`);
    expect(r.rows).toEqual([{ id: 1, name: evil }]);
    const u = await c.execute(`UPDATE ${t} SET name = :n WHERE id = :id`, { n: 'y', id: 1 });
    expect(u.affectedRows).toBe(1);
    const d = await c.execute(`DELETE FROM ${t} WHERE id = ${ph(db, 0)}`, [1]);
    expect(d.affectedRows).toBe(1);
    expect((await c.execute(`SELECT COUNT(*) AS n FROM ${t}`)).rows[0]).toEqual({ n: 0 });
  });

  it('round-trips every portable type exactly, decoded by column type', async () => {
    const t = await table(
      Object.entries(T)
        .map(([k, v]) => `c_${k.toLowerCase()} ${v}`)
        .join(', '),
    );
    const row = {
      c_boolean: true,
      c_smallint: -32768,
      c_integer: 2147483647,
      c_bigint: 9223372036854775807n,
      c_decimal: decimal('12345678901234567890.0123456789'),
      c_double: 1.5e-300,
      c_varchar: 'héllo ☃ "q" \\',
      c_text: 'x'.repeat(5000),
      c_blob: BYTES,
      c_date: '2024-02-29',
      c_time: '23:59:59.123456',
      c_datetime: '2024-02-29T23:59:59.123456',
      c_timestamp: '2024-02-29T23:59:59.123456+00:00',
      c_json: { a: [1, 'two', null, true], b: { c: 'd' } },
      c_uuid: '123e4567-e89b-12d3-a456-426614174000',
    };
    const cols = Object.keys(row);
    const params = Object.fromEntries(
      Object.entries(row).map(([k, v]) => {
        const type = k.slice(2).toUpperCase();
        if (['DATE', 'TIME', 'DATETIME', 'TIMESTAMP', 'UUID'].includes(type)) {
          return [k, { $type: type, value: v }];
        }
        return [k, v];
      }),
    );
    await c.execute(`INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map((k) => `:${k}`).join(', ')})`, params);
    const r = await c.execute(`SELECT * FROM ${t}`, undefined, { int64: 'bigint' });
    const got = r.rows[0] as Record<string, unknown>;
    expect(r.columns.find((x) => x.name === 'c_bigint')?.type).toBe('BIGINT');
    expect(got.c_bigint).toBe(9223372036854775807n);
    expect(got.c_decimal).toBe('12345678901234567890.0123456789');
    expect(got.c_blob).toBeInstanceOf(Uint8Array);
    expect(Array.from(got.c_blob as Uint8Array)).toEqual(Array.from(BYTES));
    expect(got.c_json).toEqual(row.c_json);
    for (const k of ['c_boolean', 'c_smallint', 'c_integer', 'c_double', 'c_varchar', 'c_text', 'c_date', 'c_time', 'c_datetime', 'c_timestamp', 'c_uuid']) {
      expect(got[k], k).toEqual(row[k as keyof typeof row]);
    }
    const asDate = await c.execute(`SELECT c_timestamp FROM ${t}`, undefined, { timestamps: 'date' });
    expect(asDate.rows[0]?.c_timestamp).toEqual(new Date('2024-02-29T23:59:59.123Z'));
  });

  it('gives int64 per client and per call: number-if-safe, bigint, string', async () => {
    const t = await table(`id ${T.INTEGER}, v ${T.BIGINT}`);
    await c.batch(`INSERT INTO ${t} (id, v) VALUES (${ph(db, 0)}, ${ph(db, 1)})`, [
      [1, 42n],
      [2, 2n ** 53n + 1n],
    ]);
    const q = `SELECT v FROM ${t} ORDER BY id`;
    expect((await c.execute(q)).rows.map((r) => r.v)).toEqual([42, '9007199254740993']);
    expect((await c.execute(q, undefined, { int64: 'bigint' })).rows.map((r) => r.v)).toEqual([42n, 9007199254740993n]);
    const s = createClient({ url: gw.url, backend: db, int64: 'string' });
    expect((await s.execute(q)).rows.map((r) => r.v)).toEqual(['42', '9007199254740993']);
  });

  it('runs atomic batches: a failure leaves nothing and names the statement', async () => {
    const t = await table(`id ${T.INTEGER} PRIMARY KEY`);
    const ok = await c.batch([`INSERT INTO ${t} (id) VALUES (1)`, sql`SELECT 5 AS five`]);
    expect((ok[1] as { rows: unknown[] }).rows).toEqual([{ five: 5 }]);
    const err = await c
      .batch([{ sql: `INSERT INTO ${t} (id) VALUES (2)` }, { sql: `INSERT INTO ${t} (id) VALUES (1)` }])
      .catch((e) => e);
    expect(err).toBeInstanceOf(SqlgateError);
    expect(err.code).toBe('UNIQUE_VIOLATION');
    expect(err.statementIndex).toBe(1);
    expect(err.status).toBe(409);
    expect(err.class).toBe('IntegrityError');
    expect(err.retryable).toBe(false);
    expect(typeof err.requestId).toBe('string');
    expect((await c.execute(`SELECT id FROM ${t} ORDER BY id`)).rows).toEqual([{ id: 1 }]);
  });

  it('commits a transaction, rolls back on throw, and nests savepoints', async () => {
    const t = await table(`id ${T.INTEGER} PRIMARY KEY`);
    const out = await c.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO ${sql([t] as unknown as TemplateStringsArray)} (id) VALUES (${1})`);
      await tx.savepoint(async (sp) => {
        await sp.execute(`INSERT INTO ${t} (id) VALUES (2)`);
        await sp.savepoint(async (inner) => inner.execute(`INSERT INTO ${t} (id) VALUES (3)`));
      });
      await tx
        .savepoint(async (sp) => {
          await sp.execute(`INSERT INTO ${t} (id) VALUES (4)`);
          await sp.execute(`INSERT INTO ${t} (id) VALUES (1)`);
        })
        .catch((e: SqlgateError) => expect(e.code).toBe('UNIQUE_VIOLATION'));
      return 'done';
    });
    expect(out).toBe('done');
    const boom = new Error('boom');
    let leaked: Session | undefined;
    await expect(
      c.transaction(async (tx) => {
        leaked = tx;
        await tx.execute(`INSERT INTO ${t} (id) VALUES (9)`);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect((await c.execute(`SELECT id FROM ${t} ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    // Used after it ended: refused in the client, with no request.
    expect(leaked).toBeDefined();
    const late = (await (leaked as Session).execute('SELECT 1').catch((e: unknown) => e)) as SqlgateError;
    expect(late).toBeInstanceOf(SqlgateError);
    expect(late.code).toBe('TRANSACTION_CLOSED');
    expect(late.status).toBe(0);
  });

  it('gives manual control through session()', async () => {
    const t = await table(`id ${T.INTEGER} PRIMARY KEY`);
    const s = await c.session();
    await s.execute(`INSERT INTO ${t} (id) VALUES (1)`);
    const name = await s.createSavepoint();
    await s.execute(`INSERT INTO ${t} (id) VALUES (2)`);
    await s.rollbackTo(name);
    await s.commit();
    expect(s.isClosed).toBe(true);
    expect((await c.execute(`SELECT id FROM ${t}`)).rows).toEqual([{ id: 1 }]);
  });
});

describe('client errors and control', () => {
  const counting = () => {
    const calls: string[] = [];
    const f: typeof fetch = (input, init) => {
      calls.push(String(input));
      return fetch(input, init);
    };
    return { calls, client: createClient({ url: gw.url, backend: 'sqlite', fetch: f }) };
  };

  it('refuses values it cannot send exactly, before any request', async () => {
    const { calls, client } = counting();
    const bad: unknown[] = [NaN, Infinity, 2 ** 53, 2n ** 64n, Symbol('s'), () => 1, new Map(), new Date(Number.NaN)];
    for (const v of bad) {
      const e = await client.execute('SELECT :v AS v', { v }).catch((x) => x);
      expect(e, String(typeof v)).toBeInstanceOf(SqlgateError);
      expect(e.code).toBe('PARAM_INVALID');
    }
    const nanBig = await Promise.resolve()
      .then(async () => (await import('../src/index.js')).bigint(Number.NaN))
      .catch((x) => x);
    expect(nanBig.code).toBe('PARAM_INVALID');
    expect(calls).toEqual([]);
  });

  it('codes gateway errors with class, sqlState and request id', async () => {
    const c = createClient({ url: gw.url, backend: 'postgres' in gw.skipped ? 'sqlite' : 'postgres' });
    const e = await c.execute('SELEC 1').catch((x) => x);
    expect(e.code).toBe('SQL_SYNTAX_ERROR');
    expect(e.status).toBe(400);
    expect(e.class).toBe('QueryError');
    if (!('postgres' in gw.skipped)) expect(e.sqlState).toBe('42601');
  });

  it('codes network failures, timeouts and aborts', async () => {
    const down = createClient({ url: 'http://127.0.0.1:1', retry: false });
    const n = await down.execute('SELECT 1').catch((x) => x);
    expect(n.code).toBe('NETWORK_ERROR');
    const slow: typeof fetch = (_i, init) =>
      new Promise((_r, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const t = await createClient({ url: gw.url, fetch: slow, timeoutMs: 50 }).execute('SELECT 1').catch((x) => x);
    expect(t.code).toBe('TIMEOUT');
    const ctl = new AbortController();
    const p = createClient({ url: gw.url, fetch: slow }).execute('SELECT 1', undefined, { signal: ctl.signal });
    ctl.abort();
    expect((await p.catch((x) => x)).code).toBe('ABORTED');
  });

  it('retries a retryable refusal of an autocommit statement, never a commit', async () => {
    let n = 0;
    const flaky: typeof fetch = async (input, init) => {
      n++;
      if (n === 1) {
        return new Response(
          JSON.stringify({ error: { code: 'OVERLOADED', message: 'busy', retryable: true, requestId: 'r1' } }),
          { status: 503, headers: { 'content-type': 'application/json' } },
        );
      }
      return fetch(input, init);
    };
    const c = createClient({ url: gw.url, backend: 'sqlite', fetch: flaky, retry: { baseDelayMs: 1 } });
    expect((await c.execute('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    expect(n).toBe(2);
    let commits = 0;
    const failCommit: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/commit')) {
        commits++;
        return new Response(JSON.stringify({ error: { code: 'BACKEND_UNAVAILABLE', message: 'x', retryable: true } }), {
          status: 503,
        });
      }
      return fetch(input, init);
    };
    const c2 = createClient({ url: gw.url, backend: 'sqlite', fetch: failCommit, retry: { baseDelayMs: 1 } });
    const e = await c2.transaction(async (tx) => tx.execute('SELECT 1')).catch((x) => x);
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(commits).toBe(1);
  });
});
