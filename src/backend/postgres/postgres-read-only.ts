import { SqlgateError } from '../../errors.js';
import { leadingKeyword } from '../sql-lexer.js';
import type { Connection, TxStatus } from '../storage-backend.js';
import type { ExecOptions, ParamValue, QueryResult, Statement } from '../types.js';
import type { PgConnection } from './postgres-connection.js';

/**
 * Server functions that write (or act outside the database) even inside a READ ONLY transaction, and
 * even for a login with SELECT grants only: large objects are not tables, so neither READ ONLY nor table
 * privileges stop `lo_from_bytea`, `lo_put` or `lo_unlink` on an object the login owns; `pg_notify`
 * reaches other sessions at commit; `LOAD` loads a library into the server process.
 * @see https://www.postgresql.org/docs/current/lo-interfaces.html
 * @see https://www.postgresql.org/docs/current/runtime-config-compatible.html#GUC-LO-COMPAT-PRIVILEGES
 *
 * The name check is matched against the whole text, strings and dollar-quoted bodies included, so a
 * `DO` block or a string that only mentions one is refused too (the false positive is the safe side).
 * Dynamic SQL that builds a name from pieces gets past it; the write check after each statement (below)
 * is what stops that.
 */
const WRITING_FUNCTIONS =
  /\b(?:lo_creat|lo_create|lo_from_bytea|lo_import|lo_export|lo_put|lo_unlink|lowrite|lo_truncate|lo_truncate64|pg_notify)\b/i;
/** Commands refused by their leading keyword (same reasons). */
const WRITING_COMMANDS = new Set(['NOTIFY', 'LOAD']);
/** Transaction control the client may send on an idle connection without it being wrapped. */
const TX_CONTROL = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE']);

/**
 * A transaction that has an xid has written something: PostgreSQL assigns one at the first write of any
 * kind (rows, catalogs, large objects, temp tables), and a read never needs one.
 * @see https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-PG-SNAPSHOT
 */
const WROTE_SQL = 'SELECT pg_current_xact_id_if_assigned() IS NOT NULL';

/** Options of the gateway's own one-row check queries on a read-only connection. */
export const CHECK_OPTIONS: ExecOptions = {
  rowMode: 'array',
  int64: 'string',
  timeoutMs: 0,
  maxRows: 1,
  maxResponseBytes: 1 << 10,
};

function violation(backend: string, message: string): SqlgateError {
  return new SqlgateError('READ_ONLY_VIOLATION', message, { backend });
}

/**
 * Defence in depth for read-only principals on PostgreSQL, under both ways read-only is enforced (a
 * `readOnlyUrl` login, or READ ONLY transactions on the main login): the checks a READ ONLY transaction
 * and SELECT-only grants do not make.
 *  - Statements that call a writing server function (see WRITING_FUNCTIONS) are refused before sending.
 *  - Every client statement runs inside a transaction: on an idle connection it gets its own
 *    (`BEGIN READ ONLY` ... `COMMIT`), so no statement (a `DO` block or procedure that COMMITs, say) can
 *    commit on its own.
 *  - After every statement the transaction is asked whether it has written anything; if so it is rolled
 *    back and the statement fails with READ_ONLY_VIOLATION, before anything could commit it.
 * One extra round trip per statement (two more on an idle `readOnlyUrl` connection) is the price.
 */
export class PgReadOnlyConnection implements Connection {
  constructor(
    private readonly inner: PgConnection,
    private readonly backend: string,
  ) {}

  /** As the inner connection: true on a `readOnlyUrl` login (otherwise the caller adds READ ONLY itself). */
  get readOnlyEnforced(): boolean {
    return this.inner.readOnlyEnforced;
  }

  get dialect() {
    return this.inner.dialect;
  }

  get isClosed(): boolean {
    return this.inner.isClosed;
  }

  private refuseByName(sql: string): void {
    const keyword = leadingKeyword(sql);
    if (WRITING_COMMANDS.has(keyword) || WRITING_FUNCTIONS.test(sql)) {
      throw violation(
        this.backend,
        `read-only access cannot use ${WRITING_COMMANDS.has(keyword) ? keyword : 'large-object or notification functions'}: they write (or act) outside the tables even in a read-only transaction`,
      );
    }
  }

  /** Fails (after rolling back) when the open transaction has written anything. */
  private async checkNoWrite(): Promise<void> {
    if (this.inner.txStatus() !== 'active') return;
    const res = await this.inner.execute({ sql: WROTE_SQL, params: [] }, CHECK_OPTIONS);
    const wrote = (res.rows[0] as unknown[] | undefined)?.[0];
    if (wrote === false || wrote === 'f') return;
    await this.inner.run('ROLLBACK');
    throw violation(
      this.backend,
      'the statement wrote to the database, which a read-only principal may not do; the transaction was rolled back',
    );
  }

  private async guarded<T>(sql: string, fn: () => Promise<T>): Promise<T> {
    this.refuseByName(sql);
    if (this.inner.txStatus() !== 'idle' || TX_CONTROL.has(leadingKeyword(sql))) {
      const result = await fn();
      await this.checkNoWrite();
      return result;
    }
    const { begin } = this.inner.dialect.beginSql({ readOnly: true });
    for (const s of begin) await this.inner.run(s);
    try {
      const result = await fn();
      await this.checkNoWrite();
      if (this.inner.txStatus() === 'active') await this.inner.run('COMMIT');
      return result;
    } finally {
      if (this.inner.txStatus() !== 'idle') await this.inner.run('ROLLBACK');
    }
  }

  execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    return this.guarded(stmt.sql, () => this.inner.execute(stmt, opts));
  }

  executeMany(sql: string, paramSets: ParamValue[][], opts: ExecOptions): Promise<QueryResult[]> {
    return this.guarded(sql, () => this.inner.executeMany(sql, paramSets, opts));
  }

  /** Gateway SQL (BEGIN, SAVEPOINT, COMMIT ...): passed through. */
  run(sql: string): Promise<void> {
    return this.inner.run(sql);
  }

  txStatus(): TxStatus {
    return this.inner.txStatus();
  }

  reset(): Promise<void> {
    return this.inner.reset();
  }

  release(): Promise<void> {
    return this.inner.release();
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
