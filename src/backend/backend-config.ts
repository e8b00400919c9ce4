/** Pool settings shared by every driver. */
export interface PoolConfig {
  /** Most connections open at once (SQLite: worker threads). */
  max: number;
  /** How long `acquire` waits for a free connection before OVERLOADED. */
  acquireTimeoutMs: number;
  /** Idle connections are closed after this long. */
  idleTimeoutMs: number;
}

/** One backend as the validated config describes it. */
export interface BackendConfig {
  name: string;
  driver: 'postgres' | 'mysql' | 'sqlite';
  /** postgres:// or mysql:// URL; for SQLite, `database` is used instead. */
  url?: string;
  /** A URL with a least-privilege (SELECT-only) user, used for read-only principals. */
  readOnlyUrl?: string;
  /** SQLite file path or `:memory:`. */
  database?: string;
  pool: PoolConfig;
  /** Connect timeout for server databases; SQLite busy_timeout. */
  connectTimeoutMs: number;
  /** SQLite: how long a writer waits for the lock before LOCK_TIMEOUT. */
  busyTimeoutMs: number;
  /** PostgreSQL: named prepared statements kept per connection; 0 = never prepare under a name. */
  statementCacheSize?: number;
  /**
   * URLs of streaming read replicas (PostgreSQL): autocommit reads go there, everything else to `url`.
   * See src/backend/postgres/postgres-replicas.ts.
   */
  replicas?: string[];
  /** A replica further behind than this (ms of replay lag) gets no reads until it catches up. */
  replicaMaxLagMs?: number;
}
