import type pg from 'pg';
import { SqlgateError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import { resultTooLargeMessage } from '../result-limits.js';
import type { RowSink, StreamExecOptions, StreamSummary } from '../row-stream.js';
import { leadingKeyword } from '../sql-lexer.js';
import type { Connection, TxStatus } from '../storage-backend.js';
import type { ExecOptions, ParamValue, QueryResult, Statement } from '../types.js';
import { pgCancelKey, pgDestroySocket, pgQueryable, pgWire } from './pg-internals.js';
import { type CancelTarget, sendCancel } from './postgres-cancel.js';
import { isServerError, mapPgError } from './postgres-errors.js';
import { buildResult, unresolvedOids } from './postgres-result.js';
import { PgStatement, type StatementFailure, type StatementPlan } from './postgres-statement.js';
import type { CachedStatement, StatementCache, StatementUsage } from './postgres-statement-cache.js';
import { PgStreamQuery } from './postgres-stream.js';
import type { PgType } from './postgres-types.js';
import { toPgParam } from './postgres-values.js';
import { MAX_PG_PARAMS } from './postgres-wire.js';

/** What the gateway remembers about one pg client for as long as it lives (kept across pool checkouts). */
export interface ClientState {
  /** The socket failed or the server sent FATAL: the client must be discarded, never reused. */
  lost: boolean;
  /** The `statement_timeout` this session has now, when the gateway set it and nothing can have changed it. */
  timeoutMs: number | undefined;
  /** The named prepared statements this session has (see postgres-statement-cache.ts). */
  statements: StatementCache;
}

/** What a connection needs from its backend. */
export interface PgContext {
  readonly name: string;
  readonly dialect: Dialect;
  typeOf(oid: number): PgType | undefined;
  /** Looks up OIDs outside the built-in table in pg_type (on this client) and caches them. */
  resolveTypes(client: pg.PoolClient, oids: number[]): Promise<void>;
  state(client: pg.PoolClient): ClientState;
  /** Which statements are worth preparing, and the schema generation DDL bumps. */
  readonly usage: StatementUsage;
}

/** How long after the timeout the gateway's own cancel follows the server's statement_timeout. */
const CANCEL_MARGIN_MS = 100;
/** How long a cancelled statement may take to stop before its connection is closed instead. */
const CANCEL_GRACE_MS = 2000;
/** How long ROLLBACK / DISCARD ALL may take on release before the connection is closed instead. */
const RESET_TIMEOUT_MS = 10_000;

/**
 * Commands that cannot change session settings or transaction state: after anything else the remembered
 * statement_timeout is forgotten, and a pooled connection gets a full reset before it is reused.
 */
const STATELESS = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'COPY',
  'SHOW',
  'EXPLAIN',
  'DROP',
  'ALTER',
  'TRUNCATE',
  'COMMENT',
  'GRANT',
  'REVOKE',
  'ANALYZE',
  'VACUUM',
  'REFRESH',
  'CLUSTER',
  'REINDEX',
  'CHECKPOINT',
]);
/** Statements `run` sends that leave session settings alone (unless they undo a SET in the transaction). */
const TX_CONTROL = new Set(['BEGIN', 'START', 'SAVEPOINT', 'RELEASE', 'COMMIT', 'END', 'ROLLBACK', 'ABORT']);
const COPY_FROM_STDIN = /\bFROM\s+STDIN\b/i;
/** A statement that may return rows it wrote (a false match only costs a BEGIN and a COMMIT). */
const RETURNING = /\bRETURNING\b/i;
/** Functions that change session state from inside a SELECT. */
const STATEFUL_CALL = /set_config|advisory_lock|advisory_xact_lock|pg_advisory|dblink_connect/i;
/** Commands after which cached statements may see a different schema (or a different search_path object). */
const DDL = new Set(['CREATE', 'ALTER', 'DROP']);
/** Commands that can drop the session's prepared statements. */
const DROPS_PREPARED = new Set(['DISCARD', 'DEALLOCATE']);

/**
 * The server refused a cached prepared statement: its result columns would change (DDL since it was
 * prepared: 0A000 from RevalidateCachedQuery), or it no longer exists (26000).
 */
