import type { BeginOptions, Dialect } from '../backend/dialect.js';
import { prepareStatement } from '../backend/prepare.js';
import { compileStatement, leadingKeyword } from '../backend/sql-lexer.js';
import type { Connection } from '../backend/storage-backend.js';
import { TransactionManager } from '../backend/transaction-manager.js';
import type { ExecOptions, ParamValue, QueryResult, Statement } from '../backend/types.js';
import { decodeParams } from '../backend/value-mapper.js';
import type { Config } from '../config.js';
import { SqlgateError } from '../errors.js';
import { toSqlgateError } from '../to-sqlgate-error.js';
import { type ClientStatementOptions, execOptions } from './exec-options.js';

/**
 * The batch runner behind POST /v1/batch and /v1/sessions/{id}/batch. It works on one pinned Connection
 * through the TransactionManager only, so the same code serves every backend; what differs is read from
 * Dialect capability flags.
 */

type ClientParams = unknown[] | Record<string, unknown>;

export interface BatchStatement {
  sql: string;
  params?: ClientParams;
  options?: ClientStatementOptions;
}

/** A batch as the client sent it: a list of statements, or one statement with many parameter sets. */
export type BatchInput = (
  | { statements: BatchStatement[]; sql?: undefined; paramSets?: undefined }
  | { sql: string; paramSets: ClientParams[]; statements?: undefined }
) & {
  /** Options for every statement (a statement's own `options` override them, key by key). */
  options?: ClientStatementOptions;
  /** All-or-nothing (default true). */
  transaction?: boolean;
  /** Only with `transaction: false`: keep going after a failed statement. */
  continueOnError?: boolean;
  isolationLevel?: BeginOptions['isolationLevel'];
  readOnly?: boolean;
  /** PostgreSQL SERIALIZABLE READ ONLY DEFERRABLE (the Neon endpoint's Neon-Batch-Deferrable). */
  deferrable?: boolean;
};

/** One entry of `results`: a QueryResult, or the error of that statement. */
export type BatchItem = QueryResult | { error: SqlgateError };

export interface BatchOutcome {
  results: BatchItem[];
  durationMs: number;
}

export interface BatchContext {
  limits: Config['limits'];
  /** Aborted when the client goes away (not passed inside sessions: the session outlives one request). */
  signal?: AbortSignal;
  /** The principal's own maxRows, tighter than the configured one. */
  principalMaxRows?: number;
}

/** Statements that start or end a transaction themselves; in a transactional batch they would break it. */
const TX_CONTROL = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT']);
/** Statements that a database without transactional DDL commits implicitly (MySQL). */
const DDL = new Set(['CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME']);
const RE_TEMP_TABLE = /^\s*CREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\s/i;

let batchSavepointSeq = 0;

/** A prepared batch: native statements and their options, or a prep error per index. */
interface Prepared {
  kind: 'statements' | 'bulk';
  statements: Array<{ stmt: Statement; opts: ExecOptions } | SqlgateError>;
  /** Bulk form: the compiled SQL and one param list per set. */
  bulk?: { sql: string; paramSets: Statement['params'][]; opts: ExecOptions };
  transaction: boolean;
  continueOnError: boolean;
  begin: BeginOptions;
}

/**
 * The bulk form's SQL is compiled once (the first set), not once per set: the other sets are only checked
 * against it and decoded. Named sets are mapped to the placeholder order the first compile found.
 */
function compileBulk(
  dialect: Dialect,
  sql: string,
  paramSets: ClientParams[],
): { sql: string; paramSets: ParamValue[][] } {
  const first = paramSets[0] as ClientParams;
  const at = (i: number, err: unknown) => toSqlgateError(err).with({ statementIndex: i });
  let compiledSql: string;
  try {
    compiledSql = prepareStatement(dialect, sql, first).sql;
  } catch (err) {
    throw at(0, err);
  }
  if (Array.isArray(first)) {
    const expected = first.length;
    return {
      sql: compiledSql,
      paramSets: paramSets.map((set, i) => {
        if (!Array.isArray(set) || set.length !== expected) {
          throw at(
            i,
            new SqlgateError(
              'PARAM_INVALID',
              `every parameter set must be an array of ${expected} value(s), like the first one`,
            ),
          );
        }
        try {
          return decodeParams(set) as ParamValue[];
        } catch (err) {
          throw at(i, err);
        }
      }),
    };
  }
  // Which name fills each native placeholder: compile the first set's key names as stand-in values.
  const keys = Object.keys(first);
  const names = compileStatement<string>(
    sql,
    Object.fromEntries(keys.map((k) => [k, k])),
    dialect.lexer,
    (i) => dialect.placeholder(i),
  ).params;
  return {
    sql: compiledSql,
    paramSets: paramSets.map((set, i) => {
      if (
        Array.isArray(set) ||
        Object.keys(set).length !== keys.length ||
        !keys.every((k) => Object.hasOwn(set, k))
      ) {
        throw at(
          i,
          new SqlgateError(
            'PARAM_INVALID',
            `every parameter set must have the same names as the first one (${keys.map((k) => `:${k}`).join(', ')})`,
          ),
        );
      }
      try {
        const decoded = decodeParams(set) as Record<string, ParamValue>;
        return names.map((n) => decoded[n] as ParamValue);
      } catch (err) {
        throw at(i, err);
      }
    }),
  };
}

