import type { Driver } from '../helpers/backends.js';

/**
 * The SQL and settings each database needs for the contract cases in connection-faults.test.ts and
 * error-mapping.test.ts. The cases are the same on every backend; only what it takes to provoke a
 * situation (a slow statement, a lock, a connection that cannot be opened, per-connection state) differs.
 * Where a database cannot express a case, the fixture says so with `unsupported` and the reason, and the
 * case asserts the documented substitute instead of skipping silently.
 */

/** A fixture a database cannot provide: why, and what the case checks instead. */
export interface Unsupported {
  unsupported: string;
}

export const isUnsupported = (f: unknown): f is Unsupported =>
  typeof f === 'object' && f !== null && 'unsupported' in f;

/** A statement that runs for seconds unless it is stopped (SELECT one row, column `n`). */
export const SLOW_SQL: Record<Driver, string> = {
  // No sleep function: a recursive count that produces rows, so a terminated worker stops at the next one.
  sqlite:
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT x AS n FROM c',
  postgres: 'SELECT pg_sleep(5) AS n',
  mysql: 'SELECT SLEEP(5) AS n',
};

/**
 * After a client goes away: does the same Connection carry on? Servers cancel the statement on the
 * connection; SQLite has no interrupt, so the worker thread (the connection) is ended and the pool opens a
 * new one (docs/transactions.md).
 */
export const CANCEL_KEEPS_CONNECTION: Record<Driver, true | Unsupported> = {
  sqlite: { unsupported: 'better-sqlite3 has no sqlite3_interrupt: the connection is closed and replaced' },
  postgres: true,
  mysql: true,
};

/** The server's id for the connection a statement runs on (column `id`). */
export const CONNECTION_ID: Record<Driver, string | Unsupported> = {
  sqlite: { unsupported: 'SQLite has no connection id; pool max 1 makes the reuse certain instead' },
  postgres: 'SELECT pg_backend_pid() AS id',
  mysql: 'SELECT CONNECTION_ID() AS id',
};

/** Backend settings under which opening a connection must fail, merged into the backend document. */
export const UNREACHABLE: Record<Driver, Record<string, unknown>> = {
  // A file in a folder that does not exist: SQLite cannot create it (the server databases: port 1).
  sqlite: { database: '/nonexistent-sqlgate-dir/sub/db.sqlite' },
  postgres: { url: 'postgres://sqlgate@127.0.0.1:1/test', connectTimeoutMs: 500 },
  mysql: { url: 'mysql://root@127.0.0.1:1/test', connectTimeoutMs: 500 },
};

/**
 * Per-connection state a user can leave behind, and how to read it back. `dirty` runs on a connection
 * before release; `probe` on the next user of the same connection must return `clean`; `tempTable` was
 * created by `dirty` and must be gone.
 */
export const SESSION_STATE: Record<
  Driver,
  { dirty: string[]; probe: string; clean: Record<string, unknown>; tempTable: string }
> = {
  sqlite: {
    dirty: ['PRAGMA foreign_keys = OFF', 'CREATE TEMP TABLE leak_tmp (a INTEGER)'],
    probe: 'SELECT foreign_keys AS v FROM pragma_foreign_keys',
    clean: { v: '1' },
    tempTable: 'leak_tmp',
  },
  postgres: {
    dirty: [
      'SET search_path TO pg_catalog',
      "SELECT set_config('application_name', 'changed', false)",
      'CREATE TEMP TABLE leak_tmp (a int)',
    ],
    probe: "SELECT current_setting('search_path') AS v, current_setting('application_name') AS app",
    clean: { v: '"$user", public', app: 'sqlgate' },
    tempTable: 'leak_tmp',
  },
  mysql: {
    dirty: ['SET @leak = 42, time_zone = "+05:00"', 'CREATE TEMPORARY TABLE leak_tmp (a INT)'],
    probe: 'SELECT @leak AS v, @@time_zone AS tz',
    clean: { v: null, tz: '+00:00' },
    tempTable: 'leak_tmp',
  },
};

/**
 * How a second transaction is made to give up waiting for a row lock quickly, run on its connection
 * before it waits. SQLite locks the whole database, and waits busyTimeoutMs (set per backend) instead.
 */