function isStaleStatement(err: unknown): boolean {
  const cause = err instanceof SqlgateError ? err.cause : err;
  if (!isServerError(cause)) return false;
  if (cause.code === '26000') return true;
  const routine = (cause as { routine?: string }).routine;
  return cause.code === '0A000' && (routine === undefined || routine === 'RevalidateCachedQuery');
}

/**
 * One pg client checked out of the pool: pinned to a session or batch (`release` resets it), or borrowed
 * for one autocommit statement (`releaseQuick` resets only what the statement left behind).
 *
 * Timeouts: the server enforces `statement_timeout` (set per statement when it differs from what the
 * session has); the gateway also cancels the statement itself, by a CancelRequest, when the client goes
 * away or the server's timeout did not fire. Either way the error is STATEMENT_TIMEOUT (SQLSTATE 57014).
 */
export class PgConnection implements Connection {
  private ended = false;
  /** Called once when the connection goes back to the pool or is destroyed. */
  onEnd: (() => void) | undefined;
  /** A statement since checkout may have left session state (SET, temp table, open transaction...). */
  private dirty = false;
  /** The remembered statement_timeout was SET inside the transaction that is open now. */
  private timeoutSetInTx = false;
  /** DDL ran inside the open transaction: ending it (or rolling back to a savepoint) changes the schema. */
  private ddlInTx = false;
  /**
   * Whether the last call failed before anything was sent (the client was already known dead), so an
   * autocommit caller may send the statement again on another connection. Once the statement is on the
   * wire it is never retried: a backend terminated under it (pg_terminate_backend) may have been killed on
   * purpose, and the client cannot tell that apart from an idle connection that died just before.
   */
  retrySafe = false;

  /**
   * @param readOnlyEnforced the client logged in with the least-privilege `readOnlyUrl` credential, so no SQL
   *   can make it write (otherwise a read-only caller wraps each statement in a READ ONLY transaction).
   */
  constructor(
    private readonly ctx: PgContext,
    private readonly client: pg.PoolClient,
    readonly readOnlyEnforced = false,
  ) {}

  /** Released, destroyed or lost: no further call can succeed. */
  get isClosed(): boolean {
    return this.ended || this.isLost;
  }

  get dialect(): Dialect {
    return this.ctx.dialect;
  }

  private get state(): ClientState {
    return this.ctx.state(this.client);
  }

  /** The client is gone or unusable. */
  get isLost(): boolean {
    return this.state.lost || !pgQueryable(this.client);
  }

  private unavailable(message: string): SqlgateError {
    return new SqlgateError('BACKEND_UNAVAILABLE', message, { backend: this.ctx.name });
  }

  async execute(stmt: { sql: string; params: ParamValue[] }, opts: ExecOptions): Promise<QueryResult> {
    const [result] = await this.limited(stmt.sql, [stmt.params], opts, false);
    return result as QueryResult;
  }

  async executeMany(sql: string, paramSets: ParamValue[][], opts: ExecOptions): Promise<QueryResult[]> {
    if (paramSets.length === 0) return [];
    return this.limited(sql, paramSets, opts, true);
  }

  /**
   * A statement that returns rows it wrote (`RETURNING`), run in autocommit with a row limit: the server
   * runs such a statement to completion whatever the Execute row limit says, and the Sync after a limit
   * that tripped would commit the write the client is told failed. So it runs in a transaction of its own,
   * rolled back when it fails (RESULT_TOO_LARGE included), committed otherwise; a failed COMMIT (a
   * deferred constraint) is the statement's error. Other statements keep the one round trip.
   */
  private async limited(
    sql: string,
    paramSets: ParamValue[][],
    opts: ExecOptions,
    many: boolean,
  ): Promise<QueryResult[]> {
    if (
      opts.maxRows <= 0 ||
      !RETURNING.test(sql) ||
      this.client.getTransactionStatus() !== 'I' ||
      this.ended
    ) {
      return this.statement(sql, paramSets, opts, many);
    }
    this.retrySafe = false;
    // The timeout is set first, outside the transaction, so the ROLLBACK cannot undo it.
    await this.applyTimeout(opts.timeoutMs);
    await this.simple('BEGIN');
    let results: QueryResult[];
    try {
      results = await this.statement(sql, paramSets, opts, many);
    } catch (err) {
      if (!this.isLost && this.client.getTransactionStatus() !== 'I') await this.simple('ROLLBACK');
      throw err;
    }
    await this.simple('COMMIT');
    return results;
  }

