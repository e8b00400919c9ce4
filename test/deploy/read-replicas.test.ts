import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { type PgCluster, pgClusterSkipReason, startPgCluster } from './pg-cluster.js';
import { stopAll, waitFor } from './processes.js';

/**
 * Read replicas on a real streaming replica: a PRIVATE primary (initdb, 18850) and a pg_basebackup replica
 * (18851). Autocommit reads go to the replica, writes, sessions and batches to the primary; a read the
 * standby refuses as a write, a lagging replica and a dead one all end on the primary; metrics per target.
 */

const PRIMARY = 18850;
const REPLICA = 18851;
const WRITER = 'writer-key-0123456789abcdef';
const READER = 'reader-key-0123456789abcdef';
const skip = pgClusterSkipReason();

describe.skipIf(skip)('read replicas (PostgreSQL streaming replica)', () => {
  let cluster: PgCluster;
  let t: TestApp;
  let primary: pg.Client;
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const exec = (sql: string, key = WRITER, params?: unknown[]) =>
    t.post('/v1/execute', { sql, ...(params ? { params } : {}) }, auth(key));
  const where = async (key = WRITER) => {
    const r = await exec('SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby', key);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.rows[0] as { port: number; standby: boolean };
  };
  const metric = async (name: string, target: string) => {
    const text = (await t.get('/metrics', auth(WRITER))).body as string;
    const line = text.split('\n').find((l) => l.startsWith(`${name}{backend="db",target="${target}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  beforeAll(async () => {
    cluster = startPgCluster(PRIMARY, REPLICA);
    primary = new pg.Client({ connectionString: cluster.primaryUrl });
    await primary.connect();
    // A non-superuser login, so that read-only principals may use it (with READ ONLY transactions).
    await primary.query('CREATE ROLE app LOGIN');
    await primary.query('GRANT ALL ON SCHEMA public TO app');
    await primary.query('SET ROLE app');
    await primary.query('CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)');
    await primary.query('CREATE SEQUENCE seq');
    await primary.query('RESET ROLE');
    const asApp = (u: string) => u.replace('sqlgate@', 'app@');
    t = await makeTestApp({
      logging: { level: 'warn' },
      auth: {
        apiKeys: [
          { name: 'writer', key: WRITER },
          { name: 'reader', key: READER, readOnly: true },
        ],
        publicPaths: ['/readyz'],
      },
      backends: {
        db: {
          driver: 'postgres',
          url: asApp(cluster.primaryUrl),
          replicas: [asApp(cluster.replicaUrl)],
          replicaMaxLagMs: 800,
          pool: { max: 4 },
        },
      },
    });
    await waitFor(
      'the replica usable',
      async () => (await metric('sqlgate_replica_up', `127.0.0.1:${REPLICA}`)) === 1,
    );
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await primary?.end();
    cluster?.stop();
    await stopAll();
  });

  it('autocommit reads go to the replica, writes to the primary', async () => {
    const ins = await exec("INSERT INTO items VALUES (1, 'one') RETURNING inet_server_port() AS port");
    expect(ins.status, JSON.stringify(ins.body)).toBe(200);
    expect(ins.body.rows).toEqual([{ port: PRIMARY }]);
    await waitFor(
      'row 1 replicated',
      async () => (await exec('SELECT v FROM items WHERE id = 1')).body.rows.length === 1,
    );
    expect(await where()).toEqual({ port: REPLICA, standby: true });
    expect(await metric('sqlgate_replica_reads_total', `127.0.0.1:${REPLICA}`)).toBeGreaterThanOrEqual(2);
  });

  it('sessions and batches run on the primary', async () => {
    const open = await t.post('/v1/sessions', {}, auth(WRITER));
    const id = open.body.id as string;
    const inSession = await t.post(
      `/v1/sessions/${id}/execute`,
      { sql: 'SELECT inet_server_port() AS port' },
      auth(WRITER),
    );
    expect(inSession.body.rows).toEqual([{ port: PRIMARY }]);
    await t.post(`/v1/sessions/${id}/rollback`, {}, auth(WRITER));
    const batch = await t.post(
      '/v1/batch',
      { statements: [{ sql: 'SELECT inet_server_port() AS port' }] },
      auth(WRITER),
    );
    expect(batch.body.results[0].rows).toEqual([{ port: PRIMARY }]);
  });

  it('a SELECT that writes is refused by the standby and runs on the primary', async () => {
    const before = (await metric('sqlgate_replica_fallbacks_total', `127.0.0.1:${REPLICA}`)) ?? 0;
    const a = await exec("SELECT nextval('seq')::int AS n");
    const b = await exec("SELECT nextval('seq')::int AS n");
    expect([a.body.rows, b.body.rows]).toEqual([[{ n: 1 }], [{ n: 2 }]]);
    expect(await metric('sqlgate_replica_fallbacks_total', `127.0.0.1:${REPLICA}`)).toBe(before + 2);
  });

  it('a read-only principal reads from the replica and still cannot write', async () => {
    expect(await where(READER)).toEqual({ port: REPLICA, standby: true });
    const write = await exec("INSERT INTO items VALUES (2, 'two')", READER);
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('READ_ONLY_VIOLATION');
    expect((await primary.query('SELECT count(*)::int AS n FROM items WHERE id = 2')).rows).toEqual([
      { n: 0 },
    ]);
  });

  it('a lagging replica gets no reads until it catches up', async () => {
    const standby = new pg.Client({ connectionString: cluster.replicaUrl });
    await standby.connect();
    try {
      await standby.query('SELECT pg_wal_replay_pause()');
      expect((await exec("INSERT INTO items VALUES (3, 'three')")).status).toBe(200);
      // Reads move to the primary once the lag passes replicaMaxLagMs: they see the new row at once.
      await waitFor('reads on the primary', async () => (await where()).port === PRIMARY);
      const seen = await exec('SELECT v FROM items WHERE id = 3');
      expect(seen.body.rows).toEqual([{ v: 'three' }]);
      expect(await metric('sqlgate_replica_lag_seconds', `127.0.0.1:${REPLICA}`)).toBeGreaterThan(0.8);
      await standby.query('SELECT pg_wal_replay_resume()');
      await waitFor('reads back on the replica', async () => (await where()).port === REPLICA);
    } finally {
      await standby.end();
    }
  }, 60_000);

  it('a dead replica: every read still answers, from the primary', async () => {
    cluster.stopReplica('immediate');
    for (let i = 0; i < 10; i++) {
      const r = await exec('SELECT inet_server_port() AS port, $1::int AS i', WRITER, [i]);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.rows).toEqual([{ port: PRIMARY, i }]);
    }
    await waitFor(
      'replica down in the metrics',
      async () => (await metric('sqlgate_replica_up', `127.0.0.1:${REPLICA}`)) === 0,
    );
    expect((await t.get('/readyz')).status).toBe(200);
  }, 60_000);
});