export const SHORT_LOCK_WAIT: Record<Driver, string | null> = {
  sqlite: null,
  postgres: "SET lock_timeout = '200ms'",
  mysql: 'SET innodb_lock_wait_timeout = 1',
};

/** The error cases error-mapping.test.ts provokes; each maps to one gateway code. */
export type MappedCase =
  | 'duplicate key'
  | 'missing parent'
  | 'referenced parent'
  | 'explicit NULL'
  | 'omitted NOT NULL'
  | 'syntax error'
  | 'lock wait'
  | 'deadlock';

/** What the database itself says for each case: its SQLSTATE and/or its own error code. */
export const DB_CODES: Record<
  Driver,
  Record<MappedCase, { sqlState?: string; dbCode?: string | number } | Unsupported>
> = {
  sqlite: {
    'duplicate key': { dbCode: 'SQLITE_CONSTRAINT_UNIQUE' },
    'missing parent': { dbCode: 'SQLITE_CONSTRAINT_FOREIGNKEY' },
    'referenced parent': { dbCode: 'SQLITE_CONSTRAINT_FOREIGNKEY' },
    'explicit NULL': { dbCode: 'SQLITE_CONSTRAINT_NOTNULL' },
    'omitted NOT NULL': { dbCode: 'SQLITE_CONSTRAINT_NOTNULL' },
    'syntax error': { dbCode: 'SQLITE_ERROR' },
    'lock wait': { dbCode: 'SQLITE_BUSY' },
    deadlock: {
      unsupported: 'one writer at a time: the second writer gets LOCK_TIMEOUT (busy), never DEADLOCK',
    },
  },
  postgres: {
    'duplicate key': { sqlState: '23505' },
    'missing parent': { sqlState: '23503' },
    'referenced parent': { sqlState: '23503' },
    'explicit NULL': { sqlState: '23502' },
    'omitted NOT NULL': { sqlState: '23502' },
    'syntax error': { sqlState: '42601' },
    'lock wait': { sqlState: '55P03' },
    deadlock: { sqlState: '40P01' },
  },
  mysql: {
    'duplicate key': { sqlState: '23000', dbCode: 1062 },
    'missing parent': { sqlState: '23000', dbCode: 1452 },
    'referenced parent': { sqlState: '23000', dbCode: 1451 },
    'explicit NULL': { sqlState: '23000', dbCode: 1048 },
    'omitted NOT NULL': { sqlState: 'HY000', dbCode: 1364 },
    'syntax error': { sqlState: '42000', dbCode: 1064 },
    'lock wait': { sqlState: 'HY000', dbCode: 1205 },
    deadlock: { sqlState: '40001', dbCode: 1213 },
  },
};

/** Whether a constraint error names the violated constraint (error.constraint). */
export const NAMES_CONSTRAINT: Record<Driver, true | Unsupported> = {
  sqlite: { unsupported: "SQLite's constraint messages name the columns, not the constraint" },
  postgres: true,
  mysql: true,
};

/** Whether a NOT NULL error names the column (error.column). */
export const NAMES_COLUMN: Record<Driver, true | Unsupported> = {
  sqlite: { unsupported: 'the gateway passes no column for SQLite constraint errors (sqlite-errors.ts)' },
  postgres: true,
  mysql: true,
};

/** Extra statements before a deadlock attempt, per connection (PostgreSQL: detect it quickly). */
export const DEADLOCK_SETUP: Record<Driver, string[]> = {
  sqlite: [],
  postgres: ["SET deadlock_timeout = '100ms'"],
  mysql: [],
};

/**
 * Behaviour that is wrong today and owned by src/ (outside the test-suite work that moved these cases):
 * the case asserts the current behaviour with this text, so fixing the defect fails the case and points
 * here to flip the fixture. Each is reported to the lead.
 */
export const KNOWN_DEFECTS: Record<
  Driver,
  Partial<Record<'autocommit-reset' | 'waiting-after-timeout' | 'aborted-signal-runs', string>>
> = {
  sqlite: {},
  postgres: {},
  mysql: {},
};
