import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
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
import { type PrivateServer, startPrivateMariadb, startPrivatePostgres } from '../helpers/private-db.js';

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
if (!existsSync(DIST)) {
  if (process.env.CI) throw new Error(`CI is set but ${DIST} is missing: run \`npm run build\` first`);
  console.warn(`[skip] ${DIST} is missing (npm run build)`);
}

/** A request that failed below HTTP: only acceptable for requests sent after SIGTERM. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

interface Direct {
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

interface Case {
  driver: 'postgres' | 'mysql';
  start(): Promise<PrivateServer>;
  direct(url: string): Promise<Direct>;
  /** The session's server-side id, as its log lines name it. */
  whoAmI: string;
  /** How many statements wait for a row lock right now. */
  lockWaiters: string;
  /** Open transactions left on the server (none may be). */
  openTransactions: string;
  /** The log line of a ROLLBACK sent by session `id`. */
  rollbackLine(id: number): RegExp;
  /** What the server logs when session connection `id` vanishes without a clean end. */
  abandoned(id: number): RegExp;
  /** Where `abandoned` would be logged. */
  abandonLog(s: PrivateServer): string;
}

const CASES: Case[] = [
  {
    driver: 'postgres',
    start: () => startPrivatePostgres(18250),
    direct: async (url) => {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => undefined); // the server may go away first; queries still reject
      await c.connect();
      return { query: async (sql, params) => (await c.query(sql, params)).rows, close: () => c.end() };
    },
    whoAmI: 'select pg_backend_pid() as who',
    lockWaiters:
      "select count(*) as n from pg_stat_activity where query like 'update gate %' and wait_event_type = 'Lock'",
    openTransactions: "select count(*) as n from pg_stat_activity where state like 'idle in transaction%'",
    rollbackLine: (pid) => new RegExp(`^${pid} .*LOG:  statement: ROLLBACK$`, 'm'),
    abandoned: (pid) => new RegExp(`^${pid} .*unexpected EOF on client connection`, 'm'),
    abandonLog: (s) => s.log(),
  },
  {
    driver: 'mysql',
    start: () => startPrivateMariadb(18251),
    direct: async (url) => {
      const c = await mysql.createConnection(url);
      c.on('error', () => undefined); // the server may go away first; queries still reject
      return {
        query: async (sql, params) => (await c.query(sql, params))[0] as Array<Record<string, unknown>>,
        close: () => c.end(),
      };
    },
    whoAmI: 'select connection_id() as who',
    lockWaiters: "select count(*) as n from information_schema.processlist where info like 'update gate %'",
    openTransactions: 'select count(*) as n from information_schema.innodb_trx',
    // General log: "<time>\t<thread id> Query\tROLLBACK" (the time column is blank on most lines).
    rollbackLine: (id) => new RegExp(`^\\s*(\\S+\\s+)?${id} Query\\s+ROLLBACK\\s*$`, 'mi'),
    // (The helper's own port probe is an unauthenticated aborted connection too: hence per session id.)
    abandoned: (id) => new RegExp(`Aborted connection ${id} `),
    abandonLog: (s) => s.errorLog?.() ?? '',
  },
];

