import type { LexerOptions } from './sql-lexer.js';
import type { TypeMapper } from './type-mapper.js';
import type { GenericType, JsonValue } from './types.js';

/** The isolation levels a client may ask for; anything else is refused before reaching SQL. */
export const ISOLATION_LEVELS = [
  'READ UNCOMMITTED',
  'READ COMMITTED',
  'REPEATABLE READ',
  'SERIALIZABLE',
] as const;
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

/** How a dialect writes positional placeholders. */
export type PlaceholderStyle = 'dollar' | 'question';

/** What a database can do; routes and sessions branch on these flags, never on the driver name. */
export interface DialectCapabilities {
  /** `INSERT ... RETURNING` is supported. */
  returning: boolean;
  /** SAVEPOINT / ROLLBACK TO / RELEASE are supported. */
  savepoints: boolean;
  /** Isolation levels that `begin` accepts; others fail with UNSUPPORTED_FEATURE. */
  isolationLevels: readonly IsolationLevel[];
  /** `begin({ readOnly: true })` is enforced by the database. */
  readOnlyTransactions: boolean;
  /** `begin({ deferrable: true })` is meaningful (PostgreSQL SERIALIZABLE READ ONLY DEFERRABLE). */
  deferrable: boolean;
  /** DDL takes part in transactions (rolled back with them). MySQL commits implicitly. */
  transactionalDdl: boolean;
  /** Array parameters and ARRAY result columns are native. */
  arrays: boolean;
  /** `$1`-style numbered placeholders that may repeat; otherwise `?` in order. */
  placeholderStyle: PlaceholderStyle;
}

/**
 * The per-database SQL knowledge: placeholders, quoting, capability flags and transaction SQL.
 * A Dialect is pure (no I/O), so it is unit-testable without a database.
 */
export interface Dialect {
  /** `postgres` | `mysql` | `sqlite`. */
  readonly name: string;
  readonly capabilities: DialectCapabilities;
  /** How the shared SQL scanner reads this dialect (quotes, comments, placeholders). */
  readonly lexer: LexerOptions;
  /** The native placeholder for the i-th (0-based) parameter: `$1` on PostgreSQL, `?` elsewhere. */
  placeholder(index: number): string;
  /** Quotes an identifier (savepoint names, table names) so it is never interpreted as SQL. */
  quoteIdentifier(name: string): string;
  /**
   * SQL that starts a transaction with the given options (checked against capabilities first), and SQL to run
   * after it ends (SQLite restores `query_only`).
   */
  beginSql(opts: BeginOptions): { begin: string[]; end: string[] };
  /**
   * This database's TypeMapper (`<db>-types.ts`): native type name -> GenericType, and the DDL type that
   * stores each GenericType without loss.
   */
  readonly types: TypeMapper;
  /** DDL type name for a generic type: `types.ddl[type]` (kept as a method for callers and fakes). */
  ddlType(type: GenericType): string;
  /**
   * Optional: how the database shows a statement's plan (`options.explain`). Without it a request for a
   * plan fails with UNSUPPORTED_FEATURE.
   */
  readonly explain?: ExplainDialect;
}

/** One database's EXPLAIN: the SQL that asks for a plan, and how to read the answer. */
export interface ExplainDialect {
  /** Names the shape of the plan (the database's own): `postgres` | `mysql` | `sqlite`. */
  readonly format: string;
  /**
   * How `explain: "analyze"` (the statement really runs) is kept from changing anything: `rollback` runs it
   * in a transaction that is always rolled back; `read-only` in a READ ONLY transaction that is rolled back
   * (where a rollback cannot undo everything); `none`: not offered (UNSUPPORTED_FEATURE).
   */
  readonly analyze: 'rollback' | 'read-only' | 'none';
  /**
   * Optional, default false. True when the plan statement cannot run the statement it explains (SQLite has
   * no EXPLAIN ANALYZE): for `analyze` the gateway then asks for the plan and runs the statement itself
   * right after, in the same rolled-back transaction, and reports what that run measured (`actual`).
   */
  readonly analyzeByRunning?: boolean;
  /** The statement that returns the plan of `sql`, with the same placeholders and params. */
  sql(sql: string, analyze: boolean): string;
  /** The plan out of that statement's rows (cells in column order), as one JSON value. */
  plan(rows: ReadonlyArray<ReadonlyArray<JsonValue | undefined>>): JsonValue;
}

export interface BeginOptions {
  isolationLevel?: IsolationLevel;
  readOnly?: boolean;
  deferrable?: boolean;
}
