import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, expectCodedFailure, within } from '../helpers/fault-client.js';
import {
  type GatewayProcess,
  type HttpReply,
  httpJson,
  keepAliveAgent,
  logRecords,
  startGateway,
} from '../helpers/gateway-process.js';
import { type PrivateServer, startPrivatePostgres } from '../helpers/private-db.js';

/**
 * Issue #15, fault injection: SIGTERM to the built gateway (`node dist/src/cli.js serve`) under write load,
 * with open sessions that hold row locks, long statements in flight and keep-alive clients. Against a
 * PRIVATE PostgreSQL (port 18250) that logs every statement with its backend pid, so the rollback of each
 * session is read from the database's own log. Expected: in-flight requests finish (Connection: close),
 * every acknowledged write is there, each session is rolled back (log line, locks free, nothing idle in
 * transaction, no "unexpected EOF ... open transaction"), later requests are refused cleanly, exit code 0.
 */

const CLIENT_TIMEOUT_MS = 20_000;
const SESSIONS = 4;
const WRITERS = 4;
const DIST = join(import.meta.dirname, '../../dist/src/cli.js');

/** A request that failed below HTTP: only acceptable for requests sent after SIGTERM. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

describe.skipIf(!existsSync(DIST))('SIGTERM under load with open sessions (built gateway)', () => {
  let server: PrivateServer;
  let db: pg.Client;
  let gw: GatewayProcess | undefined;

  beforeAll(async () => {
    server = await startPrivatePostgres(18250);
    db = new pg.Client({ connectionString: server.url });
    await db.connect();
    await db.query('create table locked (id int primary key, v text not null)');
    await db.query(`insert into locked select g, 'committed' from generate_series(1, ${SESSIONS}) g`);
    await db.query('create table writes (id int primary key, writer int not null)');
  }, 90_000);
  afterAll(async () => {
    gw?.kill();
    await db?.end();
    await server?.destroy();
  });

  it('finishes in-flight work, keeps acknowledged writes, rolls every session back, exits 0', async () => {
    gw = await startGateway({
      limits: { statementTimeoutMs: 10_000 },
      backends: { main: { driver: 'postgres', url: server.url, pool: { max: 12 } } },
    });
    const g = gw;
    const call = (agent: ReturnType<typeof keepAliveAgent>, method: string, path: string, body?: unknown) =>
      within(CLIENT_TIMEOUT_MS, `${method} ${path}`, httpJson(agent, g.url, method, path, body));

    // Sessions, each holding a row lock on its own row, with the backend pid the log will name.
    const sessions: Array<{ id: string; pid: number; agent: ReturnType<typeof keepAliveAgent> }> = [];
    for (let k = 1; k <= SESSIONS; k++) {
      const agent = keepAliveAgent(1);
      const opened = await call(agent, 'POST', '/v1/sessions', { begin: true });
      expect(opened.status).toBe(201);
      const id = opened.body.id as string;
      const pid = await call(agent, 'POST', `/v1/sessions/${id}/execute`, {
        sql: 'select pg_backend_pid() as pid',
      });
      const upd = await call(agent, 'POST', `/v1/sessions/${id}/execute`, {
        sql: "update locked set v = 'uncommitted' where id = $1",
        params: [k],
      });
      expect(upd.body.affectedRows).toBe(1);
      sessions.push({ id, pid: Number(pid.body.rows[0].pid), agent });
    }

    // Writers on keep-alive sockets until the gateway stops answering them.
    const acked: number[] = [];
    const refused: HttpReply[] = [];
    const socketErrors: string[] = [];
    let next = 1;
    let signalled = false;
    const writer = async (w: number) => {
      const agent = keepAliveAgent(1);
      for (;;) {
        const id = next++;
        const sentAfterSignal = signalled;
        try {
          const res = await call(agent, 'POST', '/v1/execute', {
            sql: 'insert into writes (id, writer) values ($1, $2)',
            params: [id, w],
          });
          if (res.status === 200) {
            expect(res.body.affectedRows).toBe(1);
            acked.push(id);
            continue;
          }
          refused.push(res);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          expect(sentAfterSignal || signalled, `a request failed below HTTP before SIGTERM: ${code}`).toBe(
            true,
          );
          expect(SOCKET_ERRORS.has(code) || code === 'socket hang up', String(code)).toBe(true);
          socketErrors.push(code);
        }
        agent.destroy();
        return;
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await eventually(10_000, '100 acknowledged writes', async () => acked.length >= 100);

    // Two long statements that are running when the signal arrives.
    const slowAgent = keepAliveAgent(2);
    const inflight = [1, 2].map((n) =>
      call(slowAgent, 'POST', '/v1/execute', { sql: `select pg_sleep(1.5) is null as slept, ${n} as n` }),
    );
    await eventually(5000, 'both sleeps active', async () => {
      const r = await db.query(
        "select count(*)::int as n from pg_stat_activity where state = 'active' and query like 'select pg_sleep(1.5)%'",
      );
      return r.rows[0].n === 2;
    });
    signalled = true;
    const ackedBeforeSignal = acked.length;
    g.proc.kill('SIGTERM');

    const done = await Promise.all(inflight);
    for (const [i, d] of done.entries()) {
      expect(d.status, JSON.stringify(d.body)).toBe(200);
      expect(d.body.rows).toEqual([{ slept: false, n: i + 1 }]);
      expect(d.headers.connection).toBe('close');
    }
    await Promise.all(writers);
    expect(await within(CLIENT_TIMEOUT_MS, 'exit', g.exited)).toBe(0);
    slowAgent.destroy();

    // Requests refused during the drain got the coded, retryable 503.
    for (const r of refused) {
      expectCodedFailure(r, ['BACKEND_UNAVAILABLE']);
      expect(r.headers.connection).toBe('close');
    }
    console.info(
      `shutdown: ${acked.length} writes acknowledged (${ackedBeforeSignal} before SIGTERM), ` +
        `${refused.length} coded 503, socket errors after SIGTERM: ${socketErrors.join(', ') || 'none'}`,
    );

    // Every acknowledged write is there.
    const present = await db.query('select id from writes where id = any($1::int[])', [acked]);
    expect(present.rowCount).toBe(acked.length);

    // Every session was rolled back: values as committed, locks free (NOWAIT fails with 55P03 otherwise),
    // nothing idle in transaction, and the database logged a ROLLBACK from each session's backend.
    const rows = await db.query('select id, v from locked order by id for update nowait');
    expect(rows.rows.map((r) => r.v)).toEqual(Array(SESSIONS).fill('committed'));
    const idleInTx = await db.query(
      "select count(*)::int as n from pg_stat_activity where state like 'idle in transaction%'",
    );
    expect(idleInTx.rows[0].n).toBe(0);
    const log = server.log();
    for (const s of sessions) {
      expect(log, `no ROLLBACK logged by session backend ${s.pid}`).toMatch(
        new RegExp(`^${s.pid} .*LOG:  statement: ROLLBACK$`, 'm'),
      );
      s.agent.destroy();
    }
    expect(log).not.toMatch(/unexpected EOF on client connection with an open transaction/);
    const records = logRecords(g.logs);
    expect(
      records.some((r) => r.msg === 'rolled back and released the open sessions' && r.sessions === SESSIONS),
    ).toBe(true);
    expect(records.some((r) => String(r.msg).includes('killed by timeout'))).toBe(false);
  });
});