/** Shape checks that the JSON schema cannot express; BAD_REQUEST before anything runs. */
export function checkBatchInput(input: BatchInput, limits: Config['limits']): void {
  const transaction = input.transaction ?? true;
  const hasList = input.statements !== undefined;
  const hasBulk = input.sql !== undefined || input.paramSets !== undefined;
  if (hasList === hasBulk) {
    throw new SqlgateError('BAD_REQUEST', 'send either "statements" or "sql" with "paramSets", not both');
  }
  if (hasBulk && (input.sql === undefined || input.paramSets === undefined)) {
    throw new SqlgateError('BAD_REQUEST', 'the bulk form needs both "sql" and "paramSets"');
  }
  const count = input.statements?.length ?? input.paramSets?.length ?? 0;
  if (count === 0) throw new SqlgateError('BAD_REQUEST', 'the batch is empty');
  if (count > limits.maxBatchStatements) {
    throw new SqlgateError(
      'BAD_REQUEST',
      `the batch has ${count} entries; at most ${limits.maxBatchStatements} are allowed (limits.maxBatchStatements)`,
    );
  }
  if (!transaction && (input.isolationLevel !== undefined || input.readOnly !== undefined)) {
    throw new SqlgateError('BAD_REQUEST', '"isolationLevel" and "readOnly" need "transaction": true');
  }
  if (transaction && input.continueOnError) {
    throw new SqlgateError(
      'BAD_REQUEST',
      '"continueOnError" needs "transaction": false (a transactional batch is all-or-nothing)',
    );
  }
}

function prepare(conn: Connection, input: BatchInput, ctx: BatchContext): Prepared {
  const dialect = conn.dialect;
  const transaction = input.transaction ?? true;
  const begin: BeginOptions = {};
  if (input.isolationLevel !== undefined) begin.isolationLevel = input.isolationLevel;
  if (input.readOnly !== undefined) begin.readOnly = input.readOnly;
  if (input.deferrable !== undefined) begin.deferrable = input.deferrable;
  const base = {
    transaction,
    continueOnError: input.continueOnError ?? false,
    begin,
  };
  const optsFor = (o: ClientStatementOptions | undefined) =>
    execOptions(ctx.limits, o, ctx.signal, ctx.principalMaxRows);
  const refuseInTransaction = (sql: string, index: number): void => {
    if (!transaction) return;
    const kw = leadingKeyword(sql);
    if (TX_CONTROL.has(kw)) {
      throw new SqlgateError(
        'BAD_REQUEST',
        `statement ${index} (${kw}) controls the transaction itself; a transactional batch manages its own ` +
          'transaction (use "transaction": false, or a session)',
        { statementIndex: index },
      );
    }
    if (!dialect.capabilities.transactionalDdl && DDL.has(kw) && !RE_TEMP_TABLE.test(sql)) {
      throw new SqlgateError(
        'BAD_REQUEST',
        `statement ${index} (${kw}) is DDL, which ${dialect.name} commits implicitly, so the batch could not ` +
          'be all-or-nothing; send it with "transaction": false',
        { statementIndex: index },
      );
    }
  };

  if (input.statements !== undefined) {
    const statements = input.statements.map((s, i) => {
      try {
        refuseInTransaction(s.sql, i);
        const options =
          input.options && s.options ? { ...input.options, ...s.options } : (s.options ?? input.options);
        return { stmt: prepareStatement(dialect, s.sql, s.params), opts: optsFor(options) };
      } catch (err) {
        return toSqlgateError(err).with({ statementIndex: i });
      }
    });
    // A transactional batch fails as a whole before touching the database.
    if (transaction) {
      const bad = statements.find((s) => s instanceof SqlgateError);
      if (bad) throw bad;
    }
    return { kind: 'statements', statements, ...base };
  }

  refuseInTransaction(input.sql, 0);
  const compiled = compileBulk(dialect, input.sql, input.paramSets);
  return {
    kind: 'bulk',
    statements: [],
    bulk: { sql: compiled.sql, paramSets: compiled.paramSets, opts: optsFor(input.options) },
    ...base,
  };
}

/**
 * Runs a batch on a pinned connection.
 * - Transaction mode, connection idle: BEGIN (with the batch's options) ... COMMIT; ROLLBACK on any error,
 *   which is rethrown with `statementIndex`.
 * - Transaction mode, a transaction already open (inside a session): a savepoint is taken first and
 *   rolled back to on error, so the session is as it was before the batch.
 * - Otherwise each statement runs as it is (autocommit, or inside the session's transaction) and the
 *   batch stops after the first failure (reported as that entry's `{error}`) unless `continueOnError`.
 * The caller owns the connection and releases it.
 */
