import { SqlgateError } from '../errors.js';
import type { ScratchConfig } from '../sessions/scratch-schema.js';
import type { StorageBackend } from './storage-backend.js';

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
  /** SQLite: scratch databases for sessions that ask for one (src/sessions/scratch-schema.ts). */
  scratch?: ScratchConfig;
}

/** The drivers whose backend implements read replicas (`replicas` in the config). */
export const READ_REPLICA_DRIVERS: readonly DriverName[] = ['postgres'];

export const DRIVERS = ['postgres', 'mysql', 'sqlite'] as const;
export type DriverName = (typeof DRIVERS)[number];

/**
 * Driver name -> backend. Each database folder is imported on demand, so a deployment that uses only
 * SQLite never loads pg or mysql2. The switch is exhaustive over DriverName.
 */
export async function createBackend(config: BackendConfig): Promise<StorageBackend> {
  const driver: DriverName = config.driver;
  if (config.replicas?.length && !READ_REPLICA_DRIVERS.includes(driver)) {
    throw new SqlgateError(
      'BAD_REQUEST',
      `backend "${config.name}": "replicas" is supported for ${READ_REPLICA_DRIVERS.join(', ')} only`,
    );
  }
  switch (driver) {
    case 'sqlite': {
      const { SqliteBackend } = await import('./sqlite/index.js');
      return new SqliteBackend(config);
    }
    case 'postgres': {
      const { PostgresBackend } = await import('./postgres/index.js');
      return new PostgresBackend(config);
    }
    case 'mysql': {
      const { MysqlBackend } = await import('./mysql/index.js');
      return new MysqlBackend(config);
    }
    default: {
      const never: never = driver;
      throw new SqlgateError('BAD_REQUEST', `unknown driver ${String(never)}`);
    }
  }
}
