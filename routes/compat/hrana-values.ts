import type { Column, ParamValue, QueryResult } from '../../src/backend/types.js';
import type { SqlgateError } from '../../src/errors.js';
import { type CellValue, ExactNumber, exactRows, writeJson } from './exact-json.js';

/**
 * Hrana values <-> the gateway's values.
 * @see https://github.com/tursodatabase/libsql/blob/main/docs/HRANA_3_SPEC.md (Values)
 *
 * Arguments: `integer` (decimal string, 64-bit) -> BIGINT, `float` -> DOUBLE (even when integral, as SQLite
 * binds a REAL), `text` -> TEXT, `blob` (base64) -> BLOB, `null` -> NULL. Nothing is rounded: an integer
 * that is not a 64-bit decimal string is refused.
 *
 * Results: the Hrana type of a value follows the type the backend reports for its column (see
 * docs/compat.md for the table): integer columns and booleans -> `integer`, floating columns -> `float`,
 * BLOB -> `blob`, everything else (DECIMAL, dates, JSON, arrays, UUID ...) -> `text` in its exact form.
 */

export type HranaValue =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string };

/** A Hrana protocol error: `message` for people, `code` for the client's LibsqlError.code. */
export interface HranaError {
  message: string;
  code: string;
}

/** Thrown for a request that breaks the protocol; answered as HTTP 400 `{message, code}`. */
export class HranaProtocolError extends Error {
  constructor(
    message: string,
    readonly code = 'HRANA_PROTO_ERROR',
    readonly status = 400,
  ) {
    super(message);
  }
}

const INT64 = /^-?\d{1,19}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MIN_I64 = -(2n ** 63n);
const MAX_I64 = 2n ** 63n - 1n;

/** One Hrana argument -> a bound parameter; HranaProtocolError for anything malformed. */
export function toParam(v: unknown, where: string): ParamValue {
  if (!v || typeof v !== 'object') throw new HranaProtocolError(`${where}: a value must be an object`);
  const o = v as Record<string, unknown>;
  switch (o.type) {
    case 'null':
      return { type: 'NULL', value: null };
    case 'integer': {
      if (typeof o.value !== 'string' || !INT64.test(o.value))
        throw new HranaProtocolError(`${where}: an integer value must be a decimal string`);
      const n = BigInt(o.value);
      if (n < MIN_I64 || n > MAX_I64) throw new HranaProtocolError(`${where}: integer out of 64-bit range`);
      return { type: 'BIGINT', value: n };
    }
    case 'float':
      if (typeof o.value !== 'number' || !Number.isFinite(o.value))
        throw new HranaProtocolError(`${where}: a float value must be a finite JSON number`);
      return { type: 'DOUBLE', value: o.value };
    case 'text':
      if (typeof o.value !== 'string')
        throw new HranaProtocolError(`${where}: a text value must be a string`);
      return { type: 'TEXT', value: o.value };
    case 'blob': {
      if (typeof o.base64 !== 'string' || !BASE64.test(o.base64.replace(/=+$/, (m) => m)))
        throw new HranaProtocolError(`${where}: a blob value needs base64`);
      return { type: 'BLOB', value: new Uint8Array(Buffer.from(o.base64, 'base64')) };
    }
    default:
      throw new HranaProtocolError(`${where}: unknown value type`);
  }
}

const INTEGER_TYPES = new Set(['SMALLINT', 'INTEGER', 'BIGINT']);
const FLOAT_TYPES = new Set(['FLOAT', 'DOUBLE']);
const INT_TEXT = /^-?\d+$/;

/** One result value (already in the gateway's JSON form) -> a Hrana value, by its column's type. */
export function fromValue(v: CellValue | undefined, col: Column): HranaValue {
  if (v === null || v === undefined) return { type: 'null' };
  const t = col.type;
  if (typeof v === 'boolean') return { type: 'integer', value: v ? '1' : '0' };
  if (INTEGER_TYPES.has(t)) {
    if (typeof v === 'number' && Number.isInteger(v)) return { type: 'integer', value: String(v) };
    if (typeof v === 'string' && INT_TEXT.test(v)) return { type: 'integer', value: v };
  }
  if (typeof v === 'number') {
    if (INTEGER_TYPES.has(t) || FLOAT_TYPES.has(t) || t === 'OTHER') return { type: 'float', value: v };
    return { type: 'text', value: String(v) };
  }
  if (typeof v === 'string') {
    if (t === 'BLOB') return { type: 'blob', base64: v };
    return { type: 'text', value: v };
  }
  // A JSON value (object, array, a number a double cannot hold): its text, numbers as the database wrote them.
  if (v instanceof ExactNumber && INTEGER_TYPES.has(t) && INT_TEXT.test(v.text))
    return { type: 'integer', value: v.text };
  return { type: 'text', value: writeJson(v, 'compact') };
}

/** Hrana StmtResult. */
export interface HranaStmtResult {
  cols: Array<{ name: string; decltype: string | null }>;
  rows: HranaValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
  rows_read: number;
  rows_written: number;
  query_duration_ms: number;
}

/** A QueryResult run with rowMode "array" and int64 "string" -> a Hrana StmtResult. */
export function toStmtResult(r: QueryResult, wantRows: boolean): HranaStmtResult {
  const cols = r.columns.map((c) => ({ name: c.name, decltype: c.dbType === '' ? null : c.dbType }));
  const rows = wantRows ? exactRows(r).map((row) => r.columns.map((c, i) => fromValue(row[i], c))) : [];
  const id = r.lastInsertId;
  return {
    cols,
    rows,
    affected_row_count: r.affectedRows,
    last_insert_rowid: id === null || id === undefined ? null : String(id),
    rows_read: r.rowCount,
    rows_written: r.affectedRows,
    query_duration_ms: r.durationMs,
  };
}

/** Gateway codes -> the codes libsql clients know (sqld's). */
const CODES: Partial<Record<string, string>> = {
  SQL_SYNTAX_ERROR: 'SQL_PARSE_ERROR',
  RESULT_TOO_LARGE: 'RESPONSE_TOO_LARGE',
  SESSION_EXPIRED: 'STREAM_EXPIRED',
  SESSION_NOT_FOUND: 'STREAM_EXPIRED',
  PARAM_INVALID: 'ARGS_INVALID',
  STATEMENT_TIMEOUT: 'SQLITE_INTERRUPT',
  LOCK_TIMEOUT: 'SQLITE_BUSY',
};

/**
 * A gateway error -> a Hrana error. A SQLite error keeps its extended result code
 * (`SQLITE_CONSTRAINT_PRIMARYKEY`), as sqld sends it; other errors get the sqld code where one exists
 * (SQL_PARSE_ERROR, RESPONSE_TOO_LARGE, STREAM_EXPIRED ...) or the gateway's own code (UNIQUE_VIOLATION ...).
 * The message is the gateway's, already redacted by the backend (no parameter values).
 */
export function toHranaError(err: SqlgateError): HranaError {
  const db = err.details.dbCode;
  // A syntax error is SQL_PARSE_ERROR (sqld parses before SQLite sees the statement).
  if (err.code !== 'SQL_SYNTAX_ERROR' && typeof db === 'string' && db.startsWith('SQLITE_'))
    return { message: err.message, code: db };
  return { message: err.message, code: CODES[err.code] ?? err.code };
}
