import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { Client } from '../client.js';
import { SqlgateMysqlAdapter } from './pin-session.js';
import type { KyselyQueryOptions } from './sqlgate-connection.js';
import { SqlgateDriver } from './sqlgate-driver.js';

/** The SQL dialects kysely can write for a gateway backend. */
export const SQLGATE_KYSELY_DIALECTS = ['postgres', 'mysql', 'sqlite'] as const;

/** Which SQL kysely writes: that of the backend's database. */
export type SqlgateKyselyDialect = (typeof SQLGATE_KYSELY_DIALECTS)[number];

/** Options of SqlgateDialect. */
export interface SqlgateDialectConfig {
  /** The client (createClient) whose backend kysely talks to; its `backend` option picks the backend. */
  client: Client;
  /** The backend's database, for kysely's query compiler, adapter and introspector. */
  dialect: SqlgateKyselyDialect;
  /**
   * Options for every query kysely runs: `int64` (BIGINT as `"number-if-safe"` — the client's default —,
   * `"bigint"` or `"string"`), `timestamps`, `statementTimeoutMs`, `timeoutMs`.
   */
  queryOptions?: KyselyQueryOptions;
}

// kysely's own parts per database: the SQL, identifier quoting, RETURNING support and introspection
// queries are kysely's; only the driver is ours.
const PARTS = {
  postgres: { Adapter: PostgresAdapter, Compiler: PostgresQueryCompiler, Introspector: PostgresIntrospector },
  mysql: { Adapter: SqlgateMysqlAdapter, Compiler: MysqlQueryCompiler, Introspector: MysqlIntrospector },
  sqlite: { Adapter: SqliteAdapter, Compiler: SqliteQueryCompiler, Introspector: SqliteIntrospector },
} as const;

/**
 * A kysely Dialect over the gateway: `new Kysely<DB>({ dialect: new SqlgateDialect({ client, dialect:
 * 'postgres' }) })`. Queries run on the autocommit endpoints; `db.transaction()` and controlled
 * transactions run on a gateway session, with savepoints.
 */
export class SqlgateDialect implements Dialect {
  private readonly parts: (typeof PARTS)[SqlgateKyselyDialect];

  constructor(private readonly config: SqlgateDialectConfig) {
    const parts = PARTS[config.dialect];
    if (!parts) throw new TypeError(`SqlgateDialect: dialect must be one of ${SQLGATE_KYSELY_DIALECTS.join(', ')}`);
    this.parts = parts;
  }

  /** The gateway driver. */
  createDriver(): Driver {
    return new SqlgateDriver(this.config.client, this.config.queryOptions ?? {});
  }

  /** kysely's compiler for the database (placeholders `$1` on PostgreSQL, `?` elsewhere). */
  createQueryCompiler(): QueryCompiler {
    return new this.parts.Compiler();
  }

  /** kysely's adapter for the database (RETURNING, migration locks). */
  createAdapter(): DialectAdapter {
    return new this.parts.Adapter();
  }

  /** kysely's introspector for the database, run through this dialect. */
  // biome-ignore lint/suspicious/noExplicitAny: kysely's own Dialect signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new this.parts.Introspector(db);
  }
}