export async function runBatch(
  conn: Connection,
  input: BatchInput,
  ctx: BatchContext,
  tm: TransactionManager = new TransactionManager(conn),
): Promise<BatchOutcome> {
  const started = performance.now();
  checkBatchInput(input, ctx.limits);
  const prepared = prepare(conn, input, ctx);
  const results = prepared.transaction
    ? await inTransaction(conn, tm, prepared, ctx.signal)
    : await withoutTransaction(conn, prepared);
  return { results, durationMs: performance.now() - started };
}

/** What a failed statement does: fail the batch, end it with the error as the last result, or be skipped. */
type OnError = 'throw' | 'stop' | 'continue';

async function runAll(conn: Connection, p: Prepared, onError: OnError): Promise<BatchItem[]> {
  if (p.bulk && onError === 'throw') {
    // Inside a transaction: the driver's fastest path (prepared once, pipelined / one worker call).
    const { sql, paramSets, opts } = p.bulk;
    try {
      return await conn.executeMany(sql, paramSets, opts);
    } catch (err) {
      throw toSqlgateError(err);
    }
  }
  // Statement by statement. The bulk form lands here only in autocommit, where each set must commit on
  // its own (executeMany gives no such promise: PostgreSQL's pipeline is one implicit transaction).
  const bulk = p.bulk;
  const entries: Prepared['statements'] = bulk
    ? bulk.paramSets.map((params) => ({ stmt: { sql: bulk.sql, params }, opts: bulk.opts }))
    : p.statements;
  const results: BatchItem[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Prepared['statements'][number];
    let error: SqlgateError;
    if (entry instanceof SqlgateError) {
      error = entry;
    } else {
      try {
        results.push(await conn.execute(entry.stmt, entry.opts));
        continue;
      } catch (err) {
        error = toSqlgateError(err).with({ statementIndex: i });
      }
    }
    if (onError === 'throw') throw error;
    results.push({ error });
    // A dead connection fails every later statement the same way; stop there.
    if (onError === 'stop' || conn.isClosed || error.code === 'BACKEND_UNAVAILABLE') break;
  }
  return results;
}

async function inTransaction(
  conn: Connection,
  tm: TransactionManager,
  p: Prepared,
  signal: AbortSignal | undefined,
): Promise<BatchItem[]> {
  const nested = tm.state !== 'idle';
  let savepoint: string | undefined;
  if (nested) {
    if (p.begin.isolationLevel !== undefined || p.begin.readOnly !== undefined) {
      throw new SqlgateError(
        'INVALID_TRANSACTION_STATE',
        '"isolationLevel" and "readOnly" apply when the batch starts a transaction, but one is already open',
      );
    }
    if (!conn.dialect.capabilities.savepoints) {
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `${conn.dialect.name} has no savepoints, so a batch inside an open transaction cannot be undone alone`,
      );
    }
    savepoint = await tm.savepoint(`sqlgate_batch_${++batchSavepointSeq}`);
  } else {
    await tm.begin(p.begin);
  }
  try {
    const results = await runAll(conn, p, 'throw');
    if (tm.state === 'idle') {
      // Only possible when the database ended the transaction by itself (an implicit commit, a rollback
      // after a deadlock); the batch was then not atomic and must not report success.
      throw new SqlgateError(
        'INVALID_TRANSACTION_STATE',
        'the transaction ended while the batch ran; its effects may be partial',
      );
    }
    if (signal?.aborted) {
      // Nobody is waiting for the outcome (and a backend may not have stopped the last statement): do not
      // commit what the client can no longer learn about.
      throw new SqlgateError('STATEMENT_TIMEOUT', 'the batch was cancelled because the client went away');
    }
    if (savepoint !== undefined) await tm.releaseSavepoint(savepoint);
    else await tm.commit();
    return results;
  } catch (err) {
    await undo(tm, savepoint);
    throw err;
  }
}

/** Best effort: the original error matters more than a failure to clean up (release resets anyway). */
async function undo(tm: TransactionManager, savepoint: string | undefined): Promise<void> {
  try {
    if (tm.state === 'idle') return;
    if (savepoint === undefined) {
      await tm.rollback();
    } else {
      await tm.rollbackTo(savepoint);
      await tm.releaseSavepoint(savepoint);
    }
  } catch {
    // The connection is reset (or destroyed) on release; a session reports its state from the database.
  }
}

/**
 * Autocommit: what ran stays committed, so the results of the statements (or parameter sets) before a
 * failure are returned (200) with the error as the last entry.
 */
async function withoutTransaction(conn: Connection, p: Prepared): Promise<BatchItem[]> {
  return runAll(conn, p, p.continueOnError ? 'continue' : 'stop');
}
