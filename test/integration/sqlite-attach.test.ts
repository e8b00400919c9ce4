import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/**
 * ATTACH (and VACUUM INTO) name a file; when SQLite cannot open it that is the caller's mistake: 400
 * QUERY_FAILED, not retryable, and the backend keeps serving. (It used to be 503 BACKEND_UNAVAILABLE,
 * retryable, which made clients retry a request that can never succeed.)
 */
describe('sqlite: ATTACH of a file that cannot be opened', () => {
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    const file = tempSqliteFile();
    dir = dirname(file);
    t = await makeTestApp({ backends: { db: { driver: 'sqlite', database: file, pool: { max: 1 } } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const expectCallerError = (res: Awaited<ReturnType<TestApp['exec']>>) => {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('QUERY_FAILED');
    expect(res.body.error.retryable).toBe(false);
    expect(res.body.error.dbCode).toMatch(/^SQLITE_(CANTOPEN|NOTADB)/);
  };

  it('a file in a missing directory: 400 QUERY_FAILED, and the backend still answers', async () => {
    expectCallerError(await t.exec(`ATTACH DATABASE '${join(dir, 'no', 'such', 'dir.db')}' AS other`));
    const next = await t.exec('SELECT 2 AS n');
    expect(next.status).toBe(200);
    expect(next.body.rows).toEqual([{ n: '2' }]);
    const ready = await t.get('/readyz');
    expect(ready.status).toBe(200);
  });

  it('a file that is not a database: 400 QUERY_FAILED', async () => {
    const text = join(dir, 'not-a-db.txt');
    writeFileSync(text, 'this is not a database file, it is text and longer than a header '.repeat(20));
    expectCallerError(await t.exec(`ATTACH DATABASE '${text}' AS other`));
  });

  it('inside a session: the same error, and the session stays usable', async () => {
    const open = await t.post('/v1/sessions', { begin: false });
    expect(open.status).toBe(201);
    const res = await t.post(`/v1/sessions/${open.body.id}/execute`, {
      sql: `ATTACH DATABASE '${join(dir, 'missing', 'x.db')}' AS other`,
    });
    expectCallerError(res);
    const next = await t.post(`/v1/sessions/${open.body.id}/execute`, { sql: 'SELECT 3 AS n' });
    expect(next.body.rows).toEqual([{ n: '3' }]);
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${open.body.id}` });
  });

  it('VACUUM INTO a missing directory: 400 QUERY_FAILED', async () => {
    expectCallerError(await t.exec(`VACUUM INTO '${join(dir, 'gone', 'copy.db')}'`));
  });

  it('over the NDJSON stream: the same coded error', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: { accept: 'application/x-ndjson', 'content-type': 'application/json' },
      payload: { sql: `ATTACH DATABASE '${join(dir, 'absent', 'y.db')}' AS other` },
    });
    const last = JSON.parse(res.body.trim().split('\n').pop() as string) as {
      error: { code: string; retryable: boolean };
    };
    expect(last.error.code, res.body).toBe('QUERY_FAILED');
    expect(last.error.retryable).toBe(false);
  });
});
