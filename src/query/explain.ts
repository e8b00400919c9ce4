import type { Principal } from '../auth/principal.js';
import type { Connection, StorageBackend } from '../backend/storage-backend.js';
import type { ExecOptions, JsonValue, QueryResult, Statement } from '../backend/types.js';
import { SqlgateError } from '../errors.js';
import { rowCells } from './formats/cell-text.js';
import { acquireFor, runAsPrincipal } from './read-only.js';

/** `options.explain`: a plan only (`true`), or a plan of a real run (`"analyze"`). */
export type ExplainMode = boolean | 'analyze';

/** The uniform plan part of an explain answer. */
export interface PlanInfo {
  /** Whose shape `plan` has: `postgres` (EXPLAIN FORMAT JSON), `mysql` (FORMAT=JSON), `sqlite` (rows). */
  format: string;
  /** True when the statement really ran (in a transaction that was rolled back). */
  analyze: boolean;
  /** The database's plan as JSON. */
  plan: JsonValue;
  /**
   * Only with `analyze` on a database whose plan statement cannot run the statement (SQLite): what the
   * gateway measured running it, right after asking for the plan.
   */
  actual?: ActualRun;
}

/** What one run of the explained statement did (SQLite's `analyze`). */
export interface ActualRun {
  /** Rows the statement returned. */
  rows: number;
  /** Rows it changed (0 for a read). */
  affectedRows: number;
  /** Time on the database in ms, rounded to the microsecond. */
  durationMs: number;
}

/** The QueryResult of the EXPLAIN statement, `command: "EXPLAIN"`, plus the plan read out of it. */
export type ExplainResult = QueryResult & { plan: PlanInfo };

/** The dialect's EXPLAIN support and the statement that asks for the plan; coded errors when absent. */
export function explainStatement(
  backend: Pick<StorageBackend, 'name' | 'dialect'>,
  stmt: Statement,
  analyze: boolean,
): { sql: Statement; read: (r: QueryResult) => ExplainResult } {
  const ex = backend.dialect.explain;
  if (!ex || (analyze && ex.analyze === 'none')) {
    throw new SqlgateError(
      'UNSUPPORTED_FEATURE',
      analyze
        ? `backend "${backend.name}" cannot EXPLAIN ANALYZE; use explain: true for the plan`
        : `backend "${backend.name}" cannot explain statements`,
      { backend: backend.name },
    );
  }
  return {
    sql: { sql: ex.sql(stmt.sql, analyze), params: stmt.params },
    read: (r) => ({
      ...r,
      command: 'EXPLAIN',
      plan: { format: ex.format, analyze, plan: ex.plan(rowCells(r)) },
    }),
  };
}

/**
 * Runs EXPLAIN for one statement as the principal (read-only principals get their read-only connection).
 * `analyze` runs the statement itself, always inside a transaction that is rolled back afterwards — a READ
 * ONLY one where the dialect says a rollback is not airtight — so it changes nothing.
 */
export async function runExplain(
  principal: Principal,
  backend: StorageBackend,
  stmt: Statement,
  opts: ExecOptions,
  mode: Exclude<ExplainMode, false>,
): Promise<ExplainResult> {
  const analyze = mode === 'analyze';
  const { sql, read } = explainStatement(backend, stmt, analyze);
  if (!analyze) return read(await runAsPrincipal(principal, backend, sql, opts));
  const waitStarted = performance.now();
  const conn = await acquireFor(principal, backend);
  if (opts.timing) opts.timing.queueMs += performance.now() - waitStarted;
  try {
    const readOnly = backend.dialect.explain?.analyze === 'read-only' ? true : undefined;
    const { begin, end } = backend.dialect.beginSql({ readOnly });
    for (const s of begin) await conn.run(s);
    try {
      const result = read(await conn.execute(sql, opts));
      if (backend.dialect.explain?.analyzeByRunning) result.plan.actual = await measureRun(conn, stmt, opts);
      return result;
    } finally {
      if (conn.txStatus() !== 'idle') await conn.run('ROLLBACK');
      for (const s of end) await conn.run(s);
    }
  } finally {
    await conn.release();
  }
}

/** Runs the statement itself (inside runExplain's rolled-back transaction) and keeps only its measures. */
async function measureRun(conn: Connection, stmt: Statement, opts: ExecOptions): Promise<ActualRun> {
  const run = await conn.execute(stmt, { ...opts, timing: undefined });
  return {
    rows: run.rowCount,
    affectedRows: run.affectedRows,
    durationMs: Math.round(run.durationMs * 1000) / 1000,
  };
}

/**
 * EXPLAIN inside a session: the plan only. `analyze` would run the statement inside the client's own
 * transaction, where nothing rolls it back: refused, use /v1/execute (which rolls back).
 */
export async function explainInSession(
  s: { backend: Pick<StorageBackend, 'name' | 'dialect'>; execute: Connection['execute'] },
  stmt: Statement,
  opts: ExecOptions,
  explain: true | 'analyze',
): Promise<ExplainResult> {
  if (explain === 'analyze') {
    throw new SqlgateError(
      'UNSUPPORTED_FEATURE',
      'explain "analyze" is not offered inside a session (it would run in your transaction); use ' +
        'POST /v1/execute, which rolls it back, or explain: true',
      { backend: s.backend.name },
    );
  }
  const { sql, read } = explainStatement(s.backend, stmt, false);
  return read(await s.execute(sql, opts));
}
