import type { Column } from '../result.js';
import { guard, jsonText, numberIfSafe, type Shaper, shapeRows, type Target } from './shape.js';

/** What a proxy callback resolves to: `rows` (objects or arrays, per drizzle's method) and driver extras. */
export interface ProxyResult {
  /** The rows in the shape the method asks for. */
  rows: unknown[];
}

/** The `pg-proxy` callback type (drizzle-orm/pg-proxy `RemoteCallback`). */
export type PgProxyCallback = (sql: string, params: unknown[], method: 'all' | 'execute') => Promise<ProxyResult>;

/** The `mysql-proxy` callback type (drizzle-orm/mysql-proxy `RemoteCallback`). */
export type MysqlProxyCallback = (sql: string, params: unknown[], method: 'all' | 'execute') => Promise<ProxyResult>;

/** The `sqlite-proxy` methods. */
export type SqliteMethod = 'run' | 'all' | 'values' | 'get';

/** The `sqlite-proxy` callback type (drizzle-orm/sqlite-proxy `AsyncRemoteCallback`). */
export type SqliteProxyCallback = (sql: string, params: unknown[], method: SqliteMethod) => Promise<SqliteResult>;

/** The `sqlite-proxy` batch callback type (drizzle-orm/sqlite-proxy `AsyncBatchRemoteCallback`). */
export type SqliteBatchCallback = (
  batch: Array<{ sql: string; params: unknown[]; method: SqliteMethod }>,
) => Promise<SqliteResult[]>;

/** A sqlite-proxy result; `run` also reports what better-sqlite3's `run()` does. */
export interface SqliteResult extends ProxyResult {
  /** Rows changed (run only). */
  changes?: number;
  /** Rowid of the last INSERT (run only): a number when exact, else a bigint. */
  lastInsertRowid?: number | bigint | null;
}

// PostgreSQL as node-postgres (with drizzle's own date parsers) hands it over: int8 and numeric as exact
// strings, dates and times as text, bytea as bytes; json/jsonb are text that drizzle parses, so a JSON value
// that is itself a string must reach it as JSON text, not as the bare string.
const pgShaper = (c: Column): Shaper | undefined =>
  c.type === 'JSON' ? (v) => (typeof v === 'string' ? jsonText(v) : v) : undefined;

// MySQL as mysql2 (supportBigNumbers, dateStrings) hands it over: BIGINT a number when exact else a string,
// DECIMAL text, DATETIME/TIMESTAMP as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (drizzle appends 'Z'/'+0000' itself),
// JSON parsed (drizzle's mysql json column does not parse).
const UTC_SUFFIX = /(Z|[+-]00:?00)$/;
const mysqlShaper = (c: Column): Shaper | undefined => {
  if (c.type === 'DATETIME') return (v) => (typeof v === 'string' ? v.replace('T', ' ') : v);
  if (c.type === 'TIMESTAMP') {
    return (v) => (typeof v === 'string' && UTC_SUFFIX.test(v) ? v.replace('T', ' ').replace(UTC_SUFFIX, '') : v);
  }
  return undefined;
};

// SQLite as better-sqlite3 hands it over: integers as numbers (bigints beyond 2^53, never rounded), JSON
// as the text SQLite stores (drizzle's json modes parse it).
const sqliteShaper = (c: Column): Shaper | undefined => {
  if (c.type === 'BIGINT') return numberIfSafe;
  if (c.type === 'JSON') return jsonText;
  return undefined;
};

/**
 * The callback for `drizzle(pgProxy(client))` from drizzle-orm/pg-proxy. `all` answers rows as arrays,
 * `execute` as objects. Pass a session (see withTransaction) to run inside its transaction.
 */
