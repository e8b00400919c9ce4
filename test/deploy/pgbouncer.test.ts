import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { type PgBouncer, startPgBouncer } from './pgbouncer.js';
import { stopAll, toolSkipReason } from './processes.js';

/**
 * sqlgate on PostgreSQL through a real PgBouncer (Debian's 1.18) in transaction mode, with only two server
 * connections for many gateway connections: autocommit statements, batches and sessions stay correct
 * because a transaction keeps its server connection until it ends, and the gateway sends no named prepared
 * statements (statementCacheSize 0), which PgBouncer before 1.21 cannot follow across server connections.
 * Port (this test's range): PgBouncer 18860.
 */

const PORT = 18860;
const pgBackend = (await testBackends()).find((b) => b.driver === 'postgres');
const skip = pgBackend?.skipReason ?? toolSkipReason('pgbouncer', 'apt-get install pgbouncer');

describe.skipIf(skip)('PgBouncer in transaction mode', () => {
  let bouncer: PgBouncer;
  let t: TestApp;
  const db = new pg.Client({ connectionString: PG_URL });
  const table = uniqueName('bouncer');

  beforeAll(async () => {
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, who text NOT NULL)`);
    bouncer = await startPgBouncer(PG_URL, PORT, { poolMode: 'transaction', poolSize: 2 });
    t = await makeTestApp({
      logging: { level: 'warn' },
      backends: {
        default: { driver: 'postgres', url: bouncer.url, statementCacheSize: 0, pool: { max: 8 } },
      },
    });
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    await stopAll();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  it('goes through PgBouncer (its SHOW commands answer on the admin console)', async () => {
    const adminUrl = new URL(bouncer.url);
    adminUrl.pathname = '/pgbouncer';
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    try {
      const { rows } = await admin.query('SHOW VERSION');
      expect(String(Object.values(rows[0])[0])).toMatch(/^PgBouncer 1\.\d+/);
      const pools = (await admin.query('SHOW POOLS')).rows.filter(
        (r) => r.database === new URL(PG_URL).pathname.slice(1),
      );
      expect(pools[0]?.pool_mode).toBe('transaction');
    } finally {
      await admin.end();
    }
  });

  it('runs the same parameterised statement many times at once with exact values', async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        t.exec('SELECT $1::int * 2 AS twice, $2::text AS tag, pg_backend_pid() AS pid', [i, `v${i}`]),
      ),
    );
    const pids = new Set<number>();
    replies.forEach((r, i) => {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.rows[0].twice).toBe(i * 2);
      expect(r.body.rows[0].tag).toBe(`v${i}`);
      pids.add(r.body.rows[0].pid);
    });
    // 8 gateway connections were served by PgBouncer's two server connections.
    expect(pids.size).toBeLessThanOrEqual(2);
  });

  it('a batch is one transaction on one server connection; a failing batch leaves nothing', async () => {
    const ok = await t.post('/v1/batch', {
      statements: [
        { sql: `INSERT INTO ${table} VALUES (1, 'batch')` },
        { sql: 'SELECT pg_backend_pid() AS pid, txid_current() AS tx' },
        { sql: `INSERT INTO ${table} VALUES (2, 'batch')` },
        { sql: 'SELECT pg_backend_pid() AS pid, txid_current() AS tx' },
      ],
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.results[1].rows[0]).toEqual(ok.body.results[3].rows[0]);
    const bad = await t.post('/v1/batch', {
      statements: [
        { sql: `INSERT INTO ${table} VALUES (3, 'batch')` },
        { sql: `INSERT INTO ${table} VALUES (1, 'dup')` },
      ],
    });
    expect(bad.status).toBe(409);
    expect(bad.body.error.code).toBe('UNIQUE_VIOLATION');
    expect(bad.body.error.statementIndex).toBe(1);
    const { rows } = await db.query(`SELECT id, who FROM ${table} ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, who: 'batch' },
      { id: 2, who: 'batch' },
    ]);
  });

  it('sessions keep their transaction on one server connection while others share the rest', async () => {
    const a = (await t.post('/v1/sessions', {})).body.id as string;
    const b = (await t.post('/v1/sessions', {})).body.id as string;
    const run = async (id: string, sql: string, params?: unknown[]) => {
      const r = await t.post(`/v1/sessions/${id}/execute`, { sql, ...(params ? { params } : {}) });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.rows as Record<string, unknown>[];
    };
    const where = 'SELECT pg_backend_pid() AS pid, txid_current() AS tx';
    const a1 = (await run(a, where))[0];
    const b1 = (await run(b, where))[0];
    await run(a, `INSERT INTO ${table} VALUES (10, 'a')`);
    await run(b, `INSERT INTO ${table} VALUES (20, 'b')`);
    // Each sees its own uncommitted row and not the other's: two transactions on two server connections.
    expect(await run(a, `SELECT id FROM ${table} WHERE id >= 10 ORDER BY id`)).toEqual([{ id: 10 }]);
    expect(await run(b, `SELECT id FROM ${table} WHERE id >= 10 ORDER BY id`)).toEqual([{ id: 20 }]);
    expect((await run(a, where))[0]).toEqual(a1);
    expect((await run(b, where))[0]).toEqual(b1);
    expect(a1?.pid).not.toBe(b1?.pid);
    expect((await t.post(`/v1/sessions/${a}/commit`, {})).status).toBe(200);
    expect((await t.post(`/v1/sessions/${b}/rollback`, {})).status).toBe(200);
    const { rows } = await db.query(`SELECT id, who FROM ${table} WHERE id >= 10 ORDER BY id`);
    expect(rows).toEqual([{ id: 10, who: 'a' }]);
    // Both server connections are free again: a stateless statement runs.
    expect((await t.exec('SELECT 1 AS one')).body.rows).toEqual([{ one: 1 }]);
  });

  it('a SERIALIZABLE read-modify-write from many sessions gives the exact total', async () => {
    await db.query(`INSERT INTO ${table} VALUES (100, '0')`);
    let retries = 0;
    const increment = async () => {
      for (;;) {
        const open = await t.post('/v1/sessions', { isolationLevel: 'SERIALIZABLE' });
        expect(open.status, JSON.stringify(open.body)).toBe(201);
        const id = open.body.id as string;
        const read = await t.post(`/v1/sessions/${id}/execute`, {
          sql: `SELECT who FROM ${table} WHERE id = 100`,
        });
        const next = Number(read.body.rows[0].who) + 1;
        const write = await t.post(`/v1/sessions/${id}/execute`, {
          sql: `UPDATE ${table} SET who = $1 WHERE id = 100`,
          params: [String(next)],
        });
        const commit = write.status === 200 ? await t.post(`/v1/sessions/${id}/commit`, {}) : write;
        if (commit.status === 200) return;
        expect(commit.body.error.code).toBe('SERIALIZATION_FAILURE');
        retries++;
        await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` });
      }
    };
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 10; i++) await increment();
      }),
    );
    const { rows } = await db.query(`SELECT who FROM ${table} WHERE id = 100`);
    expect(rows[0].who).toBe('40');
    console.log(`[pgbouncer] 40 increments through 2 server connections, ${retries} serialization retries`);
  }, 60_000);

  it('a session spanning several transactions, among other traffic, never meets a missing statement', async () => {
    // With named prepared statements (statementCacheSize > 0) PgBouncer 1.18 hands the second transaction
    // of a session another server connection, where the statement prepared in the first does not exist:
    // QUERY_FAILED "prepared statement ... does not exist" inside the transaction (docs/deployment.md).
    let stop = false;
    const noise = (async () => {
      while (!stop)
        await Promise.all(Array.from({ length: 6 }, (_, i) => t.exec('SELECT $1::int AS n', [i])));
    })();
    const failures: unknown[] = [];
    let ok = 0;
    for (let s = 0; s < 3; s++) {
      const id = (await t.post('/v1/sessions', { begin: false })).body.id as string;
      for (let tx = 0; tx < 5; tx++) {
        for (const sql of ['BEGIN', 'SELECT $1::int * 3 AS x', 'SELECT $1::int * 3 AS x', 'COMMIT']) {
          const params = sql.includes('$1') ? { params: [tx] } : {};
          const r = await t.post(`/v1/sessions/${id}/execute`, { sql, ...params });
          if (r.status !== 200) failures.push(r.body);
          else if (sql.startsWith('SELECT') && r.body.rows[0].x !== tx * 3) failures.push(r.body.rows);
          else ok++;
        }
      }
      await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` });
    }
    stop = true;
    await noise;
    expect(failures).toEqual([]);
    expect(ok).toBe(3 * 5 * 4);
  }, 60_000);
});
