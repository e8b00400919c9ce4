import { afterAll, beforeAll, expect } from 'vitest';
import type { GenericType } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { type Driver, type TestBackend, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * Shared setup of the sessions contract files (sessions-*.test.ts, split by topic): the per-database probes
 * the cases observe with, and one app per describe block with the request helpers every case uses. What
 * differs between databases comes from Dialect capability flags and the Connection's own transaction
 * status; the probes below (connection ids, open-transaction views, a session variable) only observe.
 */

/** The server's id for the connection a statement runs on (SQLite has none). */
export const CONNECTION_ID: Record<Driver, string | null> = {
  sqlite: null,
  postgres: 'SELECT pg_backend_pid() AS id',
  mysql: 'SELECT CONNECTION_ID() AS id',
};

/** How many of the given connections have a transaction open, as the server sees it. */
export const OPEN_TRANSACTIONS: Record<Driver, ((ids: string[]) => string) | null> = {
  sqlite: null,
  postgres: (ids) =>
    `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid IN (${ids.join(', ')}) ` +
    `AND state LIKE 'idle in transaction%'`,
  mysql: (ids) =>
    `SELECT COUNT(*) AS n FROM information_schema.innodb_trx WHERE trx_mysql_thread_id IN (${ids.join(', ')})`,
};

/** A per-connection setting, and how to read it back; `marker` must not survive into the next session. */
export const SESSION_SETTING: Record<Driver, { set: string; get: string; marker: string }> = {
  sqlite: {
    set: 'PRAGMA foreign_keys = OFF',
    get: 'SELECT foreign_keys AS v FROM pragma_foreign_keys',
    marker: '0',
  },
  postgres: {
    set: "SET sqlgate_test.leak = 'leaked'",
    get: "SELECT current_setting('sqlgate_test.leak', true) AS v",
    marker: 'leaked',
  },
  mysql: { set: "SET @sqlgate_leak = 'leaked'", get: 'SELECT @sqlgate_leak AS v', marker: 'leaked' },
};

/**
 * Sessions abandoned with locks held. Server databases: 200 sessions, each holding a row lock. SQLite has
 * one writer and one worker thread per connection, so 200 connections would be 200 threads holding
 * nothing more than one of them can: 8 sessions, one holding the write lock and seven holding read
 * snapshots (which would block checkpoints), prove the same reaping.
 */
export const ABANDON: Record<Driver, { sessions: number; writers: number; poolMax: number }> = {
  sqlite: { sessions: 8, writers: 1, poolMax: 9 },
  postgres: { sessions: 200, writers: 200, poolMax: 205 },
  mysql: { sessions: 200, writers: 200, poolMax: 205 },
};

/** A statement that runs for seconds (short on SQLite: a stopped statement runs on in its old thread). */
export const SLOW_SQL: Record<Driver, string> = {
  sqlite:
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT count(*) AS n FROM c',
  postgres: 'SELECT pg_sleep(5) AS n',
  mysql: 'SELECT SLEEP(5) AS n',
};

/** Pool size for 32 concurrent clients; SQLite connections are worker threads and share one writer. */
export const CONCURRENCY_POOL: Record<Driver, number> = { sqlite: 8, postgres: 40, mysql: 40 };

/** Retry backoff of the concurrency test (full jitter). */
export const BACKOFF_BASE_MS = Number(process.env.SQLGATE_TEST_BACKOFF_BASE ?? 100);
export const BACKOFF_CAP_MS = Number(process.env.SQLGATE_TEST_BACKOFF_CAP ?? 5000);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Request helpers bound to an app, so extra apps (other configs) use the same vocabulary. */
export function sessionClient(app: () => TestApp) {
  return {
    exec: (sql: string, params?: unknown, options?: unknown) =>
      app().post('/v1/execute', {
        sql,
        ...(params !== undefined ? { params } : {}),
        ...(options !== undefined ? { options } : {}),
      }),
    open: (body: Record<string, unknown> = {}) => app().post('/v1/sessions', body),
    sx: (id: string, sql: string, params?: unknown, options?: unknown) =>
      app().post(`/v1/sessions/${id}/execute`, {
        sql,
        ...(params !== undefined ? { params } : {}),
        ...(options !== undefined ? { options } : {}),
      }),
    state: (id: string) => app().get(`/v1/sessions/${id}`),
    commit: (id: string, body: Record<string, unknown> = {}) => app().post(`/v1/sessions/${id}/commit`, body),
    rollback: (id: string, body: Record<string, unknown> = {}) =>
      app().post(`/v1/sessions/${id}/rollback`, body),
    close: (id: string) => app().app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` }),
    count: async (table: string): Promise<number> => {
      const res = await app().post('/v1/execute', { sql: `SELECT COUNT(*) AS n FROM ${table}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return Number(res.body.rows[0].n);
    },
  };
}

/** What sessionsSuite gives a describe block: its app (set in beforeAll), helpers and table makers. */
export interface SessionsSuite extends ReturnType<typeof sessionClient> {
  /** The block's app, on the backend under test (valid inside tests). */
  readonly t: TestApp;
  /** Request helpers for another app. */
  client: typeof sessionClient;
  /** DDL for a generic type on the backend under test. */
  ddl(type: GenericType): string;
  /** A fresh table (id INTEGER PRIMARY KEY, v INTEGER NOT NULL) with `rows` rows, dropped afterwards. */
  table(app?: TestApp, rows?: number): Promise<string>;
  /** The ids in a table, ascending. */
  ids(name: string, app?: TestApp): Promise<number[]>;
  /** Opens a session (201 expected) and returns its id. */
  openOk(body?: Record<string, unknown>, o?: ReturnType<typeof sessionClient>): Promise<string>;
}

/** Registers beforeAll/afterAll for one app on `tb` in the calling describe block and returns its helpers. */
export function sessionsSuite(tb: TestBackend): SessionsSuite {
  let t: TestApp | undefined;
  const app = (): TestApp => {
    if (!t) throw new Error('the sessions suite app is used before beforeAll ran');
    return t;
  };
  const created: string[] = [];
  const c = sessionClient(app);
  const ddl = (type: GenericType) => app().app.backends.get('db').dialect.ddlType(type);

  const table = async (on: TestApp = app(), rows = 0): Promise<string> => {
    const name = uniqueName('s');
    const res = await on.post('/v1/execute', {
      sql: `CREATE TABLE ${name} (id ${ddl('INTEGER')} PRIMARY KEY, v ${ddl('INTEGER')} NOT NULL)${TABLE_SUFFIX[tb.driver]}`,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    created.push(name);
    if (rows > 0) {
      const fill = await on.post('/v1/batch', {
        sql: `INSERT INTO ${name} (id, v) VALUES (:id, 0)`,
        paramSets: Array.from({ length: rows }, (_, i) => ({ id: i + 1 })),
      });
      expect(fill.status, JSON.stringify(fill.body)).toBe(200);
    }
    return name;
  };
  const ids = async (name: string, on: TestApp = app()): Promise<number[]> => {
    const res = await on.post('/v1/execute', { sql: `SELECT id FROM ${name} ORDER BY id` });
    return res.body.rows.map((r: { id: unknown }) => Number(r.id));
  };
  const openOk = async (body: Record<string, unknown> = {}, o = c): Promise<string> => {
    const res = await o.open(body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
  });
  afterAll(async () => {
    for (const name of created.reverse()) await c.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  return {
    ...c,
    get t() {
      return app();
    },
    client: sessionClient,
    ddl,
    table,
    ids,
    openOk,
  };
}
