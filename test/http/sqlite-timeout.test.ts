import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlineExtensionPath } from '../../src/backend/sqlite/sqlite-deadline.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';
import { httpJson, keepAliveAgent, logRecords, startGateway } from '../helpers/gateway-process.js';

/**
 * Issue #15, defect 7 (SQLite half): a timed-out SQLite statement must actually stop. It used to be
 * abandoned by terminating its worker, but a statement busy in one long step (here an aggregate over an
 * endless WITH RECURSIVE) does not run JavaScript, so the thread kept a core busy for minutes, a new
 * worker was started beside it, and SIGTERM waited behind it until SIGKILL. The deadline now lives inside
 * SQLite (native/sqlgate-deadline.c, built by `npm run build:native`).
 */
const ENDLESS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';
const built = deadlineExtensionPath() !== null;
const reason = 'native/build/sqlgate-deadline.so is not built (npm run build:native)';

/** This process's threads (Linux). A statement left running keeps its thread. */
const threads = () => readdirSync('/proc/self/task').length;

it.runIf(!built && process.env.CI)('the SQLite deadline extension is built in CI', () => {
  expect(deadlineExtensionPath(), reason).not.toBeNull();
});

describe.skipIf(!built)('SQLite statement timeout stops the statement', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({
      backends: { db: { driver: 'sqlite', database: tempSqliteFile(), pool: { max: 1 } } },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('504 STATEMENT_TIMEOUT, the next query works on the same worker, and no thread is left running', async () => {
    expect((await t.exec('SELECT 1 AS one')).status).toBe(200);
    const first = await t.exec(ENDLESS, undefined, { timeoutMs: 200 });
    expect(first.status, JSON.stringify(first.body)).toBe(504);
    expect(first.body.error.code).toBe('STATEMENT_TIMEOUT');
    expect(first.body.error.retryable).toBe(false);
    const before = threads();
    for (let i = 0; i < 3; i++) {
      const res = await t.exec(ENDLESS, undefined, { timeoutMs: 150 });
      expect(res.body.error.code).toBe('STATEMENT_TIMEOUT');
      const next = await t.exec('SELECT 2 AS n');
      expect(next.status).toBe(200);
      expect(next.body.rows).toEqual([{ n: '2' }]);
    }
    // Abandoned statements each kept a thread (and a new worker was started beside each): 3+ more.
    expect(threads()).toBe(before);
  });

  it('a write transaction interrupted in a session is rolled back and the session goes on', async () => {
    expect((await t.exec('CREATE TABLE tt (x INTEGER)')).status).toBe(200);
    const open = await t.post('/v1/sessions', {});
    const id = open.body.id as string;
    expect((await t.post(`/v1/sessions/${id}/execute`, { sql: 'INSERT INTO tt VALUES (1)' })).status).toBe(
      200,
    );
    const slow = await t.post(`/v1/sessions/${id}/execute`, {
      sql: 'INSERT INTO tt SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)',
      options: { timeoutMs: 200 },
    });
    expect(slow.body.error.code).toBe('STATEMENT_TIMEOUT');
    // SQLite rolls back the whole transaction of an interrupted write; the session reports it.
    const info = await t.get(`/v1/sessions/${id}`);
    expect(info.status).toBe(200);
    expect(info.body.inTransaction).toBe(false);
    const count = await t.post(`/v1/sessions/${id}/execute`, { sql: 'SELECT count(*) AS n FROM tt' });
    expect(count.body.rows).toEqual([{ n: '0' }]);
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` });
  });

  it('SIGTERM during such a statement: the request is answered and the process exits 0', async () => {
    const gw = await startGateway({
      limits: { statementTimeoutMs: 1500 },
      backends: { main: { driver: 'sqlite', database: tempSqliteFile() } },
    });
    try {
      const agent = keepAliveAgent();
      expect((await httpJson(agent, gw.url, 'POST', '/v1/execute', { sql: 'SELECT 1 AS x' })).status).toBe(
        200,
      );
      const inflight = httpJson(agent, gw.url, 'POST', '/v1/execute', { sql: ENDLESS });
      await new Promise((r) => setTimeout(r, 300)); // the statement is running in its worker by now
      gw.proc.kill('SIGTERM');
      const res = await inflight;
      expect(res.status).toBe(504);
      expect(res.body.error.code).toBe('STATEMENT_TIMEOUT');
      expect(await gw.exited).toBe(0);
      expect(logRecords(gw.logs).some((r) => String(r.msg).includes('killed by timeout'))).toBe(false);
      agent.destroy();
    } finally {
      gw.kill();
    }
  });
});
