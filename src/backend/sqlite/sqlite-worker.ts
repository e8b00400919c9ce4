/**
 * Worker-thread entry: owns one better-sqlite3 connection, so synchronous SQLite work never blocks the
 * HTTP event loop. Messages are handled one at a time (the main thread never overlaps them anyway).
 * Results are encoded to JSON values here, off the main thread.
 */

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { isSqlgateError } from '../../errors.js';
import { approxJsonSize, resultTooLargeMessage } from '../result-limits.js';
import { toWire, type WireResult } from '../rows-json.js';
import type { Column, ExecOptions, GenericType, JsonValue, QueryResult } from '../types.js';
import { coerceValue } from '../value-mapper.js';
import { isDmlCommand, isInsertCommand, sqliteCommand } from './sqlite-command.js';
import {
  abandonStream,
  handleStream,
  isStreamRequest,
  type StreamHost,
  type StreamRequest,
} from './sqlite-stream-worker.js';
import {
  bindWireParam,
  fromSqliteRaw,
  fromSqliteValue,
  type SqliteBindValue,
  sqliteGenericType,
  sqliteValueType,
  type WireParam,
} from './sqlite-types.js';

export interface WorkerInit {
  filename: string;
  readonly: boolean;
  busyTimeoutMs: number;
  /** The statement-deadline extension to load (sqlite-deadline.ts), or null when it is not built. */
  deadlineExtension: string | null;
}

/** Only the options that cross the thread boundary (no AbortSignal); `timeoutMs` for the deadline. */
export type WorkerExecOptions = Omit<ExecOptions, 'signal' | 'timeoutMs'> & { timeoutMs?: number };

/**
 * Many parameter sets of one statement, flattened: set `i` is the next `width` (or `lengths[i]`, when the
 * sets differ in length) entries of `params`. One flat array of primitives clones far cheaper than an
 * array of arrays of objects.
 */
export interface WireParamSets {
  params: WireParam[];
  count: number;
  width: number;
  lengths?: number[];
}

/**
 * What `many` returns for a statement that produces no rows (an INSERT/UPDATE/DELETE without RETURNING):
 * one column per field of the per-set results instead of 10,000 result objects. The typed arrays travel
 * as transferred buffers. For an INSERT/REPLACE, `lastInsertRowids` holds each set's rowid (NaN: the set
 * inserted nothing), encoded on the main thread, while every rowid is within ±(2^53-1); from the first
 * one beyond, `lastInsertIds` holds them all already encoded instead.
 */
export interface WireRuns {
  command: string;
  affectedRows: Float64Array<ArrayBuffer>;
  durationMs: Float64Array<ArrayBuffer>;
  lastInsertRowids?: Float64Array<ArrayBuffer>;
  lastInsertIds?: Array<string | number | null>;
}

export type WorkerRequest =
  | { id: number; op: 'execute'; sql: string; params: WireParam[]; opts: WorkerExecOptions }
  | { id: number; op: 'many'; sql: string; sets: WireParamSets; opts: WorkerExecOptions }
  | { id: number; op: 'prepare'; sql: string }
  | { id: number; op: 'run'; sql: string }
  | { id: number; op: 'reset' }
  | { id: number; op: 'version' };

export type WorkerResponse =
  | { id: number; ok: true; inTransaction: boolean; result?: WireResult | WireResult[] | WireRuns | string }
  | {
      id: number;
      ok: false;
      inTransaction: boolean;
      error:
        | { kind: 'sqlite'; code: string; message: string; index?: number }
        | { kind: 'gateway'; code: string; message: string; index?: number }
        | { kind: 'internal'; message: string };
    };

