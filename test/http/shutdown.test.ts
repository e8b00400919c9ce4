import type { Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../helpers/app.js';
import { PG_URL, type TestBackend, testBackends, uniqueName } from '../helpers/backends.js';
import {
  type GatewayProcess,
  httpJson,
  keepAliveAgent,
  logRecords,
  startGateway,
} from '../helpers/gateway-process.js';

/**
 * Issue #15 defect 7: SIGTERM with keep-alive clients. Before the fix the in-flight reply said keep-alive,
 * the session stayed open (its row lock held) until the 10 s grace timer killed the process with code 1.
 * The same under load, against a private PostgreSQL whose log is read, is in test/fault/shutdown.test.ts.
 */

const backends = await testBackends();
const pgBackend = backends.find((b) => b.driver === 'postgres') as TestBackend;

/** Resolves when `socket` is closed (by the server). */
const closed = (socket: Socket) =>
  new Promise<void>((r) => (socket.destroyed ? r() : socket.once('close', () => r())));

/** The only socket an agent that made one request keeps. */
function idleSocket(agent: ReturnType<typeof keepAliveAgent>): Socket {
  const all = Object.values(agent.freeSockets).flat();
  expect(all).toHaveLength(1);
  return all[0] as Socket;
}

describe.skipIf(pgBackend.skipReason !== null)('SIGTERM with keep-alive clients and an open session', () => {
  const table = uniqueName('shutdown');
  const db = new pg.Client({ connectionString: PG_URL });
  let gw: GatewayProcess | undefined;

  beforeAll(async () => {
    await db.connect();
    await db.query(`create table ${table} (id int primary key, v text)`);
    await db.query(`insert into ${table} values (1, 'committed')`);
  });
  afterAll(async () => {
    gw?.kill();
    await db.query(`drop table if exists ${table}`);
    await db.end();
  });

  it('finishes the in-flight request with Connection: close, rolls the session back, closes idle sockets, exits 0', async () => {
    gw = await startGateway({ backends: { main: pgBackend.backendDoc() } });
    const sessionAgent = keepAliveAgent();
    const busyAgent = keepAliveAgent();

    const opened = await httpJson(sessionAgent, gw.url, 'POST', '/v1/sessions', { begin: true });
    expect(opened.status).toBe(201);
    const id = opened.body.id as string;
    const upd = await httpJson(sessionAgent, gw.url, 'POST', `/v1/sessions/${id}/execute`, {
      sql: `update ${table} set v = 'uncommitted' where id = 1`,
    });
    expect(upd.status).toBe(200);
    expect(upd.body.affectedRows).toBe(1);
    expect(upd.headers.connection).toBe('keep-alive');
    const sessionSocket = idleSocket(sessionAgent);
    const sessionSocketClosed = closed(sessionSocket);

    // Warm the second agent's socket, then start a request on it that is still running at SIGTERM.
    expect((await httpJson(busyAgent, gw.url, 'POST', '/v1/execute', { sql: 'select 1 as x' })).status).toBe(
      200,
    );
    const marker = uniqueName('inflight');
    const inflight = httpJson(busyAgent, gw.url, 'POST', '/v1/execute', {
      sql: `select pg_sleep(1) is null as slept, '${marker}' as marker`,
    });
    for (;;) {
      const active = await db.query(
        `select count(*)::int as n from pg_stat_activity where state = 'active' and query like $1`,
        [`%${marker}%`],
      );
      if (active.rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    gw.proc.kill('SIGTERM');

    const done = await inflight;
    expect(done.status).toBe(200);
    expect(done.body.rows).toEqual([{ slept: false, marker }]);
    expect(done.headers.connection).toBe('close');
    await sessionSocketClosed;
    expect(await gw.exited).toBe(0);

    const records = logRecords(gw.logs);
    expect(
      records.some((r) => r.msg === 'rolled back and released the open sessions' && r.sessions === 1),
    ).toBe(true);
    expect(records.some((r) => String(r.msg).includes('killed by timeout'))).toBe(false);
    // The session's update is gone and its row lock is free: NOWAIT would fail with 55P03 otherwise.
    const row = await db.query(`select v from ${table} where id = 1 for update nowait`);
    expect(row.rows).toEqual([{ v: 'committed' }]);
    const left = await db.query(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%' and pid <> pg_backend_pid()`,
    );
    expect(left.rows[0].n).toBe(0);
    sessionAgent.destroy();
    busyAgent.destroy();
  });
});

describe('requests that arrive while draining', () => {
  it('get the coded 503 with Connection: close; the probes still answer', async () => {
    const t = await makeTestApp({ backends: { local: { driver: 'sqlite', database: ':memory:' } } });
    t.app.draining = true;
    const res = await t.exec('select 1');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('BACKEND_UNAVAILABLE');
    expect(res.body.error.retryable).toBe(true);
    expect(res.headers.connection).toBe('close');
    expect(res.headers['retry-after']).toBe('1');
    const ready = await t.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('draining');
    expect(ready.headers.connection).toBe('close');
    await t.close();
  });
});
