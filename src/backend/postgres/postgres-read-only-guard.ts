import { SqlgateError } from '../../errors.js';
import type { RowSink, StreamExecOptions, StreamSummary } from '../row-stream.js';
import type { Connection, TxStatus } from '../storage-backend.js';
import type { ExecOptions, ParamValue, QueryResult, Statement } from '../types.js';
import type { PgConnection } from './postgres-connection.js';
import { CHECK_OPTIONS } from './postgres-read-only.js';

/**
 * Makes an ordinary connection safe for a read-only principal on a database whose READ ONLY transactions are
 * airtight for one statement (PostgreSQL without superuser rights: inside `BEGIN READ ONLY` no statement can
 * write, `SET TRANSACTION READ WRITE` fails, and only COMMIT/ROLLBACK can end the transaction).
 *
 * The invariant: no client statement ever runs outside a READ ONLY transaction.
 *  - `execute` / `executeMany` on an idle connection begin a READ ONLY transaction, run the statement, and
 *    roll it back (a read has nothing to commit).
 *  - A transaction the gateway opens through `run` (a batch, a session's BEGIN) is made read-only by
 *    `SET TRANSACTION READ ONLY` right after its BEGIN, whatever the client asked for.
 *  - Right after either BEGIN a `SELECT 1` takes the transaction's first snapshot: PostgreSQL lets
 *    `SET TRANSACTION READ WRITE` undo READ ONLY until the first query, and refuses it after.
 *  - A client statement that ends the transaction (COMMIT sent as SQL) leaves the connection idle, so the
 *    next statement gets its own READ ONLY transaction again.
 * It relies on one statement per call (the backends refuse multi-statement strings) and must not be used
 * where the database itself commits implicitly (MySQL DDL): such backends need a read-only credential.
 * It is PostgreSQL's answer to `acquire({ readOnly: true })` without a `readOnlyUrl`, so it lives in this
 * folder; the rest of the gateway sees only `readOnlyEnforced` and `readOnlyBy` (storage-backend.ts).
 */
export class ReadOnlyGuardConnection implements Connection {
  readonly readOnlyEnforced = true;
  /** Writes are refused by the READ ONLY transactions this wrapper opens: the client cannot drive its own. */
  readonly readOnlyBy = 'transaction' as const;

  constructor(private readonly inner: Connection) {}

  get dialect() {
    return this.inner.dialect;
  }

  /** Passes through the inner connection's optional `isClosed` (sessions check it after every call). */
  get isClosed(): boolean | undefined {
    return (this.inner as { isClosed?: boolean }).isClosed;
  }

  private async inReadOnly<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inner.txStatus() !== 'idle') return fn();
    const { begin, end } = this.inner.dialect.beginSql({ readOnly: true });
    for (const sql of begin) await this.inner.run(sql);
    try {
      await this.lockAccessMode();
      return await fn();
    } finally {
      if (this.inner.txStatus() !== 'idle') await this.inner.run('ROLLBACK');
      for (const sql of end) await this.inner.run(sql);
    }
  }

  /** A first query in the transaction, after which its access mode can no longer change. */
  private async lockAccessMode(): Promise<void> {
    await this.inner.run('SELECT 1');
  }

  execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    return this.inReadOnly(() => this.inner.execute(stmt, opts));
  }

  executeMany(sql: string, paramSets: ParamValue[][], opts: ExecOptions): Promise<QueryResult[]> {
    return this.inReadOnly(() => this.inner.executeMany(sql, paramSets, opts));
  }

  /** Streams inside a READ ONLY transaction, like `execute`. */
  stream(stmt: Statement, opts: StreamExecOptions, sink: RowSink): Promise<StreamSummary> {
    const inner = this.inner;
    if (!inner.stream) {
      throw new SqlgateError('UNSUPPORTED_FEATURE', 'this backend cannot stream results');
    }
    return this.inReadOnly(() => inner.stream?.(stmt, opts, sink) as Promise<StreamSummary>);
  }

  /** Gateway SQL (BEGIN, SAVEPOINT, COMMIT ...): a transaction it opens is turned read-only at once. */
  async run(sql: string): Promise<void> {
    const wasIdle = this.inner.txStatus() === 'idle';
    await this.inner.run(sql);
    if (wasIdle && this.inner.txStatus() !== 'idle') {
      try {
        await this.inner.run('SET TRANSACTION READ ONLY');
        await this.lockAccessMode();
      } catch (err) {
        await this.inner.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
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

/**
 * True when the main login can act outside the database even inside a READ ONLY transaction: a superuser,
 * a member of pg_execute_server_program / pg_write_server_files (`COPY ... TO PROGRAM`, server files), or
 * a login that may run lo_import / lo_export.
 * @see https://www.postgresql.org/docs/current/predefined-roles.html
 */
export async function loginActsOutsideDatabase(conn: PgConnection): Promise<boolean> {
  const res = await conn.execute(
    {
      sql:
        'SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)' +
        " OR pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER')" +
        " OR pg_has_role(current_user, 'pg_write_server_files', 'MEMBER')" +
        " OR has_function_privilege('lo_export(oid, text)', 'EXECUTE')" +
        " OR has_function_privilege('lo_import(text)', 'EXECUTE')",
      params: [],
    },
    CHECK_OPTIONS,
  );
  const v = (res.rows[0] as unknown[] | undefined)?.[0];
  return v !== false && v !== 'f';
}

/**
 * A read-only connection on the main login (no `readOnlyUrl`): the guard around `checked`, or FORBIDDEN
 * when the login is `privileged` (see loginActsOutsideDatabase), since READ ONLY does not stop it.
 */
export function guardMainLogin(
  checked: Connection,
  backend: string,
  privileged: boolean,
): ReadOnlyGuardConnection {
  if (privileged) {
    throw new SqlgateError(
      'FORBIDDEN',
      `read-only access to backend "${backend}" needs a readOnlyUrl: its login can act outside the ` +
        'database (superuser, pg_execute_server_program, pg_write_server_files, or EXECUTE on lo_import/lo_export)',
      { backend },
    );
  }
  return new ReadOnlyGuardConnection(checked);
}
