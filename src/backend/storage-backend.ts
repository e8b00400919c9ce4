import type { BeginOptions, Dialect } from './dialect.js';
import type { StreamingConnection } from './row-stream.js';
import type { ExecOptions, QueryResult, Statement } from './types.js';

/** What the database itself says about the transaction on a connection. */
export type TxStatus = 'idle' | 'active' | 'failed';

export interface ServerInfo {
  /** e.g. `PostgreSQL 15.18`, `11.8.3-MariaDB`, `SQLite 3.53.2`. */
  version: string;
}

export interface PoolStats {
  /** Connections open (idle + in use). */
  total: number;
  idle: number;
  inUse: number;
  /** Requests waiting for a connection. */
  waiting: number;
  max: number;
}

/** One target of a backend with read replicas: the primary, or a replica by host:port (never its URL). */
export interface ReplicaStats {
  /** `primary`, or a replica's `host:port`. */
  target: string;
  /** The last check reached it and it is a standby (the primary: always true). */
  up: boolean;
  /** Replay lag at the last check, in seconds; -1 when unknown (never checked, or unreachable). */
  lagSeconds: number;
  /** Autocommit reads it answered (the primary: reads for which no replica was usable). */
  served: number;
  /** Reads sent to it that ran on the primary instead (it refused them as writes, or failed). */
  fellBack: number;
}

/**
 * A connection taken out of the pool and pinned to one user (a session or a batch) until `release`.
 * Calls must not overlap: the owner serialises them.
 */
export interface Connection {
  readonly dialect: Dialect;
  /** Runs one statement; rows are already encoded as JSON values. */
  execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult>;
  /**
   * Runs many parameter sets of one statement as efficiently as the driver allows (prepared once,
   * pipelined or multi-row); returns one result per set. Must be called inside a transaction when
   * atomicity matters. Errors carry `statementIndex` of the failing set.
   */
  executeMany(sql: string, paramSets: Statement['params'][], opts: ExecOptions): Promise<QueryResult[]>;
  /** Runs transaction-control SQL with no params and no result (BEGIN, SAVEPOINT, PRAGMA ...). */
  run(sql: string): Promise<void>;
  /** The transaction status as the database reports it after the last call. */
  txStatus(): TxStatus;
  /**
   * Optional: true when the connection refuses every write by itself, whatever SQL it is sent (SQLite opened
   * read-only, or a pool on `readOnlyUrl`, or PostgreSQL's READ ONLY transaction guard). `acquire({ readOnly:
   * true })` must answer with such a connection or throw; src/query/read-only.ts refuses one without it.
   */
  readonly readOnlyEnforced?: boolean;
  /**
   * Optional, with `readOnlyEnforced`: what refuses the writes. `connection` (the default): the credential
   * or open mode, whatever SQL arrives, so the client may send its own BEGIN/COMMIT. `transaction`: READ
   * ONLY transactions the connection opens around each statement, so client-driven transactions
   * (`begin: false` sessions) are refused for it.
   */
  readonly readOnlyBy?: 'connection' | 'transaction';
  /**
   * Optional: true once the connection can no longer be used (destroyed, lost, its worker killed after a
   * timeout). A session checks it after every call so it can end itself instead of reporting a dead
   * connection as idle. When absent, a BACKEND_UNAVAILABLE error is taken as the same signal.
   */
  readonly isClosed?: boolean;
  /**
   * Optional: streams one statement's rows with backpressure into a sink (src/backend/row-stream.ts). All
   * three backends have it; a connection without it cannot answer `Accept: application/x-ndjson`.
   */
  stream?: StreamingConnection['stream'];
  /** Rolls back anything open and clears session state (SET, temp tables, prepared statements). */
  reset(): Promise<void>;
  /** `reset` then returns the connection to the pool; destroys it when the reset fails. Idempotent. */
  release(): Promise<void>;
  /** Closes the connection without returning it (after a fatal error). Idempotent. */
  destroy(): Promise<void>;
}

/**
 * One configured database. Owns the pool; everything per-database hides behind this interface.
 * @see src/backend/create-backend.ts for how a driver name becomes one.
 */
export interface StorageBackend {
  /** The configured name (`default`, `main`, ...). */
  readonly name: string;
  /** `postgres` | `mysql` | `sqlite`. */
  readonly driver: string;
  readonly dialect: Dialect;
  /** Opens the pool and checks one connection; throws BACKEND_UNAVAILABLE when the database is unreachable. */
  connect(): Promise<void>;
  /** Closes every connection; in-use ones are destroyed. Idempotent. */
  disconnect(): Promise<void>;
  /** A round trip to the database within `timeoutMs`; throws BACKEND_UNAVAILABLE otherwise. */
  ping(timeoutMs: number): Promise<void>;
  serverInfo(): Promise<ServerInfo>;
  /** Runs one statement in autocommit on a pooled connection. */
  execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult>;
  /** A pinned connection; throws OVERLOADED when none frees up within the acquire timeout. */
  acquire(opts?: AcquireOptions): Promise<Connection>;
  poolStats(): PoolStats;
  /** Optional: per-target read routing numbers, for a backend configured with read replicas. */
  replicaStats?(): ReplicaStats[];
  /**
   * Optional capability (SQLite): a connection to a fresh private database for one session, destroyed on
   * release. Throws BAD_REQUEST when off, FORBIDDEN for a principal not allowed, TOO_MANY_SESSIONS at the limit.
   */
  acquireScratch?(who: { id: string; readOnly: boolean }): Promise<Connection>;
}

export interface AcquireOptions {
  /**
   * The connection must refuse writes (a read-only principal): a read-only credential or connection mode
   * (then `readOnlyEnforced`), or an ordinary connection on which the caller wraps every statement in a READ
   * ONLY transaction. A backend where such a transaction is not airtight and no read-only credential is
   * configured throws FORBIDDEN instead.
   */
  readOnly?: boolean;
}

export type { BeginOptions };
