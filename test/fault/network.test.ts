import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectCodedFailure, within } from '../helpers/fault-client.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { type PrivateServer, startPrivateMariadb, startPrivatePostgres } from '../helpers/private-db.js';

/**
 * Issue #15, fault injection: the network between the gateway and its database misbehaves (latency, a
 * black hole, a reset mid-result, every connection reset while idle). Against PRIVATE servers (ports
 * 18250/18251) with FaultProxy in between. For each fault: every reply arrives within the client timeout
 * and is a success or a coded error with the registry's `retryable`; every acknowledged write is in the
 * database afterwards; and once the network is healthy again the next requests succeed (the pool heals).
 */

const CLIENT_TIMEOUT_MS = 15_000;

interface Direct {
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

interface Case {
  driver: 'postgres' | 'mysql';
  start(): Promise<PrivateServer>;
  direct(url: string): Promise<Direct>;
  sleep(seconds: number): string;
  /** A result of several MB, so a reset after 64 KB lands in the middle of it. */
  bigSelect: string;
}

const CASES: Case[] = [
  {
    driver: 'postgres',
    start: () => startPrivatePostgres(18250),
    direct: async (url) => {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => undefined); // the server may go away first; queries still reject
      await c.connect();
      return { query: async (sql) => (await c.query(sql)).rows, close: () => c.end() };
    },
    sleep: (s) => `select pg_sleep(${s}) is null as slept`,
    bigSelect: "select g, repeat('x', 100) as pad from generate_series(1, 50000) g",
  },
  {
    driver: 'mysql',
    start: () => startPrivateMariadb(18251),
    direct: async (url) => {
      const c = await mysql.createConnection(url);
      c.on('error', () => undefined); // the server may go away first; queries still reject
      return {
        query: async (sql) => (await c.query(sql))[0] as Array<Record<string, unknown>>,
        close: () => c.end(),
      };
    },
    sleep: (s) => `select sleep(${s}) as slept`,
    bigSelect: "select seq as g, repeat('x', 100) as pad from seq_1_to_50000",
  },
];

