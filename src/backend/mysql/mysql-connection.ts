import { SqlgateError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import type { RowSink, StreamExecOptions, StreamSummary } from '../row-stream.js';
import type { Connection, TxStatus } from '../storage-backend.js';
import type { ExecOptions, ParamValue, QueryResult, Statement } from '../types.js';
import { encodeInt64 } from '../value-mapper.js';
import {
  chunkSql,
  MAX_PLACEHOLDERS,
  MAX_ROWS_PER_CHUNK,
  paramSetBytes,
  planBulkInsert,
} from './mysql-bulk.js';
import {
  type ConnState,
  internalQuery,
  type RawConnection,
  rawIsDead,
  STATUS,
  type StatementServices,
} from './mysql-raw.js';
import { runStatement } from './mysql-statement.js';
import { streamStatement } from './mysql-stream.js';
import { type MysqlParam, toMysqlParam } from './mysql-values.js';

/** What a connection needs from its pool. */
export interface ConnectionOwner {
  /** Back to the pool; `fullReset` forces COM_RESET_CONNECTION even when no session state was seen. */
  giveBack(raw: RawConnection, state: ConnState, fullReset: boolean): Promise<void>;
  /** Closes the connection and frees its slot. */
  discard(raw: RawConnection, state: ConnState): void;
  /** COM_RESET_CONNECTION, then the gateway's session settings again. */
  resetSession(raw: RawConnection, state: ConnState): Promise<void>;
}

/** Errors that concern one row of a multi-row INSERT (the transaction goes on), so the row can be found. */
const ROW_ERRORS = new Set([
  'UNIQUE_VIOLATION',
  'FOREIGN_KEY_VIOLATION',
  'NOT_NULL_VIOLATION',
  'CHECK_VIOLATION',
  'QUERY_FAILED',
  'PARAM_INVALID',
]);

/**
 * One pooled MySQL connection leased to one user (a request, a batch or a session) until `release`.
 * A new object per lease, so a holder that keeps it after releasing cannot reach the next user's session.
 */
export class MysqlConnection implements Connection {
  /** `leased` until release/destroy starts; `returned` once the pool has it back (or it is closed). */
  private phase: 'leased' | 'releasing' | 'returned' = 'leased';

  constructor(
    readonly dialect: Dialect,
    private readonly raw: RawConnection,
    private readonly state: ConnState,
    private readonly owner: ConnectionOwner,
    private readonly services: StatementServices,
    /** True on connections of a read-only credential (readOnlyUrl): the database refuses every write. */
    readonly readOnlyEnforced: boolean,
  ) {}

  /** True once the connection cannot be used any more: released, destroyed or lost. */
  get isClosed(): boolean {
    return this.phase !== 'leased' || rawIsDead(this.raw, this.state);
  }

  /** The server's id of this connection (`CONNECTION_ID()`), the target of KILL. */
  get threadId(): number | null {
    return this.raw.threadId;
  }

  private usable(): void {
    if (this.phase !== 'leased') {
      throw new SqlgateError('INTERNAL', 'the MySQL connection was already released', {
        backend: this.services.backend,
      });
    }
  }

  /** Params -> bound values. The `where` of an error message is built only when a param is refused. */
  private bind(params: ParamValue[], set = -1): MysqlParam[] {
    const out = new Array<MysqlParam>(params.length);
    for (let i = 0; i < params.length; i++) {
      const p = params[i] as ParamValue;
      try {
        out[i] = toMysqlParam(p, '');
      } catch {
        // Deterministic: the same param fails again, now with its place in the message.
        out[i] = toMysqlParam(p, set < 0 ? `params[${i}]` : `paramSets[${set}][${i}]`);
      }
    }
    return out;
  }

  /** One statement; retried once when the server asks for a re-prepare, or via the text protocol. */
  private async run1(sql: string, values: MysqlParam[], opts: ExecOptions): Promise<QueryResult> {
    if (opts.signal?.aborted) {
      // As on PostgreSQL: nothing is sent for a client that is already gone.
      throw new SqlgateError('STATEMENT_TIMEOUT', 'the client went away before the statement started', {
        backend: this.services.backend,
      });
    }
    try {
      return await runStatement(this.raw, this.state, sql, values, opts, this.services);
    } catch (err) {
      const errno = err instanceof SqlgateError ? err.details.dbCode : undefined;
      if (errno === 1615 && !this.isClosed) {
        // ER_NEED_REPREPARE: the cached statement went stale (DDL elsewhere); prepare it again once.
        this.raw.unprepare(sql);
        return runStatement(this.raw, this.state, sql, values, opts, this.services);
      }
      if (errno === 1295 && values.length === 0 && !this.isClosed) {
        // ER_UNSUPPORTED_PS: a statement the binary protocol cannot prepare (PREPARE, some admin commands).
        return runStatement(this.raw, this.state, sql, null, opts, this.services);
      }
      await this.afterError();
      throw err;
    }
  }

  /**
   * An error packet carries no status flags, and some errors end the transaction (a deadlock rolls it
   * back). When one may have been open, a `DO 0` reads the status again so txStatus() stays truthful.
   */
  private async afterError(): Promise<void> {
    const s = this.state.status;
    if (this.isClosed || (s & (STATUS.IN_TRANS | STATUS.AUTOCOMMIT)) === STATUS.AUTOCOMMIT) return;
    try {
      await internalQuery(this.raw, this.state, 'DO 0', null, this.services);
    } catch {
      // A lost connection is reported by isClosed; the original error is what the caller needs.
    }
  }

  async execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    this.usable();
    return this.run1(stmt.sql, this.bind(stmt.params), opts);
  }

  /** Streams the statement's rows, pausing the socket while the sink is full (mysql-stream.ts). */
  async stream(stmt: Statement, opts: StreamExecOptions, sink: RowSink): Promise<StreamSummary> {
    this.usable();
    const values = this.bind(stmt.params);
    const go = (v: MysqlParam[] | null) =>
      streamStatement(this.raw, this.state, stmt.sql, v, opts, this.services, sink);
    try {
      return await go(values);
    } catch (err) {
      const errno = err instanceof SqlgateError ? err.details.dbCode : undefined;
      try {
        // As in run1: a stale cached statement is prepared again; one the binary protocol cannot prepare
        // runs as text. Both fail at the prepare, before any row was sent.
        if (errno === 1615 && !this.isClosed) {
          this.raw.unprepare(stmt.sql);
          return await go(values);
        }
        if (errno === 1295 && values.length === 0 && !this.isClosed) return await go(null);
      } catch (again) {
        await this.afterError();
        throw again;
      }
      await this.afterError();
      throw err;
    }
  }

  /**
   * Plain `INSERT ... VALUES (...)` runs as multi-row INSERTs in chunks (at most 1000 rows, 65535
   * placeholders and half of max_allowed_packet each); every other statement runs once per set on the same
   * prepared statement. A chunk failing on a row is bisected to find the failing set (see `apply`), which
   * gives the same outcome as running the sets one by one; when the error is not about one row (deadlock,
   * timeout, lost connection), `statementIndex` is the first set of the chunk.
   */
  async executeMany(sql: string, paramSets: ParamValue[][], opts: ExecOptions): Promise<QueryResult[]> {
    this.usable();
    const sets = paramSets.map((params, i) => {
      try {
        return this.bind(params, i);
      } catch (err) {
        throw err instanceof SqlgateError ? err.with({ statementIndex: i }) : err;
      }
    });
    const plan = sets.length > 1 ? planBulkInsert(sql) : null;
    const results: QueryResult[] = [];
    const one = async (i: number): Promise<void> => {
      try {
        results.push(await this.run1(sql, sets[i] as MysqlParam[], opts));
      } catch (err) {
        throw err instanceof SqlgateError ? err.with({ statementIndex: i }) : err;
      }
    };
    if (!plan) {
      for (let i = 0; i < sets.length; i++) await one(i);
      return results;
    }
    const rowCap = Math.max(
      1,
      Math.min(
        MAX_ROWS_PER_CHUNK,
        plan.paramsPerRow > 0 ? Math.floor(MAX_PLACEHOLDERS / plan.paramsPerRow) : MAX_ROWS_PER_CHUNK,
      ),
    );
    const budget = Math.max(64 * 1024, Math.floor(this.state.maxAllowedPacket / 2));
    const rowSql = Buffer.byteLength(plan.tuple) + 2;
    let increment: bigint | null = null;
    /**
     * Applies sets [from, to) as one multi-row INSERT. A row error rolls back just that statement, so the
     * range is split in halves and each applied in turn: the rows before the failing set end up applied and
     * the failing set is found in O(log n) statements, the same outcome as running the sets one by one.
     */
    const apply = async (from: number, to: number): Promise<void> => {
      const rows = to - from;
      if (rows === 1) return one(from);
      let chunk: QueryResult;
      try {
        chunk = await this.run1(chunkSql(plan, rows), sets.slice(from, to).flat(), opts);
      } catch (err) {
        if (!(err instanceof SqlgateError)) throw err;
        if (!ROW_ERRORS.has(err.code) || this.isClosed) throw err.with({ statementIndex: from });
        const mid = from + Math.ceil(rows / 2);
        await apply(from, mid);
        await apply(mid, to);
        return;
      }
      const firstId = chunk.lastInsertId === null ? 0n : BigInt(chunk.lastInsertId);
      if (firstId > 0n && increment === null) increment = await this.autoIncrementIncrement();
      const duration = chunk.durationMs / rows;
      for (let k = 0; k < rows; k++) {
        const id = firstId > 0n ? firstId + BigInt(k) * (increment ?? 1n) : null;
        results.push({
          columns: [],
          rows: [],
          rowCount: 0,
          affectedRows: k < chunk.affectedRows ? 1 : 0,
          lastInsertId: id === null ? null : encodeInt64(id, opts.int64),
          command: chunk.command,
          durationMs: duration,
        });
      }
    };
    let i = 0;
    while (i < sets.length) {
      const start = i;
      let bytes = Buffer.byteLength(plan.head);
      while (i < sets.length && i - start < rowCap) {
        const b = paramSetBytes(sets[i] as MysqlParam[]) + rowSql;
        if (i > start && bytes + b > budget) break;
        bytes += b;
        i++;
      }
      await apply(start, i);
    }
    return results;
  }

  /** The step between auto-increment values InnoDB hands one multi-row INSERT (consecutive values). */
  private async autoIncrementIncrement(): Promise<bigint> {
    const rows = await internalQuery(
      this.raw,
      this.state,
      'SELECT @@auto_increment_increment',
      null,
      this.services,
    );
    return BigInt(String(rows[0]?.[0] ?? '1'));
  }

  async run(sql: string): Promise<void> {
    this.usable();
    try {
      await internalQuery(this.raw, this.state, sql, null, this.services);
    } catch (err) {
      await this.afterError();
      throw err;
    }
  }

  /** `IN_TRANS` from the last OK/EOF packet. MySQL has no failed-transaction state: never 'failed'. */
  txStatus(): TxStatus {
    return this.state.inTransaction ? 'active' : 'idle';
  }

  /**
   * COM_RESET_CONNECTION: rolls back, drops temporary tables, clears user variables, session variables,
   * prepared statements, table locks and named locks; then the gateway's session settings are set again.
   */
  async reset(): Promise<void> {
    this.usable();
    await this.owner.resetSession(this.raw, this.state);
  }

  /** Ping within a timeout (COM_PING would not tell a stuck server apart); BACKEND_UNAVAILABLE otherwise. */
  async ping(timeoutMs: number): Promise<void> {
    this.usable();
    const timer = new Promise<never>((_, reject) =>
      setTimeout(
        () =>
          reject(
            new SqlgateError('BACKEND_UNAVAILABLE', `MySQL did not answer a ping within ${timeoutMs} ms`, {
              backend: this.services.backend,
            }),
          ),
        timeoutMs,
      ).unref(),
    );
    try {
      await Promise.race([internalQuery(this.raw, this.state, 'DO 1', null, this.services), timer]);
    } catch (err) {
      this.state.dead = true;
      throw err;
    }
  }

  async version(): Promise<string> {
    const rows = await internalQuery(this.raw, this.state, 'SELECT VERSION()', null, this.services);
    return String(rows[0]?.[0] ?? '');
  }

  /** Full reset, then back to the pool; a connection whose reset fails is closed instead. Idempotent. */
  async release(): Promise<void> {
    await this.giveBack(true);
  }

  /** Back to the pool after one autocommit statement: reset only when it left session state behind. */
  async releaseQuick(): Promise<void> {
    await this.giveBack(false);
  }

  private async giveBack(fullReset: boolean): Promise<void> {
    if (this.phase !== 'leased') return;
    this.phase = 'releasing';
    try {
      await this.owner.giveBack(this.raw, this.state, fullReset);
    } finally {
      this.phase = 'returned';
    }
  }

  /** Closes the connection; also while a release is still resetting it (a stuck reset). Idempotent. */
  async destroy(): Promise<void> {
    if (this.phase === 'returned') return;
    this.phase = 'returned';
    this.owner.discard(this.raw, this.state);
  }
}
