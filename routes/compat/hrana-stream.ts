import type { Dialect } from '../../src/backend/dialect.js';
import type { RowSink, StreamExecOptions, StreamSummary } from '../../src/backend/row-stream.js';
import { compileStatement, leadingKeyword, scanSql } from '../../src/backend/sql-lexer.js';
import type { TxStatus } from '../../src/backend/storage-backend.js';
import type { TransactionManager } from '../../src/backend/transaction-manager.js';
import type { ExecOptions, ParamValue, QueryResult, Statement } from '../../src/backend/types.js';
import { toSqlgateError } from '../../src/to-sqlgate-error.js';
import type { HranaBatch, HranaCond, HranaRequest, HranaStmt } from './hrana-requests.js';
import {
  type HranaError,
  HranaProtocolError,
  type HranaStmtResult,
  toHranaError,
  toParam,
  toStmtResult,
} from './hrana-values.js';
import { splitSqlScript } from './sql-script.js';

/** Where a pipeline's statements run: a one-off pinned connection or a session (its FIFO already held). */
export interface StreamTarget {
  dialect: Dialect;
  /** Runs one statement (a session refuses all but ROLLBACK in a failed PostgreSQL transaction). */
  execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult>;
  txStatus(): TxStatus;
  /** SQL texts stored with store_sql on this stream (kept across the pipelines of a baton). */
  sqls: Map<number, string>;
  /** Statement options (limits, timeouts) for this principal. */
  opts: ExecOptions;
  /** Counts a successful statement in /metrics. */
  observe(result: QueryResult): void;
  /** The stream's transaction manager (libsql's BEGIN forms fall back to it, see `execute`). */
  tm: TransactionManager;
  /** Streams one statement's rows into a sink (cursors, hrana-cursor.ts); absent on one-off targets. */
  stream?(stmt: Statement, opts: StreamExecOptions, sink: RowSink): Promise<StreamSummary>;
}

/**
 * libsql clients start transactions with `BEGIN IMMEDIATE` (write), `BEGIN DEFERRED` and
 * `BEGIN TRANSACTION READONLY` (read), which SQLite's own grammar, PostgreSQL and MySQL do not all accept.
 * When the database refuses one of them, the transaction is begun through the dialect instead
 * (`beginSql`: READ ONLY where asked), so the same client code runs on every backend.
 */