const init = workerData as WorkerInit;
const db = new Database(init.filename, { readonly: init.readonly, timeout: init.busyTimeoutMs });
db.defaultSafeIntegers(true);
if (init.filename !== ':memory:' && !init.readonly) db.pragma('journal_mode = WAL');
db.pragma('foreign_keys = ON');
db.pragma('synchronous = NORMAL');
db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(init.busyTimeoutMs))}`);
if (init.deadlineExtension) db.loadExtension(init.deadlineExtension);
const setDeadline = init.deadlineExtension ? db.prepare('SELECT sqlgate_deadline(?)').pluck() : null;

/**
 * Runs `fn` with the statement's deadline set inside SQLite (sqlite-deadline.ts): past it the statement
 * fails with SQLITE_INTERRUPT wherever it is, also inside one long step, and that becomes STATEMENT_TIMEOUT.
 */
function withDeadline<T>(timeoutMs: number | undefined, fn: () => T): T {
  if (!setDeadline || !timeoutMs || timeoutMs <= 0) return fn();
  setDeadline.get(Math.trunc(timeoutMs));
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_INTERRUPT') {
      throw new GatewayError(
        'STATEMENT_TIMEOUT',
        `the statement ran longer than ${timeoutMs} ms and was stopped`,
      );
    }
    throw err;
  } finally {
    setDeadline.get(0);
  }
}

/** Prepared statements by SQL text; small LRU so a hot loop prepares once. */
const cache = new Map<string, Database.Statement>();
const CACHE_MAX = 128;

function prepare(sql: string): Database.Statement {
  let stmt = cache.get(sql);
  if (stmt) {
    cache.delete(sql);
    cache.set(sql, stmt);
    return stmt;
  }
  stmt = db.prepare(sql);
  cache.set(sql, stmt);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  return stmt;
}

const lastRowid = db.prepare('SELECT last_insert_rowid()').pluck();

class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function tooLarge(what: string): GatewayError {
  return new GatewayError('RESULT_TOO_LARGE', resultTooLargeMessage(what));
}

/** The cached statement for `sql`, refused when this connection is read-only and it would write. */
function prepareChecked(sql: string): Database.Statement {
  const stmt = prepare(sql);
  // A read-only connection cannot write the database, but `VACUUM INTO 'file'` still writes a new file and
  // CREATE TEMP writes temp storage: refuse whatever SQLite itself does not call read-only
  // (sqlite3_stmt_readonly). @see https://www.sqlite.org/c3ref/stmt_readonly.html
  if (init.readonly && !stmt.readonly) {
    throw new GatewayError('READ_ONLY_VIOLATION', 'this connection is read-only; the statement would write');
  }
  return stmt;
}

/**
 * A statement that writes and returns rows (`INSERT … RETURNING`) in autocommit runs in a transaction of
 * its own: SQLite makes the writes as it steps, so a result stopped at maxRows would otherwise keep them
 * while the client is told the statement failed. Rolled back on any error, committed otherwise.
 */
function guardWrite<T>(sql: string, run: () => T): T {
  if (db.inTransaction) return run();
  let stmt: Database.Statement;
  try {
    stmt = prepare(sql);
  } catch {
    return run(); // `run` reports the error in its own way
  }
  if (!stmt.reader || stmt.readonly) return run();
  db.exec('BEGIN');
  try {
    const result = run();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

function execute(sql: string, params: WireParam[], opts: WorkerExecOptions): QueryResult {
  const started = performance.now();
  const stmt = prepareChecked(sql);
  const bound: SqliteBindValue[] = new Array(params.length);
  for (let i = 0; i < params.length; i++) bound[i] = bindWireParam(params[i] as WireParam);
  const command = sqliteCommand(sql);
  if (!stmt.reader) {
    const info = stmt.run(bound);
    const dml = isDmlCommand(command);
    const isInsert = isInsertCommand(command);
    return {
      columns: [],
      rows: [],
      rowCount: 0,
      affectedRows: dml ? info.changes : 0,
      lastInsertId:
        isInsert && info.changes > 0
          ? (fromSqliteValue(info.lastInsertRowid, 'BIGINT', opts.int64) as string | number)
          : null,
      command,
      durationMs: performance.now() - started,
    };
  }

  const meta = stmt.columns();
  const declared: Array<GenericType | null> = meta.map((c) => sqliteGenericType(c.type));
  const coerce = opts.columnTypes;
  const targets: Array<GenericType | undefined> = meta.map((c) => coerce?.[c.name]);
  const names = meta.map((c) => c.name);
  const inferred: Array<GenericType | null> = declared.slice();
  const raw = opts.valueMode === 'raw';
  const rows: QueryResult['rows'] = [];
  let bytes = 0;
  stmt.raw(true);
  try {
    for (const stored of stmt.iterate(bound) as IterableIterator<unknown[]>) {
      if (rows.length >= opts.maxRows) throw tooLarge(`maxRows (${opts.maxRows})`);
      // Packed (push): rows of small results are structured-cloned, and holey arrays clone slowly.
      const out: JsonValue[] = [];
      for (let i = 0; i < stored.length; i++) {
        const value = stored[i];
        if (inferred[i] === null) inferred[i] = sqliteValueType(value);
        let v = raw
          ? fromSqliteRaw(value)
          : fromSqliteValue(value, declared[i] ?? null, opts.int64, opts.jsonNumbers);
        const target = targets[i];
        if (target) v = coerceValue(v, target, opts.int64, names[i] as string, opts.jsonNumbers);
        bytes += approxJsonSize(v);
        out.push(v);
      }
      if (bytes > opts.maxResponseBytes) throw tooLarge(`maxResponseBytes (${opts.maxResponseBytes})`);
      if (opts.rowMode === 'array') {
        rows.push(out);
      } else {
        const obj: Record<string, JsonValue> = {};
        for (let i = 0; i < out.length; i++) obj[names[i] as string] = out[i] as JsonValue;
        rows.push(obj);
      }
    }
  } finally {
    stmt.raw(false);
  }
  const columns: Column[] = meta.map((c, i) => ({
    name: c.name,
    type: targets[i] ?? inferred[i] ?? 'OTHER',
    dbType: c.type ?? '',
    nullable: null,
  }));
  const dml = isDmlCommand(command);
  let lastInsertId: string | number | null = null;
  if (isInsertCommand(command) && rows.length > 0) {
    lastInsertId = fromSqliteValue(lastRowid.get(), 'BIGINT', opts.int64) as string | number;
  }
  return {
    columns,
    rows,
    rowCount: rows.length,
    affectedRows: dml ? rows.length : 0,
    lastInsertId,
    command,
    durationMs: performance.now() - started,
  };
}

/** The index of the parameter set `many` is running, for the error of the set that fails. */
let setIndex: number | undefined;

/**
 * Runs every parameter set with one prepared statement. A statement without rows binds and runs in one
 * tight loop and answers with columns (WireRuns); one with rows (RETURNING, SELECT) gives a full result
 * per set, with maxRows / maxResponseBytes applying to each set as for `execute`.
 */
function many(sql: string, sets: WireParamSets, opts: WorkerExecOptions): WireRuns | WireResult[] {
  const { params, count, width, lengths } = sets;
  setIndex = 0;
  const stmt = prepareChecked(sql);
  if (stmt.reader) {
    const results: WireResult[] = [];
    for (let i = 0, k = 0; i < count; i++) {
      setIndex = i;
      const n = lengths ? (lengths[i] as number) : width;
      results.push(toWire(execute(sql, params.slice(k, k + n), opts)));
      k += n;
    }
    return results;
  }
  const command = sqliteCommand(sql);
  const dml = isDmlCommand(command);
  const isInsert = isInsertCommand(command);
  const affectedRows = new Float64Array(count);
  const durationMs = new Float64Array(count);
  const rowids = isInsert ? new Float64Array(count) : undefined;
  let ids: Array<string | number | null> | undefined;
  const encodeId = (id: bigint | number | null) =>
    id === null ? null : (fromSqliteValue(BigInt(id), 'BIGINT', opts.int64) as string | number);
  let bound: SqliteBindValue[] = new Array(width);
  // One clock read per set: each set's time runs from the end of the one before (binding included).
  let last = performance.now();
  for (let i = 0, k = 0; i < count; i++) {
    setIndex = i;
    if (lengths) bound = new Array(lengths[i] as number);
    for (let j = 0; j < bound.length; j++) bound[j] = bindWireParam(params[k++] as WireParam);
    const info = stmt.run(bound);
    if (dml) affectedRows[i] = info.changes;
    if (rowids) {
      const id = info.changes > 0 ? BigInt(info.lastInsertRowid) : null;
      if (ids) ids.push(encodeId(id));
      else if (id === null) rowids[i] = Number.NaN;
      else if (id <= MAX_SAFE && id >= -MAX_SAFE) rowids[i] = Number(id);
      else {
        ids = Array.from(rowids.subarray(0, i), (n) => encodeId(Number.isNaN(n) ? null : n));
        ids.push(encodeId(id));
      }
    }
    const now = performance.now();
    durationMs[i] = now - last;
    last = now;
  }
  if (ids) return { command, affectedRows, durationMs, lastInsertIds: ids };
  if (rowids) return { command, affectedRows, durationMs, lastInsertRowids: rowids };
  return { command, affectedRows, durationMs };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Clears what one user of the connection could leave for the next: a transaction, temp tables, pragmas. */
function reset(): void {
  if (db.inTransaction) db.exec('ROLLBACK');
  const temps = db
    .prepare(
      "SELECT type, name FROM temp.sqlite_schema WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%'",
    )
    .safeIntegers(false)
    .all() as Array<{ type: 'table' | 'view'; name: string }>;
  for (const t of temps)
    db.exec(`DROP ${t.type === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS temp."${t.name.replaceAll('"', '""')}"`);
  db.pragma('query_only = OFF');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(init.busyTimeoutMs))}`);
}

function handle(msg: WorkerRequest): WorkerResponse {
  setIndex = undefined;
  try {
    switch (msg.op) {
      case 'execute': {
        // The transaction state *after* the statement: a client's BEGIN/COMMIT sent as SQL changes it.
        const { sql, params, opts } = msg;
        const result = toWire(
          guardWrite(sql, () => withDeadline(opts.timeoutMs, () => execute(sql, params, opts))),
        );
        return { id: msg.id, ok: true, inTransaction: db.inTransaction, result };
      }
      case 'many': {
        const result = withDeadline(msg.opts.timeoutMs, () => many(msg.sql, msg.sets, msg.opts));
        return { id: msg.id, ok: true, inTransaction: db.inTransaction, result };
      }
      case 'prepare':
        prepareChecked(msg.sql);
        return { id: msg.id, ok: true, inTransaction: db.inTransaction };
      case 'run':
        db.exec(msg.sql);
        return { id: msg.id, ok: true, inTransaction: db.inTransaction };
      case 'reset':
        reset();
        return { id: msg.id, ok: true, inTransaction: db.inTransaction };
      case 'version':
        return {
          id: msg.id,
          ok: true,
          inTransaction: db.inTransaction,
          result: String(db.prepare('SELECT sqlite_version()').pluck().get()),
        };
    }
  } catch (err) {
    return errorResponse(msg.id, err, setIndex);
  }
}

/** The error response for request `id`: gateway, SQLite and parameter errors keep their codes. */
function errorResponse(id: number, err: unknown, index: number | undefined): WorkerResponse {
  const inTransaction = db.inTransaction;
  if (err instanceof GatewayError || isSqlgateError(err)) {
    return {
      id,
      ok: false,
      inTransaction,
      error: { kind: 'gateway', code: err.code, message: err.message, index },
    };
  }
  if (err instanceof Database.SqliteError) {
    return {
      id,
      ok: false,
      inTransaction,
      error: { kind: 'sqlite', code: err.code, message: err.message, index },
    };
  }
  if (err instanceof RangeError && /parameter/i.test(err.message)) {
    return {
      id,
      ok: false,
      inTransaction,
      error: { kind: 'gateway', code: 'PARAM_INVALID', message: err.message, index },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { id, ok: false, inTransaction, error: { kind: 'internal', message } };
}

/** Streamed statements (sqlite-stream-worker.ts): several messages per request, acknowledged by chunk. */
const streamHost: StreamHost = {
  db,
  prepare: prepareChecked,
  post: (m) => parentPort?.postMessage(m),
};

parentPort?.on('message', (msg: WorkerRequest | StreamRequest) => {
  if (isStreamRequest(msg)) {
    try {
      handleStream(streamHost, msg);
    } catch (err) {
      abandonStream(msg.id);
      parentPort?.postMessage(errorResponse(msg.id, err, undefined));
    }
    return;
  }
  const res = handle(msg);
  // WireRuns' columns are moved, not copied.
  const r = res.ok ? res.result : undefined;
  if (r && typeof r === 'object' && 'durationMs' in r && r.durationMs instanceof Float64Array) {
    const runs = r as WireRuns;
    const moved = [runs.affectedRows.buffer, runs.durationMs.buffer];
    if (runs.lastInsertRowids) moved.push(runs.lastInsertRowids.buffer);
    parentPort?.postMessage(res, moved);
  } else {
    parentPort?.postMessage(res);
  }
});
