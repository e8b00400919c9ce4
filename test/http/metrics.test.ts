import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/** GET /metrics after real traffic: the values an operator alerts on are there and non-zero. */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, enough of it for these assertions. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!;
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return hit?.value;
}

async function scrape(t: TestApp): Promise<Sample[]> {
  const res = await t.get('/metrics');
  expect(res.status).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(String(res.body));
}

describe('/metrics', () => {
  let t: TestApp;
  let other: TestApp;
  let samples: Sample[];
  let hasSessions = false;
  let backendsBytes = 0;

  beforeAll(async () => {
    t = await makeTestApp({ backends: { main: { driver: 'sqlite', database: tempSqliteFile() } } });
    other = await makeTestApp({ backends: { main: { driver: 'sqlite', database: ':memory:' } } });
    const exec = (sql: string, params?: unknown) =>
      t.post('/v1/execute', { sql, ...(params ? { params } : {}) });
    expect((await exec('CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)')).status).toBe(200);
    expect((await exec('INSERT INTO m (v) VALUES (?), (?), (?)', ['a', 'b', 'c'])).status).toBe(200);
    const sel = await exec('SELECT id, v FROM m');
    expect(sel.body.rowCount).toBe(3);
    expect((await exec('SELEC 1')).status).toBe(400);
    expect((await exec('SELECT * FROM no_such_table')).status).toBe(400);
    const backendsRes = await t.get('/v1/backends');
    expect(backendsRes.status).toBe(200);
    backendsBytes = Buffer.byteLength(JSON.stringify(backendsRes.body));
    expect((await t.get('/no/such/route')).status).toBe(404);
    const batch = await t.post('/v1/batch', {
      statements: [
        { sql: "UPDATE m SET v = 'x' WHERE id = 1" },
        { sql: "UPDATE m SET v = 'y' WHERE id = 2" },
      ],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);

    hasSessions = t.app.hasRoute({ method: 'POST', url: '/v1/sessions' });
    if (hasSessions) {
      const open = await t.post('/v1/sessions', { begin: true });
      expect(open.status, JSON.stringify(open.body)).toBe(201);
      const inside = await t.post(`/v1/sessions/${open.body.id}/execute`, { sql: 'SELECT 1 AS x' });
      expect(inside.status, JSON.stringify(inside.body)).toBe(200);
      // An unknown id: the route label must stay the pattern, never the id.
      expect((await t.get('/v1/sessions/not-a-session')).status).toBe(404);
    }
    samples = await scrape(t);
  });
  afterAll(async () => {
    await t?.close();
    await other?.close();
  });

  it('counts requests by route pattern, method and status', () => {
    const route = '/v1/execute';
    expect(value(samples, 'sqlgate_http_requests_total', { route, method: 'POST', status: '200' })).toBe(3);
    expect(value(samples, 'sqlgate_http_requests_total', { route, method: 'POST', status: '400' })).toBe(2);
    expect(
      value(samples, 'sqlgate_http_requests_total', { route: '/v1/backends', method: 'GET', status: '200' }),
    ).toBe(1);
    // Unknown URLs share one label value instead of one series each.
    expect(value(samples, 'sqlgate_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(samples.some((s) => s.labels.route === '/no/such/route')).toBe(false);
    expect(
      value(samples, 'sqlgate_http_request_duration_seconds_count', { route, method: 'POST', status: '200' }),
    ).toBe(3);
    expect(value(samples, 'sqlgate_http_response_bytes_total', { route })).toBeGreaterThan(0);
    // Exactly the body bytes sent (one GET /v1/backends, a compact JSON document).
    expect(value(samples, 'sqlgate_http_response_bytes_total', { route: '/v1/backends' })).toBe(
      backendsBytes,
    );
  });

  it('records query latency by backend and command, and result rows', () => {
    const count = (command: string) =>
      value(samples, 'sqlgate_query_duration_seconds_count', { backend: 'main', command });
    expect(count('SELECT')).toBeGreaterThanOrEqual(1);
    expect(count('INSERT')).toBe(1);
    // Statements inside a batch and inside a session are queries too.
    expect(count('UPDATE')).toBe(2);
    expect(count('SELECT')).toBe(hasSessions ? 2 : 1);
    expect(
      value(samples, 'sqlgate_query_duration_seconds_sum', { backend: 'main', command: 'SELECT' }),
    ).toBeGreaterThan(0);
    expect(value(samples, 'sqlgate_result_rows_total', { backend: 'main' })).toBeGreaterThanOrEqual(3);
  });

  it("counts a paramSets batch as one statement run, with every set's rows", async () => {
    const bulk = await makeTestApp({ backends: { main: { driver: 'sqlite', database: ':memory:' } } });
    try {
      const res = await bulk.post('/v1/batch', { sql: 'SELECT ? AS x', paramSets: [[1], [2], [3]] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.results).toHaveLength(3);
      const s = await scrape(bulk);
      expect(value(s, 'sqlgate_query_duration_seconds_count', { backend: 'main', command: 'SELECT' })).toBe(
        1,
      );
      expect(value(s, 'sqlgate_result_rows_total', { backend: 'main' })).toBe(3);
    } finally {
      await bulk.close();
    }
  });

  it('counts errors by code', () => {
    expect(value(samples, 'sqlgate_errors_total', { code: 'SQL_SYNTAX_ERROR' })).toBe(1);
    expect(value(samples, 'sqlgate_errors_total', { code: 'UNDEFINED_OBJECT' })).toBe(1);
    expect(value(samples, 'sqlgate_errors_total', { code: 'NOT_FOUND' })).toBeGreaterThanOrEqual(1);
  });

  it('reports the pool of every backend, read at scrape time', () => {
    expect(value(samples, 'sqlgate_pool_connections', { backend: 'main' })).toBeGreaterThan(0);
    // An open session may hold the only connection: idle + in use = open.
    const idle = value(samples, 'sqlgate_pool_connections_idle', { backend: 'main' })!;
    const inUse = value(samples, 'sqlgate_pool_connections_in_use', { backend: 'main' })!;
    expect(idle + inUse).toBe(value(samples, 'sqlgate_pool_connections', { backend: 'main' }));
    expect(value(samples, 'sqlgate_pool_max_connections', { backend: 'main' })).toBeGreaterThan(0);
    expect(value(samples, 'sqlgate_pool_waiting_requests', { backend: 'main' })).toBe(0);
  });

  it('reports sessions (open gauge and counters) when the session routes exist', (ctx) => {
    // Always exported, so dashboards and alerts work before the first session.
    expect(value(samples, 'sqlgate_sessions_open', { backend: 'main' })).toBeDefined();
    expect(value(samples, 'sqlgate_sessions_reaped_total')).toBeDefined();
    if (!hasSessions) {
      ctx.skip('no /v1/sessions route registered in this build');
      return;
    }
    expect(value(samples, 'sqlgate_sessions_open', { backend: 'main' })).toBe(1);
    expect(value(samples, 'sqlgate_sessions_opened_total')).toBe(1);
    expect(
      value(samples, 'sqlgate_http_requests_total', {
        route: '/v1/sessions/:id',
        method: 'GET',
        status: '404',
      }),
    ).toBe(1);
    expect(samples.some((s) => s.labels.route?.includes('not-a-session'))).toBe(false);
    expect(value(samples, 'sqlgate_pool_connections_in_use', { backend: 'main' })).toBeGreaterThanOrEqual(1);
  });

  it('exports the default Node.js process metrics', () => {
    expect(value(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('keeps one registry per app: another app in the same process counts only its own traffic', async () => {
    const mine = await scrape(other);
    expect(value(mine, 'sqlgate_http_requests_total', { route: '/v1/execute' })).toBeUndefined();
    expect(value(mine, 'sqlgate_errors_total', { code: 'SQL_SYNTAX_ERROR' })).toBeUndefined();
    // The first scrape is itself counted by the next one.
    const again = await scrape(other);
    expect(value(again, 'sqlgate_http_requests_total', { route: '/metrics', status: '200' })).toBe(1);
  });
});