export const LIBSQL_BEGIN =
  /^\s*BEGIN(?:\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(?:\s+TRANSACTION)?(\s+READONLY)?\s*;?\s*$/i;

const EMPTY = (command: string): QueryResult => ({
  columns: [],
  rows: [],
  rowCount: 0,
  affectedRows: 0,
  lastInsertId: null,
  command,
  durationMs: 0,
});

/** Runs a statement; a refused libsql BEGIN form is retried as the dialect's begin; after-end SQL is run. */
export async function execute(target: StreamTarget, stmt: Statement): Promise<QueryResult> {
  const m = stmt.params.length === 0 ? LIBSQL_BEGIN.exec(stmt.sql) : null;
  try {
    // READONLY: SQLite would take the word for a transaction name and begin a writable transaction.
    if (m?.[2] && target.tm.state === 'idle') {
      await target.tm.begin({ readOnly: true });
      return EMPTY('BEGIN');
    }
    return await target.execute(stmt, target.opts);
  } catch (e) {
    if (!m || m[2] || target.tm.state !== 'idle') throw e;
    await target.tm.begin({});
    return EMPTY('BEGIN');
  } finally {
    // A transaction that ended (COMMIT/ROLLBACK sent as SQL) gets the dialect's after-end statements.
    await target.tm.sync().catch(() => undefined);
  }
}

export type StreamResult =
  | { type: 'ok'; response: Record<string, unknown> }
  | { type: 'error'; error: HranaError };

export const err = (e: unknown): StreamResult => ({ type: 'error', error: toHranaError(toSqlgateError(e)) });

/** The SQL of a statement: its text, or a text stored under sql_id. */
function sqlOf(target: Pick<StreamTarget, 'sqls'>, src: { sql?: string; sql_id?: number }): string {
  if (src.sql !== undefined) return src.sql;
  const text = target.sqls.get(src.sql_id as number);
  if (text === undefined)
    throw new HranaProtocolError(`no SQL text is stored under sql_id ${src.sql_id}`, 'SQL_ID_INVALID');
  return text;
}

/** Positional `args` or `named_args` (`:name`, `@name`, `$name` or bare `name`) -> a backend Statement. */
export function compileHranaStmt(target: Pick<StreamTarget, 'dialect' | 'sqls'>, stmt: HranaStmt): Statement {
  const sql = sqlOf(target, stmt);
  const args = stmt.args ?? [];
  const named = stmt.named_args ?? [];
  if (args.length > 0 && named.length > 0) {
    throw new HranaProtocolError('send either args or named_args, not both', 'ARGS_INVALID');
  }
  const d = target.dialect;
  if (named.length > 0) {
    const params: Record<string, ParamValue> = Object.create(null);
    named.forEach((a, i) => {
      params[a.name.replace(/^[:@$]/, '')] = toParam(a.value, `named_args[${i}]`);
    });
    return compileStatement(sql, params, d.lexer, (i) => d.placeholder(i));
  }
  const params = args.map((a, i) => toParam(a, `args[${i}]`));
  return compileStatement(sql, params, d.lexer, (i) => d.placeholder(i));
}

async function runStmt(target: StreamTarget, stmt: HranaStmt): Promise<HranaStmtResult> {
  const result = await execute(target, compileHranaStmt(target, stmt));
  target.observe(result);
  return toStmtResult(result, stmt.want_rows ?? true);
}

export function evalCond(
  c: HranaCond,
  outcomes: Array<'ok' | 'error' | null>,
  target: StreamTarget,
): boolean {
  switch (c.type) {
    case 'ok':
      return outcomes[c.step] === 'ok';
    case 'error':
      return outcomes[c.step] === 'error';
    case 'not':
      return !evalCond(c.cond, outcomes, target);
    case 'and':
      return c.conds.every((x) => evalCond(x, outcomes, target));
    case 'or':
      return c.conds.some((x) => evalCond(x, outcomes, target));
    case 'is_autocommit':
      return target.txStatus() === 'idle';
  }
}

/** A Hrana batch: steps in order, each run when its condition holds; a failed step does not stop the rest. */
export async function runHranaBatch(target: StreamTarget, batch: HranaBatch) {
  const outcomes: Array<'ok' | 'error' | null> = [];
  const stepResults: Array<HranaStmtResult | null> = [];
  const stepErrors: Array<HranaError | null> = [];
  for (const step of batch.steps) {
    if (step.condition && !evalCond(step.condition, outcomes, target)) {
      outcomes.push(null);
      stepResults.push(null);
      stepErrors.push(null);
      continue;
    }
    try {
      stepResults.push(await runStmt(target, step.stmt));
      stepErrors.push(null);
      outcomes.push('ok');
    } catch (e) {
      stepResults.push(null);
      stepErrors.push(toHranaError(toSqlgateError(e)));
      outcomes.push('error');
    }
  }
  return { step_results: stepResults, step_errors: stepErrors };
}

const READ_ONLY = new Set(['SELECT', 'EXPLAIN', 'VALUES', 'SHOW', 'DESCRIBE', 'PRAGMA']);

/**
 * describe without running the statement: parameters from the placeholders, `is_explain` / `is_readonly`
 * from its first keyword, and for a query its columns from a run of `SELECT * FROM (<sql>) LIMIT 0` with
 * every parameter NULL (no rows are read). Statements that are not queries report no columns.
 */
async function describe(target: StreamTarget, sql: string) {
  const d = target.dialect;
  const scan = scanSql(sql, d.lexer);
  if (scan.statementCount !== 1)
    throw new HranaProtocolError('describe takes exactly one statement', 'SQL_MANY_STATEMENTS');
  const seen = new Set<string>();
  const params: Array<{ name: string | null }> = [];
  for (const p of scan.placeholders) {
    if (p.kind === 'named') {
      if (!seen.has(p.name)) params.push({ name: `:${p.name}` });
      seen.add(p.name);
    } else params.push({ name: null });
  }
  const kw = leadingKeyword(sql);
  let cols: Array<{ name: string; decltype: string | null }> = [];
  if (kw === 'SELECT' || kw === 'WITH' || kw === 'VALUES') {
    const inner = sql.trim().replace(/;\s*$/, '');
    const nulls: ParamValue[] = params.map(() => ({ type: 'NULL', value: null }));
    const probe =
      seen.size > 0
        ? compileStatement(
            `SELECT * FROM (${inner}) AS sqlgate_describe LIMIT 0`,
            Object.fromEntries([...seen].map((n) => [n, { type: 'NULL', value: null } as ParamValue])),
            d.lexer,
            (i) => d.placeholder(i),
          )
        : { sql: `SELECT * FROM (${inner}) AS sqlgate_describe LIMIT 0`, params: nulls };
    const r = await target.execute(probe, target.opts);
    cols = r.columns.map((c) => ({ name: c.name, decltype: c.dbType === '' ? null : c.dbType }));
  }
  return { params, cols, is_explain: kw === 'EXPLAIN', is_readonly: READ_ONLY.has(kw) };
}

/** Runs every statement of a script in order; the first error ends the sequence. */
async function sequence(target: StreamTarget, sql: string): Promise<void> {
  for (const part of splitSqlScript(sql, target.dialect.lexer)) {
    const r = await execute(target, { sql: part, params: [] });
    target.observe(r);
  }
}

/** Runs one stream request; SQL failures become `{type: "error"}` results, the pipeline goes on. */
export async function runRequest(target: StreamTarget, req: HranaRequest): Promise<StreamResult> {
  try {
    switch (req.type) {
      case 'execute':
        return { type: 'ok', response: { type: 'execute', result: await runStmt(target, req.stmt) } };
      case 'batch':
        return { type: 'ok', response: { type: 'batch', result: await runHranaBatch(target, req.batch) } };
      case 'sequence':
        await sequence(target, sqlOf(target, req));
        return { type: 'ok', response: { type: 'sequence' } };
      case 'describe':
        return {
          type: 'ok',
          response: { type: 'describe', result: await describe(target, sqlOf(target, req)) },
        };
      case 'store_sql':
        target.sqls.set(req.sql_id, req.sql);
        return { type: 'ok', response: { type: 'store_sql' } };
      case 'close_sql':
        target.sqls.delete(req.sql_id);
        return { type: 'ok', response: { type: 'close_sql' } };
      case 'get_autocommit':
        return {
          type: 'ok',
          response: { type: 'get_autocommit', is_autocommit: target.txStatus() === 'idle' },
        };
      case 'close':
        return { type: 'ok', response: { type: 'close' } };
    }
  } catch (e) {
    if (e instanceof HranaProtocolError)
      return { type: 'error', error: { message: e.message, code: e.code } };
    return err(e);
  }
}