  private async statement(
    sql: string,
    paramSets: ParamValue[][],
    opts: ExecOptions,
    many: boolean,
  ): Promise<QueryResult[]> {
    this.retrySafe = false;
    if (this.ended) throw this.unavailable('the connection was released');
    if (this.isLost) {
      this.retrySafe = true;
      throw this.unavailable('the connection to PostgreSQL was lost');
    }
    if (opts.signal?.aborted) {
      throw new SqlgateError('STATEMENT_TIMEOUT', 'the client went away before the statement started', {
        backend: this.ctx.name,
      });
    }
    if (COPY_FROM_STDIN.test(sql) && leadingKeyword(sql) === 'COPY') {
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        'COPY FROM STDIN needs a data stream the HTTP API does not have; use INSERT with a batch (paramSets)',
        { backend: this.ctx.name },
      );
    }
    const tooMany = paramSets.findIndex((set) => set.length > MAX_PG_PARAMS);
    if (tooMany >= 0) {
      throw new SqlgateError(
        'PARAM_INVALID',
        `${paramSets[tooMany]?.length} parameters are more than PostgreSQL takes in one statement ` +
          `(${MAX_PG_PARAMS}); send the rows in several statements or as one array parameter`,
        { backend: this.ctx.name, ...(many ? { statementIndex: tooMany } : {}) },
      );
    }
    const values = paramSets.map((set) => set.map(toPgParam));
    const started = performance.now();
    await this.applyTimeout(opts.timeoutMs);
    this.noteCommand(sql, '');
    const cache = this.state.statements;
    const generation = this.ctx.usage.generation;
    const worth = this.ctx.usage.note(sql);
    const cached = worth ? cache.get(sql, generation) : undefined;
    const preparing = worth && cached === undefined ? cache.nextName() : '';
    const autocommit = this.client.getTransactionStatus() === 'I';
    let stmt: PgStatement;
    try {
      stmt = await this.run1(sql, values, opts, many, cached, preparing);
    } catch (err) {
      if (preparing) cache.forget(preparing);
      if (!cached || !isStaleStatement(err)) throw err;
      cache.evict(sql);
      // Inside a transaction the error has aborted it: the client must see it. In autocommit nothing ran
      // (an implicit transaction covers every set), so the statement is sent once more, parsed afresh.
      if (!autocommit || this.client.getTransactionStatus() !== 'I') {
        throw err instanceof SqlgateError
          ? err.with({
              hint:
                'a table this statement uses was altered since the gateway prepared it on this connection; ' +
                'roll back and retry the transaction (the statement is prepared afresh)',
            })
          : err;
      }
      stmt = await this.run1(sql, values, opts, many, undefined, '');
    }
    if (preparing) cache.add(sql, { name: preparing, fields: stmt.statementFields, generation });
    const raw = stmt.results;
    const unknown = unresolvedOids(raw);
    if (unknown.length > 0) await this.ctx.resolveTypes(this.client, unknown);
    const elapsed = performance.now() - started;
    const results = raw.map((r) => buildResult(r, opts, (oid) => this.ctx.typeOf(oid), elapsed / raw.length));
    for (const r of results) this.noteCommand(sql, r.command);
    // A transaction the client ended with SQL went through noteCommand, which forgot the timeout already.
    if (this.client.getTransactionStatus() === 'I') {
      this.timeoutSetInTx = false;
      this.ddlInTx = false;
    }
    return results;
  }

  /**
   * Streams one statement's rows into `sink` (postgres-stream.ts): a Describe round trip first, so the
   * columns (and any type the catalog must name) are known before the first row, then the portal read
   * piece by piece. No statement_timeout: the stream's idle timeout stands in for it.
   */
  async stream(stmt: Statement, opts: StreamExecOptions, sink: RowSink): Promise<StreamSummary> {
    const execOpts: ExecOptions = {
      ...opts,
      timeoutMs: 0,
      maxRows: 0,
      maxResponseBytes: 0,
      signal: sink.signal,
    };
    if (this.ended) throw this.unavailable('the connection was released');
    if (this.isLost) throw this.unavailable('the connection to PostgreSQL was lost');
    if (COPY_FROM_STDIN.test(stmt.sql) && leadingKeyword(stmt.sql) === 'COPY') {
      throw new SqlgateError('UNSUPPORTED_FEATURE', 'COPY FROM STDIN cannot be streamed', {
        backend: this.ctx.name,
      });
    }
    await this.applyTimeout(0);
    this.noteCommand(stmt.sql, '');
    const probe = await this.run1(stmt.sql, [], execOpts, false, undefined, '');
    const values = stmt.params.map(toPgParam);
    const fields = probe.statementFields;
    const unknown = [
      ...new Set(fields.filter((f) => !this.ctx.typeOf(f.dataTypeID)).map((f) => f.dataTypeID)),
    ];
    if (unknown.length > 0) await this.ctx.resolveTypes(this.client, unknown);
    const query = new PgStreamQuery({
      sql: stmt.sql,
      values,
      fields,
      opts: execOpts,
      typeOf: (oid) => this.ctx.typeOf(oid),
      sink,
      cancel: () => sendCancel(this.cancelTarget()),
    });
    if (fields.length > 0) sink.columns(query.columns());
    let hardKill: NodeJS.Timeout | undefined;
    // A server that does not stop after the cancel (network gone) loses the connection instead.
    const onAbort = () => {
      hardKill = setTimeout(() => this.kill(), CANCEL_GRACE_MS);
    };
    sink.signal.addEventListener('abort', onAbort, { once: true });
    this.client.query(query as unknown as pg.Submittable);
    try {
      const end = await query.done;
      this.noteCommand(stmt.sql, end.command);
      return { rowCount: end.rowCount, command: end.command, ...query.outcome() };
    } catch (f) {
      this.noteFailure(f as StatementFailure);
      throw this.failureToError(f as StatementFailure, false, sink.signal.aborted ? 'aborted' : null);
    } finally {
      clearTimeout(hardKill);
      sink.signal.removeEventListener('abort', onAbort);
      if (this.client.getTransactionStatus() === 'I') {
        this.timeoutSetInTx = false;
        this.ddlInTx = false;
      }
    }
  }

  /**
   * One round trip: the statement named `cached.name` (prepared already), or parsed as `preparing` ('' for
   * the unnamed statement).
   */
  private async run1(
    sql: string,
    values: Array<Array<string | Buffer | null>>,
    opts: ExecOptions,
    many: boolean,
    cached: CachedStatement | undefined,
    preparing: string,
  ): Promise<PgStatement> {
    const noCoercion = !opts.columnTypes || Object.keys(opts.columnTypes).length === 0;
    const plan: StatementPlan = {
      sql,
      paramSets: values,
      name: cached ? cached.name : preparing,
      prepared: cached?.fields,
      close: this.state.statements.takeClosing(),
      jsonRows: noCoercion ? opts.rowMode : undefined,
      maxRows: opts.maxRows,
      maxBytes: opts.maxResponseBytes,
      int64: opts.int64,
      jsonNumbers: opts.jsonNumbers,
      typeOf: (oid) => this.ctx.typeOf(oid),
    };
    const stmt = new PgStatement(plan);
    await this.submit(stmt, opts, many);
    return stmt;
  }

  /** Remembers what a command may have changed (see STATELESS). `command` '' = before the statement ran. */
  private noteCommand(sql: string, command: string): void {
    if (command === '' ? STATEFUL_CALL.test(sql) : !STATELESS.has(command)) {
      this.dirty = true;
      this.state.timeoutMs = undefined;
    }
    if (command === '') return;
    if (DDL.has(command)) {
      this.ctx.usage.generation++;
      if (this.client.getTransactionStatus() !== 'I') this.ddlInTx = true;
    } else if (this.ddlInTx && TX_CONTROL.has(command)) {
      // COMMIT, ROLLBACK (TO SAVEPOINT) ... may undo DDL that statements were prepared against.
      this.ctx.usage.generation++;
    } else if (DROPS_PREPARED.has(command)) {
      this.state.statements.clear(true);
    }
  }

  /** Sets the server-side statement_timeout when the session may have a different one. */
  private async applyTimeout(timeoutMs: number): Promise<void> {
    const ms = Math.max(0, Math.trunc(timeoutMs));
    // In a failed transaction SET fails too; the statement will report 25P02 itself.
    if (this.state.timeoutMs === ms || this.client.getTransactionStatus() === 'E') return;
    this.state.timeoutMs = undefined;
    // Bounded like the statement it prepares: over a network that went silent (test/fault) the SET would
    // otherwise wait forever. Nothing of the caller's has been sent yet, so the lost connection is the
    // plain retryable BACKEND_UNAVAILABLE.
    await this.simple(`SET statement_timeout = ${ms}`, ms > 0 ? ms + CANCEL_GRACE_MS : RESET_TIMEOUT_MS);
    this.state.timeoutMs = ms;
    // Inside a transaction a ROLLBACK (to a savepoint) undoes the SET: remembered only until then.
    this.timeoutSetInTx = this.client.getTransactionStatus() !== 'I';
  }

  /**
   * Runs a simple-protocol statement and waits for its ReadyForQuery.
   * @param killAfterMs when > 0, a server that has not answered by then loses the connection (for resets,
   *   which must not hang a release forever).
   */
  private async simple(sql: string, killAfterMs = 0): Promise<void> {
    const stmt = new PgStatement({ sql, maxRows: 0, maxBytes: 0, int64: 'string', typeOf: () => undefined });
    const timer = killAfterMs > 0 ? setTimeout(() => this.kill(), killAfterMs) : undefined;
    this.client.query(stmt as unknown as pg.Submittable);
    try {
      await stmt.done;
    } catch (f) {
      this.noteFailure(f as StatementFailure);
      throw this.failureToError(f as StatementFailure, false, null);
    } finally {
      clearTimeout(timer);
    }
  }

  private noteFailure(f: StatementFailure): void {
    if (f.kind === 'connection') this.state.lost = true;
  }

  /** Sends the statement and waits for it, cancelling it on timeout or when the client goes away. */
  private async submit(stmt: PgStatement, opts: ExecOptions, many: boolean) {
    const cancel: { reason: 'timeout' | 'aborted' | null; sent: Promise<void> | null } = {
      reason: null,
      sent: null,
    };
    let hardKill: NodeJS.Timeout | undefined;
    const doCancel = (reason: 'timeout' | 'aborted') => {
      if (cancel.sent) return;
      cancel.reason = reason;
      cancel.sent = sendCancel(this.cancelTarget());
      // A server that does not react to the cancel (network gone) loses the connection instead.
      hardKill = setTimeout(() => this.kill(), CANCEL_GRACE_MS);
    };
    const onAbort = () => doCancel('aborted');
    const timer =
      opts.timeoutMs > 0
        ? setTimeout(() => doCancel('timeout'), opts.timeoutMs + CANCEL_MARGIN_MS)
        : undefined;
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.client.query(stmt as unknown as pg.Submittable);
    try {
      return await stmt.done;
    } catch (f) {
      this.noteFailure(f as StatementFailure);
      throw this.failureToError(f as StatementFailure, many, cancel.reason, opts.timeoutMs);
    } finally {
      clearTimeout(timer);
      clearTimeout(hardKill);
      opts.signal?.removeEventListener('abort', onAbort);
      // Wait until the cancel has been delivered, so it cannot hit this connection's next statement.
      if (cancel.sent) await cancel.sent;
    }
  }

  private failureToError(
    f: StatementFailure,
    many: boolean,
    cancelled: 'timeout' | 'aborted' | null,
    timeoutMs = 0,
  ): SqlgateError {
    const index = many ? { statementIndex: f.index } : {};
    if (f.kind === 'tooLarge') {
      return new SqlgateError('RESULT_TOO_LARGE', resultTooLargeMessage(f.what), {
        backend: this.ctx.name,
        ...index,
      });
    }
    if (f.kind === 'decode') {
      return mapPgError(f.error, this.ctx.name, false).with(index);
    }
    this.state.timeoutMs = undefined;
    const timedOut =
      cancelled && (f.kind === 'connection' || (isServerError(f.error) && f.error.code === '57014'));
    if (timedOut) {
      const message =
        cancelled === 'aborted'
          ? 'the statement was cancelled because the client went away'
          : `the statement ran longer than ${timeoutMs} ms and was cancelled`;
      return new SqlgateError(
        'STATEMENT_TIMEOUT',
        message,
        { backend: this.ctx.name, sqlState: '57014', ...index },
        { cause: f.error },
      );
    }
    // A 57014 the gateway did not cause keeps the server's words (statement_timeout, or an admin's cancel).
    return mapPgError(f.error, this.ctx.name, f.kind === 'connection').with(index);
  }

  private cancelTarget(): CancelTarget {
    return pgCancelKey(this.client);
  }

  /** Closes the socket under a statement that would not stop; pg then fails everything on it. */
  private kill(): void {
    this.state.lost = true;
    pgDestroySocket(pgWire(this.client));
  }

  /**
   * Starts this connection's statement cache afresh (closing what it holds with the next round trip). For a
   * pinned connection: a statement that DDL elsewhere made stale fails the transaction it runs in (it cannot
   * be re-run there), so sessions and batches do not inherit statements prepared by earlier autocommit
   * users; they prepare their own, and only DDL during their own lifetime can make those stale.
   */
  forgetStatements(): void {
    this.state.statements.clear(true);
  }

  async run(sql: string): Promise<void> {
    if (this.ended) throw this.unavailable('the connection was released');
    if (this.isLost) throw this.unavailable('the connection to PostgreSQL was lost');
    this.dirty = true;
    // Transaction control keeps session settings, except that ending a transaction (or rolling back to a
    // savepoint) can undo a SET made inside it.
    if (this.timeoutSetInTx || !TX_CONTROL.has(leadingKeyword(sql))) this.state.timeoutMs = undefined;
    try {
      await this.simple(sql);
    } finally {
      // Ending the transaction, or rolling back to a savepoint, may undo DDL statements were prepared against.
      if (this.ddlInTx) this.ctx.usage.generation++;
      if (this.client.getTransactionStatus() === 'I') {
        this.timeoutSetInTx = false;
        this.ddlInTx = false;
      }
    }
  }

  txStatus(): TxStatus {
    const s = this.client.getTransactionStatus();
    return s === 'T' ? 'active' : s === 'E' ? 'failed' : 'idle';
  }

  async reset(): Promise<void> {
    if (this.isLost) throw this.unavailable('the connection to PostgreSQL was lost');
    if (this.client.getTransactionStatus() !== 'I') await this.simple('ROLLBACK', RESET_TIMEOUT_MS);
    if (this.ddlInTx) this.ctx.usage.generation++;
    this.ddlInTx = false;
    // Settings, temp tables, prepared statements, cursors, advisory locks, LISTEN: all gone.
    await this.simple('DISCARD ALL', RESET_TIMEOUT_MS);
    this.state.statements.clear(false);
    this.state.timeoutMs = undefined;
    this.timeoutSetInTx = false;
    this.dirty = false;
  }

  async release(): Promise<void> {
    await this.giveBack(true);
  }

  /** Back to the pool after an autocommit statement: a reset only when something may have leaked. */
  async releaseQuick(): Promise<void> {
    await this.giveBack(this.dirty || this.client.getTransactionStatus() !== 'I');
  }

  private async giveBack(fullReset: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.();
    if (this.isLost) {
      this.client.release(new Error('connection lost'));
      return;
    }
    try {
      if (fullReset) await this.reset();
      this.client.release();
    } catch (err) {
      this.state.lost = true;
      this.client.release(err instanceof Error ? err : new Error('reset failed'));
    }
  }

  async destroy(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.();
    this.state.lost = true;
    this.client.release(new Error('destroyed'));
  }
}
