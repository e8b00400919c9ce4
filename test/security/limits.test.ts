import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile, testBackends } from '../helpers/backends.js';

/** Resource limits: body size, JSON depth and poisoned keys, result size, rate, timeouts, headers, CORS. */

const KEY = 'limits-key-0123456789abcdef';
const SLOW_KEY = 'limits-slow-0123456789abcdef';
const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });

describe('request limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({
      auth: {
        apiKeys: [
          { name: 'app', key: KEY },
          { name: 'throttled', key: SLOW_KEY, ratePerMinute: 3 },
        ],
      },
      backends: { db: { driver: 'sqlite', database: tempSqliteFile() } },
    });
  });
  afterAll(async () => t?.close());

  it('a body over the default 4 MiB limit is 413 PAYLOAD_TOO_LARGE', async () => {
    expect(t.config.server.bodyLimit).toBe(4 * 1024 * 1024);
    const big = JSON.stringify({ sql: 'SELECT ?', params: ['x'.repeat(4 * 1024 * 1024)] });
    const res = await t.post('/v1/execute', big, auth());
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a body nested deeper than limits.maxJsonDepth is 400, even when hostile and deep', async () => {
    const nested = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    const ok = await t.post(
      '/v1/execute',
      `{"sql":"SELECT ?","params":[{"$type":"JSON","value":${nested(20)}}]}`,
      auth(),
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    for (const depth of [65, 100_000, 1_000_000]) {
      const started = performance.now();
      const res = await t.post('/v1/execute', `{"sql":"SELECT ?","params":[${nested(depth)}]}`, auth());
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('BAD_REQUEST');
      expect(res.body.error.message).toMatch(/nested deeper than 64/);
      expect(performance.now() - started).toBeLessThan(2000);
    }
    // Brackets inside strings do not count.
    const inString = await t.post('/v1/execute', { sql: 'SELECT ?', params: ['['.repeat(1000)] }, auth());
    expect(inString.status).toBe(200);
  });

  it('__proto__ and constructor.prototype keys are rejected, also when escaped', async () => {
    for (const body of [
      '{"sql":"SELECT 1","__proto__":{"polluted":true}}',
      '{"sql":"SELECT ?","params":[{"$type":"JSON","value":{"__proto__":{"x":1}}}]}',
      '{"sql":"SELECT 1","params":{"constructor":{"prototype":{"x":1}}}}',
      '{"sql":"SELECT 1","\\u005f_proto__":{"x":1}}',
    ]) {
      const res = await t.post('/v1/execute', body, auth());
      expect(res.status, body).toBe(400);
      expect(res.body.error.code).toBe('BAD_REQUEST');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // A plain "constructor" value is data, not pollution.
    const ok = await t.post(
      '/v1/execute',
      { sql: 'SELECT :constructor AS c', params: { constructor: 'x' } },
      auth(),
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it('invalid JSON is 400 without quoting the body', async () => {
    const res = await t.post('/v1/execute', '{"sql":"SELECT 1","params":["sentinel-9Zq"', auth());
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toContain('sentinel-9Zq');
  });

  it('the per-principal rate limit answers 429 RATE_LIMITED with Retry-After, per principal', async () => {
    const codes: number[] = [];
    let last: Awaited<ReturnType<TestApp['post']>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await t.post('/v1/execute', { sql: 'SELECT 1' }, auth(SLOW_KEY));
      codes.push(last.status);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expect(last?.body.error.code).toBe('RATE_LIMITED');
    expect(last?.body.error.retryable).toBe(true);
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
    // Another principal has its own budget (and no limit by default).
    for (let i = 0; i < 5; i++)
      expect((await t.post('/v1/execute', { sql: 'SELECT 1' }, auth())).status).toBe(200);
  });

  it('a statement over its timeout is cancelled with 504 STATEMENT_TIMEOUT', async () => {
    const res = await t.post(
      '/v1/execute',
      {
        sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c',
        options: { timeoutMs: 300 },
      },
      auth(),
    );
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('STATEMENT_TIMEOUT');
  });

  it('API responses carry nosniff, no-store and a locked-down CSP; no CORS headers unless configured', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/execute',
      payload: { sql: 'SELECT 1' },
      headers: { ...auth(), origin: 'https://evil.example' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const err = await t.get('/v1/backends');
    expect(err.headers['cache-control']).toBe('no-store');
    expect(err.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('CORS when configured', () => {
  it('allows exactly the listed origins, answers preflight without credentials, never allows cookies', async () => {
    const t = await makeTestApp({
      server: { cors: { origins: ['https://app.example'] } },
      auth: { apiKeys: [{ name: 'app', key: KEY }] },
      backends: { db: { driver: 'sqlite', database: tempSqliteFile() } },
    });
    try {
      const pre = await t.app.inject({
        method: 'OPTIONS',
        url: '/v1/execute',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(pre.statusCode).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      const ok = await t.app.inject({
        method: 'POST',
        url: '/v1/execute',
        payload: { sql: 'SELECT 1' },
        headers: { ...auth(), origin: 'https://app.example' },
      });
      expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
      const other = await t.app.inject({
        method: 'POST',
        url: '/v1/execute',
        payload: { sql: 'SELECT 1' },
        headers: { ...auth(), origin: 'https://evil.example' },
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      // A preflight does not authenticate anything: the real request still needs the key.
      const noKey = await t.app.inject({
        method: 'POST',
        url: '/v1/execute',
        payload: { sql: 'SELECT 1' },
        headers: { origin: 'https://app.example' },
      });
      expect(noKey.statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });
});

describe('slow clients', () => {
  it('a client that never finishes its headers is disconnected after server.headersTimeoutMs', async () => {
    const t = await makeTestApp({
      server: { headersTimeoutMs: 1000, requestTimeoutMs: 5000 },
      backends: { db: { driver: 'sqlite', database: tempSqliteFile() } },
    });
    try {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = t.app.server.address() as { port: number };
      const started = Date.now();
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        let data = '';
        socket.on('connect', () => socket.write('POST /v1/execute HTTP/1.1\r\nHost: x\r\nX-Slow: 1'));
        socket.on('data', (d) => {
          data += String(d);
        });
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        setTimeout(() => {
          socket.destroy();
          resolve('still open');
        }, 8000);
      });
      expect(outcome).not.toBe('still open');
      expect(outcome === '' || outcome.startsWith('HTTP/1.1 408')).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await t.close();
    }
  });
});

const backends = await testBackends();

/** A result of ten million rows, per database. */
const TEN_MILLION: Record<string, string> = {
  sqlite:
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) SELECT x FROM c',
  postgres: 'SELECT g AS x FROM generate_series(1, 10000000) AS g',
  // MySQL caps recursion at 1000 levels by default (MariaDB: max_recursive_iterations): cross joins instead.
  mysql: `SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d + 1000000 * h.d AS x
    FROM ${digits('a')}, ${digits('b')}, ${digits('c')}, ${digits('e')}, ${digits('f')}, ${digits('g')}, ${digits('h')}`,
};

/** A derived table of the digits 0-9 named `alias`. */
function digits(alias: string): string {
  const rest = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => ` UNION ALL SELECT ${d}`).join('');
  return `(SELECT 0 AS d${rest}) AS ${alias}`;
}

describe.each(backends)('a 10M-row result: $driver', (tb) => {
  let t: TestApp | undefined;
  const skip = tb.skipReason;
  beforeAll(async () => {
    if (!skip) t = await makeTestApp({ backends: { db: tb.backendDoc() } });
  });
  afterAll(async () => t?.close());

  it('fails fast with RESULT_TOO_LARGE under default limits and RSS grows < 100 MB', async (ctx) => {
    if (skip || !t) {
      console.warn(`[skip] ${skip}`);
      ctx.skip();
      return;
    }
    const app = t;
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const started = performance.now();
    const res = await app.post('/v1/execute', { sql: TEN_MILLION[tb.driver] });
    const elapsed = performance.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.error.code).toBe('RESULT_TOO_LARGE');
    expect(elapsed).toBeLessThan(15_000);
    const grewMb = (peak - rssBefore) / 1024 / 1024;
    console.log(
      `[${tb.driver}] 10M rows: RESULT_TOO_LARGE in ${elapsed.toFixed(0)} ms, RSS +${grewMb.toFixed(1)} MB`,
    );
    expect(grewMb).toBeLessThan(100);
  });

  it('maxResponseBytes stops wide rows before maxRows does', async (ctx) => {
    if (skip || !t) {
      ctx.skip();
      return;
    }
    const wide: Record<string, string> = {
      sqlite:
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000) SELECT x, hex(zeroblob(500)) AS pad FROM c',
      postgres: "SELECT g AS x, repeat('a', 1000) AS pad FROM generate_series(1, 50000) AS g",
      mysql: `SELECT a.d AS x, REPEAT('a', 1000) AS pad FROM ${digits('a')}, ${digits('b')}, ${digits('c')}, ${digits('e')}, ${digits('f')}`,
    };
    const res = await t.post('/v1/execute', { sql: wide[tb.driver] });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('RESULT_TOO_LARGE');
    expect(res.body.error.message).toMatch(/maxResponseBytes/);
  });
});
