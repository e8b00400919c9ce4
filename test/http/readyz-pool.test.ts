import { afterEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { testBackends } from '../helpers/backends.js';

/**
 * Issue #15 defect 9: /readyz reported a healthy database as 503 when open sessions held every pooled
 * connection, because the ping waited for a pool slot. Now a full pool is probed on a connection of its
 * own (PostgreSQL, MySQL) or by checking the file (SQLite).
 */

const backends = await testBackends();
const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

describe.each(backends)('/readyz with every pooled connection held by a session ($driver)', (b) => {
  it.skipIf(b.skipReason !== null)('is 200 ready, and the sessions still work afterwards', async () => {
    const t = await makeTestApp({
      backends: { main: b.backendDoc({ pool: { max: 2, acquireTimeoutMs: 3000 } }) },
    });
    apps.push(t);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await t.post('/v1/sessions', { begin: true });
      expect(s.status).toBe(201);
      ids.push(s.body.id);
    }
    // The pool really is full: an autocommit statement cannot get a connection.
    const starved = await t.post('/v1/execute', { sql: 'select 1 as x', options: { timeoutMs: 500 } });
    expect(starved.status).toBe(503);
    expect(starved.body.error.code).toBe('OVERLOADED');

    const ready = await t.get('/readyz');
    expect(ready.body).toEqual({ status: 'ready', backends: { main: { ok: true } } });
    expect(ready.status).toBe(200);

    for (const id of ids) {
      const r = await t.post(`/v1/sessions/${id}/execute`, { sql: 'select 2 as y' });
      expect(r.status).toBe(200);
      expect(
        await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` }).then((x) => x.statusCode),
      ).toBe(200);
    }
  });
});
