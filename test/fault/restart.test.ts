import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { eventually, expectCodedFailure, type Reply, within } from '../helpers/fault-client.js';
import { type PrivateServer, startPrivateMariadb, startPrivatePostgres } from '../helpers/private-db.js';

/**
 * Issue #15, fault injection: the database crashes under write load (PostgreSQL immediate shutdown,
 * MariaDB SIGKILL) and comes back. Against PRIVATE servers on 18250/18251. Writers keep inserting through
 * the gateway the whole time; afterwards every acknowledged insert is in the table, every failure was a
 * coded retryable "not available" error, no request went unanswered within the client timeout, and once the
 * server is back the pool serves every request again.
 */

const CLIENT_TIMEOUT_MS = 20_000;
const WRITERS = 6;

interface Case {
  driver: 'postgres' | 'mysql';
  start(): Promise<PrivateServer>;
  count(url: string, ids: number[]): Promise<number[]>;
}

const CASES: Case[] = [
  {
    driver: 'postgres',
    start: () => startPrivatePostgres(18250),
    count: async (url, ids) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const r = await c.query('select id from r where id = any($1::int[])', [ids]);
        return r.rows.map((x) => Number(x.id));
      } finally {
        await c.end();
      }
    },
  },
  {
    driver: 'mysql',
    start: () => startPrivateMariadb(18251),
    count: async (url, ids) => {
      const c = await mysql.createConnection(url);
      try {
        const [rows] = await c.query('select id from r where id in (?)', [ids]);
        return (rows as Array<{ id: number }>).map((x) => Number(x.id));
      } finally {
        await c.end();
      }
    },
  },
];

describe.each(CASES)('$driver restarted under write load', (c) => {
  let server: PrivateServer;
  let t: TestApp;

  beforeAll(async () => {
    server = await c.start();
    t = await makeTestApp({
      limits: { statementTimeoutMs: 5000 },
      backends: {
        db: {
          driver: c.driver,
          url: server.url,
          connectTimeoutMs: 1000,
          pool: { max: 6, acquireTimeoutMs: 3000 },
        },
      },
    });
    const made = await t.exec('create table r (id int primary key, writer int not null)');
    expect(made.status, JSON.stringify(made.body)).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    await server?.destroy();
  });

  it('keeps every acknowledged write, codes every failure as retryable, and heals', async () => {
    const acked: number[] = [];
    const failures: Reply[] = [];
    let next = 1;
    let stop = false;
    let okAfterRestart = 0;
    let restarted = false;
    const writer = async (w: number) => {
      while (!stop) {
        const id = next++;
        const reply = await within(CLIENT_TIMEOUT_MS, `insert ${id}`, insertRow(id, w));
        if (reply.status === 200) {
          expect(reply.body.affectedRows).toBe(1);
          acked.push(id);
          if (restarted) okAfterRestart++;
        } else {
          failures.push(reply);
          await new Promise((r) => setTimeout(r, 20)); // a client backing off, not a tight loop
        }
      }
    };
    const insertRow = (id: number, w: number) =>
      t.post('/v1/execute', { sql: 'insert into r (id, writer) values (:id, :w)', params: { id, w } });

    const running = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await eventually(10_000, '50 acknowledged writes', async () => acked.length >= 50);
    await server.crash();
    const ackedAtCrash = acked.length;
    await new Promise((r) => setTimeout(r, 500)); // writers keep sending while the server is down
    await server.start();
    restarted = true;
    // The pool heals: writers succeed again without a gateway restart.
    await eventually(20_000, 'writes succeeding after the restart', async () => okAfterRestart >= 30);
    stop = true;
    await Promise.all(running);

    const codes = [...new Set(failures.map((f) => f.body?.error?.code))].join(', ');
    console.info(
      `${c.driver}: ${acked.length} writes acknowledged, ${failures.length} coded failures (${codes})`,
    );
    expect(ackedAtCrash).toBeGreaterThanOrEqual(50);
    // The crash was seen: some requests failed, and each failure was coded as "try again".
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expectCodedFailure(f, ['BACKEND_UNAVAILABLE', 'OVERLOADED']);
    const present = await c.count(server.url, acked);
    expect(acked.filter((id) => !present.includes(id))).toEqual([]);

    // After the storm, a burst of requests on every pool connection all succeed.
    const burst = await Promise.all(
      Array.from({ length: 12 }, () =>
        within(CLIENT_TIMEOUT_MS, 'select', t.exec('select count(*) as n from r')),
      ),
    );
    for (const b of burst) expect(b.status, JSON.stringify(b.body)).toBe(200);
  });
});