describe.skipIf(!existsSync(DIST)).each(CASES)(
  'SIGTERM under load with open sessions on $driver (built gateway)',
  (c) => {
    let server: PrivateServer;
    let db: Direct;
    /** Holds the row lock the in-flight writes wait for, on its own connection: PostgreSQL keeps one
     * pg_stat_activity snapshot for a whole transaction, so the polling connection must not be in one. */
    let holder: Direct;
    let gw: GatewayProcess | undefined;

    beforeAll(async () => {
      server = await c.start();
      db = await c.direct(server.url);
      holder = await c.direct(server.url);
      await db.query('create table locked (id int primary key, v varchar(20) not null)');
      for (let k = 1; k <= SESSIONS; k++) await db.query(`insert into locked values (${k}, 'committed')`);
      await db.query('create table writes (id int primary key, writer int not null)');
      await db.query('create table gate (id int primary key, v varchar(20) not null)');
      await db.query("insert into gate values (1, 'closed')");
    }, 90_000);
    afterAll(async () => {
      gw?.kill();
      await db?.close();
      await holder?.close();
      await server?.destroy();
    });

    it('finishes in-flight work, keeps acknowledged writes, rolls every session back, exits 0', async () => {
      gw = await startGateway({
        limits: { statementTimeoutMs: 10_000 },
        backends: { main: { driver: c.driver, url: server.url, pool: { max: 12 } } },
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
        const who = await call(agent, 'POST', `/v1/sessions/${id}/execute`, { sql: c.whoAmI });
        const upd = await call(agent, 'POST', `/v1/sessions/${id}/execute`, {
          sql: "update locked set v = 'uncommitted' where id = :k",
          params: { k },
        });
        expect(upd.body.affectedRows).toBe(1);
        sessions.push({ id, pid: Number(who.body.rows[0].who), agent });
      }

      // Writers on keep-alive sockets until the gateway stops answering them.
      const acked: number[] = [];
      const refused: HttpReply[] = [];
      const socketErrors: Array<{ code: string; afterSignal: boolean }> = [];
      let next = 1;
      let signalled = false;
      const writer = async (w: number) => {
        const agent = keepAliveAgent(1);
        for (;;) {
          const id = next++;
          try {
            const res = await call(agent, 'POST', '/v1/execute', {
              sql: 'insert into writes (id, writer) values (:id, :w)',
              params: { id, w },
            });
            if (res.status === 200 && res.body.affectedRows === 1) {
              acked.push(id);
              continue;
            }
            refused.push(res);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
            socketErrors.push({ code, afterSignal: signalled });
          }
          agent.destroy();
          return;
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      await eventually(30_000, '40 acknowledged writes', async () => acked.length >= 40);

      // Two writes that are in flight when the signal arrives: they wait for a row lock the test holds and
      // releases only once the gateway has begun its shutdown.
      await holder.query('begin');
      await holder.query('select v from gate where id = 1 for update');
      const slowAgent = keepAliveAgent(2);
      const inflight = [1, 2].map((n) =>
        call(slowAgent, 'POST', '/v1/execute', {
          sql: `update gate set v = 'inflight${n}' where id = 1`,
        }),
      );
      await eventually(10_000, 'both in-flight writes waiting for the lock', async () => {
        const r = await db.query(c.lockWaiters);
        return Number(r[0]?.n) === 2;
      }).catch(async (err: Error) => {
        const who = await db.query(
          c.driver === 'postgres' ? 'select * from pg_stat_activity' : 'show processlist',
        );
        throw new Error(`${err.message}: ${JSON.stringify(who)}`);
      });
      signalled = true;
      const ackedBeforeSignal = acked.length;
      g.proc.kill('SIGTERM');
      await eventually(10_000, 'the gateway logging its shutdown', async () =>
        logRecords(g.logs).some((r) => String(r.msg).startsWith('shutting down')),
      );
      await holder.query('commit');

      const done = await Promise.all(inflight);
      for (const d of done) {
        expect(d.status, JSON.stringify(d.body)).toBe(200);
        expect(d.body.affectedRows).toBe(1);
        expect(d.headers.connection).toBe('close');
      }
      // Both acknowledged in-flight writes ran (one after the other) and committed.
      const gate = await db.query('select v from gate where id = 1');
      expect(['inflight1', 'inflight2']).toContain(gate[0]?.v);
      await Promise.all(writers);
      expect(await within(CLIENT_TIMEOUT_MS, 'exit', g.exited)).toBe(0);
      // A request that failed below HTTP (refused connection, or reset while its keep-alive socket was
      // being closed) was never answered, and only happens after the signal.
      for (const e of socketErrors) {
        expect(e.afterSignal, `a request failed below HTTP before SIGTERM: ${e.code}`).toBe(true);
        expect([...SOCKET_ERRORS, 'socket hang up']).toContain(e.code);
      }
      slowAgent.destroy();

      // Requests refused during the drain got the coded, retryable 503.
      for (const r of refused) {
        expectCodedFailure(r, ['BACKEND_UNAVAILABLE']);
        expect(r.headers.connection, `refused ${JSON.stringify(r.body)}`).toBe('close');
      }
      console.info(
        `${c.driver} shutdown: ${acked.length} writes acknowledged (${ackedBeforeSignal} before SIGTERM), ` +
          `${refused.length} coded 503, socket errors after SIGTERM: ${socketErrors.map((e) => e.code).join(', ') || 'none'}`,
      );

      // Every acknowledged write is there.
      const present = await db.query(`select count(*) as n from writes where id in (${acked.join(',')})`);
      expect(Number(present[0]?.n)).toBe(acked.length);

      // Every session was rolled back: values as committed, locks free (NOWAIT fails at once otherwise),
      // no transaction left open, and the database logged a ROLLBACK from each session's connection.
      const rows = await db.query('select id, v from locked order by id for update nowait');
      expect(rows.map((r) => r.v)).toEqual(Array(SESSIONS).fill('committed'));
      const open = await db.query(c.openTransactions);
      expect(Number(open[0]?.n)).toBe(0);
      const log = server.log();
      for (const s of sessions) {
        expect(log, `no ROLLBACK logged by session connection ${s.pid}`).toMatch(c.rollbackLine(s.pid));
        s.agent.destroy();
      }
      const abandonLog = c.abandonLog(server);
      for (const s of sessions) expect(abandonLog).not.toMatch(c.abandoned(s.pid));
      expect(abandonLog).not.toMatch(/unexpected EOF on client connection with an open transaction/);
      const records = logRecords(g.logs);
      expect(
        records.some(
          (r) => r.msg === 'rolled back and released the open sessions' && r.sessions === SESSIONS,
        ),
      ).toBe(true);
      expect(records.some((r) => String(r.msg).includes('killed by timeout'))).toBe(false);
    });
  },
);
