import { SqlgateError } from '../errors.js';
import type { BeginOptions } from './dialect.js';
import type { Connection, TxStatus } from './storage-backend.js';

/**
 * Transaction control on one pinned connection, the same for every database: the Dialect supplies the SQL,
 * the Connection reports what the database thinks the state is. Nested `begin` becomes a savepoint.
 * Operations in the wrong state are refused with INVALID_TRANSACTION_STATE instead of being sent.
 */
export class TransactionManager {
  private savepointSeq = 0;
  /** Savepoints created through this manager, innermost last; client SQL savepoints are not tracked. */
  private readonly savepoints: string[] = [];
  /** Statements to run once the current transaction ends (e.g. SQLite restores `query_only`). */
  private afterEnd: string[] = [];

  constructor(private readonly conn: Connection) {}

  get state(): TxStatus {
    return this.conn.txStatus();
  }

  /** Savepoints created through this manager that are still open, outermost first. */
  get openSavepoints(): readonly string[] {
    return this.savepoints;
  }

  /**
   * Brings the manager in line with the database after client SQL ran on the connection: when the
   * transaction ended behind its back (a COMMIT/ROLLBACK sent as SQL, MySQL's implicit commit on DDL, a
   * deadlock the database rolled back), savepoints are forgotten and the after-end statements run (so a
   * SQLite read-only transaction does not leave `query_only` on for the next one).
   */
  async sync(): Promise<void> {
    if (this.state !== 'idle') return;
    this.savepoints.length = 0;
    const after = this.afterEnd;
    this.afterEnd = [];
    for (const s of after) await this.conn.run(s);
  }

  /** Starts a transaction, or a savepoint when one is already open (returns its name then). */
  async begin(opts: BeginOptions = {}): Promise<string | null> {
    if (this.state !== 'idle') {
      return this.savepoint();
    }
    const caps = this.conn.dialect.capabilities;
    if (opts.isolationLevel && !caps.isolationLevels.includes(opts.isolationLevel)) {
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `isolation level ${opts.isolationLevel} is not supported by ${this.conn.dialect.name}; supported: ${caps.isolationLevels.join(', ')}`,
      );
    }
    if (opts.readOnly && !caps.readOnlyTransactions) {
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `read-only transactions are not supported by ${this.conn.dialect.name}`,
      );
    }
    if (opts.deferrable && !caps.deferrable) {
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `deferrable transactions are not supported by ${this.conn.dialect.name}`,
      );
    }
    const { begin, end } = this.conn.dialect.beginSql(opts);
    this.afterEnd = end;
    for (const sql of begin) await this.conn.run(sql);
    this.savepoints.length = 0;
    return null;
  }

  async commit(): Promise<void> {
    const state = this.state;
    if (state === 'idle') throw new SqlgateError('INVALID_TRANSACTION_STATE', 'no transaction is open');
    if (state === 'failed') {
      await this.endWith('ROLLBACK');
      throw new SqlgateError(
        'TRANSACTION_ABORTED',
        'the transaction had failed and was rolled back instead of committed',
      );
    }
    try {
      await this.endWith('COMMIT');
    } catch (err) {
      throw await this.failedCommit(err);
    }
  }

  /**
   * A COMMIT the database refused (a deferred constraint, a serialization failure found at commit).
   * PostgreSQL has rolled the transaction back by then; SQLite leaves it open (a deferred foreign key,
   * SQLITE_BUSY), and it is rolled back here, so a failed commit always means: rolled back, nothing
   * committed. The error says so. A connection that is gone has lost its transaction with it.
   */
  private async failedCommit(err: unknown): Promise<unknown> {
    if (!(err instanceof SqlgateError) || err.code === 'BACKEND_UNAVAILABLE') return err;
    if (!this.conn.isClosed && this.state !== 'idle') {
      try {
        await this.endWith('ROLLBACK');
      } catch {
        return err;
      }
    }
    return new SqlgateError(
      err.code,
      `${err.message} (the commit failed: the transaction was rolled back, nothing was committed)`,
      err.details,
      { cause: err.cause ?? err },
    );
  }

  async rollback(): Promise<void> {
    if (this.state === 'idle') throw new SqlgateError('INVALID_TRANSACTION_STATE', 'no transaction is open');
    await this.endWith('ROLLBACK');
  }

  /** Creates a savepoint; a generated name (`sp_1`, ...) when none is given. */
  async savepoint(name?: string): Promise<string> {
    this.requireOpen('SAVEPOINT');
    const sp = name ?? `sp_${++this.savepointSeq}`;
    await this.conn.run(`SAVEPOINT ${this.conn.dialect.quoteIdentifier(sp)}`);
    this.savepoints.push(sp);
    return sp;
  }

  async releaseSavepoint(name: string): Promise<void> {
    this.requireOpen('RELEASE SAVEPOINT');
    await this.conn.run(`RELEASE SAVEPOINT ${this.conn.dialect.quoteIdentifier(name)}`);
    this.forget(name, true);
  }

  /** Rolls back to the savepoint and keeps it (as SQL does), which also clears PostgreSQL's failed state. */
  async rollbackTo(name: string): Promise<void> {
    if (this.state === 'idle') {
      throw new SqlgateError('INVALID_TRANSACTION_STATE', 'ROLLBACK TO SAVEPOINT needs an open transaction');
    }
    await this.conn.run(`ROLLBACK TO SAVEPOINT ${this.conn.dialect.quoteIdentifier(name)}`);
    this.forget(name, false);
  }

  private requireOpen(what: string): void {
    const state = this.state;
    if (state === 'idle')
      throw new SqlgateError('INVALID_TRANSACTION_STATE', `${what} needs an open transaction`);
    if (state === 'failed') {
      throw new SqlgateError(
        'TRANSACTION_ABORTED',
        'the transaction has failed; roll back, or roll back to a savepoint, first',
      );
    }
  }

  /** Drops the savepoints nested inside `name` (and `name` itself when released). */
  private forget(name: string, inclusive: boolean): void {
    const i = this.savepoints.lastIndexOf(name);
    if (i >= 0) this.savepoints.length = inclusive ? i : i + 1;
  }

  private async endWith(sql: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    try {
      await this.conn.run(sql);
    } finally {
      this.savepoints.length = 0;
      const after = this.afterEnd;
      this.afterEnd = [];
      for (const s of after) await this.conn.run(s);
    }
  }
}