export function pgProxy(target: Target): PgProxyCallback {
  return async (sql, params, method) => {
    guard(target, sql);
    const arrays = method === 'all';
    // jsonNumbers "string": int8/numeric inside json_build_array (relational queries) arrive as exact strings,
    // which drizzle's column decoders (BigInt(), String()) take as they are.
    const r = await target.execute(sql, params, {
      rowMode: arrays ? 'array' : 'object',
      int64: 'string',
      jsonNumbers: 'string',
    });
    return { rows: shapeRows(r, pgShaper, arrays) };
  };
}

/**
 * The callback for `drizzle(mysqlProxy(client))` from drizzle-orm/mysql-proxy. `all` answers rows as arrays;
 * `execute` answers a statement without a result set as `[{ insertId, affectedRows }]` (mysql2's
 * ResultSetHeader: insertId a number, which `$returningId()` counts up from; a bigint, with affectedRows
 * as a bigint too, only when the id is beyond 2^53) and one with a result set as row objects.
 */
export function mysqlProxy(target: Target): MysqlProxyCallback {
  return async (sql, params, method) => {
    guard(target, sql);
    const arrays = method === 'all';
    const r = await target.execute(sql, params, { rowMode: arrays ? 'array' : 'object', int64: 'bigint' });
    // int64 "bigint" keeps every BIGINT exact; mysql2's form is a number when exact, so convert back.
    const shape = (c: Column) => (c.type === 'BIGINT' ? bigToMysql : mysqlShaper(c));
    if (method === 'execute' && r.columns.length === 0) {
      const id = typeof r.lastInsertId === 'bigint' ? r.lastInsertId : 0n;
      const safe = id <= BigInt(Number.MAX_SAFE_INTEGER);
      const affected = r.affectedRows;
      return {
        rows: [
          {
            insertId: safe ? Number(id) : id,
            affectedRows: safe ? affected : BigInt(affected),
            fieldCount: 0,
            warningStatus: 0,
          },
        ],
      };
    }
    return { rows: shapeRows(r, shape, arrays) };
  };
}

const bigToMysql: Shaper = (v) => (typeof v === 'bigint' ? mysqlBig(v) : v);
const mysqlBig = (v: bigint) => {
  const n = numberIfSafe(v);
  return typeof n === 'bigint' ? n.toString() : n;
};

const sqliteOptions = (method: SqliteMethod) =>
  ({ rowMode: method === 'run' ? 'object' : 'array', int64: 'bigint' }) as const;

function sqliteAnswer(r: Parameters<typeof shapeRows>[0], method: SqliteMethod): SqliteResult {
  if (method === 'run') {
    return { rows: [], changes: r.affectedRows, lastInsertRowid: numberIfSafe(r.lastInsertId) as number | bigint | null };
  }
  const rows = shapeRows(r, sqliteShaper, true);
  return { rows: method === 'get' ? (rows[0] as unknown[]) : rows };
}

/**
 * The callback for `drizzle(sqliteProxy(client), sqliteBatch(client))` from drizzle-orm/sqlite-proxy:
 * `get` answers the first row as an array (undefined when none), `all`/`values` arrays of arrays, `run`
 * no rows plus `changes` and `lastInsertRowid`.
 */
export function sqliteProxy(target: Target): SqliteProxyCallback {
  return async (sql, params, method) => {
    guard(target, sql);
    const r = await target.execute(sql, params, sqliteOptions(method));
    return sqliteAnswer(r, method);
  };
}

/**
 * The batch callback of drizzle-orm/sqlite-proxy (`db.batch([...])`): one atomic gateway batch, all
 * statements or none.
 */
export function sqliteBatch(target: Target): SqliteBatchCallback {
  return async (queries) => {
    for (const q of queries) guard(target, q.sql);
    const results = await target.batch(
      queries.map((q) => ({ sql: q.sql, params: q.params, options: sqliteOptions(q.method) })),
      { transaction: true },
    );
    return results.map((r, i) => {
      if (r instanceof Error) throw r;
      return sqliteAnswer(r, (queries[i] as { method: SqliteMethod }).method);
    });
  };
}