describe.each(CASES)('$driver behind a faulty network', (c) => {
  let server: PrivateServer;
  let proxy: FaultProxy;
  let db: Direct;
  let t: TestApp;
  let nextId = 1;

  const exec = (sql: string, options?: Record<string, unknown>) =>
    within(CLIENT_TIMEOUT_MS, sql, t.exec(sql, undefined, options));
  /** Ids whose insert was answered 200: each must be in the table at the end. */
  const acked = new Set<number>();
  const insert = async (id: number) => {
    const res = await exec(`insert into w (id) values (${id})`);
    if (res.status === 200) acked.add(id);
    return res;
  };
  const ids = async () =>
    (await db.query('select id from w order by id')).map((r) => Number(r.id)).filter((n) => n > 0);

  /** The pool heals: more requests than the pool has connections, one after another, all succeed. */
  async function expectHealed(): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const id = nextId++;
      const res = await insert(id);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.affectedRows).toBe(1);
    }
    const res = await exec('select count(*) as n from w');
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    server = await c.start();
    const u = new URL(server.url);
    proxy = new FaultProxy({ host: u.hostname, port: Number(u.port) });
    const port = await proxy.start();
    u.port = String(port);
    db = await c.direct(server.url);
    await db.query('create table w (id int primary key)');
    t = await makeTestApp({
      limits: { statementTimeoutMs: 3000 },
      backends: {
        db: {
          driver: c.driver,
          url: u.toString(),
          connectTimeoutMs: 1000,
          pool: { max: 4, acquireTimeoutMs: 3000 },
        },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    await db?.close();
    await proxy?.close();
    await server?.destroy();
  });

  it('latency: concurrent writes are all acknowledged and present; a slow statement still times out coded', async () => {
    proxy.latency(40);
    const batch = Array.from({ length: 20 }, () => nextId++);
    const replies = await Promise.all(batch.map((id) => insert(id)));
    for (const r of replies) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.affectedRows).toBe(1);
    }
    expect(await ids()).toEqual(expect.arrayContaining(batch));
    const slow = await exec(c.sleep(3), { timeoutMs: 500 });
    expectCodedFailure(slow, ['STATEMENT_TIMEOUT']);
    proxy.heal();
    await expectHealed();
  });

  it('black hole on a warm pool: the write times out coded, is not replayed after the heal', async () => {
    await expectHealed();
    proxy.blackhole();
    const lost = nextId++;
    // The pool's connections already run with the default timeout, so the insert itself goes out.
    const res = await exec(`insert into w (id) values (${lost})`);
    // The statement went out and no answer came: it may or may not have run, so never "retry me".
    expectCodedFailure(res, ['STATEMENT_TIMEOUT']);
    proxy.heal();
    await expectHealed();
    expect(await ids()).not.toContain(lost);
  });

  it('black hole before the statement (its timeout must be set first): a coded reply, then the pool heals', async () => {
    await expectHealed();
    proxy.blackhole();
    // A timeout other than the connections' current one: PostgreSQL needs a SET round trip first, which
    // hung forever before it was bounded. Nothing of the insert was sent then, so it is retryable there.
    const res = await exec(`insert into w (id) values (${nextId++})`, { timeoutMs: 700 });
    expectCodedFailure(res, ['STATEMENT_TIMEOUT', 'BACKEND_UNAVAILABLE']);
    proxy.heal();
    await expectHealed();
  });

  it('black hole at connect: a new connection fails coded and retryable, then the pool heals', async () => {
    proxy.resetAll(); // no warm connection left: the next request must dial
    proxy.blackhole();
    const res = await exec(`insert into w (id) values (${nextId++})`, { timeoutMs: 1000 });
    expectCodedFailure(res, ['BACKEND_UNAVAILABLE', 'OVERLOADED']);
    proxy.heal();
    await expectHealed();
  });

  it('reset mid-result: 503 BACKEND_UNAVAILABLE, retryable; then the pool heals', async () => {
    await expectHealed();
    const resetsBefore = proxy.resets;
    proxy.resetAfter(64 * 1024);
    const res = await exec(c.bigSelect, { maxRows: 1_000_000, timeoutMs: 10_000 });
    expect(proxy.resets).toBe(resetsBefore + 1);
    expectCodedFailure(res, ['BACKEND_UNAVAILABLE']);
    await expectHealed();
  });

  it('reset mid-result in a session: its uncommitted write is gone, the session answers coded', async () => {
    const opened = await within(CLIENT_TIMEOUT_MS, 'open', t.post('/v1/sessions', { begin: true }));
    expect(opened.status).toBe(201);
    const sid = opened.body.id as string;
    const inSession = nextId++;
    const run = (sql: string) =>
      within(
        CLIENT_TIMEOUT_MS,
        sql,
        t.post(`/v1/sessions/${sid}/execute`, { sql, options: { maxRows: 1_000_000 } }),
      );
    expect((await run(`insert into w (id) values (${inSession})`)).status).toBe(200);
    proxy.resetAfter(64 * 1024);
    expectCodedFailure(await run(c.bigSelect), ['BACKEND_UNAVAILABLE']);
    // The session lost its connection: later use is a coded error, never a hang or a 500.
    expectCodedFailure(await run('select 1'), [
      'BACKEND_UNAVAILABLE',
      'SESSION_NOT_FOUND',
      'SESSION_EXPIRED',
    ]);
    expect(await ids()).not.toContain(inSession);
    await expectHealed();
  });

  it('every idle connection reset at once: a racing request is coded and retryable, later ones succeed', async () => {
    await expectHealed();
    proxy.resetAll();
    // Sent in the same tick as the resets, before the gateway has read them: it may get a dead connection.
    const racing = await insert(nextId++);
    if (racing.status !== 200) expectCodedFailure(racing, ['BACKEND_UNAVAILABLE']);
    // Requests after the gateway has seen the resets (one event-loop turn later) find a healed pool.
    await new Promise((r) => setTimeout(r, 100));
    await expectHealed();
  });

  it('every write acknowledged in this file is in the database', async () => {
    expect(acked.size).toBeGreaterThan(40);
    const present = new Set(await ids());
    expect([...acked].filter((id) => !present.has(id))).toEqual([]);
  });
});
