import { type ErrorCode, type ErrorDetails, SqlgateError } from '../../errors.js';

/**
 * PostgreSQL errors -> gateway errors, by SQLSTATE only (never by message text).
 * @see https://www.postgresql.org/docs/15/errcodes-appendix.html
 */
const BY_SQLSTATE: Readonly<Record<string, ErrorCode>> = {
  '23505': 'UNIQUE_VIOLATION',
  // An exclusion constraint is a generalised unique constraint.
  '23P01': 'UNIQUE_VIOLATION',
  '23503': 'FOREIGN_KEY_VIOLATION',
  // restrict_violation: an ON DELETE/UPDATE RESTRICT foreign key.
  '23001': 'FOREIGN_KEY_VIOLATION',
  '23502': 'NOT_NULL_VIOLATION',
  '23514': 'CHECK_VIOLATION',
  '40P01': 'DEADLOCK',
  '40001': 'SERIALIZATION_FAILURE',
  '55P03': 'LOCK_TIMEOUT',
  '25P02': 'TRANSACTION_ABORTED',
  '25006': 'READ_ONLY_VIOLATION',
  '42601': 'SQL_SYNTAX_ERROR',
  '42P01': 'UNDEFINED_OBJECT',
  '42703': 'UNDEFINED_OBJECT',
  '42883': 'UNDEFINED_OBJECT',
  '42704': 'UNDEFINED_OBJECT',
  '3F000': 'UNDEFINED_OBJECT',
  '42501': 'FORBIDDEN',
  '57014': 'STATEMENT_TIMEOUT',
  '57P01': 'BACKEND_UNAVAILABLE',
  '57P02': 'BACKEND_UNAVAILABLE',
  '57P03': 'BACKEND_UNAVAILABLE',
  // The server itself is out of connection slots: back off and retry, like our own pool being full.
  '53300': 'OVERLOADED',
  '0A000': 'UNSUPPORTED_FEATURE',
  // Misconfiguration seen while connecting: the database does not exist, or the login is refused.
  '3D000': 'BACKEND_UNAVAILABLE',
};

/** Whole SQLSTATE classes, for codes not listed one by one. */
const BY_CLASS: Readonly<Record<string, ErrorCode>> = {
  '08': 'BACKEND_UNAVAILABLE',
  '28': 'BACKEND_UNAVAILABLE',
  '23': 'CHECK_VIOLATION',
  '25': 'INVALID_TRANSACTION_STATE',
  '2D': 'INVALID_TRANSACTION_STATE',
  '3B': 'INVALID_TRANSACTION_STATE',
  '0B': 'INVALID_TRANSACTION_STATE',
};

/** The fields of pg's DatabaseError the gateway reads (the server's ErrorResponse). */
export interface PgServerError {
  message: string;
  code: string;
  severity?: string;
  detail?: string;
  hint?: string;
  position?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

const SQLSTATE_RE = /^[0-9A-Z]{5}$/;

/** An ErrorResponse from the server (as opposed to a socket or driver error). */
export function isServerError(err: unknown): err is PgServerError {
  const e = err as Partial<PgServerError> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.code === 'string' &&
    SQLSTATE_RE.test(e.code) &&
    typeof e.severity === 'string'
  );
}

export function codeForSqlState(sqlState: string): ErrorCode {
  return BY_SQLSTATE[sqlState] ?? BY_CLASS[sqlState.slice(0, 2)] ?? 'QUERY_FAILED';
}

/**
 * Data exceptions (class 22) quote the offending input in the message (`invalid input syntax for type
 * integer: "..."`, `value "..." is out of range`), and that input is usually a param: quoted parts are
 * replaced. Classes 22 and 23 also lose `detail`, which repeats values (`Key (email)=(a@x) already
 * exists`, `Failing row contains (...)`).
 */
function redact(sqlState: string, message: string): { message: string; keepDetail: boolean } {
  const cls = sqlState.slice(0, 2);
  if (cls === '22') return { message: message.replace(/"(?:[^"]|"")*"/g, '"…"'), keepDetail: false };
  if (cls === '23') return { message, keepDetail: false };
  return { message, keepDetail: true };
}

/**
 * Any error from pg -> SqlgateError with the original as `cause`.
 * @param connectionLost the client can no longer be used (socket closed, FATAL received): errors without a
 *   SQLSTATE then mean the backend is unavailable; otherwise they are the gateway's own fault (INTERNAL).
 */
export function mapPgError(err: unknown, backend: string, connectionLost: boolean): SqlgateError {
  if (err instanceof SqlgateError) return err.details.backend ? err : err.with({ backend });
  if (isServerError(err)) {
    const code = codeForSqlState(err.code);
    const { message, keepDetail } = redact(err.code, err.message);
    const details: ErrorDetails = { sqlState: err.code, dbCode: err.code, backend };
    if (keepDetail && err.detail) details.detail = err.detail;
    if (err.hint) details.hint = err.hint;
    if (err.position && /^\d+$/.test(err.position)) details.position = Number(err.position);
    if (err.constraint) details.constraint = err.constraint;
    if (err.table) details.table = err.table;
    if (err.column) details.column = err.column;
    if (code === 'OVERLOADED') details.retryAfter = 1;
    return new SqlgateError(code, message, details, { cause: err });
  }
  const sys = (err as NodeJS.ErrnoException | null)?.code;
  if (connectionLost || (typeof sys === 'string' && sys.startsWith('E'))) {
    return new SqlgateError(
      'BACKEND_UNAVAILABLE',
      `the connection to PostgreSQL failed${typeof sys === 'string' ? ` (${sys})` : ''}`,
      { backend, ...(typeof sys === 'string' ? { dbCode: sys } : {}) },
      { cause: err },
    );
  }
  return new SqlgateError('INTERNAL', 'the PostgreSQL driver failed', { backend }, { cause: err });
}
