import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import type { Client } from '../client.js';
import { SqlgateError } from '../errors.js';
import type { QueryOptions } from '../queryable.js';
import type { Session } from '../session.js';

/** Per-query options the dialect applies to every statement kysely runs (see SqlgateDialectConfig). */
export type KyselyQueryOptions = Pick<QueryOptions, 'int64' | 'timestamps' | 'statementTimeoutMs' | 'timeoutMs'>;

// Statements whose result carries a row count (and, on MySQL/SQLite, an insert id) for kysely's
// InsertResult/UpdateResult/DeleteResult.
const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'REPLACE']);

const toBigInt = (v: bigint | number | string | null): bigint | undefined => {
  if (v === null) return undefined;
  const b = BigInt(v);
  return b === 0n ? undefined : b; // 0 is "no generated id" (MySQL's LAST_INSERT_ID on a table without one)
};

/**
 * The statement text pinSession() sends through kysely. It holds a NUL, which the gateway refuses in any SQL,
 * so it can only ever be this connection's own instruction; it is answered here and never sent.
 */
export const PIN_SESSION_SQL = '\u0000sqlgate:pin-session';

/**
 * One kysely connection. Outside a transaction it runs on the client's autocommit endpoints (no session is
 * held, so a query costs one request); beginTransaction pins it to a gateway session until commit/rollback.
 * pinSession() pins it for the rest of its use (kysely's `db.connection()`, migrations' locks).
 */
export class SqlgateConnection implements DatabaseConnection {
  /** The session while a transaction is open on this connection, or while it is pinned. */
  session: Session | undefined;
  /** Whether the session outlives transactions (pinSession): commit/rollback then keep it open. */
  pinned = false;

  constructor(
    private readonly client: Client,
    private readonly options: KyselyQueryOptions,
  ) {}

  /** Runs one compiled query; `numAffectedRows`/`insertId` are bigints, set for writes only. */
  async executeQuery<R>(query: CompiledQuery, opts?: { signal?: AbortSignal }): Promise<QueryResult<R>> {
    if (query.sql === PIN_SESSION_SQL) {
      if (!this.session) {
        this.session = await this.client.session({ begin: false, signal: opts?.signal });
        this.pinned = true;
      }
      return { rows: [] };
    }
    const target = this.session ?? this.client;
    const r = await target.execute<R>(query.sql, [...query.parameters], { ...this.options, signal: opts?.signal });
    if (!WRITES.has(r.command.toUpperCase())) return { rows: r.rows };
    const insertId = toBigInt(r.lastInsertId);
    return {
      rows: r.rows,
      numAffectedRows: BigInt(r.affectedRows),
      ...(insertId === undefined ? {} : { insertId }),
    };
  }

  /** Not supported: the gateway's streaming endpoint is not wired into this dialect; use execute(). */
  // biome-ignore lint/correctness/useYield: refuses before producing anything
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new SqlgateError('UNSUPPORTED_FEATURE', 'SqlgateDialect does not stream; run the query with execute()', {
      class: 'NotSupportedError',
    });
  }
}
