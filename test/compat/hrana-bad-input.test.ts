import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * Malformed input on the Hrana endpoints (/v2, /v3 pipelines and the cursor): bodies that are not JSON,
 * unknown request, statement, value and condition types, wrong argument types, too many requests, huge
 * SQL. Each gets a 4xx `{message, code}` with content-type exactly application/json (what the libsql client
 * reads), never a 5xx; a refused pipeline runs none of its requests and leaves no stream open.
 */

const sqlite = (await testBackends()).find((b) => b.driver === 'sqlite');
const BODY_LIMIT = 4 * 1024 * 1024; // the default server.bodyLimit

interface Reply {
  status: number;
  type: string | null;
  body: { message?: string; code?: string; baton?: string | null; results?: unknown[] };
}

describe('Hrana: malformed input', () => {
  let s: ServedApp;

  beforeAll(async () => {
    s = await serveTestApp({
      backends: { main: sqlite?.backendDoc() ?? {} },
    });
    await post('/v2/pipeline', {
      baton: null,
      requests: [
        { type: 'execute', stmt: { sql: 'CREATE TABLE bad_in (id INTEGER PRIMARY KEY, v TEXT)' } },
        { type: 'close' },
      ],
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  async function send(path: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(`${s.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await res.text();
    let parsed: Reply['body'] = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
    return { status: res.status, type: res.headers.get('content-type'), body: parsed };
  }
  const post = (path: string, body: unknown) => send(path, JSON.stringify(body));

  const rows = async () => {
    const r = await post('/v2/pipeline', {
      baton: null,
      requests: [{ type: 'execute', stmt: { sql: 'SELECT COUNT(*) FROM bad_in' } }, { type: 'close' }],
    });
    const results = r.body.results as Array<{ response: { result: { rows: Array<[{ value: string }]> } } }>;
    return Number(results[0]?.response.result.rows[0]?.[0].value);
  };

  const expectNothingOpen = () => {
    expect(s.app.sessions.size).toBe(0);
    expect(s.app.backends.get('main').poolStats().inUse).toBe(0);
  };

  /** A coded protocol error: 4xx, exact application/json, a code and a message. */
  const expectCoded = (r: Reply, status: number, code: string, what: string) => {
    expect(r.status, what).toBe(status);
    expect(r.type, what).toBe('application/json');
    expect(r.body.code, what).toBe(code);
    expect(typeof r.body.message, what).toBe('string');
  };

  const insert = { type: 'execute', stmt: { sql: "INSERT INTO bad_in (v) VALUES ('should not run')" } };

  it('refuses a body that is not JSON, or not a pipeline object', async () => {
    const cases: Array<[string, string]> = [
      ['{"baton":null,"requests":[', 'truncated JSON'],
      ['hello', 'not JSON at all'],
      ['', 'empty body'],
      ['[]', 'an array'],
      ['null', 'null'],
      ['"text"', 'a string'],
      ['{"baton":null}', 'no requests'],
      ['{"baton":null,"requests":{}}', 'requests not an array'],
      ['{"baton":7,"requests":[]}', 'a numeric baton'],
      ['{"baton":null,"requests":[],"__proto__":{"x":1}}', 'prototype poisoning'],
    ];
    for (const [body, what] of cases) {
      const r = await send('/v2/pipeline', body);
      expect(r.status, what).toBe(400);
      expect(r.type, what).toBe('application/json');
      expect(typeof r.body.code, what).toBe('string');
    }
    expectNothingOpen();
  });

  it('refuses a content-type other than JSON with a coded 415', async () => {
    const r = await send('/v2/pipeline', '{"baton":null,"requests":[]}', { 'content-type': 'text/csv' });
    expect(r.status).toBe(415);
    expect(r.type).toBe('application/json');
    expect(typeof r.body.code).toBe('string');
  });

  it('refuses unknown request, value and condition types and wrong argument types, running nothing', async () => {
    const stmt = (extra: Record<string, unknown>) => ({
      type: 'execute',
      stmt: { sql: 'SELECT ?', ...extra },
    });
    const batch = (steps: unknown[]) => ({ type: 'batch', batch: { steps } });
    const cases: Array<[unknown, string]> = [
      [{ type: 'explode' }, 'unknown request type'],
      [{}, 'request without a type'],
      ['execute', 'request not an object'],
      [{ type: 'execute' }, 'execute without stmt'],
      [{ type: 'execute', stmt: { args: [] } }, 'stmt without sql or sql_id'],
      [{ type: 'execute', stmt: { sql: 'SELECT 1', sql_id: 1 } }, 'both sql and sql_id'],
      [{ type: 'execute', stmt: { sql: 42 } }, 'sql not a string'],
      [stmt({ args: 'x' }), 'args not an array'],
      [stmt({ args: [1] }), 'a bare JSON number as a value'],
      [stmt({ args: [{ type: 'bigint', value: '1' }] }), 'unknown value type'],
      [stmt({ args: [{ type: 'integer', value: 5 }] }), 'integer as a JSON number'],
      [stmt({ args: [{ type: 'integer', value: '1.5' }] }), 'integer not an integer'],
      [stmt({ args: [{ type: 'integer', value: '9223372036854775808' }] }), 'integer above 2^63-1'],
      [stmt({ args: [{ type: 'float', value: 'NaN' }] }), 'float as a string'],
      [stmt({ args: [{ type: 'text', value: 1 }] }), 'text not a string'],
      [stmt({ args: [{ type: 'blob', base64: '***' }] }), 'blob not base64'],
      [stmt({ named_args: [{ value: { type: 'null' } }] }), 'named arg without a name'],
      [stmt({ named_args: {} }), 'named_args not an array'],
      [stmt({ want_rows: 'yes' }), 'want_rows not a boolean'],
      [{ type: 'store_sql', sql_id: -1, sql: 'SELECT 1' }, 'negative sql_id'],
      [{ type: 'store_sql', sql_id: 1.5, sql: 'SELECT 1' }, 'fractional sql_id'],
      [{ type: 'close_sql' }, 'close_sql without sql_id'],
      [{ type: 'sequence' }, 'sequence without sql'],
      [{ type: 'batch' }, 'batch without steps'],
      [batch(['SELECT 1']), 'step not an object'],
      [batch([{ stmt: { sql: 'SELECT 1' }, condition: { type: 'ok', step: 0 } }]), 'condition on itself'],
      [batch([{ stmt: { sql: 'SELECT 1' }, condition: { type: 'maybe' } }]), 'unknown condition type'],
      [batch([{ stmt: { sql: 'SELECT 1' }, condition: { type: 'and', conds: 1 } }]), 'conds not an array'],
      [batch([{ stmt: { sql: 'SELECT 1' }, condition: deepNot(40) }]), 'condition nested 40 deep'],
      [{ type: 'get_autocommit' }, 'a Hrana 3 request on /v2'],
    ];
    for (const [bad, what] of cases) {
      const r = await post('/v2/pipeline', { baton: null, requests: [insert, bad, { type: 'close' }] });
      expectCoded(r, 400, 'HRANA_PROTO_ERROR', what);
    }
    expect(await rows()).toBe(0);
    expectNothingOpen();
  });

  it('is_autocommit and get_autocommit are Hrana 3: accepted on /v3', async () => {
    const r = await post('/v3/pipeline', {
      baton: null,
      requests: [
        { type: 'get_autocommit' },
        {
          type: 'batch',
          batch: { steps: [{ stmt: { sql: 'SELECT 1' }, condition: { type: 'is_autocommit' } }] },
        },
        { type: 'close' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.results).toMatchObject([
      { type: 'ok', response: { type: 'get_autocommit', is_autocommit: true } },
      { type: 'ok', response: { type: 'batch', result: { step_errors: [null] } } },
      { type: 'ok', response: { type: 'close' } },
    ]);
  });

  it('runs a pipeline of 1,000 requests and refuses 10,000 (compat.hrana.maxPipelineRequests) with nothing run', async () => {
    const ins = (i: number) => ({
      type: 'execute',
      stmt: {
        sql: 'INSERT INTO bad_in (id, v) VALUES (?, ?)',
        args: [
          { type: 'integer', value: String(i) },
          { type: 'text', value: 'x' },
        ],
      },
    });
    const big = Array.from({ length: 10_000 }, (_, i) => ins(i + 1));
    const refused = await post('/v2/pipeline', { baton: null, requests: [...big, { type: 'close' }] });
    expectCoded(refused, 400, 'HRANA_PROTO_ERROR', '10,000 requests');
    expect(refused.body.message).toContain('at most 1000');
    expect(await rows()).toBe(0);

    const ok = await post('/v2/pipeline', {
      baton: null,
      requests: [...big.slice(0, 999), { type: 'close' }],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(1000);
    expect((ok.body.results as Array<{ type: string }>).every((x) => x.type === 'ok')).toBe(true);
    expect(await rows()).toBe(999);
    await post('/v2/pipeline', {
      baton: null,
      requests: [{ type: 'execute', stmt: { sql: 'DELETE FROM bad_in' } }, { type: 'close' }],
    });
    expectNothingOpen();
  });

  it('a batch of more steps than limits.maxBatchStatements is refused before it runs', async () => {
    const t = await serveTestApp({
      limits: { maxBatchStatements: 10 },
      backends: { main: { driver: 'sqlite', database: ':memory:' } },
    });
    try {
      const steps = Array.from({ length: 11 }, () => ({ stmt: { sql: 'SELECT 1' } }));
      const r = await fetch(`${t.url}/v2/pipeline`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          baton: null,
          requests: [{ type: 'batch', batch: { steps } }, { type: 'close' }],
        }),
      });
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ code: 'HRANA_PROTO_ERROR' });
    } finally {
      await t.close();
    }
  });

  it('huge SQL: over server.bodyLimit is a coded 413; under it, the statement runs exactly', async () => {
    const huge = `SELECT '${'x'.repeat(BODY_LIMIT)}' AS v`;
    const r = await post('/v2/pipeline', {
      baton: null,
      requests: [{ type: 'execute', stmt: { sql: huge } }, { type: 'close' }],
    });
    expectCoded(r, 413, 'PAYLOAD_TOO_LARGE', 'body over the limit');

    const c = createClient({ url: s.url });
    const err = await c.execute(huge).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LibsqlError', code: 'PAYLOAD_TOO_LARGE' });
    const big = 'y'.repeat(BODY_LIMIT / 4);
    const ok = await c.execute(`SELECT '${big}' AS v`);
    expect(ok.rows[0]?.v).toBe(big);
    c.close();
    expectNothingOpen();
  });

  it('a SQL error is a per-request error result; the rest of the pipeline still runs', async () => {
    const r = await post('/v2/pipeline', {
      baton: null,
      requests: [
        { type: 'execute', stmt: { sql: 'SELEC 1' } },
        { type: 'execute', stmt: { sql: 'SELECT * FROM no_such_table' } },
        { type: 'execute', stmt: { sql: 'SELECT ?', args: [] } },
        { type: 'execute', stmt: { sql: 'SELECT 2' } },
        { type: 'execute', stmt: { sql_id: 99 } },
        { type: 'close' },
      ],
    });
    expect(r.status).toBe(200);
    const results = r.body.results as Array<{ type: string; error?: { code: string } }>;
    expect(results.map((x) => x.type)).toEqual(['error', 'error', 'error', 'ok', 'error', 'ok']);
    expect(results[0]?.error?.code).toBe('SQL_PARSE_ERROR');
    expect(results[1]?.error?.code).toMatch(/^SQLITE_/);
    expect(results[4]?.error?.code).toBe('SQL_ID_INVALID');
    expectNothingOpen();
  });

  it('a malformed pipeline on a live stream closes that stream (rolled back)', async () => {
    const open = await post('/v2/pipeline', {
      baton: null,
      requests: [
        { type: 'execute', stmt: { sql: 'BEGIN' } },
        { type: 'execute', stmt: { sql: "INSERT INTO bad_in (v) VALUES ('in tx')" } },
      ],
    });
    expect(open.status).toBe(200);
    expect(s.app.sessions.size).toBe(1);
    const bad = await post('/v2/pipeline', { baton: open.body.baton, requests: [{ type: 'explode' }] });
    expectCoded(bad, 400, 'HRANA_PROTO_ERROR', 'unknown type on a live stream');
    expectNothingOpen();
    expect(await rows()).toBe(0);
    const again = await post('/v2/pipeline', { baton: open.body.baton, requests: [{ type: 'close' }] });
    expect(again.status).toBe(400);
    expect(again.body.code).toMatch(/^(STREAM_EXPIRED|BATON_REUSED)$/);
  });

  it('answers wrong methods and unknown paths with coded JSON, not 5xx', async () => {
    const get = await fetch(`${s.url}/v2/pipeline`);
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.status).toBeLessThan(500);
    const probe = await fetch(`${s.url}/v3-protobuf`);
    expect(probe.status).toBe(404);
    expectNothingOpen();
  });
});

function deepNot(n: number): unknown {
  let c: unknown = { type: 'and', conds: [] };
  for (let i = 0; i < n; i++) c = { type: 'not', cond: c };
  return c;
}
